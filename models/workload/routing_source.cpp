#include "models/workload/routing_source.h"

#include "traces/routing_stats.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <fmt/format.h>
#include <numeric>

#include "util/errors.h"

namespace moesim::models {
namespace {

// Rejections in a row before a token's draws switch to an exact scan. A run of
// rejections says nothing about the next draw (they are independent), so switching
// keeps the distribution exact; 64 in a row is below 1e-20 for any expert share under 0.45,
// so the realistic routing draws (and their streams) never reach the scan, while a
// near-degenerate skew (one expert with nearly all the weight) no longer loops for
// millions of draws per token (docs/limits.md).
constexpr int kRejectionBudget = 64;

// One expert from `weights` excluding those marked taken (marks[e] != 0), by a scan
// over the remaining weight; the caller has checked that at least k weights are positive.
inline std::size_t draw_remaining(const std::vector<double>& weights, sim::Rng& rng, const std::uint8_t* marks) {
  auto taken = [&](std::size_t e) { return marks[e] != 0; };
  double remaining = 0.0;
  for (std::size_t e = 0; e < weights.size(); ++e) remaining += taken(e) ? 0.0 : weights[e];
  double u = rng.uniform01() * remaining;
  std::size_t last = weights.size();
  for (std::size_t e = 0; e < weights.size(); ++e) {
    if (taken(e) || weights[e] <= 0.0) continue;
    last = e;
    if (u < weights[e]) return e;
    u -= weights[e];
  }
  return last;  // rounding left u just past the final positive weight
}

// The experts one token has drawn so far, a byte each: a load meets an earlier store
// only when the expert repeats (with bits in words, every draw sharing a word waited
// for the store before it; in 128-bit registers the shifts cost more than the draw).
class TakenMarks {
 public:
  explicit TakenMarks(std::uint8_t* marks) : marks_(marks) {}
  bool insert(std::size_t e) {
    const bool fresh = marks_[e] == 0;
    marks_[e] = 1;
    return fresh;
  }
  void clear(const std::size_t* chosen, std::size_t k) {
    for (std::size_t j = 0; j < k; ++j) marks_[chosen[j]] = 0;
  }
  const std::uint8_t* marks() const { return marks_; }

