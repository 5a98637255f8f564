// The moesim executable as a user meets it: help, version, exit codes, and clear
// messages for bad input. Runs the built binary (MOESIM_BINARY).
#include "../temp_files.h"
#include "cli_helpers.h"

#include <nlohmann/json.hpp>
#include <sstream>

using moesim_test::run;
using moesim_test::Result;
using moesim_test::slurp;

TEST_CASE("moesim --help, --version and per-command help", "[experiments][cli]") {
  const Result help = run("--help");
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.output, Catch::Contains("validate") && Catch::Contains("bench"));
  const Result version = run("--version");
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.output, Catch::StartsWith("moesim "));
  for (const char* cmd : {"validate --help", "bench --help"}) {
    const Result r = run(cmd);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("Usage: moesim"));
  }
}

TEST_CASE("unknown commands and options exit with code 2 and say what was wrong", "[experiments][cli]") {
  const Result none = run("");
  CHECK(none.exit_code == 2);
  const Result unknown = run("frobnicate");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.output, Catch::Contains("unknown command 'frobnicate'"));
  const Result flag = run("validate queueing --no-such-flag");
  CHECK(flag.exit_code == 2);
  CHECK_THAT(flag.output, Catch::Contains("no-such-flag"));
  const Result target = run("validate nonsense");
  CHECK(target.exit_code == 2);
  CHECK_THAT(target.output, Catch::Contains("unknown target 'nonsense'"));
}

TEST_CASE("invalid parameters name the parameter and the expected range", "[experiments][cli]") {
  struct Case {
    const char* args;
    const char* mentions;
  };
  for (const Case& c : {Case{"validate queueing --utilisations 1.2", "--utilisations"},
                        Case{"validate queueing --utilisations 0.5,nan", "--utilisations"},
                        Case{"validate queueing --utilisations 0.5,abc", "abc"},
                        Case{"validate queueing --servers 0", "--servers"},
                        Case{"validate queueing --service-rate -3", "--service-rate"},
                        Case{"validate queueing --replications 1", "--replications"},
                        Case{"validate queueing --customers 10 --warmup 20", "--customers"},
                        Case{"validate queueing --servers two", "servers"},
                        Case{"bench engine --pending 0", "--pending"},
                        Case{"bench engine --phold-remote 2", "--phold-remote"}}) {
    const Result r = run(c.args);
    INFO(c.args << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.mentions));
    CHECK_THAT(r.output, !Catch::Contains("internal error"));
  }
}

TEST_CASE("validate queueing prints the table, writes JSON, and is reproducible", "[experiments][cli][determinism]") {
  const auto dir = std::filesystem::temp_directory_path() / "moesim_cli_test";
  std::filesystem::remove_all(dir);
  const std::string common = "validate queueing --utilisations 0.6 --replications 4 --customers 20000 --warmup 2000 ";
  const Result a = run(common + "--json " + (dir / "a.json").string());
  const Result b = run(common + "--json " + (dir / "b.json").string());
  const Result c = run(common + "--seed 9 --json " + (dir / "c.json").string());
  CHECK_THAT(a.output, Catch::Contains("M/M/1") && Catch::Contains("M/D/1") && Catch::Contains("M/M/4"));
  CHECK_THAT(a.output, Catch::Contains("Little's law"));
  CHECK(a.exit_code == b.exit_code);
  CHECK(slurp(dir / "a.json") == slurp(dir / "b.json"));
  CHECK(slurp(dir / "a.json") != slurp(dir / "c.json"));
  CHECK_THAT(slurp(dir / "a.json"), Catch::Contains("\"within_ci\""));
  std::filesystem::remove_all(dir);
}

