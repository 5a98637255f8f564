// moesim offload as a user meets it: the real Llama-4 routing trace split into
// profiling and served requests, the policies' ranking, outputs, and bad input.
#include <nlohmann/json.hpp>

#include "../temp_files.h"
#include "cli_helpers.h"

using moesim_test::Result;
using moesim_test::run;
using moesim_test::slurp;

namespace {

std::string llama4_scenario(int train, int eval) {
  return nlohmann::json{
      {"name", "llama4-offload-test"},
      {"model", "llama-4-maverick-17b-128e-fp8"},
      {"cluster", {{"gpu", "h100-sxm"}}},
      {"routing", {{"kind", "trace"}, {"path", MOESIM_SOURCE_DIR "/traces/data/llama4-maverick-mmlu.moert"}}},
      {"requests", {{"train", train}, {"eval", eval}, {"max_decode_steps", 24}}},
      {"policies", {"on-demand", "lru", "mixtral-offloading", "moe-infinity"}}}
      .dump();
}

double metric(const nlohmann::json& runs, const std::string& policy, int cache, const char* key) {
  for (const auto& r : runs) {
    if (r["policy"] == policy && r["cache_experts"] == cache) return r[key].get<double>();
  }
  FAIL("no run of " << policy << " at " << cache);
  return 0.0;
}

double latency(const nlohmann::json& runs, const std::string& policy, int cache) {
  return metric(runs, policy, cache, "per_token_latency_s");
}

}  // namespace

TEST_CASE("offload on the real Llama-4 trace: moe-infinity beats on-demand and Mixtral-Offloading, out-caches LRU",
          "[experiments][cli][offload]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_offload_cli");
  const std::string scenario = moesim_test::write_temp_file("moesim_offload_cli", "s.json", llama4_scenario(250, 12));
  const std::string args = "offload " + scenario + " --cache-fractions 0.1,0.3 --out " + (dir / "out").string();
  const Result r = run(args + " --png " + (dir / "lat.png").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("250 training requests") && Catch::Contains("hit rate"));
  const auto j = nlohmann::json::parse(slurp(dir / "out" / "offload.json"));
  const auto& runs = j["runs"];
  REQUIRE(runs.size() == 8);  // the scenario's 4 policies × 2 sizes
  for (const int cache : {307, 921}) {
    INFO("cache " << cache);
    const double moe_infinity = latency(runs, "moe-infinity", cache);
    CHECK(moe_infinity < latency(runs, "on-demand", cache) / 2.0);
    CHECK(moe_infinity < latency(runs, "mixtral-offloading", cache));
    // Against LRU the gain is in the cache decisions: 1.5–2.2 points more hits at both
    // sizes (0.624 vs 0.602, 0.795 vs 0.781; the trace and the served requests are fixed,
    // so every seed gives these numbers).
    CHECK(metric(runs, "moe-infinity", cache, "hit_rate") > metric(runs, "lru", cache, "hit_rate") + 0.01);
  }
  // In latency only the larger cache turns the hits into a lead (−1.3%); at 10% the two
  // are level (+0.2%): docs/results-offload.md.
  CHECK(latency(runs, "moe-infinity", 921) < 0.99 * latency(runs, "lru", 921));
  CHECK(latency(runs, "moe-infinity", 307) == Approx(latency(runs, "lru", 307)).epsilon(0.005));
  // A bigger cache helps every caching policy.
  CHECK(latency(runs, "lru", 921) < latency(runs, "lru", 307));
  CHECK(latency(runs, "on-demand", 921) == latency(runs, "on-demand", 307));
  CHECK(moesim_test::png_size(dir / "lat.png") == std::make_pair(1000u, 600u));
  // Deterministic: the same command writes the same bytes, and tracing changes no result.
  const std::string first = slurp(dir / "out" / "offload.json");
  const Result traced = run(args + " --trace " + (dir / "trace.json").string());
  REQUIRE(traced.exit_code == 0);
  CHECK(slurp(dir / "out" / "offload.json") == first);
  // The trace is the first run's (on-demand, 307 experts): its 12 requests, and only
  // on-demand copies.
  const auto events = nlohmann::json::parse(slurp(dir / "trace.json"))["traceEvents"];
  int requests = 0, on_demand = 0, prefetches = 0;
  for (const auto& e : events) {
    if (e["name"] == "thread_name" && e["args"]["name"].get<std::string>().rfind("req ", 0) == 0) ++requests;
    if (e["ph"] != "X") continue;
    const std::string name = e["name"].get<std::string>();
    on_demand += name.rfind("on demand ", 0) == 0;
    prefetches += name.rfind("prefetch ", 0) == 0;
  }
  CHECK(requests == 12);
  CHECK(on_demand > 0);
  CHECK(prefetches == 0);
}

TEST_CASE("offload bounds: belady's hit rate is above every policy, random-static below the informed ones",
          "[experiments][cli][offload]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_offload_bounds");
  const std::string scenario = moesim_test::write_temp_file("moesim_offload_bounds", "s.json", llama4_scenario(250, 12));
  const Result r = run("offload " + scenario + " --cache-fractions 0.1 --out " + (dir / "out").string() +
                       " --policies on-demand,lru,lfu,mixtral-offloading,popularity,moe-infinity,random-static,belady");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("hit rate between the bounds at 307 experts"));
  const auto runs = nlohmann::json::parse(slurp(dir / "out" / "offload.json"))["runs"];
  const double best = metric(runs, "belady", 307, "hit_rate");
  const double random = metric(runs, "random-static", 307, "hit_rate");
  for (const char* p : {"on-demand", "lru", "lfu", "mixtral-offloading", "popularity", "moe-infinity"}) {
    INFO(p);
    CHECK(metric(runs, p, 307, "hit_rate") < best);
  }
  // On real per-token routing every policy that learns from it beats a random set.
  for (const char* p : {"lru", "lfu", "mixtral-offloading", "popularity", "moe-infinity"}) {
    INFO(p);
    CHECK(metric(runs, p, 307, "hit_rate") > random);
  }
  // The bound is a hit-rate bound; it also has the fewest bytes copied in.
  CHECK(metric(runs, "belady", 307, "host_to_gpu_bytes") < metric(runs, "moe-infinity", 307, "host_to_gpu_bytes"));
}

TEST_CASE("offload bad input: overlapping splits, a trace of another model, unknown policies",
          "[experiments][cli][offload]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_offload_cli_bad");
  const std::string overlap = moesim_test::write_temp_file("moesim_offload_cli_bad", "a.json", llama4_scenario(380, 20));
  Result r = run("offload " + overlap + " --out " + (dir / "o").string());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("380 + 20") && Catch::Contains("387 requests"));

  auto wrong = nlohmann::json::parse(llama4_scenario(10, 2));
  wrong["model"] = "mixtral-8x7b";
  const std::string mismatch = moesim_test::write_temp_file("moesim_offload_cli_bad", "b.json", wrong.dump());
  r = run("offload " + mismatch + " --out " + (dir / "o").string());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("24 MoE layers × 128 experts") && Catch::Contains("32 MoE layers × 8 experts"));

  r = run("offload " + overlap + " --policies lru,clairvoyant");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("unknown cache policy 'clairvoyant'"));

  auto tiny = nlohmann::json::parse(llama4_scenario(10, 2));
  tiny["offload"] = {{"cache_bytes", 1000}};
  const std::string small = moesim_test::write_temp_file("moesim_offload_cli_bad", "c.json", tiny.dump());
  r = run("offload " + small);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("$.offload.cache_bytes") && Catch::Contains("smaller than one"));
}
