#pragma once
// Per-device performance variability (the premise of ViBE). Each GPU instance gets
// a compute slowdown and a memory slowdown (multipliers on the two roofline terms,
// 1 = nominal), drawn once per GPU from its own named random stream:
//
//   s_comp = exp(σ·Z − σ²/2)          (lognormal, mean 1, ≈σ relative spread)
//            or U(outlier_lo, outlier_hi) with probability p_outlier
//   s_mem  = 1 + coupling · (s_comp − 1)
//
// Defaults: σ = 0.08, p_outlier = 0.03, outliers 1.2–1.5×, coupling 0.25, after
// Sinha et al., "Not All GPUs Are Created Equal", SC'22 (≈8% average variation, up
// to 22% on large clusters) and ViBE's observation that power and clock limits hurt
// compute-bound kernels more than memory-bound ones. Values for given GPU ids
// override the draw (e.g. from calibration). Optional drift: throttling episodes
// arrive as a Poisson process per GPU and multiply s_comp for an exponential time.
//
// Model "power" makes the slowdown depend on the work instead (docs/models.md,
// "Power-limited clocks"): each GPU draws a dynamic-power efficiency
//   η = exp(σ_η·Z − σ_η²/2)   (× s_o³ with probability p_outlier, s_o ~ U(lo, hi))
// and gets the power budget 1 / (compute_demand · η) (× its per_gpu "power_budget",
// relative to the nominal chip's). A kernel whose demand exceeds the budget runs at
// the clock that meets it (power_limited_clock): compute-bound work slows by the
// clock ratio to the nominal chip, memory-bound work hardly at all, and GPUs with
// different budgets differ only on the kernels that reach their limits.
// compute_demand = 1.14: our two H200 runs (calibrate/data/h200*.jsonl, fit_power);
// σ_η = 0.24: in the throttled compute-bound regime time ∝ η^(1/3), so this gives
// the ≈8% spread Sinha et al. (SC'22) measured on compute-intensive work.
#include <map>
#include <vector>

#include "models/gpu_profile.h"
#include "util/json_input.h"
#include "sim/process.h"
#include "sim/rng.h"

namespace moesim::models {

struct ThrottleDrift {
  double episodes_per_hour = 0.0;  // 0 disables drift
  double mean_duration_s = 60.0;
  double compute_factor = 1.3;     // s_comp multiplier during an episode
};

enum class VariabilityModel { kStatic, kPower };

struct GpuVariability {
  VariabilityModel model = VariabilityModel::kStatic;
  double spread = 0.08;
  double outlier_probability = 0.03;
  double outlier_low = 1.2;
  double outlier_high = 1.5;
  double memory_coupling = 0.25;
  double compute_demand = 1.14;     // model "power"
  double efficiency_spread = 0.24;  // model "power": σ_η
  std::map<int, GpuSlowdown> per_gpu;  // overrides by GPU id (model "power": power_budget relative to nominal)
  std::string per_gpu_where;           // the overrides' JSON path, for errors once the GPU count is known
  ThrottleDrift drift;

  static GpuVariability none();
  // The slowdowns of GPU `gpu_id`; depends only on (seed, gpu_id).
  GpuSlowdown draw(const sim::RngStreams& streams, int gpu_id) const;
  // Throws InputError if an override names a GPU id outside [0, gpus).
  std::vector<GpuSlowdown> draw_all(const sim::RngStreams& streams, int gpus) const;
};

// Reads {"spread", "outlier_probability", "outlier_range": [lo, hi], "memory_coupling",
// "per_gpu": {"3": {"compute": 1.4, "memory": 1.1}}, "drift": {...}} or "none"; with
// "model": "power": {"compute_demand", "efficiency_spread", "outlier_probability",
// "outlier_range", "per_gpu": {"3": {"power_budget": 0.7}}, "drift"}.
GpuVariability parse_gpu_variability(const JsonInput& json);
// The variability as parse_gpu_variability reads it back.
nlohmann::ordered_json to_json(const GpuVariability& v);

// Drives throttling episodes: current[g] switches between base[g] and the
// throttled value at the episode boundaries. Runs until the simulation ends.
class ThrottleProcess {
 public:
  ThrottleProcess(sim::Simulator& sim, const ThrottleDrift& drift, std::vector<GpuSlowdown> base,
                  const sim::RngStreams& streams);
  const std::vector<GpuSlowdown>& current() const { return current_; }
  int episodes_started() const { return episodes_; }

 private:
  sim::Process run_gpu(int gpu, sim::Rng rng);
  sim::Simulator& sim_;
  ThrottleDrift drift_;
  std::vector<GpuSlowdown> base_;
  std::vector<GpuSlowdown> current_;
  int episodes_ = 0;
};

}  // namespace moesim::models
