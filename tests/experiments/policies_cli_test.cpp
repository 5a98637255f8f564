// moesim policies / place / compare as a user meets them.
#include <nlohmann/json.hpp>

#include "../temp_files.h"
#include "cli_helpers.h"

using moesim_test::Result;
using moesim_test::run;
using moesim_test::slurp;

TEST_CASE("moesim policies lists policies with parameters and defaults", "[experiments][cli][policies]") {
  const Result r = run("policies");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("eplb") && Catch::Contains("redundant_per_gpu = 1") && Catch::Contains("vibe") &&
                           Catch::Contains("ewma") && Catch::Contains("speed-weighted"));
}

TEST_CASE("moesim place reproduces the EPLB README example and writes phy2log", "[experiments][cli][policies]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_place_test");
  std::ofstream(dir / "w.json") << R"({"weight": [[90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],
                                                 [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27]]})";
  const Result r = run("place --policy eplb:replicas=16:groups=4 --loads " + (dir / "w.json").string() +
                       " --gpus 8 --nodes 2 -o " + (dir / "p.json").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(slurp(dir / "p.json"));
  CHECK(j["phy2log"][0] == nlohmann::json({5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1}));
  CHECK(j["phy2log"][1] == nlohmann::json({7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}));
  const Result bad = run("place --policy eplb:replicas=15 --loads " + (dir / "w.json").string() + " --gpus 8");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("replicas (15) must be divisible by gpus (8)"));
  const std::string loads = " --loads " + (dir / "w.json").string();
  for (const auto& [args, message] : std::vector<std::pair<std::string, std::string>>{
           {"--policy vibe:replicas=8 --gpus 4", "policy 'vibe' has no parameter 'replicas'"},
           {"--policy eplb:replicas=-1 --gpus 4", "parameter replicas must be at least 0"},
           {"--policy eplb --gpus 4 --replicas 8", "unrecognised option '--replicas'"},
           {"--policy vibe --gpus 4 --nodes 0", "--nodes must be at least 1"},
           {"--policy vibe --gpus 4 --speeds 1,x,1,1", "option '--speeds': 'x' is not a finite number"},
           {"--policy vibe --gpus 4 --speeds 1,1", "--speeds needs 4 values"}}) {
    const Result r = run("place" + loads + " " + args);
    INFO(args << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(message));
  }
  const Result unknown = run("place --policy lina --loads " + (dir / "w.json").string() + " --gpus 4");
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.output, Catch::Contains("unknown placement policy 'lina'"));
}

TEST_CASE("moesim compare runs policies on the same workload: EPLB moves weights, static does not", "[experiments][cli][policies]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_compare_test");
  std::ofstream(dir / "s.json") << R"({"name": "cmp", "seed": 2, "model": "phi-3.5-moe",
    "cluster": {"topology": {"preset": "dgx-h100"}, "gpu": "h100-sxm", "variability": {"spread": 0.1, "outlier_probability": 0}},
    "workload": {"duration_s": 3, "arrivals": {"rate_per_s": 10, "input_tokens": {"mean": 1024}, "output_tokens": {"mean": 8}},
                 "routing": {"kind": "zipf", "skew": 1.2}},
    "rebalance": {"interval_s": 0.5},
    "slo": {"ttft_ms": 500, "tpot_ms": 100}})";
  const std::string cmd = "compare " + (dir / "s.json").string() + " --policies static-contiguous,eplb,vibe --out ";
  const Result a = run(cmd + (dir / "a").string());
  INFO(a.output);
  REQUIRE(a.exit_code == 0);
  const Result b = run(cmd + (dir / "b").string());
  CHECK(slurp(dir / "a" / "compare.json") == slurp(dir / "b" / "compare.json"));  // deterministic
  const auto j = nlohmann::json::parse(slurp(dir / "a" / "compare.json"));
  REQUIRE(j["policies"].size() == 3);
  const auto& stat = j["policies"][0];
  const auto& eplb = j["policies"][1];
  CHECK(stat["bytes_migrated"] == 0.0);
  CHECK(eplb["migrations"].get<int>() >= 1);
  // Every moved copy is one Phi-3.5-MoE expert: 3 × 4096 × 6400 BF16 parameters.
  CHECK(eplb["bytes_migrated"].get<double>() == Approx(eplb["experts_moved"].get<double>() * 3.0 * 4096 * 6400 * 2));
  CHECK(stat["requests"] == eplb["requests"]);  // same arrivals, all served
  CHECK(j["policies"][2]["requests"] == stat["requests"]);
  CHECK_THAT(slurp(dir / "a" / "compare.csv"), Catch::StartsWith("policy,ttft_p50_ms"));
  const Result bad = run("compare " + (dir / "s.json").string() + " --policies static-contiguous,magic");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("unknown placement policy 'magic'"));
}

