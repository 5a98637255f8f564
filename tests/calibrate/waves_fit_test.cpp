// The tile/wave model's fitter recovers the parameters that generated its data.
#include <catch2/catch.hpp>

#include "calibrate/waves_fit.h"
#include "models/catalog.h"
#include "models/op_costs.h"
#include "util/errors.h"

using namespace moesim;

TEST_CASE("the wave fit recovers known efficiencies, fixed cost and wave cost", "[calibrate][waves]") {
  const models::GpuProfile gpu = models::load_gpu_profile("h200-sxm");
  const double peak = gpu.peak_for("bf16");
  models::GemmWaves truth;
  truth.sm_count = gpu.sm_count;
  truth.tiles = models::default_gemm_tiles();
  truth.roofline = {0.9, 0.7, 15000};
  truth.wave_overhead = 1000;
  std::vector<calibrate::MlpTiming> points;
  for (const auto& [d, f] : {std::pair<std::int64_t, std::int64_t>{4096, 14336}, {2048, 1024}, {7168, 2048}, {5120, 8192}}) {
    for (double tokens = 1; tokens <= 8192; tokens *= 2) {
      const auto t = models::gated_mlp_wave_time(gpu, truth, peak, d, f, 2, tokens);
      points.push_back({d, f, 2, tokens, sim::to_seconds(t)});
    }
  }
  // Started from a roofline fit that is off in every parameter.
  const calibrate::RooflineFit start{20e-6, 3.5e12, 500e12, 0.0, points.size()};
  const calibrate::WavesFit fit = calibrate::fit_gemm_waves(points, gpu, peak, start);
  CHECK(fit.waves.roofline.memory_efficiency == Approx(0.9).epsilon(0.01));
  CHECK(fit.waves.roofline.compute_efficiency == Approx(0.7).epsilon(0.01));
  CHECK(fit.waves.roofline.launch_overhead == Approx(15000).epsilon(0.02));
  CHECK(fit.waves.wave_overhead == Approx(1000).epsilon(0.05));
  CHECK(fit.rms_relative_error < 1e-3);
}

TEST_CASE("the wave fit refuses a GPU without an SM count and too few points", "[calibrate][waves]") {
  models::GpuProfile gpu = models::load_gpu_profile("h200-sxm");
  const calibrate::RooflineFit start{20e-6, 3.5e12, 500e12, 0.0, 4};
  const std::vector<calibrate::MlpTiming> four(4, calibrate::MlpTiming{4096, 14336, 2, 16, 1e-4});
  CHECK_THROWS_AS(calibrate::fit_gemm_waves({four.begin(), four.begin() + 3}, gpu, 1e15, start), InputError);
  gpu.sm_count = 0;
  CHECK_THROWS_WITH(calibrate::fit_gemm_waves(four, gpu, 1e15, start), Catch::Contains("sm_count"));
}
