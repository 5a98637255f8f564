#include "models/offload/offload_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace moesim::models {

double OffloadMetrics::per_token_latency_s() const {
  return decode_steps == 0 ? std::numeric_limits<double>::quiet_NaN()
                           : sim::to_seconds(decode_time) / static_cast<double>(decode_steps);
}

double OffloadMetrics::hit_rate() const {
  return expert_uses == 0 ? std::numeric_limits<double>::quiet_NaN()
                          : static_cast<double>(hits) / static_cast<double>(expert_uses);
}

double OffloadMetrics::prefetch_accuracy() const {
  return prefetches == 0 ? std::numeric_limits<double>::quiet_NaN()
                         : static_cast<double>(prefetches_used) / static_cast<double>(prefetches);
}

double OffloadMetrics::step_quantile_s(double q) const {
  if (step_times.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::vector<sim::Time> v = step_times;
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  const std::size_t k = std::min(v.size() - 1, rank == 0 ? 0 : rank - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return sim::to_seconds(v[k]);
}

}  // namespace moesim::models