 private:
  std::uint8_t* marks_;
};

// One token's k distinct experts into chosen[0..k) by rejection: redrawing a taken
// expert gives exactly sequential sampling without replacement (P(e | taken S) =
// w_e / (W − w_S)). The coin is compared in integers (sim::draw_exact: the same
// draws as AliasTable::draw from the same stream), and repeats are found by a mark
// per expert, not a scan; a repeat is written past the experts kept and not counted.
inline void draw_token(const sim::ExactColumn* columns, std::size_t experts, const std::vector<double>& weights,
                       sim::Rng& rng, std::size_t k, TakenMarks& taken, std::size_t* chosen) {
  std::size_t have = 0;
  int rejected = 0;
  while (have < k) {
    const std::size_t e = sim::draw_exact(columns, experts, rng);
    const bool fresh = taken.insert(e);
    chosen[have] = e;
    have += fresh ? 1 : 0;
    rejected = fresh ? 0 : rejected + 1;
    if (rejected == kRejectionBudget) [[unlikely]] {
      // The taken weight only grows within a token, so once rejection has needed the
      // scan, the token's later picks would too: they take it at once
      // (docs/limits.md, Zipf skew).
      while (have < k) {
        const std::size_t f = draw_remaining(weights, rng, taken.marks());
        taken.insert(f);
        chosen[have++] = f;
      }
    }
  }
}

}  // namespace

void require_distinct_draws(const std::vector<double>& weights, int k) {
  const auto positive = std::count_if(weights.begin(), weights.end(), [](double w) { return w > 0.0; });
  if (positive < k) {
    throw InputError(fmt::format("routing weights: only {} of {} experts have a non-zero weight, but each token "
                                 "needs top-{} distinct experts",
                                 positive, weights.size(), k));
  }
}

std::vector<double> inclusion_probabilities(const std::vector<double>& weights, int k) {
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> p(weights.size(), 0.0);
  for (std::size_t e = 0; e < weights.size(); ++e) p[e] = weights[e] / total;
  if (k == 1) return p;
  // P(e second) = Σ_{f≠e} p_f · p_e / (1 − p_f)
  std::vector<double> incl(p);
  for (std::size_t e = 0; e < p.size(); ++e) {
    for (std::size_t f = 0; f < p.size(); ++f) {
      if (f != e && p[f] < 1.0) incl[e] += p[f] * p[e] / (1.0 - p[f]);
    }
  }
  return incl;
}

std::vector<double> successive_inclusion(const std::vector<double>& weights, int k, int samples) {
  require_distinct_draws(weights, k);
  if (k <= 2) return inclusion_probabilities(weights, k);
  if (std::adjacent_find(weights.begin(), weights.end(), std::not_equal_to<>()) == weights.end()) {
    return std::vector<double>(weights.size(), static_cast<double>(k) / static_cast<double>(weights.size()));
  }
  const std::vector<sim::ExactColumn> columns = sim::AliasTable(weights).exact_columns();
  sim::Rng rng(0x1ac1u);  // a fixed stream: the estimate is part of the source's definition
  std::vector<double> hits(weights.size(), 0.0);
  std::vector<std::size_t> chosen(static_cast<std::size_t>(k));
  std::vector<std::uint8_t> marks(weights.size(), 0);
  TakenMarks taken(marks.data());
  for (int s = 0; s < samples; ++s) {
    draw_token(columns.data(), columns.size(), weights, rng, chosen.size(), taken, chosen.data());
    for (const std::size_t e : chosen) hits[e] += 1.0;
    taken.clear(chosen.data(), chosen.size());
  }
  for (double& h : hits) h /= samples;
  return hits;
}

std::vector<double> zipf_rank_weights(int experts, double skew) {
  std::vector<double> w(static_cast<std::size_t>(experts));
  for (int rank = 0; rank < experts; ++rank) w[static_cast<std::size_t>(rank)] = 1.0 / std::pow(rank + 1.0, skew);
  return w;
}

double zipf_load_gini(int experts, int top_k, double skew) {
  return traces::gini(successive_inclusion(zipf_rank_weights(experts, skew), top_k, 1 << 16));
}

double zipf_skew_for_gini(int experts, int top_k, double gini) {
  double lo = 0.0, hi = 8.0;
  if (!(gini >= zipf_load_gini(experts, top_k, lo) && gini <= zipf_load_gini(experts, top_k, hi))) return std::nan("");
  for (int i = 0; i < 40; ++i) {  // the Gini grows with the skew
    const double mid = 0.5 * (lo + hi);
    (zipf_load_gini(experts, top_k, mid) < gini ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

ZipfRoutingSource::ZipfRoutingSource(const MoeModel& model, double skew, sim::Rng rng)
    : experts_(model.experts), top_k_(model.top_k), moe_layers_(model.moe_layer_count()), skew_(skew), rng_(rng) {
  for (int l = 0; l < moe_layers_; ++l) {
    std::vector<int> order(static_cast<std::size_t>(experts_));
    std::iota(order.begin(), order.end(), 0);
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng_.uniform_int(i)]);
    const std::vector<double> by_rank = zipf_rank_weights(experts_, skew_);
    std::vector<double> w(static_cast<std::size_t>(experts_));
    for (std::size_t rank = 0; rank < by_rank.size(); ++rank) w[static_cast<std::size_t>(order[rank])] = by_rank[rank];
    require_distinct_draws(w, top_k_);
    const auto columns = sim::AliasTable(w).exact_columns();
    columns_.insert(columns_.end(), columns.begin(), columns.end());
    weights_.push_back(std::move(w));
    ranking_.push_back(std::move(order));
  }
  taken_.assign(static_cast<std::size_t>(experts_), 0);
}

std::vector<std::vector<double>> ZipfRoutingSource::expected_selections() const {
  // Every layer's weights are one rank profile permuted: one estimate serves all.
  const std::vector<double> by_rank = zipf_rank_weights(experts_, skew_);
  const std::vector<double> incl = successive_inclusion(by_rank, top_k_);
  std::vector<std::vector<double>> out(static_cast<std::size_t>(moe_layers_), std::vector<double>(by_rank.size()));
  for (std::size_t l = 0; l < out.size(); ++l) {
    for (std::size_t r = 0; r < by_rank.size(); ++r) out[l][static_cast<std::size_t>(ranking_[l][r])] = incl[r];
  }
  return out;
}

std::string ZipfRoutingSource::label() const { return fmt::format("synthetic Zipf routing (skew {})", skew_); }

std::vector<std::int64_t> tokens_per_gpu(const BatchSpans& spans) {
  std::vector<std::int64_t> n(spans.size(), 0);
  for (std::size_t g = 0; g < spans.size(); ++g) {
    for (const TokenSpan& s : spans[g]) n[g] += s.count;
  }
  return n;
}

// Rows keep their size from one iteration to the next, so clearing is a few stores
// per row. GCC would turn the store loop into a memset call per row (thousands per
// iteration, most of 64 bytes, each costing more than the stores): told not to.
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
void reset_counts(RoutingCounts& counts, std::size_t layers, std::size_t gpus, std::size_t experts) {
  counts.resize(layers);
  for (auto& layer : counts) {
    layer.resize(gpus);
    for (auto& row : layer) {
      if (row.size() != experts) row.resize(experts);
      std::int64_t* const values = row.data();
      for (std::size_t e = 0; e < experts; ++e) values[e] = 0;
    }
  }
}

void ZipfRoutingSource::clear(RoutingCounts& counts, const RowSupport& support, std::size_t gpus) const {
  const auto L = static_cast<std::size_t>(moe_layers_);
  const auto E = static_cast<std::size_t>(experts_);
  const bool as_left = support.describes(&counts) && support.layers() == L && support.gpus() == gpus && L > 0 &&
                       counts.size() == L && counts.front().size() == gpus &&
                       (gpus == 0 || counts.front().front().size() == E);
  if (!as_left) {
    reset_counts(counts, L, gpus, E);
    return;
  }
  // Zeroing every row costs a store per expert per row, ~12 times the listed ones
  // at a decode step (docs/performance.md, "Sparse rows").
  for (std::size_t l = 0; l < L; ++l) {
    for (std::size_t g = 0; g < gpus; ++g) {
      std::int64_t* const row = counts[l][g].data();
      if (support.dense(g)) {
        std::fill_n(row, E, 0);
        continue;
      }
      for (const std::uint32_t e : support.experts(l, g)) row[e] = 0;
    }
  }
}

void ZipfRoutingSource::route(const BatchSpans& batch, RoutingCounts& counts) {
  scratch_.forget();  // `counts` may hold anything: every count is cleared
  route_listed(batch, counts, scratch_);
}

bool ZipfRoutingSource::route_listed(const BatchSpans& batch, RoutingCounts& counts, RowSupport& support) {
  const std::vector<std::int64_t> tokens_per_gpu = models::tokens_per_gpu(batch);
  const auto L = static_cast<std::size_t>(moe_layers_);
  clear(counts, support, tokens_per_gpu.size());
  support.shape(L, tokens_per_gpu, top_k_, experts_);
  support.describe(&counts);
  const auto E = static_cast<std::size_t>(experts_);
  const auto K = static_cast<std::size_t>(top_k_);
  std::vector<std::size_t> chosen_experts(K);
  std::size_t* const chosen = chosen_experts.data();
  // A local copy of the generator keeps its state in registers across the stores
  // into the count rows (which, to the compiler, might alias the member).
  sim::Rng rng = rng_;
  TakenMarks taken(taken_.data());
  for (std::size_t l = 0; l < L; ++l) {
    const sim::ExactColumn* const columns = columns_.data() + l * E;
    const std::vector<double>& weights = weights_[l];
    for (std::size_t g = 0; g < tokens_per_gpu.size(); ++g) {
      std::int64_t* const row = counts[l][g].data();
      if (support.dense(g)) {
        for (std::int64_t t = 0; t < tokens_per_gpu[g]; ++t) {
          draw_token(columns, E, weights, rng, K, taken, chosen);
          for (std::size_t j = 0; j < K; ++j) ++row[chosen[j]];
          taken.clear(chosen, K);
        }
        continue;
      }
      // A sparse row also lists each expert the first time it is counted (the slot
      // is written every time and kept only then: no branch on a random outcome).
      // Its own loop: one loop branching on the row's kind per token measured 2–3% slower.
      std::uint32_t* const listed = support.slots(l, g);
      std::size_t n = 0;
      for (std::int64_t t = 0; t < tokens_per_gpu[g]; ++t) {
        draw_token(columns, E, weights, rng, K, taken, chosen);
        for (std::size_t j = 0; j < K; ++j) {
          const std::size_t e = chosen[j];
          listed[n] = static_cast<std::uint32_t>(e);
          n += row[e] == 0 ? 1 : 0;
          ++row[e];
        }
        taken.clear(chosen, K);
      }
      support.set_size(l, g, n);
    }
  }
  rng_ = rng;
  return true;
}

}  // namespace moesim::models
