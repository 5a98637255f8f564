// MoEless through `moesim compare` as a user meets it: serverful baselines next to
// the serverless policy on one scenario, the bill, determinism, and bad input.
#include <nlohmann/json.hpp>

#include "../temp_files.h"
#include "cli_helpers.h"

using moesim_test::Result;
using moesim_test::run;
using moesim_test::slurp;

namespace {

nlohmann::json scenario(const nlohmann::json& placement, const nlohmann::json& serverless) {
  return {{"name", "moeless-test"},
          {"seed", 3},
          {"model", "mixtral-8x7b"},
          {"cluster", {{"topology", {{"preset", "pcie-8"}, {"nvlink_bridges", true}}}, {"gpu", "rtx-a6000"}, {"variability", "none"}}},
          {"workload",
           {{"duration_s", 8},
            {"arrivals", {{"kind", "poisson"}, {"rate_per_s", 4}, {"input_tokens", {{"mean", 512}}}, {"output_tokens", {{"mean", 32}}}}},
            {"routing", {{"kind", "zipf"}, {"skew", 1.2}}}}},
          {"serving", {{"batching", "static-buckets"}, {"bucket_s", 1.0}, {"prefill_chunk", 8192}}},
          {"placement", placement},
          {"serverless", serverless},
          {"slo", {{"ttft_ms", 2000}, {"tpot_ms", 200}}}};
}

const nlohmann::json& row(const nlohmann::json& compare, const std::string& policy) {
  for (const auto& p : compare["policies"]) {
    if (p["policy"] == policy) return p;
  }
  FAIL("no row for " << policy);
  return compare;
}

}  // namespace

TEST_CASE("moeless next to static EP: pays for GPU time used, loads replicas, same result on a rerun",
          "[experiments][cli][serverless]") {
  const auto dir = moesim_test::fresh_temp_dir("moeless-cli");
  const auto path = moesim_test::write_temp_file(
      "moeless-cli", "scenario.json", scenario({{"policy", "moeless"}}, {{"keep_alive", {{"policy", "fixed"}, {"seconds", 5}}}}).dump());
  const std::string args = path + " --policies static-contiguous,moeless,moeless:predictor=none --out ";
  const Result first = run("compare " + args + (dir / "a").string());
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  CHECK(first.output.find("cold starts") != std::string::npos);
  const Result second = run("compare " + args + (dir / "b").string());
  REQUIRE(second.exit_code == 0);
  CHECK(slurp(dir / "a" / "compare.json") == slurp(dir / "b" / "compare.json"));

  const auto j = nlohmann::json::parse(slurp(dir / "a" / "compare.json"));
  const auto& fixed = row(j, "static-contiguous");
  const auto& moeless = row(j, "moeless");
  CHECK(moeless["requests"] == fixed["requests"]);
  // Every policy measured by the same rules: reserved = the 8 GPUs held for the run's
  // makespan, busy (all work, loads included) below it; serverful is billed its
  // reserved GPUs.
  for (const auto* r : {&fixed, &moeless}) {
    CHECK((*r)["reserved_gpu_seconds"].get<double>() == Approx((*r)["gpu_seconds"].get<double>()));
    CHECK((*r)["busy_gpu_seconds"].get<double>() > 0.0);
    CHECK((*r)["busy_gpu_seconds"].get<double>() < (*r)["reserved_gpu_seconds"].get<double>());
  }
  CHECK(fixed["billed_gpu_seconds"] == fixed["reserved_gpu_seconds"]);
  // Serverless billing rounds each invocation up: exact billing (granularity 0) bills less.
  const auto exact = moesim_test::write_temp_file(
      "moeless-cli", "exact.json",
      scenario({{"policy", "moeless"}}, {{"keep_alive", {{"policy", "fixed"}, {"seconds", 5}}}, {"billing_granularity_ms", 0}}).dump());
  REQUIRE(run("compare " + exact + " --policies moeless --out " + (dir / "c").string()).exit_code == 0);
  const auto exact_row = nlohmann::json::parse(slurp(dir / "c" / "compare.json"))["policies"][0];
  CHECK(exact_row["busy_gpu_seconds"] == moeless["busy_gpu_seconds"]);  // same run, only the bill differs
  CHECK(exact_row["billed_gpu_seconds"].get<double>() < moeless["billed_gpu_seconds"].get<double>());
  CHECK(fixed["cold_starts"] == 0);
  CHECK(moeless["cold_starts"].get<double>() > 0);
  CHECK(moeless["moe_layer_mean_ms"].get<double>() > 0);
}

TEST_CASE("moeless bad input: horizon beyond the layers, a zero keep-alive, a pool too small, grouped kernels", "[experiments][cli][serverless]") {
  const auto horizon = moesim_test::write_temp_file(
      "moeless-bad", "horizon.json", scenario({{"policy", "moeless"}, {"horizon", 40}}, nlohmann::json::object()).dump());
  Result r = run("run " + horizon + " --out " + moesim_test::fresh_temp_dir("moeless-h").string());
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("horizon 40") != std::string::npos);
  const auto keep = moesim_test::write_temp_file(
      "moeless-bad", "keep.json", scenario({{"policy", "moeless"}}, {{"keep_alive", {{"policy", "fixed"}, {"seconds", 0}}}}).dump());
  r = run("run " + keep);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("$.serverless.keep_alive.seconds") != std::string::npos);
  const auto pool = moesim_test::write_temp_file("moeless-bad", "pool.json",
                                                 scenario({{"policy", "moeless"}}, {{"pool_gib", 0.1}}).dump());
  r = run("run " + pool);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("pool_gib") != std::string::npos);
  const auto price = moesim_test::write_temp_file("moeless-bad", "price.json",
                                                  scenario({{"policy", "moeless"}}, {{"gpu_hour_price", -2}}).dump());
  r = run("run " + price);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("$.serverless.gpu_hour_price") != std::string::npos);
  // Serverless experts are separate functions: one grouped kernel over them is refused.
  auto grouped_spec = scenario({{"policy", "moeless"}}, nlohmann::json::object());
  grouped_spec["serving"]["expert_kernels"] = "grouped";
  const auto grouped = moesim_test::write_temp_file("moeless-bad", "grouped.json", grouped_spec.dump());
  r = run("run " + grouped);
  CHECK(r.exit_code == 2);
  CHECK(r.output.find("$.serving.expert_kernels") != std::string::npos);
}
