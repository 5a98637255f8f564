// moesim plan: bisection finds what trying every count finds; impossible SLOs exit 1
// with the best cluster found; bad plans are bad input. Also the compare plots.
#include <catch2/catch.hpp>
#include <map>
#include <tuple>
#include <nlohmann/json.hpp>

#include "../temp_files.h"
#include "cli_helpers.h"

using moesim_test::Result;
using moesim_test::run;
using moesim_test::slurp;
namespace fs = std::filesystem;

namespace {

std::string plan_file(const std::string& folder, const std::string& slo, int max_machines, const std::string& gpu = "a100-sxm") {
  moesim_test::write_temp_file(folder, "scenario.json", R"({
    "name": "plan-small", "seed": 2, "model": "mixtral-8x7b",
    "cluster": {"topology": {"preset": "dgx-h100", "machines": 1}, "gpu": "h100-sxm"},
    "workload": {"duration_s": 2,
                 "arrivals": {"kind": "poisson", "rate_per_s": 20,
                              "input_tokens": {"mean": 1024, "cv": 0.3}, "output_tokens": {"mean": 8, "cv": 0.3}},
                 "routing": {"kind": "zipf", "skew": 1.0}}
  })");
  return moesim_test::write_temp_file(folder, "plan.json", R"({"scenario": "scenario.json", "slo": )" + slo +
      R"(, "policies": ["static-contiguous"], "candidates": [
        {"gpu": "h100-sxm", "topology": "dgx-h100", "usd_per_gpu_hour": 3.0, "max_machines": )" + std::to_string(max_machines) + R"(},
        {"gpu": ")" + gpu + R"(", "topology": {"preset": "dgx-a100"}, "usd_per_gpu_hour": 1.5, "max_machines": 1}]})");
}

}  // namespace

TEST_CASE("plan: the cheapest cluster meeting the SLOs, with its frontier and plot", "[plan][cli]") {
  const auto dir = moesim_test::fresh_temp_dir("plan-ok");
  const auto plan = plan_file("plan-ok", R"({"ttft_p90_ms": 5000, "tpot_p90_ms": 500})", 3);
  const Result r = run("plan " + plan + " --threads 2 --out " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto json = nlohmann::json::parse(slurp(dir / "plan.json"));
  // Loose SLOs: every cluster meets them, so the cheapest is one A100 machine ($1.5 × 8 GPUs).
  CHECK(json["cheapest"]["gpu"] == "a100-sxm");
  CHECK(json["cheapest"]["usd_per_hour"].get<double>() == Approx(12.0));
  // Bisection on H100: count 3 meets, so 1 is tried (mid of (0, 3]), then 1 meets: 2 runs, not 3.
  int h100_runs = 0;
  for (const auto& p : json["points"]) h100_runs += p["gpu"] == "h100-sxm" ? 1 : 0;
  CHECK(h100_runs == 2);
  CHECK(json["runs"] == 3);
  CHECK(json["exhaustive_runs"] == 4);
  CHECK(json["points"][0]["on_frontier"] == true);  // the cheapest point is always on the frontier
  CHECK(moesim_test::png_size(dir / "plan-frontier.png") == std::pair<std::uint32_t, std::uint32_t>{1000, 600});
  CHECK(fs::file_size(dir / "plan-frontier.png") > 10000);
}

TEST_CASE("plan: SLOs no candidate can meet exit 1 and name the best cluster found", "[plan][cli]") {
  const auto dir = moesim_test::fresh_temp_dir("plan-none");
  const auto plan = plan_file("plan-none", R"({"ttft_p90_ms": 0.001, "tpot_p90_ms": 0.001})", 2);
  const Result r = run("plan " + plan + " --plot false --out " + dir.string());
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.output, Catch::Contains("no candidate meets the SLOs; best found:"));
  const auto json = nlohmann::json::parse(slurp(dir / "plan.json"));
  CHECK(json["cheapest"].is_null());
  CHECK(json["runs"] == 2);  // the ceiling of each pair fails: no bisection below it
}

