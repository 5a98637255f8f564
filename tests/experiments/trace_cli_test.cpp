// moesim trace stats as a user meets it: text, JSON and PNG figures.
#include <cstdint>

#include "../temp_files.h"
#include "cli_helpers.h"

using moesim_test::Result;
using moesim_test::run;
using moesim_test::png_size;
using moesim_test::slurp;

TEST_CASE("trace stats draws the per-layer load heatmap of a routing trace", "[experiments][cli][plots]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_trace_cli_heatmap");
  const Result r = run(std::string("trace stats " MOESIM_SOURCE_DIR "/traces/data/flame-moe-290m-pretrain.moert --png ") +
                       (dir / "heat.png").string() + " --json " + (dir / "s.json").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("8 MoE layers × 64 experts, top-6") && Catch::Contains("PNG: "));
  CHECK(png_size(dir / "heat.png") == std::make_pair(1000u, 600u));  // 10 × 6 in at 100 dpi
  CHECK(std::filesystem::file_size(dir / "heat.png") > 10000);        // a drawn figure, not an empty canvas
  CHECK_FALSE(std::filesystem::exists(dir / "heat.png.tmp.png"));
  CHECK_THAT(slurp(dir / "s.json"), Catch::Contains("\"kind\": \"routing\""));
}

TEST_CASE("trace stats on an arrival trace: rate, burstiness, lengths and a rate plot", "[experiments][cli][plots]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_trace_cli_arrivals");
  const Result r = run(std::string("trace stats " MOESIM_SOURCE_DIR "/traces/data/azure-llm-2023-code.csv --png ") +
                       (dir / "rate.png").string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("8819 requests") && Catch::Contains("inter-arrival CV") &&
                           Catch::Contains("input (prompt)"));
  CHECK(png_size(dir / "rate.png") == std::make_pair(1000u, 600u));
  const Result bad = run("trace stats " + (dir / "rate.png").string());
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("cannot tell the arrival trace format"));
}
