// Belady's MIN as an offline bound on the expert cache's hit rate (docs/offload.md,
// "Bounds"): told the whole served routing in advance, it evicts the expert whose
// next use lies farthest in the future (never used again first) and starts with the
// experts used first. With demand copies only (no prefetch), no policy has fewer
// misses (Belady 1966; the same exchange argument holds when a step pins several
// experts, checked against exhaustive search in tests/policies/offload_bounds_test.cpp).
#include <algorithm>
#include <limits>
#include <stdexcept>

#include "policies/builtin.h"
#include "policies/offload/victim.h"

namespace moesim::policies {
namespace {

using models::ExpertCache;

class Belady final : public models::CachePolicy {
 public:
  std::string name() const override { return "belady"; }
  bool needs_future() const override { return true; }
  void set_future(std::vector<models::RoutedLayer> future) override {
    future_ = std::move(future);
    uses_.clear();
    now_ = -1;
  }
  std::vector<int> warm_start(const ExpertCache& cache) override {
    // Positions of every use of every expert, and the first `capacity` experts in order of first use.
    uses_.assign(static_cast<std::size_t>(cache.moe_layers() * cache.experts_per_layer()), {});
    std::vector<int> first;
    for (std::size_t pos = 0; pos < future_.size(); ++pos) {
      for (const int e : future_[pos].experts) {
        auto& at = uses_[static_cast<std::size_t>(cache.id(future_[pos].layer, e))];
        if (at.empty() && static_cast<int>(first.size()) < cache.capacity()) first.push_back(cache.id(future_[pos].layer, e));
        at.push_back(static_cast<std::int64_t>(pos));
      }
    }
    return first;
  }
  void on_routed(int layer, std::span<const std::int64_t> counts) override {
    ++now_;
    models::RoutedLayer seen{layer, {}};
    for (std::size_t e = 0; e < counts.size(); ++e) {
      if (counts[e] > 0) seen.experts.push_back(static_cast<int>(e));
    }
    if (static_cast<std::size_t>(now_) >= future_.size() || !(future_[static_cast<std::size_t>(now_)] == seen)) {
      throw std::logic_error("belady: the routing differs from the future it was given");
    }
  }
  int victim(const ExpertCache&, std::span<const int> evictable, int, int) override {
    // Farthest next use first; an evictable expert is not needed by the running step.
    return argmin_victim(evictable, [&](int id) { return -next_use(id); });
  }

 private:
  std::int64_t next_use(int id) const {
    const auto& at = uses_[static_cast<std::size_t>(id)];
    const auto it = std::upper_bound(at.begin(), at.end(), now_);
    return it == at.end() ? std::numeric_limits<std::int64_t>::max() : *it;
  }

  std::vector<models::RoutedLayer> future_;
  std::vector<std::vector<std::int64_t>> uses_;  // per expert id: positions in future_
  std::int64_t now_ = -1;                        // position of the current on_routed()
};

}  // namespace

std::unique_ptr<models::CachePolicy> make_belady(PolicyParams& p) {
  p.reject_unknown();
  return std::make_unique<Belady>();
}

}  // namespace moesim::policies