TEST_CASE("validate queueing writes a Perfetto trace with one track per server", "[experiments][cli]") {
  const auto dir = std::filesystem::temp_directory_path() / "moesim_cli_trace_test";
  std::filesystem::remove_all(dir);
  const Result r = run("validate queueing --utilisations 0.5 --replications 2 --customers 3000 --warmup 100 --json " +
                       (dir / "v.json").string() + " --trace " + (dir / "t.json").string() + " --trace-limit 1000");
  CHECK_THAT(r.output, Catch::Contains("Trace:") && Catch::Contains("dropped"));
  const std::string trace = slurp(dir / "t.json");
  for (const char* track : {"M/M/1 rho=0.50/0", "M/D/1 rho=0.50/0", "M/M/4 rho=0.50/0", "M/M/4 rho=0.50/3"}) CHECK_THAT(trace, Catch::Contains(track));
  CHECK_THAT(trace, Catch::Contains("\"dropped_records\":"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("catalog lists the built-in models and GPUs", "[experiments][cli]") {
  const Result all = run("catalog");
  CHECK(all.exit_code == 0);
  for (const char* name : {"mixtral-8x7b", "deepseek-v3", "llama-4-maverick-17b-128e", "h100-sxm", "mi325x", "rtx-a5000"}) {
    CHECK_THAT(all.output, Catch::Contains(name));
  }
  CHECK(run("catalog gpus").exit_code == 0);
  const Result bad = run("catalog tpus");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("unknown catalog 'tpus'"));
}

namespace {

std::string small_scenario(const std::string& model_field, const std::string& rate, const std::string& cluster,
                           int duration_s = 2) {
  return R"({"name": "small", "seed": 3, "model": )" + model_field + R"(,
    "cluster": )" + cluster + R"(,
    "workload": {"duration_s": )" + std::to_string(duration_s) + R"(, "arrivals": {"rate_per_s": )" + rate + R"(,
                 "input_tokens": {"mean": 200, "cv": 0.5}, "output_tokens": {"mean": 20, "cv": 0.5}}},
    "slo": {"ttft_ms": 500, "tpot_ms": 50}})";
}

const std::string kDgx = R"({"topology": {"preset": "dgx-h100"}, "gpu": "h100-sxm"})";

std::string kInstances(int count, int gpus) {
  return R"({"topology": {"preset": "dgx-h100"}, "gpu": "h100-sxm", "instances": {"count": )" + std::to_string(count) +
         R"(, "gpus": )" + std::to_string(gpus) + "}}";
}

std::string kPools(int prefill, int prefill_gpus, int decode, int decode_gpus) {
  return R"({"topology": {"preset": "dgx-h100"}, "gpu": "h100-sxm", "pools": {"prefill": {"count": )" +
         std::to_string(prefill) + R"(, "gpus": )" + std::to_string(prefill_gpus) + R"(}, "decode": {"count": )" +
         std::to_string(decode) + R"(, "gpus": )" + std::to_string(decode_gpus) + "}}}";
}

// cluster.instances as a list of groups (a cluster mixing GPU types) on one DGX-H100.
std::string kGroups(const std::string& groups) {
  return R"({"topology": {"preset": "dgx-h100"}, "gpu": "h100-sxm", "instances": [)" + groups + "]}";
}

std::string with_router(std::string scenario, const std::string& router) {
  return scenario.replace(0, 1, R"({"router": )" + router + ", ");
}

std::filesystem::path write_temp(const std::string& folder, const std::string& name, const std::string& text) {
  return moesim_test::write_temp_file(folder, name, text);
}

}  // namespace

