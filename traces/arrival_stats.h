#pragma once
// Statistics of an arrival trace: request rate over time (per window), its peak
// and the index of dispersion of window counts (1 for Poisson, > 1 when bursty),
// the coefficient of variation of inter-arrival gaps (1 for Poisson), and the
// prompt / output token length distributions (streaming quantiles, 0.5% accuracy).
#include <cstdint>
#include <string>
#include <vector>

#include "sim/stats/quantile_sketch.h"
#include "sim/stats/tally.h"

namespace moesim::traces {

struct LengthStats {
  sim::Tally tally;
  sim::QuantileSketch quantiles;
};

struct ArrivalStats {
  std::string path;
  std::string format;
  std::uint64_t requests = 0;
  double duration_s = 0.0;         // first to last arrival
  double window_s = 60.0;
  std::vector<std::uint64_t> window_counts;  // arrivals per window from the first arrival
  sim::Tally gaps;                 // inter-arrival gaps [s]
  LengthStats input;
  LengthStats output;
  double mean_rate() const { return duration_s > 0 ? static_cast<double>(requests - 1) / duration_s : 0.0; }
  double gap_cv() const;
  double peak_window_rate() const;
  double window_dispersion() const;  // variance / mean of full windows' counts
};

ArrivalStats compute_arrival_stats(const std::string& path, const std::string& format = "auto", double window_s = 60.0);
std::string format_arrival_stats(const ArrivalStats& s);
std::string arrival_stats_json(const ArrivalStats& s);

}  // namespace moesim::traces
