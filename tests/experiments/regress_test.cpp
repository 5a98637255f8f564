// moesim regress: verdicts against hand-made baselines, JUnit XML, and the CLI gate.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../temp_files.h"
#include "cli_helpers.h"
#include "experiments/workflows/regress.h"

using moesim::workflows::MetricCheck;
using moesim::workflows::RegressSuite;
using moesim::workflows::RegressValues;
using moesim::workflows::Verdict;
using moesim_test::Result;
using moesim_test::run;
using moesim_test::slurp;
namespace fs = std::filesystem;

namespace {

Verdict verdict_of(const std::vector<MetricCheck>& checks, const std::string& metric) {
  for (const auto& c : checks) {
    if (c.metric == metric) return c.verdict;
  }
  FAIL("no check for " << metric);
  return Verdict::kMissing;
}

}  // namespace

TEST_CASE("regress verdicts: direction of better and the tolerance band", "[regress]") {
  RegressSuite suite;
  suite.tolerances["default"] = {0.10, 0.0};                 // ±10%
  suite.tolerances["ttft_p90_ms"] = {0.0, 5.0};              // ±5 ms
  const RegressValues baseline{{"c/p",
                                {{"imbalance_mean", 2.0}, {"slo_attainment", 0.9}, {"ttft_p90_ms", 100.0}, {"gpu_seconds", 50.0},
                                 {"cost_usd", 1.0}}}};
  const RegressValues now{{"c/p",
                           {{"imbalance_mean", 2.21},     // +10.5%: worse beyond 10%
                            {"slo_attainment", 0.8},      // −11%: lower attainment is worse
                            {"ttft_p90_ms", 104.9},       // +4.9 ms: within the absolute band
                            {"gpu_seconds", 40.0},        // −20%: better
                            {"cost_usd", 1.0}}},          // unchanged
                          {"c/new", {{"cost_usd", 1.0}}}};
  const auto checks = moesim::workflows::compare_to_baseline(suite, baseline, now);
  CHECK(verdict_of(checks, "imbalance_mean") == Verdict::kRegressed);
  CHECK(verdict_of(checks, "slo_attainment") == Verdict::kRegressed);
  CHECK(verdict_of(checks, "ttft_p90_ms") == Verdict::kWithin);
  CHECK(verdict_of(checks, "gpu_seconds") == Verdict::kImproved);
  CHECK(checks.back().run == "c/p");  // runs in name order: c/new first
  CHECK(checks.front().verdict == Verdict::kMissing);
  int unchanged = 0;
  for (const auto& c : checks) unchanged += c.verdict == Verdict::kSame ? 1 : 0;
  CHECK(unchanged == 1);

  const std::string xml = moesim::workflows::junit_xml(checks, 1.5);
  CHECK_THAT(xml, Catch::Contains(R"(<testsuites name="moesim regress" tests="2" failures="2")"));
  CHECK_THAT(xml, Catch::Contains(R"(<testcase classname="moesim.regress.c" name="p">)"));
  CHECK_THAT(xml, Catch::Contains("imbalance_mean: baseline 2, now 2.21 (+10.50%)"));
  CHECK_THAT(xml, Catch::Contains("cost_usd: baseline 0, now 1 (-), tolerance ±10% +0: NO BASELINE"));
  CHECK_THAT(xml, !Catch::Contains("gpu_seconds:"));  // improvements are not failures
}

namespace {

std::string small_suite(const std::string& folder) {
  moesim_test::write_temp_file(folder, "scenario.json", R"({
    "name": "regress-small", "seed": 5, "model": "mixtral-8x7b",
    "cluster": {"topology": {"preset": "dgx-h100", "machines": 1}, "gpu": "h100-sxm", "variability": {"spread": 0.08}},
    "workload": {"duration_s": 2,
                 "arrivals": {"kind": "poisson", "rate_per_s": 6,
                              "input_tokens": {"mean": 512, "cv": 0.3}, "output_tokens": {"mean": 8, "cv": 0.3}},
                 "routing": {"kind": "zipf", "skew": 1.2}},
    "rebalance": {"interval_s": 0.5}
  })");
  return moesim_test::write_temp_file(folder, "suite.json", R"({
    "baseline": "baseline.json",
    "metrics": ["imbalance_mean", "ttft_p90_ms", "slo_attainment"],
    "tolerances": {"default": {"relative": 0.01}},
    "cases": [{"name": "zipf", "scenario": "scenario.json", "overrides": {"$.workload.arrivals.rate_per_s": 8},
               "policies": ["static-contiguous", "eplb"]}]
  })");
}

}  // namespace