TEST_CASE("moesim run simulates a scenario reproducibly and writes metrics and per-request CSV", "[experiments][cli][run]") {
  const auto scenario = write_temp("moesim_run_ok_test", "ok.json", small_scenario(R"("mixtral-8x7b")", "4", kDgx));
  const auto dir = scenario.parent_path();
  const Result a = run("run " + scenario.string() + " --out " + (dir / "a").string());
  const Result b = run("run " + scenario.string() + " --out " + (dir / "b").string());
  const Result c = run("run " + scenario.string() + " --seed 4 --out " + (dir / "c").string());
  INFO(a.output);
  CHECK(a.exit_code == 0);
  CHECK_THAT(a.output, Catch::Contains("TTFT P50 / P90 / P99") && Catch::Contains("SLO attainment"));
  CHECK(slurp(dir / "a" / "metrics.json") == slurp(dir / "b" / "metrics.json"));
  CHECK(slurp(dir / "a" / "requests.csv") == slurp(dir / "b" / "requests.csv"));
  CHECK(slurp(dir / "a" / "metrics.json") != slurp(dir / "c" / "metrics.json"));
  CHECK_THAT(slurp(dir / "a" / "requests.csv"), Catch::StartsWith("id,gpu,arrival_s"));
  CHECK_THAT(slurp(dir / "a" / "metrics.json"), Catch::Contains("\"resolved\"") || Catch::Contains("\"scenario\""));
  std::filesystem::remove_all(dir);
}

