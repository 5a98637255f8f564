#pragma once
// What an offloading policy decides (docs/offload.md, "Policies"):
// which experts are resident when serving starts, which resident expert makes room
// for an incoming one, and what to copy in ahead of need. The engine tells it what
// the router chose, layer by layer, as a real engine's hooks would see it; a policy
// never sees routing of layers that have not run yet. Implementations live in
// policies/offload/ and are registered by name.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "models/offload/expert_cache.h"

namespace moesim::models {

// Expert activation matrix of one request: tokens routed to each expert at each
// MoE layer over the request's lifetime (MoE-Infinity's EAM), row-major.
struct ActivationMatrix {
  int layers = 0;
  int experts = 0;
  std::vector<double> counts;
  ActivationMatrix() = default;
  ActivationMatrix(int l, int e) : layers(l), experts(e), counts(static_cast<std::size_t>(l) * static_cast<std::size_t>(e), 0.0) {}
  double& at(int layer, int expert) { return counts[static_cast<std::size_t>(layer * experts + expert)]; }
  double at(int layer, int expert) const { return counts[static_cast<std::size_t>(layer * experts + expert)]; }
  std::span<const double> row(int layer) const {
    return {counts.data() + static_cast<std::ptrdiff_t>(layer) * experts, static_cast<std::size_t>(experts)};
  }
};

// One router decision as a policy sees it in on_routed(): the MoE layer and the
// experts given tokens (ascending).
struct RoutedLayer {
  int layer = 0;
  std::vector<int> experts;
  bool operator==(const RoutedLayer&) const = default;
};

class CachePolicy {
 public:
  virtual ~CachePolicy() = default;
  virtual std::string name() const = 0;

  // Offline profiling on requests that are not served afterwards (a training split).
  virtual void train(const ActivationMatrix& /*request*/) {}
  // Experts resident when serving begins, at most `capacity` of them. Default: as a
  // loader fills memory, the first experts of every layer in turn.
  virtual std::vector<int> warm_start(const ExpertCache& cache);

  virtual void begin_request(std::uint64_t /*id*/) {}
  // The router of `layer` sent counts[e] tokens of the current step to expert e.
  virtual void on_routed(int /*layer*/, std::span<const std::int64_t> /*counts*/) {}
  virtual void end_request() {}

  // Experts to copy in ahead of need, best first, right after on_routed(layer);
  // the list replaces the previous one (copies already started finish). Default: none.
  virtual std::vector<int> prefetch(const ExpertCache& /*cache*/, int /*layer*/) { return {}; }

  // A resident expert to drop so `incoming` (needed now by `layer`) can be copied
  // in; `evictable` holds the candidates (resident, not in use), never empty.
  virtual int victim(const ExpertCache& cache, std::span<const int> evictable, int incoming, int layer) = 0;
  // The same for a prefetch, or -1 when no candidate is worth less than `incoming`.
  virtual int prefetch_victim(const ExpertCache& /*cache*/, std::span<const int> /*evictable*/, int /*incoming*/,
                              int /*layer*/) {
    return -1;
  }
  // False: an expert is dropped as soon as its layer has used it (no reuse).
  virtual bool keep_after_use() const { return true; }
  // True: an evicted expert is copied back to host memory (a swap, as Mixtral-Offloading does).
  virtual bool writes_back() const { return false; }

  // Offline bounds only (Belady): true when the policy must be told, before serving,
  // every on_routed() call the run will make, in order (set_future()). No online
  // policy may use this: it is the future.
  virtual bool needs_future() const { return false; }
  virtual void set_future(std::vector<RoutedLayer> /*future*/) {}
};

}  // namespace moesim::models
