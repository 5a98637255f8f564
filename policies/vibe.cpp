#include "policies/vibe.h"

#include <algorithm>
#include <fmt/format.h>
#include <numeric>

#include "policies/builtin.h"
#include "util/errors.h"

namespace moesim::policies {
namespace vibe {
namespace {

std::vector<double> gpu_times(const std::vector<double>& loads, const std::vector<int>& gpu_of, int gpus,
                              const ExpertTimeModel& time) {
  std::vector<double> t(static_cast<std::size_t>(gpus), 0.0);
  for (std::size_t e = 0; e < loads.size(); ++e) {
    if (loads[e] > 0.0) t[static_cast<std::size_t>(gpu_of[e])] += time.seconds(gpu_of[e], loads[e]);
  }
  return t;
}

}  // namespace

double makespan(const std::vector<double>& loads, const std::vector<int>& gpu_of, int gpus, const ExpertTimeModel& time) {
  const auto t = gpu_times(loads, gpu_of, gpus, time);
  return *std::max_element(t.begin(), t.end());
}

Binning refine_layer(const std::vector<double>& loads, std::vector<int> gpu_of, int gpus, const ExpertTimeModel& time,
                     int max_swaps) {
  Binning b;
  auto cost = [&](std::size_t e, int g) { return loads[e] > 0.0 ? time.seconds(g, loads[e]) : 0.0; };
  std::vector<double> t = gpu_times(loads, gpu_of, gpus, time);
  while (b.swaps < max_swaps) {
    const auto slowest = static_cast<int>(std::max_element(t.begin(), t.end()) - t.begin());
    // The swap of an expert on the slowest GPU with one elsewhere that lowers the
    // pair's larger time the most (the other GPUs are unchanged, so the makespan
    // cannot rise); ties keep the first found, so the result is deterministic.
    double best = t[static_cast<std::size_t>(slowest)];
    std::size_t bx = 0, by = 0;
    bool found = false;
    for (std::size_t x = 0; x < loads.size(); ++x) {
      if (gpu_of[x] != slowest) continue;
      for (std::size_t y = 0; y < loads.size(); ++y) {
        const int other = gpu_of[y];
        if (other == slowest) continue;
        const double ta = t[static_cast<std::size_t>(slowest)] - cost(x, slowest) + cost(y, slowest);
        const double tb = t[static_cast<std::size_t>(other)] - cost(y, other) + cost(x, other);
        const double worst = std::max(ta, tb);
        if (worst < best * (1.0 - 1e-12)) {
          best = worst;
          bx = x;
          by = y;
          found = true;
        }
      }
    }
    if (!found) break;
    const int other = gpu_of[by];
    t[static_cast<std::size_t>(slowest)] += cost(by, slowest) - cost(bx, slowest);
    t[static_cast<std::size_t>(other)] += cost(bx, other) - cost(by, other);
    std::swap(gpu_of[bx], gpu_of[by]);
    ++b.swaps;
  }
  b.makespan = *std::max_element(t.begin(), t.end());
  b.gpu_of = std::move(gpu_of);
  return b;
}

Binning bin_layer(const std::vector<double>& loads, int gpus, const ExpertTimeModel& time, int max_swaps) {
  const std::size_t E = loads.size();
  const std::size_t slots = E / static_cast<std::size_t>(gpus);
  std::vector<std::size_t> order(E);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return loads[a] > loads[b]; });
  std::vector<double> t(static_cast<std::size_t>(gpus), 0.0);
  std::vector<std::size_t> used(static_cast<std::size_t>(gpus), 0);
  std::vector<int> gpu_of(E, 0);
  for (std::size_t e : order) {
    int best = -1;
    double best_t = 0.0;
    for (int g = 0; g < gpus; ++g) {
      if (used[static_cast<std::size_t>(g)] == slots) continue;
      const double candidate = t[static_cast<std::size_t>(g)] + (loads[e] > 0.0 ? time.seconds(g, loads[e]) : 0.0);
      if (best < 0 || candidate < best_t) {
        best = g;
        best_t = candidate;
      }
    }
    gpu_of[e] = best;
    t[static_cast<std::size_t>(best)] = best_t;
    ++used[static_cast<std::size_t>(best)];
  }
  return refine_layer(loads, std::move(gpu_of), gpus, time, max_swaps);
}

}  // namespace vibe

namespace {

class VibePlacement final : public PlacementPolicy {
 public:
  explicit VibePlacement(int max_swaps) : max_swaps_(max_swaps) {}
  std::string name() const override { return "vibe"; }
  std::string default_trigger() const override { return "drift"; }
  models::ExpertPlacement place(const PlacementContext& c) override { return solve(c, nullptr); }
  models::ExpertPlacement update(const PlacementContext& c, const models::ExpertPlacement& current) override {
    return solve(c, &current);
  }

 private:
  models::ExpertPlacement solve(const PlacementContext& c, const models::ExpertPlacement* current) {
    const int E = c.model->experts;
    if (E % c.gpus != 0) {
      throw InputError(fmt::format("policy 'vibe' needs experts divisible by GPUs (equal slots per GPU): {} experts on {} GPUs",
                                   E, c.gpus));
    }
    if (c.time_model == nullptr) throw std::logic_error("vibe needs a per-GPU performance model");
    models::ExpertPlacement p;
    p.policy = "vibe";
    p.gpus = c.gpus;
    for (std::size_t l = 0; l < c.loads.size(); ++l) {
      // Loads are shares of the layer's work: scale to a typical batch for the perf model.
      const double total = std::accumulate(c.loads[l].begin(), c.loads[l].end(), 0.0);
      std::vector<double> tokens(c.loads[l].size());
      for (std::size_t e = 0; e < tokens.size(); ++e) tokens[e] = total > 0 ? c.loads[l][e] / total * c.batch_tokens : 0.0;
      const vibe::Binning b = current != nullptr
                                  ? vibe::refine_layer(tokens, current->primary_gpus(static_cast<int>(l)), c.gpus, *c.time_model, max_swaps_)
                                  : vibe::bin_layer(tokens, c.gpus, *c.time_model, 1 << 20);
      p.swaps += b.swaps;
      p.replicas.emplace_back();
      for (int g : b.gpu_of) p.replicas.back().push_back({g});
    }
    return p;
  }
  int max_swaps_;
};

}  // namespace

std::unique_ptr<PlacementPolicy> make_vibe(PolicyParams& p) {
  const auto swaps = static_cast<int>(p.integer("max_swaps", 30, 0, 1 << 30, "swaps per layer allowed by an incremental recalibration"));
  p.reject_unknown();
  return std::make_unique<VibePlacement>(swaps);
}

}  // namespace moesim::policies
