#pragma once
// Fits the tile/wave model of expert FFNs (models::GemmWaves; docs/calibration.md,
// "GEMM waves") to gated-MLP timings: its memory and compute efficiencies, its fixed
// cost per expert FFN and its cost per wave of tiles. The model is piecewise (a max
// over memory and compute, a min over tiles, ceilings), so it is fitted by damped
// Gauss-Newton (Levenberg-Marquardt) on the relative errors, with finite differences
// in log-parameter space wide enough to see across the nanosecond rounding, started
// from the plain roofline's fit.
#include <cstdint>
#include <vector>

#include "calibrate/fit.h"
#include "models/gpu_profile.h"

namespace moesim::calibrate {

struct MlpTiming {
  std::int64_t d_model = 0;
  std::int64_t d_ff = 0;
  int dtype_bytes = 2;
  double tokens = 0.0;
  double seconds = 0.0;
};

struct WavesFit {
  models::GemmWaves waves;  // sm_count and tiles from the base profile
  double rms_relative_error = 0.0;
  std::size_t points = 0;
};

// `gpu` gives the peaks and sm_count (InputError without it); `start` is the roofline
// fit of the same points. Throws InputError with fewer than 4 points.
WavesFit fit_gemm_waves(const std::vector<MlpTiming>& points, const models::GpuProfile& gpu, double peak,
                        const RooflineFit& start);

}  // namespace moesim::calibrate
