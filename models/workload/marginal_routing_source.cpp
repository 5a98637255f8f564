#include "models/workload/marginal_routing_source.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

#include "util/errors.h"
#include "traces/routing_stats.h"

namespace moesim::models {

std::vector<double> fit_sampling_weights(const std::vector<double>& target, int k) {
  std::vector<double> w(target);
  for (int iter = 0; iter < 10000; ++iter) {
    const auto incl = inclusion_probabilities(w, k);
    double worst = 0.0;
    for (std::size_t e = 0; e < w.size(); ++e) {
      if (target[e] <= 0.0) {
        w[e] = 0.0;
        continue;
      }
      worst = std::max(worst, std::abs(incl[e] / target[e] - 1.0));
      w[e] *= target[e] / incl[e];
    }
    if (worst < 1e-12) break;
  }
  return w;
}

RoutingCorrelations fit_correlations(const std::string& moert_path) {
  const traces::RoutingStats s = traces::compute_routing_stats(moert_path);
  // Lifts measured on next to nothing would be reported as fitted; refuse instead.
  constexpr std::uint64_t kMinPairs = 100;
  if (s.consecutive_pairs < kMinPairs || s.cross_layer_scored < kMinPairs) {
    throw InputError(fmt::format("{}: too little routing to fit correlations from ({} consecutive token pairs, {} held-out "
                                 "layer pairs; at least {} of each needed: several requests of several tokens)",
                                 moert_path, s.consecutive_pairs, s.cross_layer_scored, kMinPairs));
  }
  return RoutingCorrelations{std::max(0.0, s.locality_lift()), std::max(0.0, s.cross_layer_lift()), moert_path};
}

namespace {

// North-west-corner transport plan from `rows` to `cols` taken in `order`:
// a joint distribution with exactly these marginals and at most 2E−1 non-zeros.
std::vector<double> north_west_corner(const std::vector<double>& rows, const std::vector<double>& cols,
                                      const std::vector<std::size_t>& order) {
  const std::size_t E = rows.size();
  std::vector<double> joint(E * E, 0.0);
  std::vector<double> r(rows);
  std::vector<double> c(E);
  for (std::size_t k = 0; k < E; ++k) c[k] = cols[order[k]];
  std::size_t i = 0;
  std::size_t k = 0;
  while (i < E && k < E) {
    const double m = std::min(r[i], c[k]);
    joint[i * E + order[k]] += m;
    r[i] -= m;
    c[k] -= m;
    if (r[i] <= 1e-15) ++i;
    else ++k;
  }
  return joint;
}

// Accuracy of the best-successor predictor on a pair joint, and the best
// most-popular guess, as a lift.
double successor_lift(const std::vector<double>& joint, std::size_t E) {
  std::vector<double> col(E, 0.0);
  double accuracy = 0.0;
  for (std::size_t i = 0; i < E; ++i) {
    double best = 0.0;
    for (std::size_t j = 0; j < E; ++j) {
      best = std::max(best, joint[i * E + j]);
      col[j] += joint[i * E + j];
    }
    accuracy += best;
  }
  return traces::RoutingStats::lift(accuracy, *std::max_element(col.begin(), col.end()));
}

}  // namespace

MarginalRoutingSource::MarginalRoutingSource(const MoeModel& model, const traces::ExpertPopularity& popularity,
                                             std::string origin, sim::Rng rng, RoutingCorrelations correlations)
    : experts_(model.experts), top_k_(model.top_k), model_name_(model.name), origin_(std::move(origin)),
      corr_(std::move(correlations)), rng_(rng) {
  if (static_cast<int>(popularity.counts.size()) != model.moe_layer_count() ||
      static_cast<int>(popularity.counts[0].size()) != experts_) {
    throw InputError(fmt::format("{}: popularity counts have {} layers × {} experts, but model {} has {} MoE layers × {} experts",
                                 origin_, popularity.counts.size(), popularity.counts[0].size(), model.name,
                                 model.moe_layer_count(), experts_));
  }
  if (top_k_ > 2) throw InputError(fmt::format("marginal routing supports top-k <= 2, model {} has top-{}", model.name, top_k_));
  if (!(corr_.locality_lift >= 0.0 && corr_.locality_lift <= 1.0) || !(corr_.cross_layer_lift >= 0.0 && corr_.cross_layer_lift <= 1.0)) {
    throw InputError(fmt::format("routing correlations must be lifts in [0, 1], got locality {} and cross-layer {}",
                                 corr_.locality_lift, corr_.cross_layer_lift));
  }
  for (const auto& row : popularity.counts) {
    const double selections = std::accumulate(row.begin(), row.end(), 0.0);
    if (selections <= 0) throw InputError(fmt::format("{}: a layer has no selections", origin_));
    std::vector<double> target(row.size());
    for (std::size_t e = 0; e < row.size(); ++e) target[e] = static_cast<double>(row[e]) * top_k_ / selections;
    for (double t : target) {
      if (t >= 1.0) throw InputError(fmt::format("{}: an expert is chosen by every token; cannot fit top-{} sampling", origin_, top_k_));
    }
    weights_.push_back(fit_sampling_weights(target, top_k_));
    weight_totals_.push_back(std::accumulate(weights_.back().begin(), weights_.back().end(), 0.0));
    targets_.push_back(std::move(target));
  }
  // Couplings between consecutive layers' primary distributions, with a seeded
  // successor order (drawn even when unused, so the sampling stream is the same).
  const auto E = static_cast<std::size_t>(experts_);
  coupling_.resize(weights_.size());
  beta_.assign(weights_.size(), 0.0);
  for (std::size_t l = 1; l < weights_.size(); ++l) {
    std::vector<std::size_t> order(E);
    std::iota(order.begin(), order.end(), 0);
    for (std::size_t i = E; i > 1; --i) std::swap(order[i - 1], order[rng_.uniform_int(i)]);
    std::vector<double> rows(E), cols(E);
    for (std::size_t e = 0; e < E; ++e) {
      rows[e] = weights_[l - 1][e] / weight_totals_[l - 1];
      cols[e] = weights_[l][e] / weight_totals_[l];
    }
    coupling_[l] = north_west_corner(rows, cols, order);
    // The lift grows monotonically with β (the pair joint's accuracy is convex in β
    // and never below the popular guess): bisect for the target.
    if (corr_.cross_layer_lift <= 0.0) continue;
    if (successor_lift(pair_joint(l, 1.0), E) <= corr_.cross_layer_lift) {
      beta_[l] = 1.0;
      continue;
    }
    double lo = 0.0, hi = 1.0;
    for (int it = 0; it < 60; ++it) {
      const double mid = 0.5 * (lo + hi);
      (successor_lift(pair_joint(l, mid), E) < corr_.cross_layer_lift ? lo : hi) = mid;
    }
    beta_[l] = 0.5 * (lo + hi);
  }
  build_tables();
}

void MarginalRoutingSource::build_tables() {
  const auto E = static_cast<std::size_t>(experts_);
  bank_ = sim::AliasBank(E);
  tables_.assign(weights_.size(), {});
  for (std::size_t l = 0; l < weights_.size(); ++l) {
    const std::vector<double>& w = weights_[l];
    LayerTables& t = tables_[l];
    if (l == 0 || beta_[l] == 0.0) {
      t.fresh = bank_.add(sim::AliasTable(w));
    } else {
      t.fresh_stride = 1;
      for (std::size_t i = 0; i < E; ++i) {
        const double p_prev = weights_[l - 1][i] / weight_totals_[l - 1];
        std::vector<double> mix(E);
        for (std::size_t j = 0; j < E; ++j) {
          const double follow = p_prev > 0.0 ? coupling_[l][i * E + j] / p_prev : w[j] / weight_totals_[l];
          mix[j] = (1.0 - beta_[l]) * w[j] / weight_totals_[l] + beta_[l] * follow;
        }
        const std::uint32_t index = bank_.add(sim::AliasTable(mix));
        if (i == 0) t.fresh = index;
      }
    }
    if (top_k_ < 2) continue;
    // Second draw: ∝ w among the experts other than the primary (for a primary of
    // weight 0, never drawn, the table is w itself).
    for (std::size_t a = 0; a < E; ++a) {
      std::vector<double> others(w);
      others[a] = 0.0;
      const std::uint32_t index = bank_.add(sim::AliasTable(others));
      if (a == 0) t.second = index;
    }
  }
}

std::vector<double> MarginalRoutingSource::pair_joint(std::size_t l, double beta) const {
  const auto E = static_cast<std::size_t>(experts_);
  std::vector<double> joint(E * E);
  for (std::size_t i = 0; i < E; ++i) {
    for (std::size_t j = 0; j < E; ++j) {
      const double independent = weights_[l - 1][i] / weight_totals_[l - 1] * weights_[l][j] / weight_totals_[l];
      joint[i * E + j] = (1.0 - beta) * independent + beta * coupling_[l][i * E + j];
    }
  }
  return joint;
}

double MarginalRoutingSource::model_cross_layer_lift(int moe_layer) const {
  const auto l = static_cast<std::size_t>(moe_layer);
  return l == 0 ? 0.0 : successor_lift(pair_joint(l, beta_[l]), static_cast<std::size_t>(experts_));
}

std::string MarginalRoutingSource::label() const {
  if (corr_.locality_lift == 0.0 && corr_.cross_layer_lift == 0.0) {
    return fmt::format("real per-layer marginals from {}, independent tokens (correlations not modelled)", origin_);
  }
  return fmt::format("real marginals from {}, modelled correlations (locality lift {:.3f}, cross-layer lift {:.3f}{})",
                     origin_, corr_.locality_lift, corr_.cross_layer_lift,
                     corr_.fitted_from.empty() ? "" : ", fitted on " + corr_.fitted_from);
}

bool MarginalRoutingSource::repeats(sim::Rng& rng, bool has_path) const {
  // No draw without a previous token or without locality: the stream depends on it.
  return has_path && corr_.locality_lift > 0.0 && rng.bernoulli(corr_.locality_lift);
}

template <class Emit>
void MarginalRoutingSource::draw_token(sim::Rng& rng, std::vector<std::uint16_t>& previous, Emit&& emit) const {
  const std::size_t L = tables_.size();
  const bool repeat = repeats(rng, !previous.empty());
  previous.resize(L);
  std::uint16_t* const path = previous.data();
  const LayerTables* const tables = tables_.data();
  const sim::AliasBank::View bank = bank_.view();
  const bool two = top_k_ == 2;
  std::uint32_t before = 0;  // the primary at l − 1 (fresh tables of layer 0 have stride 0)
  for (std::size_t l = 0; l < L; ++l) {
    // One 64-bit draw per layer: the high half picks the primary, the low half the second.
    const std::uint64_t bits = rng.next_u64();
    const LayerTables& t = tables[l];
    if (!repeat) path[l] = static_cast<std::uint16_t>(bank.draw(t.fresh + before * t.fresh_stride, static_cast<std::uint32_t>(bits >> 32)));
    const std::uint16_t primary = path[l];
    before = primary;
    const std::uint16_t second = two ? static_cast<std::uint16_t>(bank.draw(t.second + primary, static_cast<std::uint32_t>(bits))) : primary;
    emit(l, primary, second);
  }
}

void MarginalRoutingSource::route(const BatchSpans& batch, RoutingCounts& counts) {
  const std::size_t L = tables_.size();
  reset_counts(counts, L, batch.size(), static_cast<std::size_t>(experts_));
  rows_.resize(batch.size() * L);
  for (std::size_t g = 0; g < batch.size(); ++g) {
    for (std::size_t l = 0; l < L; ++l) rows_[g * L + l] = counts[l][g].data();
  }
  block_bits_.resize(kBlockTokens * L);
  block_paths_.resize(kBlockTokens * L);
  block_.clear();
  // The random stream is consumed here, token by token, exactly as draw_token() would.
  sim::Rng rng = rng_;
  for (std::size_t g = 0; g < batch.size(); ++g) {
    for (const TokenSpan& span : batch[g]) {
      std::vector<std::uint16_t>& previous = last_path_[span.request];
      for (std::int64_t t = 0; t < span.count; ++t) {
        if (block_.size() == kBlockTokens) draw_block();
        const std::size_t j = block_.size();
        const bool has_path = t > 0 || !previous.empty();
        const bool repeat = repeats(rng, has_path);
        for (std::size_t l = 0; l < L; ++l) block_bits_[j * L + l] = rng.next_u64();
        // The token before, if it is in this block, is the one just queued.
        const std::uint16_t* before = t > 0 && j > 0 ? block_paths_.data() + (j - 1) * L : previous.data();
        block_.push_back(PendingToken{g, repeat, before, &previous});
      }
    }
  }
  draw_block();
  rng_ = rng;
}

void MarginalRoutingSource::draw_block() {
  const std::size_t L = tables_.size();
  const std::size_t n = block_.size();
  const LayerTables* const tables = tables_.data();
  const sim::AliasBank::View bank = bank_.view();
  const std::uint64_t* const bits = block_bits_.data();
  std::uint16_t* const paths = block_paths_.data();
  fresh_.clear();
  for (std::size_t j = 0; j < n; ++j) {
    if (!block_[j].repeat) fresh_.push_back(static_cast<std::uint32_t>(j));
  }
  // Fresh paths, eight chains at a time: each layer's draw waits on the one before
  // (multiply, load, compare), so independent chains fill the wait; 8 measured 2.4%
  // faster than 4 over the hour, 16 slower (docs/performance.md). A short last group
  // repeats its last token: the same values written twice.
  constexpr std::size_t kLanes = 8;
  for (std::size_t i = 0; i < fresh_.size(); i += kLanes) {
    std::size_t at[kLanes];
    std::uint32_t before[kLanes];
    for (std::size_t k = 0; k < kLanes; ++k) {
      at[k] = fresh_[std::min(i + k, fresh_.size() - 1)] * L;
      before[k] = 0;
    }
    for (std::size_t l = 0; l < L; ++l) {
      const LayerTables& t = tables[l];
      for (std::size_t k = 0; k < kLanes; ++k) {
        const auto primary = static_cast<std::uint16_t>(
            bank.draw(t.fresh + before[k] * t.fresh_stride, static_cast<std::uint32_t>(bits[at[k] + l] >> 32)));
        paths[at[k] + l] = primary;
        before[k] = primary;
      }
    }
  }
  // Repeats, in token order, so that a repeat of a repeat finds its source filled.
  for (std::size_t j = 0; j < n; ++j) {
    if (block_[j].repeat) std::copy_n(block_[j].repeat_from, L, paths + j * L);
  }
  // Second experts (independent draws given the primary) and the counts.
  const bool two = top_k_ == 2;
  for (std::size_t j = 0; j < n; ++j) {
    std::int64_t* const* const rows = rows_.data() + block_[j].gpu * L;
    const std::uint16_t* const path = paths + j * L;
    const std::uint64_t* const token_bits = bits + j * L;
    for (std::size_t l = 0; l < L; ++l) {
      const std::uint16_t primary = path[l];
      const auto second =
          two ? static_cast<std::uint16_t>(bank.draw(tables[l].second + primary, static_cast<std::uint32_t>(token_bits[l])))
              : primary;
      ++rows[l][primary];
      rows[l][second] += static_cast<std::int64_t>(two);  // without a branch; adds 0 when top-1
    }
  }
  // Each request keeps its last token's path for its next token.
  for (std::size_t j = 0; j < n; ++j) block_[j].request->assign(paths + j * L, paths + (j + 1) * L);
  block_.clear();
}

traces::RequestRouting MarginalRoutingSource::sample_request(std::uint64_t id, std::uint32_t tokens) {
  const std::size_t L = weights_.size();
  const auto K = static_cast<std::size_t>(top_k_);
  traces::RequestRouting r{id, {}};
  traces::RoutingStep& step = r.steps.emplace_back();
  step.tokens = tokens;
  step.experts.assign(L, std::vector<std::uint16_t>(tokens * K));
  std::vector<std::uint16_t> previous;
  sim::Rng rng = rng_;
  for (std::uint32_t t = 0; t < tokens; ++t) {
    draw_token(rng, previous, [&](std::size_t l, std::uint16_t primary, std::uint16_t second) {
      step.experts[l][t * K] = primary;
      if (K == 2) step.experts[l][t * K + 1] = second;
    });
  }
  rng_ = rng;
  return r;
}

traces::RoutingTraceHeader MarginalRoutingSource::trace_header() const {
  return traces::RoutingTraceHeader{model_name_, static_cast<std::uint32_t>(weights_.size()), static_cast<std::uint32_t>(experts_),
                                    static_cast<std::uint32_t>(top_k_), false, "model-based: " + label()};
}

}  // namespace moesim::models
