#include "calibrate/power_fit.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "util/errors.h"

namespace moesim::calibrate {

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct ColdHot {
  std::vector<double> cold, hot;
};

}  // namespace

PowerFit fit_power(const std::vector<Measurement>& ms) {
  std::map<double, ColdHot> by_tokens;
  double max_clock = 0.0;
  for (const auto& m : ms) {
    if (m.shape.count("spread") != 0 && m.sm_clock_mhz > 0.0) max_clock = std::max(max_clock, m.sm_clock_mhz);
  }
  for (const auto& m : ms) {
    if (m.shape.count("spread") == 0 || m.sm_clock_mhz <= 0.0) continue;
    auto& runs = by_tokens[m.tokens];
    (m.sm_clock_mhz >= max_clock ? runs.cold : runs.hot).push_back(m.median_us);
  }
  if (by_tokens.size() < 2) {
    throw InputError("power fit: needs spread runs (shape.spread = 1) with NVML clocks at two or more sizes");
  }
  auto ratio = [](const ColdHot& r, double tokens) {
    if (r.cold.empty() || r.hot.empty()) {
      throw InputError(fmt::format("power fit: the {}-token spread runs need runs at the maximum clock and below it", tokens));
    }
    return median(r.hot) / median(r.cold);
  };
  const auto& [tokens, largest] = *by_tokens.rbegin();
  PowerFit fit;
  fit.sustained_slowdown = ratio(largest, tokens);  // first: it checks both sets are there
  fit.memory_bound_slowdown = ratio(by_tokens.begin()->second, by_tokens.begin()->first);
  fit.tokens = tokens;
  fit.max_clock_mhz = max_clock;
  fit.cold_runs = static_cast<int>(largest.cold.size());
  fit.hot_runs = static_cast<int>(largest.hot.size());
  fit.cold_us = median(largest.cold);
  fit.hot_us = median(largest.hot);
  fit.compute_demand = fit.sustained_slowdown * fit.sustained_slowdown * fit.sustained_slowdown;
  return fit;
}

}  // namespace moesim::calibrate
