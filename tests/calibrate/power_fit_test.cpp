// The power-limited clock model's compute demand, fitted from our H200 runs' NVML
// clocks, against the numbers read off the files by hand (docs/calibration.md).
#include <catch2/catch.hpp>

#include "../temp_files.h"
#include "calibrate/power_fit.h"
#include "models/gpu_variability.h"
#include "util/errors.h"

using namespace moesim;
using namespace moesim::calibrate;

TEST_CASE("power fit: the 2,048-token expert slows 5% and 4% once the limiter acts, the 16-token one does not",
          "[calibrate][power]") {
  const PowerFit one = fit_power(read_measurements(MOESIM_SOURCE_DIR "/calibrate/data/h200.jsonl").measurements);
  const PowerFit two = fit_power(read_measurements(MOESIM_SOURCE_DIR "/calibrate/data/h200-run2.jsonl").measurements);
  // Run 1: two runs read at 1,980 MHz (1,004.522 and 1,048.010 µs), 18 below it (median
  // of 1,079.443 and 1,083.174 µs).
  CHECK(one.tokens == 2048.0);
  CHECK(one.max_clock_mhz == 1980.0);
  CHECK(one.cold_runs == 2);
  CHECK(one.hot_runs == 18);
  CHECK(one.cold_us == Approx((1004.522 + 1048.010) / 2));
  CHECK(one.hot_us == Approx((1079.443 + 1083.174) / 2));
  CHECK(one.compute_demand == Approx(1.1697).epsilon(1e-3));
  // Run 2: one cold run (1,074.061 µs), hot median 1,112.365 µs.
  CHECK(two.cold_runs == 1);
  CHECK(two.hot_us == Approx(1112.365));
  CHECK(two.compute_demand == Approx(1.1108).epsilon(1e-3));
  // Weight-read bound: no slowdown under the limiter (faster, if anything, once warm).
  CHECK(one.memory_bound_slowdown < 1.0);
  CHECK(two.memory_bound_slowdown < 1.0);
  // The default of the power variability model is their mean.
  CHECK(models::GpuVariability{}.compute_demand == Approx((one.compute_demand + two.compute_demand) / 2).margin(0.005));
}

TEST_CASE("power fit: runs without NVML clocks or without a cold run are refused", "[calibrate][power]") {
  const std::string no_clock = R"({"op": "gated_mlp", "device": "X", "shape": {"d_model": 8, "d_ff": 8, "spread": 1}, "tokens": 16, "time_us": {"median": 1}})";
  CHECK_THROWS_WITH(fit_power(read_measurements(moesim_test::write_temp_file("moesim_power_fit_test", "a.jsonl", no_clock + "\n")).measurements),
                    Catch::Contains("NVML clocks at two or more sizes"));
  std::string all_hot;
  for (const char* line :
       {R"({"op": "gated_mlp", "device": "X", "shape": {"d_model": 8, "d_ff": 8, "spread": 1}, "tokens": 16, "time_us": {"median": 1}, "nvml": {"sm_clock_mhz": 1500}})",
        R"({"op": "gated_mlp", "device": "X", "shape": {"d_model": 8, "d_ff": 8, "spread": 1}, "tokens": 2048, "time_us": {"median": 9}, "nvml": {"sm_clock_mhz": 1500}})"}) {
    all_hot += std::string(line) + "\n";
  }
  CHECK_THROWS_WITH(fit_power(read_measurements(moesim_test::write_temp_file("moesim_power_fit_test", "b.jsonl", all_hot)).measurements),
                    Catch::Contains("runs at the maximum clock and below it"));
  CHECK_THROWS_WITH(read_measurements(moesim_test::write_temp_file("moesim_power_fit_test", "c.jsonl",
                        R"({"op": "gated_mlp", "device": "X", "tokens": 16, "time_us": {"median": 1}, "nvml": {"sm_clock_mhz": -5}})" "\n")),
                    Catch::Contains(".nvml.sm_clock_mhz: expected a positive number"));
}
