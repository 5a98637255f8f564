// MoE-Infinity (docs/offload.md, "MoE-Infinity"; TorchMoE/MoE-Infinity @cca059c, arXiv 2401.14361):
// activation-aware caching and prefetching driven by request-level expert
// activation matrices (EAMs).
//
// After the router of layer l the request's EAM row l grows and the nearest trace
// of the collection is found (ActivationMatcher; paper or code-faithful matching).
// Eviction (the code's default "priority" score): the lowest
//   (uses since cached / all uses + 1e-6) · (the request's own activation share of the
//   expert in its layer + 1e-6) · proximity,
// proximity = 1 − d/(L+1) with d the layers until the expert's layer runs again
// (wrapping into the next token), experts of the current and next layer protected
// unless nothing else can go. With prefetch on, the prefetch list becomes the
// experts of layers l+1.. ranked by (matched count + 1e-8) · (1 − (i−l)/(L+1)).
// Layer l itself is left out: its router has just named exactly what it needs and
// the engine copies those on demand. A prefetch evicts a resident expert only when
// the candidate's matched share × proximity exceeds the victim's own-request share
// × proximity. Finished requests join the collection (LFU replacement); the
// offline training split fills it before serving.
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
    for (const std::int64_t n : counts) total_uses_ += n > 0 ? 1.0 : 0.0;
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
    if (matched_ < 0 || max_prefetch_ == 0) return {};
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
    return v >= 0 ? v : argmin_victim(evictable, [&](int id) { return priority(cache, id, layer); });
  }

  int prefetch_victim(const ExpertCache& cache, std::span<const int> evictable, int incoming, int layer) override {
    const int v = lowest(cache, evictable, layer);
    if (v < 0 || matched_ < 0) return -1;
    const ActivationMatrix& trace = collection_->trace(static_cast<std::size_t>(matched_));
    const double gain = row_share(trace, cache, incoming) * proximity(cache, incoming, layer);
    const double loss = row_share(matcher_->request(), cache, v) * proximity(cache, v, layer);
    return loss < gain ? v : -1;
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
    return argmin_victim(evictable, [&](int id) { return priority(cache, id, layer); },
                         [&](int id) { return !is_protected(cache, id, layer); });
  }

  // Share of its layer's tokens that `id`'s expert received in `eam` (uniform for an empty row).
  static double row_share(const ActivationMatrix& eam, const ExpertCache& cache, int id) {
    const int l = cache.layer_of(id);
    double row = 0.0;
    for (const double v : eam.row(l)) row += v;
    return row > 0.0 ? eam.at(l, id - l * eam.experts) / row : 1.0 / eam.experts;
  }

  // 1 − d/(L+1), d = layers until `id`'s layer runs again (wrapping into the next token).
  static double proximity(const ExpertCache& cache, int id, int layer) {
    const int L = cache.moe_layers();
    return layer_decay((cache.layer_of(id) - layer + L) % L, L);
  }

  // MoE-Infinity's "priority" cache score: frequency × the request's own activation × proximity.
  double priority(const ExpertCache& cache, int id, int layer) const {
    const double freq = total_uses_ > 0 ? static_cast<double>(cache.uses_in_cache(id)) / total_uses_ : 1.0;
    const double activation = matcher_ ? row_share(matcher_->request(), cache, id) : 1.0 / cache.experts_per_layer();
    return (freq + 1e-6) * (activation + 1e-6) * proximity(cache, id, layer);
  }

  int trace_capacity_;
  MatchMode mode_;
  int max_prefetch_;
  std::unique_ptr<TraceCollection> collection_;
  std::unique_ptr<ActivationMatcher> matcher_;
  int matched_ = -1;
  double total_uses_ = 0.0;  // expert uses so far: the frequency normaliser
};

}  // namespace

std::unique_ptr<models::CachePolicy> make_moe_infinity(PolicyParams& p) {
  const auto capacity = static_cast<int>(p.integer("trace_capacity", 1000, 1, 1 << 30, "activation matrices kept (LFU replacement)"));
  const std::string match = p.choice("match", "paper", {"paper", "code-faithful"},
                                     "paper: cosine on executed layers; code-faithful: as the open-source find_most_similar");
  // Off by default as in the published code (config `prefetch` = False): on a
  // saturated host link, copies ahead of need mostly delay the ones needed now
  // (docs/results-offload.md).
  const bool prefetch = p.boolean("prefetch", false, "copy predicted experts ahead of need (the published code's default is off)");
  const auto prefetch_limit = static_cast<int>(p.integer("max_prefetch", 16, 1, 1 << 30, "with prefetch: candidates kept after each layer"));
  const int max_prefetch = prefetch ? prefetch_limit : 0;
  p.reject_unknown();
  return std::make_unique<MoeInfinity>(capacity, match == "paper" ? MatchMode::kPaper : MatchMode::kCodeFaithful,
                                       max_prefetch);
}

}  // namespace moesim::policies