TEST_CASE("ViBE's end-to-end gain over static and token-balanced EPLB grows with the GPU speed spread",
          "[experiments][cli][policies][vibe]") {
  // Mixtral prefill-heavy, Zipf(1.2), fixed seed, equal experts per GPU for every
  // policy (EPLB without redundant slots, as in ViBE's comparison).
  const auto dir = moesim_test::fresh_temp_dir("moesim_vibe_direction_test");
  const std::string text = slurp(MOESIM_SOURCE_DIR "/experiments/scenarios/placement-prefill-variability.json");
  std::vector<double> gain_time;
  for (const std::string spread : {"0.0", "0.1", "0.2"}) {
    std::string s = text;
    s.replace(s.find("\"spread\": 0.10"), 14, "\"spread\": " + spread);
    s.replace(s.find("\"duration_s\": 20"), 16, "\"duration_s\": 10");
    std::ofstream(dir / ("s" + spread + ".json")) << s;
    const Result r = run("compare " + (dir / ("s" + spread + ".json")).string() +
                         " --policies static-contiguous,eplb:redundant_per_gpu=0,vibe --out " + (dir / spread).string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto j = nlohmann::json::parse(slurp(dir / spread / "compare.json"))["policies"];
    const double static_time = j[0]["slowest_gpu_expert_time_us"];
    const double eplb_time = j[1]["slowest_gpu_expert_time_us"];
    const double vibe_time = j[2]["slowest_gpu_expert_time_us"];
    const double static_p90 = j[0]["ttft_p90_ms"];
    const double eplb_p90 = j[1]["ttft_p90_ms"];
    const double vibe_p90 = j[2]["ttft_p90_ms"];
    gain_time.push_back(1.0 - vibe_time / std::min(static_time, eplb_time));
    if (spread == "0.0") {
      CHECK(std::abs(gain_time.back()) < 0.01);                          // equal speeds: no advantage
      CHECK(vibe_p90 == Approx(std::min(static_p90, eplb_p90)).epsilon(0.03));
    } else {
      CHECK(vibe_time < std::min(static_time, eplb_time));
      CHECK(vibe_p90 <= std::min(static_p90, eplb_p90));
    }
    if (spread == "0.2") CHECK(vibe_p90 < 0.9 * std::min(static_p90, eplb_p90));
  }
  CHECK(gain_time[1] > gain_time[0]);
  CHECK(gain_time[2] > gain_time[1]);
  CHECK(gain_time[2] > 0.05);
}

namespace {

// The text between a doc's "<!-- generated by" line and "<!-- end generated -->".
std::string generated_section(const std::string& doc) {
  const auto begin = doc.find('\n', doc.find("<!-- generated by "));
  const auto end = doc.find("<!-- end generated -->");
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  return doc.substr(begin + 1, end - begin - 1);
}

}  // namespace

TEST_CASE("the parameter tables in docs/ are what the declarations generate (scripts/update-docs)",
          "[experiments][cli][policies][docs]") {
  for (const auto& [command, doc] : std::vector<std::pair<std::string, std::string>>{
           {"policies --markdown", "docs/policies.md"}, {"settings --markdown", "docs/scenario-settings.md"}}) {
    const Result r = run(command);
    REQUIRE(r.exit_code == 0);
    INFO(doc << " is stale: run scripts/update-docs");
    CHECK(generated_section(slurp(std::filesystem::path(MOESIM_SOURCE_DIR) / doc)) == r.output);
  }
}

TEST_CASE("moesim settings lists every scenario section's settings with defaults", "[experiments][cli]") {
  const Result r = run("settings");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("max_batched_tokens") && Catch::Contains("8192") &&
                           Catch::Contains("continuous | static-buckets") && Catch::Contains("pool_gib") &&
                           Catch::Contains("host-pinned | host-pageable | ssd"));
}