TEST_CASE("plan: bad plans fail naming the JSON path, writing nothing", "[plan][cli]") {
  const auto dir = moesim_test::fresh_temp_dir("plan-bad");
  const auto unknown_gpu = plan_file("plan-bad", R"({"ttft_p90_ms": 500, "tpot_p90_ms": 50})", 1, "b200");
  const Result g = run("plan " + unknown_gpu + " --out " + (dir / "o").string());
  CHECK(g.exit_code == 2);
  CHECK_THAT(g.output, Catch::Contains("$.candidates[1].gpu") && Catch::Contains("b200"));
  const auto bad_slo = plan_file("plan-bad", R"({"ttft_p90_ms": -1, "tpot_p90_ms": 50})", 1);
  const Result s = run("plan " + bad_slo + " --out " + (dir / "o").string());
  CHECK(s.exit_code == 2);
  CHECK_THAT(s.output, Catch::Contains("$.slo.ttft_p90_ms: expected a duration in [1e-06, 1e+11]"));
  CHECK_FALSE(fs::exists(dir / "o"));
}

TEST_CASE("plan: instance sizes are a search dimension: sizes that do not tile cannot run", "[plan][cli][instances]") {
  const auto dir = moesim_test::fresh_temp_dir("plan-instances");
  plan_file("plan-instances", R"({"ttft_p90_ms": 5000, "tpot_p90_ms": 500})", 1);  // writes scenario.json
  const auto plan = moesim_test::write_temp_file("plan-instances", "sizes.json", R"({"scenario": "scenario.json",
    "slo": {"ttft_p90_ms": 5000, "tpot_p90_ms": 500}, "policies": ["static-contiguous"], "candidates": [
      {"gpu": "h100-sxm", "topology": "dgx-h100", "usd_per_gpu_hour": 3.0, "max_machines": 1, "instance_gpus": [2, 4, 8, 3]}]})");
  const Result r = run("plan " + plan + " --plot false --out " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("4 × EP 2") && Catch::Contains("2 × EP 4") && Catch::Contains("1 × EP 8"));
  const auto json = nlohmann::json::parse(slurp(dir / "plan.json"));
  REQUIRE(json["points"].size() == 4);
  std::map<int, nlohmann::json> by_size;
  for (const auto& p : json["points"]) by_size[p["instance_gpus"].get<int>()] = p;
  CHECK(by_size.count(2) + by_size.count(4) + by_size.count(8) + by_size.count(3) == 4);
  CHECK_THAT(by_size[3]["error"].get<std::string>(), Catch::Contains("do not tile 8 GPUs"));
  for (int size : {2, 4, 8}) CHECK(by_size[size]["meets"] == true);
  // The same 8 GPUs as fewer, larger instances: prefill-heavy arrivals (1,024-token
  // prompts, 8 output tokens) queue in one pool instead of four, and each prompt's
  // expert work spreads over more GPUs, so P90 TTFT falls as the EP size grows
  // (84 / 52 / 38 ms when written; the margins are far above seed noise).
  CHECK(by_size[8]["ttft_p90_ms"].get<double>() < by_size[4]["ttft_p90_ms"].get<double>());
  CHECK(by_size[4]["ttft_p90_ms"].get<double>() < by_size[2]["ttft_p90_ms"].get<double>());
  const auto bad = moesim_test::write_temp_file("plan-instances", "bad.json", R"({"scenario": "scenario.json",
    "slo": {"ttft_p90_ms": 5000, "tpot_p90_ms": 500}, "policies": ["static-contiguous"], "candidates": [
      {"gpu": "h100-sxm", "topology": "dgx-h100", "usd_per_gpu_hour": 3.0, "max_machines": 1, "instance_gpus": [0]}]})");
  const Result b = run("plan " + bad + " --out " + (dir / "bad").string());
  CHECK(b.exit_code == 2);
  CHECK_THAT(b.output, Catch::Contains("$.candidates[0].instance_gpus[0]"));
}

