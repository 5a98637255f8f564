// The fitter recovers known parameters from synthetic data; the measurement reader
// names bad lines; the shipped Vidur H100 measurements fit and validate.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "../temp_files.h"
#include "calibrate/fit.h"
#include "calibrate/measurement.h"
#include "util/errors.h"
#include "sim/rng.h"

using namespace moesim;
using namespace moesim::calibrate;

TEST_CASE("the roofline fit recovers a known overhead, bandwidth and compute rate within 1%", "[calibrate][fit]") {
  // Gated MLPs of 4 widths over 1..8192 tokens from t = 6 µs + max(bytes / 3.0 TB/s, flops / 700 TFLOP/s),
  // with ±0.5% multiplicative noise.
  sim::Rng rng(5);
  std::vector<WorkPoint> points;
  for (double f : {1376.0, 2752.0, 5504.0, 11008.0}) {
    for (double tokens = 1; tokens <= 8192; tokens *= 1.5) {
      const double flops = 2.0 * 3.0 * 4096 * f * tokens;
      const double bytes = 3.0 * 4096 * f * 2 + tokens * (2.0 * 4096 + 4.0 * f) * 2;
      const double t = 6e-6 + std::max(bytes / 3.0e12, flops / 7.0e14);
      points.push_back({flops, bytes, t * (1.0 + rng.uniform(-0.005, 0.005))});
    }
  }
  const RooflineFit fit = fit_roofline(points, "synthetic");
  CHECK(fit.overhead_s == Approx(6e-6).epsilon(0.01));
  CHECK(fit.bytes_per_s == Approx(3.0e12).epsilon(0.01));
  CHECK(fit.flops_per_s == Approx(7.0e14).epsilon(0.01));
  CHECK(fit.rms_relative_error < 0.005);
  CHECK_THROWS_WITH(fit_roofline({points.begin(), points.begin() + 3}, "tiny"), Catch::Contains("tiny: 3 measurements are too few"));
}

TEST_CASE("the link fit recovers latency and bandwidth", "[calibrate][fit]") {
  std::vector<std::pair<double, double>> pts;
  for (double b = 1024; b < 1e9; b *= 2) pts.emplace_back(b, 7.5e-6 + b / 350e9);
  const LinkFit fit = fit_link(pts, "nvlink");
  CHECK(fit.latency_s == Approx(7.5e-6).epsilon(1e-6));
  CHECK(fit.bytes_per_s == Approx(350e9).epsilon(1e-6));
  CHECK_THROWS_WITH(fit_link({{8, 1e-6}, {8, 2e-6}}, "one size"), Catch::Contains("at least 2 different sizes"));
}

TEST_CASE("measurement files: bad lines are named with what was expected", "[calibrate][measurements]") {
  auto error = [](const std::string& name, const std::string& text) {
    try {
      read_measurements(moesim_test::write_temp_file("moesim_measurement_test", name, text));
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string ok = R"({"op": "gated_mlp", "device": "x", "shape": {"d_model": 8, "d_ff": 16}, "tokens": 4, "time_us": {"median": 2}})";
  CHECK_THAT(error("trunc.jsonl", ok + "\n{\"op\": \"gated_mlp\", \"dev"), Catch::Contains("trunc.jsonl:2:1:25: invalid JSON"));
  CHECK_THAT(error("op.jsonl", R"({"op": "conv2d", "device": "x", "tokens": 1, "time_us": {"median": 1}})"),
             Catch::Contains("op.jsonl:1: .op: unknown op 'conv2d'") && Catch::Contains("gated_mlp"));
  CHECK_THAT(error("bytes.jsonl", R"({"op": "p2p", "device": "x", "tokens": 1, "time_us": {"median": 1}})"),
             Catch::Contains("missing .bytes (op p2p is measured per bytes)"));
  CHECK_THAT(error("time.jsonl", R"({"op": "gemm", "device": "x", "tokens": 1, "time_us": {"median": -1}})"),
             Catch::Contains(".time_us.median: expected a positive number, got -1"));
  CHECK_THAT(error("order.jsonl", R"({"op": "gemm", "device": "x", "tokens": 1, "time_us": {"median": 3, "min": 4}})"),
             Catch::Contains("min <= median <= max"));
  CHECK_THAT(error("shape.jsonl", R"({"op": "gemm", "device": "x", "shape": {"d": 1.5}, "tokens": 1, "time_us": {"median": 3}})"),
             Catch::Contains(".shape.d: expected an integer"));
  CHECK_THAT(error("empty.jsonl", "\n"), Catch::Contains("no measurements"));
  const auto file = read_measurements(moesim_test::write_temp_file("moesim_measurement_test", "good.jsonl",
                                                                   R"({"header": {"device": "x"}})" "\n" + ok + "\n"));
  REQUIRE(file.measurements.size() == 1);
  CHECK(file.measurements[0].line == 2);
  CHECK(file.measurements[0].min_us == 2.0);
  CHECK(read_measurements(moesim_test::write_temp_file("moesim_measurement_test", "again.jsonl", to_json_line(file.measurements[0])))
            .measurements[0].tokens == 4.0);
}