TEST_CASE("regress CLI: baseline creation, a clean pass, a caught regression, JUnit", "[regress][cli]") {
  const auto dir = moesim_test::fresh_temp_dir("regress-cli");
  const auto suite = small_suite("regress-cli");
  const std::string junit = (dir / "r.xml").string();
  const Result created = run("regress " + suite + " --update-baseline");
  REQUIRE(created.exit_code == 0);
  CHECK_THAT(created.output, Catch::Contains("Baseline rewritten") && Catch::Contains("(2 runs)"));
  const Result clean = run("regress " + suite + " --junit " + junit);
  CHECK(clean.exit_code == 0);
  CHECK_THAT(clean.output, Catch::Contains("6 checks: 6 same") && Catch::Contains("regress: passed"));
  CHECK_THAT(slurp(junit), Catch::Contains(R"(tests="2" failures="0")"));

  // Pretend the baseline was better: today's imbalance is now a regression of eplb.
  auto baseline = nlohmann::json::parse(slurp(dir / "baseline.json"));
  const double imbalance = baseline["runs"]["zipf/eplb"]["imbalance_mean"].get<double>();
  baseline["runs"]["zipf/eplb"]["imbalance_mean"] = imbalance * 0.95;
  std::ofstream(dir / "baseline.json") << baseline.dump(2);
  const Result regressed = run("regress " + suite + " --junit " + junit);
  CHECK(regressed.exit_code == 1);
  CHECK_THAT(regressed.output, Catch::Contains("zipf/eplb") && Catch::Contains("REGRESSED") &&
                                   Catch::Contains("+5.26%") && Catch::Contains("regress: FAILED"));
  CHECK_THAT(slurp(junit), Catch::Contains(R"(tests="2" failures="1")") && Catch::Contains("imbalance_mean: baseline"));
  // Accepting the change makes the gate pass again.
  REQUIRE(run("regress " + suite + " --update-baseline").exit_code == 0);
  CHECK(run("regress " + suite + " --junit " + junit).exit_code == 0);
}

TEST_CASE("regress CLI: a missing or corrupt baseline is bad input and writes no report", "[regress][cli]") {
  const auto dir = moesim_test::fresh_temp_dir("regress-bad");
  const auto suite = small_suite("regress-bad");
  const std::string junit = (dir / "r.xml").string();
  const Result missing = run("regress " + suite + " --junit " + junit);
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Catch::Contains("baseline.json: baseline file missing") && Catch::Contains("--update-baseline"));
  std::ofstream(dir / "baseline.json") << R"({"runs": {"zipf/eplb": {"imbalance_mean": )";
  const Result corrupt = run("regress " + suite + " --junit " + junit);
  CHECK(corrupt.exit_code == 2);
  CHECK_THAT(corrupt.output, Catch::Contains("corrupt baseline") && Catch::Contains("baseline.json"));
  CHECK_FALSE(fs::exists(junit));
  // Unknown metrics and policies name their place in the suite.
  const auto bad_metric = moesim_test::write_temp_file("regress-bad", "bad-metric.json",
      R"({"baseline": "b.json", "metrics": ["imbalance"], "cases": []})");
  const Result m = run("regress " + bad_metric);
  CHECK(m.exit_code == 2);
  CHECK_THAT(m.output, Catch::Contains("$.metrics[0]: unknown metric 'imbalance'"));
  const auto bad_policy = moesim_test::write_temp_file("regress-bad", "bad-policy.json",
      R"({"baseline": "b.json", "metrics": ["imbalance_mean"],
          "cases": [{"name": "x", "scenario": "scenario.json", "policies": ["eplbb"]}]})");
  const Result p = run("regress " + bad_policy);
  CHECK(p.exit_code == 2);
  CHECK_THAT(p.output, Catch::Contains("case 'x', policy 'eplbb'") && Catch::Contains("unknown"));
}
