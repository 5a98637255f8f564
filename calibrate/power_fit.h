#pragma once
// The power-limited clock model's one fitted number (docs/models.md, "Power-limited
// clocks"), from repeated runs of one expert size on one GPU that carry NVML's SM
// clock (moesim-calibrate's spread runs): runs read at the maximum clock are "cold"
// (the power limiter had not acted yet), the others "hot" (sustained at the limit).
// For a compute-bound kernel time ∝ 1/clock, so the hot/cold time ratio s gives the
// clock the limit holds it at, 1/s, and the model's compute demand — the power a
// fully compute-bound kernel would draw at the maximum clock, over the budget — is s³.
#include <vector>

#include "calibrate/measurement.h"

namespace moesim::calibrate {

struct PowerFit {
  double tokens = 0.0;        // the size fitted (the largest spread size: most compute bound)
  double max_clock_mhz = 0.0;
  int cold_runs = 0, hot_runs = 0;
  double cold_us = 0.0, hot_us = 0.0;  // medians of the runs' medians
  double sustained_slowdown = 1.0;     // hot / cold
  double compute_demand = 1.0;         // sustained_slowdown³
  // The same ratio at the smallest spread size (memory bound): ≈ 1 if the model holds.
  double memory_bound_slowdown = 1.0;
};

// Throws InputError when the measurements hold no spread runs with NVML clocks at
// two sizes, or no run at the maximum clock and one below it.
PowerFit fit_power(const std::vector<Measurement>& ms);

}  // namespace moesim::calibrate
