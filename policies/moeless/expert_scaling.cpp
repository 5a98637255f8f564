#include "policies/moeless/expert_scaling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace moesim::policies {

std::vector<int> replica_counts(const std::vector<double>& predicted, double tau, int max_replicas, double min_tokens) {
  std::vector<int> r(predicted.size(), 1);
  if (predicted.empty()) return r;
  const double mean = std::accumulate(predicted.begin(), predicted.end(), 0.0) / static_cast<double>(predicted.size());
  const double cap = std::max(mean * (1.0 + tau), min_tokens);
  if (cap <= 0.0) return r;
  for (std::size_t e = 0; e < predicted.size(); ++e) {
    r[e] = std::clamp(static_cast<int>(std::ceil(predicted[e] / cap - 1e-9)), 1, max_replicas);
  }
  return r;
}

std::vector<std::vector<int>> place_replicas(const LayerPlacementInput& in) {
  const auto experts = in.predicted.size();
  const auto gpus = in.free_slots.size();
  std::vector<std::size_t> order(experts);
  std::iota(order.begin(), order.end(), std::size_t{0});
  auto per_replica = [&](std::size_t e) { return in.predicted[e] / std::max(in.replicas[e], 1); };
  // Heaviest first; ties by expert id so the result does not depend on sort internals.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return per_replica(a) > per_replica(b); });
  std::vector<double> load(gpus, 0.0);
  std::vector<int> free = in.free_slots;
  std::vector<std::vector<int>> placed(experts);
  auto cost = [&](int g, std::size_t e) { return in.time ? in.time(g, per_replica(e)) : per_replica(e); };
  // The GPU that `ok` accepts, holds no replica of e yet and would finish first; -1 if none.
  auto least_loaded = [&](std::size_t e, auto&& ok) {
    int best = -1;
    double best_end = 0.0;
    for (std::size_t g = 0; g < gpus; ++g) {
      const int gi = static_cast<int>(g);
      if (!ok(gi) || std::find(placed[e].begin(), placed[e].end(), gi) != placed[e].end()) continue;
      const double end = load[g] + cost(gi, e);
      if (best < 0 || end < best_end) {
        best = gi;
        best_end = end;
      }
    }
    return best;
  };
  auto put = [&](std::size_t e, int g) {
    placed[e].push_back(g);
    load[static_cast<std::size_t>(g)] += cost(g, e);
  };
  // Phase 1: warm (or loading) instances; experts with the fewest live GPUs choose
  // first (those with one have no choice), so flexible ones do not take their GPU.
  std::vector<int> live_count(experts, 0);
  for (std::size_t e = 0; e < experts; ++e) {
    for (std::size_t g = 0; g < gpus; ++g) live_count[e] += in.live(static_cast<int>(e), static_cast<int>(g)) ? 1 : 0;
  }
  std::vector<std::size_t> constrained = order;
  std::stable_sort(constrained.begin(), constrained.end(),
                   [&](std::size_t a, std::size_t b) { return live_count[a] < live_count[b]; });
  for (const std::size_t e : constrained) {
    const int ei = static_cast<int>(e);
    for (int r = 0; r < in.replicas[e]; ++r) {
      const int g = least_loaded(e, [&](int gi) { return in.live(ei, gi); });
      if (g < 0) break;
      put(e, g);
    }
  }
  for (const std::size_t e : order) {  // phase 2: scale out into free memory
    const int ei = static_cast<int>(e);
    while (static_cast<int>(placed[e].size()) < in.replicas[e]) {
      const int g = least_loaded(e, [&](int gi) { return free[static_cast<std::size_t>(gi)] > 0 && !in.live(ei, gi); });
      if (g < 0) break;
      --free[static_cast<std::size_t>(g)];
      put(e, g);
    }
    if (placed[e].empty()) put(e, least_loaded(e, [](int) { return true; }));
  }
  return placed;
}

}  // namespace moesim::policies
