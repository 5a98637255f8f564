// Power-limited clocks end to end: two GPUs with different power limits run the same
// work alike while it is weight-read bound (light load) and apart once it is compute
// bound (long prompts): a paired comparison on one seed and one workload.
#include <nlohmann/json.hpp>

#include "../temp_files.h"
#include "cli_helpers.h"

using moesim_test::Result;
using moesim_test::run;
using moesim_test::slurp;

namespace {

// GPU 1's busy seconds with its power budget at `budget` of the nominal chip's.
double gpu1_busy(const std::filesystem::path& dir, const std::string& label, int prompt_tokens, double budget) {
  const std::string scenario = R"({"name": "power", "seed": 4, "model": "phi-3.5-moe",
    "cluster": {"topology": {"preset": "dgx-h100"}, "gpu": "h100-sxm",
                "variability": {"model": "power", "efficiency_spread": 0, "outlier_probability": 0,
                                "per_gpu": {"1": {"power_budget": )" + std::to_string(budget) + R"(}}}},
    "workload": {"duration_s": 2, "arrivals": {"rate_per_s": 4, "input_tokens": {"mean": )" +
                               std::to_string(prompt_tokens) + R"(, "cv": 0},
                 "output_tokens": {"mean": 4, "cv": 0}}, "routing": {"kind": "zipf", "skew": 0.8}}})";
  const auto file = dir / (label + ".json");
  std::ofstream(file) << scenario;
  const Result r = run("run " + file.string() + " --out " + (dir / label).string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(slurp(dir / label / "metrics.json"));
  CHECK(j["gpus"][1]["power_budget"].get<double>() == Approx(budget));
  return j["gpus"][1]["busy_s"].get<double>();
}

}  // namespace

TEST_CASE("a GPU with a lower power limit keeps pace at light load and falls behind under load", "[experiments][cli][power]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_power_clock_test");
  // 8-token prompts, 4-token answers at 4 requests/s: every kernel reads weights.
  CHECK(gpu1_busy(dir, "light-nominal", 8, 1.0) == gpu1_busy(dir, "light-capped", 8, 0.6));
  // 8,192-token prompts: prefill GEMMs and attention are compute bound, GPU 1 runs them
  // at ∛0.6 of the nominal clock (up to 1.186× their time); the decode steps still keep pace.
  const double nominal = gpu1_busy(dir, "heavy-nominal", 8192, 1.0);
  const double capped = gpu1_busy(dir, "heavy-capped", 8192, 0.6);
  CHECK(capped > 1.05 * nominal);
  CHECK(capped < std::cbrt(1.0 / 0.6) * nominal);
}