TEST_CASE("two instances behind round-robin: requests alternate, each instance reports, the echo says so",
          "[experiments][cli][run][instances]") {
  const auto scenario = write_temp("moesim_run_instances_test", "two.json",
                                   with_router(small_scenario(R"("mixtral-8x7b")", "4", kInstances(2, 4), 4),
                                               R"({"policy": "round-robin"})"));
  const auto dir = scenario.parent_path();
  const Result a = run("run " + scenario.string() + " --out " + (dir / "a").string());
  INFO(a.output);
  REQUIRE(a.exit_code == 0);
  CHECK_THAT(a.output, Catch::Contains("2 × EP 4 / round-robin") && Catch::Contains("instance 1 (GPUs 4–7)"));
  const auto metrics = nlohmann::json::parse(slurp(dir / "a" / "metrics.json"));
  REQUIRE(metrics["instances"]["instances"].size() == 2);
  CHECK(metrics["scenario"]["cluster"]["instances"]["count"] == 2);
  CHECK(metrics["scenario"]["router"]["policy"] == "round-robin");
  // Round-robin: request i goes to instance i mod 2, whose GPUs are 4 (i mod 2) + 0..3.
  std::istringstream csv(slurp(dir / "a" / "requests.csv"));
  std::string line;
  std::getline(csv, line);
  int rows = 0, misplaced = 0;
  std::size_t per_instance[2] = {0, 0};
  while (std::getline(csv, line)) {
    const auto comma = line.find(',');
    const int id = std::stoi(line.substr(0, comma));
    const int gpu = std::stoi(line.substr(comma + 1));
    ++rows;
    ++per_instance[gpu / 4];
    misplaced += (gpu / 4 != id % 2) ? 1 : 0;
  }
  CHECK(rows > 8);
  CHECK(misplaced == 0);
  CHECK(metrics["instances"]["instances"][0]["requests"] == per_instance[0]);
  CHECK(metrics["instances"]["instances"][1]["requests"] == per_instance[1]);
  // Traced, the instances share one flow network and every collective is an event;
  // untraced, each has its own network copy and runs in closed form. Their cables are
  // disjoint, so the request timelines must be the same to the nanosecond.
  const Result traced = run("run " + scenario.string() + " --trace " + (dir / "t.json").string() + " --out " +
                            (dir / "b").string());
  REQUIRE(traced.exit_code == 0);
  CHECK(slurp(dir / "a" / "requests.csv") == slurp(dir / "b" / "requests.csv"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("disaggregated pools: prompts on the prefill pool, decodes on the decode pool, KV hand-overs reported",
          "[experiments][cli][run][disaggregated]") {
  const auto scenario = write_temp("moesim_run_pools_test", "pools.json",
                                   with_router(small_scenario(R"("mixtral-8x7b")", "4", kPools(1, 4, 1, 4), 4),
                                               R"({"policy": "least-requests"})"));
  const auto dir = scenario.parent_path();
  const Result a = run("run " + scenario.string() + " --out " + (dir / "a").string());
  INFO(a.output);
  REQUIRE(a.exit_code == 0);
  CHECK_THAT(a.output, Catch::Contains("instance 0, prefill (GPUs 0–3)") && Catch::Contains("instance 1, decode (GPUs 4–7)") &&
                           Catch::Contains("KV hand-overs"));
  const auto metrics = nlohmann::json::parse(slurp(dir / "a" / "metrics.json"));
  CHECK(metrics["scenario"]["cluster"]["pools"]["prefill"]["gpus"] == 4);
  const auto& instances = metrics["instances"]["instances"];
  REQUIRE(instances.size() == 2);
  CHECK(instances[0]["pool"] == "prefill");
  CHECK(instances[1]["pool"] == "decode");
  // Every request with more than one output token finishes on the decode pool,
  // after one KV hand-over each; the prefill pool's GPUs still did work (prompts).
  const auto requests = metrics["requests"]["completed"].get<int>();
  CHECK(requests > 4);
  CHECK(metrics["kv_transfers"]["count"].get<int>() + instances[0]["requests"].get<int>() == requests);
  CHECK(instances[1]["requests"].get<int>() == metrics["kv_transfers"]["count"].get<int>());
  CHECK(instances[0]["busy_share"].get<double>() > 0.0);
  // Each pool may have its own GPU type and placement: an H100 prefill pool before
  // A100 decoders prefills faster (lower TTFT); the decode side is the same GPUs.
  std::string mixed = with_router(small_scenario(R"("mixtral-8x7b")", "4",
                                                 R"({"topology": {"preset": "dgx-h100"}, "gpu": "a100-sxm", "pools": {
      "prefill": {"count": 1, "gpus": 4, "gpu": "h100-sxm", "placement": {"policy": "static-round-robin"}},
      "decode": {"count": 1, "gpus": 4}}})",
                                                 4),
                                    R"({"policy": "least-requests"})");
  const auto all_a100 = write_temp("moesim_run_pools_test", "a100.json",
                                   std::string(mixed).replace(mixed.find(R"("gpu": "h100-sxm", )"), 19, ""));
  const auto mixed_path = write_temp("moesim_run_pools_test", "mixed.json", mixed);
  const Result m = run("run " + mixed_path.string() + " --out " + (dir / "m").string());
  const Result u = run("run " + all_a100.string() + " --out " + (dir / "u").string());
  INFO(m.output);
  REQUIRE(m.exit_code == 0);
  REQUIRE(u.exit_code == 0);
  CHECK_THAT(m.output, Catch::Contains("prefill 1 × EP 4 on h100-sxm (static-round-robin); decode 1 × EP 4 on a100-sxm"));
  const auto jm = nlohmann::json::parse(slurp(dir / "m" / "metrics.json"));
  const auto ju = nlohmann::json::parse(slurp(dir / "u" / "metrics.json"));
  CHECK(jm["scenario"]["cluster"]["pools"]["prefill"]["gpu"] == "h100-sxm");
  CHECK(jm["ttft_s"]["p50"].get<double>() < 0.8 * ju["ttft_s"]["p50"].get<double>());
  std::filesystem::remove_all(dir);
}

