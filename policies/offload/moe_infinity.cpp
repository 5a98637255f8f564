// MoE-Infinity (policies-spec §2; TorchMoE/MoE-Infinity @cca059c, arXiv 2401.14361):
// activation-aware prefetching and caching driven by request-level expert
// activation matrices.
//
// After the router of layer l: the request's EAM row l grows, the nearest trace
// of the collection is found (ActivationMatcher), and the prefetch list becomes
// the experts of layers l+1.. ranked by (matched count + 1e-8) · (1 − (i−l)/(L+1)).
// Layer l itself is left out: the router has just named exactly what it needs and
// the engine copies those on demand (the code also lists layer l's other experts,
// which can only waste bandwidth). Eviction: the lowest
//   priority = (uses since cached + 1) · (matched activation ratio + 1e-6) · proximity,
// proximity = 1 − d/(L+1) with d the layers until the expert's layer comes round
// again (wrapping to the next token), experts of the current and next layer
// protected unless nothing else can go. A prefetch evicts only a resident expert
// whose priority is below the candidate's (as a fresh entry, uses = 0).
// Finished requests join the collection (LFU replacement); the offline training
// split fills it before serving.
#include <algorithm>

#include "policies/builtin.h"
#include "policies/offload/activation_matching.h"
#include "policies/offload/victim.h"

namespace moesim::policies {
namespace {

using models::ExpertCache;

class MoeInfinity final : public models::CachePolicy {
 public:
  MoeInfinity(int trace_capacity, MatchMode mode, int max_prefetch)
      : trace_capacity_(trace_capacity), mode_(mode), max_prefetch_(max_prefetch) {}
  std::string name() const override { return "moe-infinity"; }

  void train(const ActivationMatrix& eam) override { collection(eam.layers, eam.experts).add(eam); }

  void begin_request(std::uint64_t) override {
    matched_ = -1;
    if (matcher_) matcher_->reset();
  }

  void on_routed(int layer, std::span<const std::int64_t> counts) override {
    if (!matcher_) return;  // shape known from the first prefetch() call
    matcher_->add(layer, counts);
    matched_ = matcher_->best(layer, mode_);
    if (matched_ >= 0) collection_->touch(static_cast<std::size_t>(matched_));
  }

  void end_request() override {
    if (matcher_) collection_->add(matcher_->request());
  }

  std::vector<int> prefetch(const ExpertCache& cache, int layer) override {
    if (!matcher_) {
      // Untrained: learn the shape now and start tracing from this request's next layer on.
      collection(cache.moe_layers(), cache.experts_per_layer());
      return {};
    }
    if (matched_ < 0) return {};
    const ActivationMatrix& trace = collection_->trace(static_cast<std::size_t>(matched_));
    const int L = cache.moe_layers();
    std::vector<std::pair<double, int>> ranked;
    for (int i = layer + 1; i < L; ++i) {
      const double decay = layer_decay(i - layer, L);
      for (int e = 0; e < cache.experts_per_layer(); ++e) {
        const int id = cache.id(i, e);
        if (trace.at(i, e) <= 0.0 || cache.state(id) != models::Residency::kHost) continue;
        ranked.emplace_back(-(trace.at(i, e) + 1e-8) * decay, id);
      }
    }
    const auto keep = std::min<std::size_t>(ranked.size(), static_cast<std::size_t>(max_prefetch_));
    std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end());
    std::vector<int> ids;
    for (std::size_t k = 0; k < keep; ++k) ids.push_back(ranked[k].second);
    return ids;
  }

  int victim(const ExpertCache& cache, std::span<const int> evictable, int, int layer) override {
    const int v = lowest(cache, evictable, layer);
    return v >= 0 ? v : argmin_victim(evictable, [&](int id) { return priority(cache, id, layer, false); });
  }

  int prefetch_victim(const ExpertCache& cache, std::span<const int> evictable, int incoming, int layer) override {
    const int v = lowest(cache, evictable, layer);
    if (v < 0) return -1;
    return priority(cache, v, layer, false) < priority(cache, incoming, layer, true) ? v : -1;
  }

 private:
  TraceCollection& collection(int layers, int experts) {
    if (!collection_) {
      collection_ = std::make_unique<TraceCollection>(trace_capacity_, layers, experts);
      matcher_ = std::make_unique<ActivationMatcher>(*collection_);
    }
    return *collection_;
  }

  bool is_protected(const ExpertCache& cache, int id, int layer) const {
    const int l = cache.layer_of(id);
    return l == layer || l == (layer + 1) % cache.moe_layers();
  }

  int lowest(const ExpertCache& cache, std::span<const int> evictable, int layer) const {
    return argmin_victim(evictable, [&](int id) { return priority(cache, id, layer, false); },
                         [&](int id) { return !is_protected(cache, id, layer); });
  }

  double priority(const ExpertCache& cache, int id, int layer, bool fresh) const {
    const int L = cache.moe_layers();
    const int E = cache.experts_per_layer();
    const int l = cache.layer_of(id);
    const double uses = fresh ? 0.0 : static_cast<double>(cache.uses_in_cache(id));
    double activation = 1.0 / E;
    if (matched_ >= 0) {
      const ActivationMatrix& trace = collection_->trace(static_cast<std::size_t>(matched_));
      double row = 0.0;
      for (const double v : trace.row(l)) row += v;
      activation = row > 0.0 ? trace.at(l, id - l * E) / row : 1.0 / E;
    }
    const int ahead = (l - layer + L) % L;
    return (uses + 1.0) * (activation + 1e-6) * layer_decay(ahead, L);
  }

  int trace_capacity_;
  MatchMode mode_;
  int max_prefetch_;
  std::unique_ptr<TraceCollection> collection_;
  std::unique_ptr<ActivationMatcher> matcher_;
  int matched_ = -1;
};

}  // namespace

std::unique_ptr<models::CachePolicy> make_moe_infinity(PolicyParams& p) {
  const auto capacity = static_cast<int>(p.integer("trace_capacity", 1000, 1));
  const std::string match = p.choice("match", "paper", {"paper", "code-faithful"});
  const auto max_prefetch = static_cast<int>(p.integer("max_prefetch", 16, 0));
  p.reject_unknown();
  return std::make_unique<MoeInfinity>(capacity, match == "paper" ? MatchMode::kPaper : MatchMode::kCodeFaithful,
                                       max_prefetch);
}

}  // namespace moesim::policies
