#include "calibrate/waves_fit.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "models/op_costs.h"
#include "util/errors.h"

namespace moesim::calibrate {

namespace {

constexpr int kParams = 4;  // log: memory efficiency, compute efficiency, fixed cost (s), wave cost (s)

models::GemmWaves waves_of(const Eigen::Vector4d& q, const models::GpuProfile& gpu) {
  models::GemmWaves w;
  w.sm_count = gpu.sm_count;
  w.tiles = models::default_gemm_tiles();
  w.roofline.memory_efficiency = std::min(1.0, std::exp(q[0]));
  w.roofline.compute_efficiency = std::min(1.0, std::exp(q[1]));
  w.roofline.launch_overhead = sim::from_seconds(std::exp(q[2]));
  w.wave_overhead = sim::from_seconds(std::exp(q[3]));
  return w;
}

Eigen::VectorXd residuals(const std::vector<MlpTiming>& points, const models::GpuProfile& gpu, double peak,
                          const Eigen::Vector4d& q) {
  const models::GemmWaves w = waves_of(q, gpu);
  Eigen::VectorXd r(static_cast<Eigen::Index>(points.size()));
  for (std::size_t i = 0; i < points.size(); ++i) {
    const MlpTiming& p = points[i];
    const auto t = models::gated_mlp_wave_time(gpu, w, peak, p.d_model, p.d_ff, p.dtype_bytes, p.tokens);
    r[static_cast<Eigen::Index>(i)] = sim::to_seconds(t) / p.seconds - 1.0;
  }
  return r;
}

}  // namespace

WavesFit fit_gemm_waves(const std::vector<MlpTiming>& points, const models::GpuProfile& gpu, double peak,
                        const RooflineFit& start) {
  if (points.size() < 4) throw InputError(fmt::format("the wave model needs 4 or more gated-MLP timings, got {}", points.size()));
  if (gpu.sm_count <= 0) {
    throw InputError(fmt::format("the wave model needs the GPU's SM count: profile '{}' has no sm_count", gpu.name));
  }
  Eigen::Vector4d q;
  q << std::log(std::clamp(start.bytes_per_s / gpu.hbm_bytes_per_s, 0.05, 1.0)),
      std::log(std::clamp(start.flops_per_s / peak, 0.05, 1.0)), std::log(std::max(start.overhead_s, 1e-7)), std::log(0.5e-6);
  Eigen::VectorXd r = residuals(points, gpu, peak, q);
  double cost = r.squaredNorm();
  double lambda = 1e-2;
  // Wide steps: a relative change of 1e-3 moves a 20 µs kernel by 20 ns, well above
  // the nanosecond rounding the model's times carry.
  constexpr double kStep = 1e-3;
  for (int iteration = 0; iteration < 200 && lambda < 1e8; ++iteration) {
    Eigen::MatrixXd jacobian(r.size(), kParams);
    for (int k = 0; k < kParams; ++k) {
      Eigen::Vector4d up = q, down = q;
      up[k] += kStep;
      down[k] -= kStep;
      jacobian.col(k) = (residuals(points, gpu, peak, up) - residuals(points, gpu, peak, down)) / (2 * kStep);
    }
    const Eigen::Matrix4d normal = jacobian.transpose() * jacobian;
    const Eigen::Vector4d gradient = jacobian.transpose() * r;
    Eigen::Matrix4d damped = normal;
    damped.diagonal() += lambda * normal.diagonal().cwiseMax(1e-12);
    const Eigen::Vector4d step = damped.ldlt().solve(-gradient);
    const Eigen::Vector4d next = q + step;
    const Eigen::VectorXd next_r = residuals(points, gpu, peak, next);
    const double next_cost = next_r.squaredNorm();
    if (next_cost < cost) {
      const bool converged = cost - next_cost < 1e-10 * cost;
      q = next;
      r = next_r;
      cost = next_cost;
      lambda = std::max(lambda / 3, 1e-9);
      if (converged) break;
    } else {
      lambda *= 4;
    }
  }
  WavesFit fit;
  fit.waves = waves_of(q, gpu);
  fit.points = points.size();
  fit.rms_relative_error = std::sqrt(cost / static_cast<double>(points.size()));
  return fit;
}

}  // namespace moesim::calibrate