TEST_CASE("plan: the prefill:decode split is a search dimension beside colocated instances",
          "[plan][cli][disaggregated]") {
  const auto dir = moesim_test::fresh_temp_dir("plan-pools");
  plan_file("plan-pools", R"({"ttft_p90_ms": 5000, "tpot_p90_ms": 500})", 1);  // writes scenario.json
  const auto plan = moesim_test::write_temp_file("plan-pools", "pools.json", R"({"scenario": "scenario.json",
    "slo": {"ttft_p90_ms": 5000, "tpot_p90_ms": 500}, "policies": ["static-contiguous"], "candidates": [
      {"gpu": "h100-sxm", "topology": "dgx-h100", "usd_per_gpu_hour": 3.0, "max_machines": 1, "instance_gpus": [2],
       "prefill_shares": [0, 0.25, 0.75]}]})");
  const Result r = run("plan " + plan + " --plot false --out " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("4 × EP 2") && Catch::Contains("1P + 3D × EP 2") && Catch::Contains("3P + 1D × EP 2"));
  const auto json = nlohmann::json::parse(slurp(dir / "plan.json"));
  REQUIRE(json["points"].size() == 3);
  std::map<int, nlohmann::json> by_prefill;  // 0: colocated
  for (const auto& p : json["points"]) by_prefill[p.value("prefill_instances", 0)] = p;
  REQUIRE(by_prefill.size() == 3);
  // The split decides who batches decodes: one decode instance of 2 GPUs runs every
  // request's decode steps together, three share them (P90 TPOT 12.7 vs 7.9 ms
  // when written, far beyond seed noise).
  CHECK(by_prefill[3]["tpot_p90_ms"].get<double>() > 1.3 * by_prefill[1]["tpot_p90_ms"].get<double>());
  CHECK(slurp(dir / "plan.csv").find("prefill_instances") != std::string::npos);
  for (const auto& [shares, sizes, mention] :
       {std::tuple{"[1.0]", "[2]", "$.candidates[0].prefill_shares[0]"}, std::tuple{"[0.5]", "", "instance_gpus beside it"}}) {
    const auto bad = moesim_test::write_temp_file("plan-pools", "bad.json",
                                                  std::string(R"({"scenario": "scenario.json",
      "slo": {"ttft_p90_ms": 5000, "tpot_p90_ms": 500}, "policies": ["static-contiguous"], "candidates": [
        {"gpu": "h100-sxm", "topology": "dgx-h100", "usd_per_gpu_hour": 3.0, "max_machines": 1, )") +
                                                      (std::string(sizes).empty() ? "" : std::string(R"("instance_gpus": )") + sizes + ", ") +
                                                      R"("prefill_shares": )" + shares + "}]}");
    const Result b = run("plan " + bad + " --out " + (dir / "bad").string());
    CHECK(b.exit_code == 2);
    CHECK_THAT(b.output, Catch::Contains(mention));
  }
}

TEST_CASE("compare draws latency CDFs and the per-layer imbalance heatmap", "[plots][cli]") {
  const auto dir = moesim_test::fresh_temp_dir("compare-plots");
  const auto scenario = moesim_test::write_temp_file("compare-plots", "s.json", R"({
    "name": "plots", "model": "mixtral-8x7b",
    "cluster": {"topology": {"preset": "dgx-h100", "machines": 1}, "gpu": "h100-sxm", "variability": {"spread": 0.1}},
    "workload": {"duration_s": 2, "arrivals": {"kind": "poisson", "rate_per_s": 8,
                 "input_tokens": {"mean": 512, "cv": 0.3}, "output_tokens": {"mean": 8, "cv": 0.3}},
                 "routing": {"kind": "zipf", "skew": 1.2}}})");
  const Result r = run("compare " + scenario + " --policies static-contiguous,vibe --out " + dir.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto json = nlohmann::json::parse(slurp(dir / "compare.json"));
  const auto& cdf = json["policies"][0]["ttft_cdf_s"];
  REQUIRE(cdf.size() == 99);
  for (std::size_t i = 1; i < cdf.size(); ++i) CHECK(cdf[i].get<double>() >= cdf[i - 1].get<double>());
  CHECK(json["policies"][0]["imbalance_by_moe_layer"].size() == 32);  // Mixtral: 32 MoE layers
  for (const char* png : {"latency-cdf.png", "imbalance-heatmap.png"}) {
    CHECK(moesim_test::png_size(dir / png) == std::pair<std::uint32_t, std::uint32_t>{1000, 600});
    CHECK(fs::file_size(dir / png) > 10000);
  }
}