TEST_CASE("instance groups of two GPU types: each instance computes on its own group's GPUs",
          "[experiments][cli][run][instances]") {
  // Round-robin sends request i to instance i mod 2 whatever their speed, so both
  // instances see the same kind of load; the A100 instance's prompts take longer.
  const std::string mixed = with_router(
      small_scenario(R"("mixtral-8x7b")", "4",
                     kGroups(R"({"count": 1, "gpus": 4}, {"count": 1, "gpus": 4, "gpu": "a100-sxm"})"), 4),
      R"({"policy": "round-robin"})");
  const auto mixed_path = write_temp("moesim_run_groups_test", "mixed.json", mixed);
  const auto dir = mixed_path.parent_path();
  const Result m = run("run " + mixed_path.string() + " --out " + (dir / "m").string());
  INFO(m.output);
  REQUIRE(m.exit_code == 0);
  CHECK_THAT(m.output, Catch::Contains("1 × EP 4 + 1 × EP 4 on a100-sxm / round-robin") &&
                           Catch::Contains("instance 1, a100-sxm (GPUs 4–7)") && Catch::Contains("instance 0 (GPUs 0–3)"));
  const auto jm = nlohmann::json::parse(slurp(dir / "m" / "metrics.json"));
  const auto& instances = jm["instances"]["instances"];
  REQUIRE(instances.size() == 2);
  CHECK_FALSE(instances[0].contains("gpu"));
  CHECK(instances[1]["gpu"] == "a100-sxm");
  CHECK(jm["scenario"]["cluster"]["instances"][1]["gpu"] == "a100-sxm");
  CHECK(instances[0]["ttft_s"]["p50"].get<double>() < 0.8 * instances[1]["ttft_s"]["p50"].get<double>());
  // The same groups written as one {"count": 2, "gpus": 4} are the same run, byte for byte.
  const auto one = write_temp("moesim_run_groups_test", "one.json",
                              with_router(small_scenario(R"("mixtral-8x7b")", "4", kInstances(2, 4), 4),
                                          R"({"policy": "round-robin"})"));
  const auto two = write_temp("moesim_run_groups_test", "two.json",
                              with_router(small_scenario(R"("mixtral-8x7b")", "4",
                                                         kGroups(R"({"count": 1, "gpus": 4}, {"count": 1, "gpus": 4})"), 4),
                                          R"({"policy": "round-robin"})"));
  REQUIRE(run("run " + one.string() + " --out " + (dir / "one").string()).exit_code == 0);
  REQUIRE(run("run " + two.string() + " --out " + (dir / "two").string()).exit_code == 0);
  CHECK(slurp(dir / "one" / "requests.csv") == slurp(dir / "two" / "requests.csv"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("moesim run rejects bad scenarios with the JSON path and exit code 2", "[experiments][cli][run]") {
  struct Case {
    std::string text;
    std::vector<std::string> mentions;
  };
  const std::vector<Case> cases{
      {small_scenario(R"("gpt-5")", "4", kDgx), {"$.model", "unknown model 'gpt-5'", "mixtral-8x7b"}},
      {small_scenario(R"("mixtral-8x7b")", R"("fast")", kDgx),
       {"$.workload.arrivals.rate_per_s: expected a number, got \"fast\""}},
      {small_scenario(R"("mixtral-8x7b")", "-1", kDgx), {"$.workload.arrivals.rate_per_s", "a rate in [1e-08, 1e+06] per second"}},
      {small_scenario(R"("mixtral-8x7b")", "4", R"({"topology": {"preset": "workstation-1"}, "gpu": "rtx-a5000"})"),
       {"does not fit", "GiB of expert weights"}},
      {small_scenario(R"("mixtral-8x7b")", "4", R"({"topology": {"preset": "dgx-h100"}, "gpu": "h200"})"),
       {"$.cluster.gpu", "unknown GPU profile 'h200'"}},
      {small_scenario(R"("mixtral-8x7b")", "4", R"({"topology": {"preset": "dgx-h100", "machine": 2}, "gpu": "h100-sxm"})"),
       {"$.cluster.topology.machine: unknown key 'machine'", "machines"}},
      {R"({"model": "mixtral-8x7b", )", {"invalid JSON"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kInstances(3, 4)),
       {"$.cluster.instances", "do not tile the cluster's 8 GPUs"}},
      {small_scenario(R"("mixtral-8x7b")", "4",
                      R"({"topology": {"preset": "dgx-h100", "machines": 2}, "gpu": "h100-sxm", "instances": {"count": 1, "gpus": 16}})"),
       {"$.cluster.instances.gpus", "does not divide", "8 experts"}},
      {with_router(small_scenario(R"("mixtral-8x7b")", "4", kInstances(2, 4)), R"({"policy": "fastest"})"),
       {"$.router.policy", "unknown router policy 'fastest'", "least-requests"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kInstances(2, 4)).replace(
           0, 1, R"({"placement": {"policy": "moeless"}, )"),
       {"$.cluster.instances", "serverless policy 'moeless'"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kDgx).replace(0, 1, R"({"serving": {"kv_cache": "paged", "prefix_cache": true}, )"),
       {"$.serving.prefix_cache", "no prefix hashes", "Mooncake"}},
      {with_router(small_scenario(R"("mixtral-8x7b")", "4", kInstances(2, 4)), R"({"policy": "prefix-aware"})"),
       {"$.router.policy", "prefix-aware router needs", "prefix_cache"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kDgx).replace(0, 1, R"({"serving": {"kv_cache": "paged", "kv_block_tokens": -16}, )"),
       {"$.serving.kv_block_tokens"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kDgx).replace(0, 1, R"({"serving": {"kv_cache": "paged", "kv_blocks": 2}, )"),
       {"every one of the", "requests was dropped", "$.serving.kv_blocks = 2 blocks of 16 tokens"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kDgx).replace(0, 1, R"({"serving": {"kv_cache": "paged", "kv_blocks": 1099511627776, "kv_block_tokens": 65536}, )"),
       {"$.serving.kv_blocks", "exceed 2^60 bytes"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kGroups(R"({"count": 1, "gpus": 4})")),
       {"$.cluster.instances", "1 × 4 GPUs = 4 GPUs do not tile the cluster's 8 GPUs"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kGroups(R"({"count": 1, "gpus": 4}, {"count": 1, "gpus": 3}, {"count": 1, "gpus": 1})")),
       {"$.cluster.instances[1].gpus", "does not divide", "8 experts"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kGroups(R"({"count": 1, "gpus": 4, "gpu": "h300"}, {"count": 1, "gpus": 4})")),
       {"$.cluster.instances[0].gpu", "unknown GPU profile 'h300'"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kGroups("")), {"$.cluster.instances", "empty list"}},
      {small_scenario(R"("mixtral-8x7b")", "4", R"({"topology": {"preset": "dgx-h100"}, "gpu": "h100-sxm", "instances": "2x4"})"),
       {"$.cluster.instances", "expected an object {\"count\", \"gpus\"} or a list of them"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kGroups(R"({"count": 2, "gpus": 4}, null)")),
       {"$.cluster.instances[1]", "expected an object"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kGroups(R"({"count": 2, "gpus": 2, "gpu": "rtx-a5000"}, {"count": 1, "gpus": 4})")),
       {"$.cluster.instances[0].gpus", "does not fit", "GiB of expert weights"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kGroups(R"({"count": 2, "gpus": 4, "placement": {"policy": "moeless"}})")),
       {"$.cluster.instances[0].placement.policy", "serverless policy 'moeless'"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kGroups(R"({"count": 2, "gpus": 4, "gpus_per_node": 4})")),
       {"$.cluster.instances[0]", "unknown key 'gpus_per_node'"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kPools(1, 4, 1, 2)), {"$.cluster.pools", "do not tile the cluster's 8 GPUs"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kPools(1, 3, 1, 5)), {"$.cluster.pools.prefill.gpus", "does not divide"}},
      {small_scenario(R"("deepseek-v3")", "4", kPools(1, 4, 1, 4)),
       {"$.cluster.pools.prefill.gpus", "does not fit", "GiB of expert weights"}},
      {small_scenario(R"("mixtral-8x7b")", "4",
                      R"({"topology": {"preset": "dgx-h100"}, "gpu": "h100-sxm", "instances": {"count": 2, "gpus": 4},
                          "pools": {"prefill": {"count": 1, "gpus": 4}, "decode": {"count": 1, "gpus": 4}}})"),
       {"$.cluster.pools", "either cluster.instances or cluster.pools"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kPools(1, 2, 3, 2)).replace(0, 1, R"({"serving": {"attention_tp": 4}, )"),
       {"$.serving.attention_tp", "do not tile an instance of 2 GPUs"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kPools(1, 4, 1, 4)).replace(0, 1, R"({"placement": {"policy": "moeless"}, )"),
       {"$.cluster.pools", "serverless policy 'moeless'"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kInstances(2, 4)).replace(0, 1, R"({"serving": {"attention_tp": 8}, )"),
       {"$.serving.attention_tp", "do not tile an instance of 4 GPUs"}},
      {small_scenario(R"("llama-4-scout-17b-16e")", "4",
                      R"({"topology": {"preset": "dgx-h100", "machines": 2}, "gpu": "h100-sxm"})")
           .replace(0, 1, R"({"serving": {"attention_tp": 16}, )"),
       {"$.serving.attention_tp", "does not divide", "40 attention heads"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kDgx).replace(0, 1, R"({"serving": {"attention_tp": 0}, )"),
       {"$.serving.attention_tp"}},
      {small_scenario(R"("mixtral-8x7b")", "4", kDgx).replace(0, 1, R"({"serving": {"tp_collective": "tree"}, )"),
       {"$.serving.tp_collective", "all-reduce", "reduce-scatter"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto path = write_temp("moesim_run_bad_test", "bad" + std::to_string(i) + ".json", cases[i].text);
    const Result r = run("run " + path.string() + " --out " + (path.parent_path() / "bad").string());
    INFO(cases[i].text << "\n" << r.output);
    CHECK(r.exit_code == 2);
    for (const auto& m : cases[i].mentions) CHECK_THAT(r.output, Catch::Contains(m));
    CHECK_FALSE(std::filesystem::exists(path.parent_path() / "bad" / "metrics.json"));
  }
  const auto trace_mismatch = write_temp(
      "moesim_run_bad_test", "mismatch.json",
      R"({"model": "mixtral-8x7b", "cluster": {"topology": {"preset": "dgx-h100"}, "gpu": "h100-sxm"},
          "workload": {"arrivals": {"rate_per_s": 1, "input_tokens": {"mean": 10}, "output_tokens": {"mean": 2}},
                       "routing": {"kind": "trace", "path": "no-such-trace.moert"}}})");
  const Result no_trace = run("run " + trace_mismatch.string());
  CHECK(no_trace.exit_code == 2);
  CHECK_THAT(no_trace.output, Catch::Contains("no-such-trace.moert") && Catch::Contains("cannot open"));
  const Result missing = run("run /nonexistent/scenario.json");
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Catch::Contains("cannot open"));
  std::filesystem::remove_all(std::filesystem::temp_directory_path() / "moesim_run_bad_test");
}

TEST_CASE("moesim run killed with SIGKILL mid-run leaves no metrics under their final names", "[experiments][cli][reliability]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_run_kill_test");
  const auto scenario = write_temp("moesim_run_kill_test", "long.json",
                                   small_scenario(R"("mixtral-8x7b")", "40", kDgx, 600));
  const std::string script = std::string(MOESIM_BINARY) + " run " + scenario.string() + " --out " +
                             (dir / "out").string() + " >/dev/null 2>&1 & pid=$!; sleep 0.5; kill -9 $pid; wait $pid";
  REQUIRE(std::system(("bash -c '" + script + "'").c_str()) != -1);
  CHECK_FALSE(std::filesystem::exists(dir / "out" / "metrics.json"));
  CHECK_FALSE(std::filesystem::exists(dir / "out" / "requests.csv"));
}
