// The resolved scenario written beside every result is itself a scenario: read back,
// it runs to the same results. Checked for every shipped scenario (serving and
// offloading), so a setting whose echo is missing, renamed or in another unit fails.
#include <nlohmann/json.hpp>

#include "../temp_files.h"
#include "cli_helpers.h"

using moesim_test::Result;
using moesim_test::run;
using moesim_test::slurp;

namespace {

namespace fs = std::filesystem;

// Comments (labels such as "fitted from ...") may differ between a scenario and its echo.
nlohmann::json without_comments(nlohmann::json j) {
  if (j.is_object()) {
    j.erase("comment");
    for (auto& [key, value] : j.items()) value = without_comments(value);
  } else if (j.is_array()) {
    for (auto& value : j) value = without_comments(value);
  }
  return j;
}

void check_round_trip(const fs::path& scenario, const fs::path& dir) {
  REQUIRE(fs::exists(scenario));
  const bool offload = slurp(scenario).find("\"offload\"") != std::string::npos;
  const std::string command = offload ? "offload " : "run ";
  const std::string results = offload ? "offload.json" : "metrics.json";
  const std::string table = offload ? "offload.csv" : "requests.csv";
  const Result first = run(command + scenario.string() + " --out " + (dir / "first").string());
  INFO(scenario << "\n" << first.output);
  REQUIRE(first.exit_code == 0);
  nlohmann::json a = nlohmann::json::parse(slurp(dir / "first" / results));
  const nlohmann::json echo = a["scenario"];
  std::ofstream(dir / "echo.json") << echo.dump(2);
  const Result second = run(command + (dir / "echo.json").string() + " --out " + (dir / "second").string());
  INFO(second.output);
  REQUIRE(second.exit_code == 0);
  nlohmann::json b = nlohmann::json::parse(slurp(dir / "second" / results));
  // The echo of the echo is the echo: every setting reads back to itself.
  CHECK(without_comments(b["scenario"]) == without_comments(echo));
  a.erase("scenario");
  b.erase("scenario");
  CHECK(a == b);
  CHECK(slurp(dir / "first" / table) == slurp(dir / "second" / table));
}

}  // namespace

// One test case per shipped scenario, so that ctest runs them side by side.
#define MOESIM_ECHO_CASE(file)                                                                                   \
  TEST_CASE("resolved echo of " file " reads back and runs to identical results", "[experiments][scenario]") { \
    const auto dir = moesim_test::fresh_temp_dir("moesim_scenario_echo_" file);                               \
    check_round_trip(fs::path(MOESIM_SOURCE_DIR) / "experiments" / "scenarios" / (file ".json"), dir);        \
  }

MOESIM_ECHO_CASE("llama4-maverick-dgx-h100-trace")
MOESIM_ECHO_CASE("llama4-maverick-offload-trace")
MOESIM_ECHO_CASE("mixtral-a5000-offload")
MOESIM_ECHO_CASE("mixtral-azure-burst")
MOESIM_ECHO_CASE("mixtral-dgx-h100-real-marginals")
MOESIM_ECHO_CASE("mixtral-dgx-h100-synthetic")
MOESIM_ECHO_CASE("moeless-mixtral-a6000")
MOESIM_ECHO_CASE("placement-prefill-variability")
MOESIM_ECHO_CASE("qwen3-30b-a100-mooncake-disaggregated")
MOESIM_ECHO_CASE("qwen3-30b-a100-mooncake-paged")
MOESIM_ECHO_CASE("qwen3-30b-a100-mooncake-tp-attention")
MOESIM_ECHO_CASE("qwen3-30b-a100-two-instances")
MOESIM_ECHO_CASE("qwen3-30b-h100-a100-instances")
MOESIM_ECHO_CASE("vibe-paper-mi325x-sharegpt")
MOESIM_ECHO_CASE("vibe-paper-mi325x-sonnet")
MOESIM_ECHO_CASE("vibe-qwen3-30b-mi325x")

TEST_CASE("every shipped scenario has its echo test case", "[experiments][scenario]") {
  const std::string self = slurp(fs::path(MOESIM_SOURCE_DIR) / "tests" / "experiments" / "scenario_echo_test.cpp");
  for (const auto& entry : fs::directory_iterator(fs::path(MOESIM_SOURCE_DIR) / "experiments" / "scenarios")) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path().stem() << " needs a MOESIM_ECHO_CASE line");
    CHECK(self.find("MOESIM_ECHO_CASE(\"" + entry.path().stem().string() + "\")") != std::string::npos);
  }
}
