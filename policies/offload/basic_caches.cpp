// The offloading baselines (docs/offload.md, "Policies"): no reuse, LRU, LFU,
// Mixtral-Offloading's per-layer LRU with swaps, and BrainStorm-like popularity.
#include <algorithm>
#include <optional>
#include <utility>

#include "policies/builtin.h"
#include "policies/offload/victim.h"
#include "sim/rng.h"

namespace moesim::policies {
namespace {

using models::ExpertCache;

int least_recent(const ExpertCache& cache, std::span<const int> evictable) {
  return argmin_victim(evictable, [&](int id) { return cache.last_use(id); });
}

// DeepSpeed-style on-demand loading: every expert a layer needs is copied in and
// dropped after use; nothing is kept for the next token.
class OnDemand final : public models::CachePolicy {
 public:
  std::string name() const override { return "on-demand"; }
  std::vector<int> warm_start(const ExpertCache&) override { return {}; }
  int victim(const ExpertCache& cache, std::span<const int> evictable, int, int) override {
    return least_recent(cache, evictable);
  }
  bool keep_after_use() const override { return false; }
};

class Lru final : public models::CachePolicy {
 public:
  std::string name() const override { return "lru"; }
  int victim(const ExpertCache& cache, std::span<const int> evictable, int, int) override {
    return least_recent(cache, evictable);
  }
};

// MoE-Infinity's C++ fetch path: the fewest uses since it was cached goes first
// (least recent among equals).
class Lfu final : public models::CachePolicy {
 public:
  std::string name() const override { return "lfu"; }
  int victim(const ExpertCache& cache, std::span<const int> evictable, int, int) override {
    return argmin_victim(evictable, [&](int id) { return std::pair{cache.uses_in_cache(id), cache.last_use(id)}; });
  }
};

// Mixtral-Offloading (dvmazur/mixtral-offloading): each layer keeps a fixed number
// of its experts on the GPU (its share of the cache); a miss swaps out the least
// recently used expert of the same layer, which is copied back to host memory.
class MixtralOffloading final : public models::CachePolicy {
 public:
  std::string name() const override { return "mixtral-offloading"; }
  std::vector<int> warm_start(const ExpertCache& cache) override {
    const int per_layer = std::min(cache.capacity() / cache.moe_layers(), cache.experts_per_layer());
    std::vector<int> ids;
    for (int l = 0; l < cache.moe_layers(); ++l) {
      for (int e = 0; e < per_layer; ++e) ids.push_back(cache.id(l, e));
    }
    return ids;
  }
  int victim(const ExpertCache& cache, std::span<const int> evictable, int incoming, int) override {
    const int layer = cache.layer_of(incoming);
    const int same = argmin_victim(evictable, [&](int id) { return cache.last_use(id); },
                                   [&](int id) { return cache.layer_of(id) == layer; });
    // A layer whose share is smaller than what it needs now borrows the globally oldest slot.
    return same >= 0 ? same : least_recent(cache, evictable);
  }
  bool writes_back() const override { return true; }
};

// BrainStorm-like popularity caching: the experts used most on the profiling
// (training) requests stay resident; `buffer` slots cycle the others (LRU).
// With a seed, the resident set is a uniformly random one instead — the
// "random-static" lower bound of docs/offload.md: what a fixed set is worth
// without any knowledge of the routing.
class Popularity final : public models::CachePolicy {
 public:
  Popularity(int buffer, std::optional<std::uint64_t> random_seed) : buffer_(buffer), random_seed_(random_seed) {}
  std::string name() const override { return random_seed_ ? "random-static" : "popularity"; }
  void train(const models::ActivationMatrix& eam) override {
    if (counts_.empty()) counts_.assign(eam.counts.size(), 0.0);
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += eam.counts[i];
  }
  std::vector<int> warm_start(const ExpertCache& cache) override {
    std::vector<int> ids(static_cast<std::size_t>(cache.moe_layers() * cache.experts_per_layer()));
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
    if (random_seed_) {
      sim::Rng rng = sim::RngStreams(*random_seed_).stream("random-static");
      for (std::size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.uniform_int(i)]);  // Fisher–Yates
    } else {
      auto count = [&](int id) { return counts_.empty() ? 0.0 : counts_[static_cast<std::size_t>(id)]; };
      std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return count(a) > count(b); });
    }
    ids.resize(static_cast<std::size_t>(std::max(0, std::min<int>(cache.capacity() - buffer_, static_cast<int>(ids.size())))));
    hot_.assign(static_cast<std::size_t>(cache.moe_layers() * cache.experts_per_layer()), false);
    for (const int id : ids) hot_[static_cast<std::size_t>(id)] = true;
    return ids;
  }
  int victim(const ExpertCache& cache, std::span<const int> evictable, int, int) override {
    const int cold = argmin_victim(evictable, [&](int id) { return cache.last_use(id); },
                                   [&](int id) { return !hot_[static_cast<std::size_t>(id)]; });
    return cold >= 0 ? cold : least_recent(cache, evictable);
  }

 private:
  int buffer_;
  std::optional<std::uint64_t> random_seed_;
  std::vector<double> counts_;
  std::vector<bool> hot_;  // chosen by warm_start: the policy's one placement decision
};

}  // namespace

std::unique_ptr<models::CachePolicy> make_on_demand(PolicyParams& p) {
  p.reject_unknown();
  return std::make_unique<OnDemand>();
}
std::unique_ptr<models::CachePolicy> make_lru(PolicyParams& p) {
  p.reject_unknown();
  return std::make_unique<Lru>();
}
std::unique_ptr<models::CachePolicy> make_lfu(PolicyParams& p) {
  p.reject_unknown();
  return std::make_unique<Lfu>();
}
std::unique_ptr<models::CachePolicy> make_mixtral_offloading(PolicyParams& p) {
  p.reject_unknown();
  return std::make_unique<MixtralOffloading>();
}
std::unique_ptr<models::CachePolicy> make_popularity(PolicyParams& p) {
  const auto buffer = static_cast<int>(p.integer("buffer", 2, 1, 1 << 30, "cache slots kept for non-resident experts"));
  p.reject_unknown();
  return std::make_unique<Popularity>(buffer, std::nullopt);
}
std::unique_ptr<models::CachePolicy> make_random_static(PolicyParams& p) {
  const auto buffer = static_cast<int>(p.integer("buffer", 2, 1, 1 << 30, "cache slots kept for non-resident experts"));
  const auto seed = p.integer("seed", 1, 0, std::int64_t{1} << 62, "seed of the random resident set");
  p.reject_unknown();
  return std::make_unique<Popularity>(buffer, static_cast<std::uint64_t>(seed));
}

}  // namespace moesim::policies
