#include "models/serving/marginal_routing_source.h"

#include <cmath>
#include <fmt/format.h>
#include <numeric>

#include "sim/errors.h"

namespace moesim::models {

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

MarginalRoutingSource::MarginalRoutingSource(const MoeModel& model, const traces::ExpertPopularity& popularity,
                                             std::string origin, sim::Rng rng)
    : experts_(model.experts), top_k_(model.top_k), origin_(std::move(origin)), rng_(rng) {
  if (static_cast<int>(popularity.counts.size()) != model.moe_layer_count() ||
      static_cast<int>(popularity.counts[0].size()) != experts_) {
    throw InputError(fmt::format("{}: popularity counts have {} layers × {} experts, but model {} has {} MoE layers × {} experts",
                                 origin_, popularity.counts.size(), popularity.counts[0].size(), model.name,
                                 model.moe_layer_count(), experts_));
  }
  if (top_k_ > 2) throw InputError(fmt::format("marginal routing supports top-k <= 2, model {} has top-{}", model.name, top_k_));
  for (const auto& row : popularity.counts) {
    const double selections = std::accumulate(row.begin(), row.end(), 0.0);
    if (selections <= 0) throw InputError(fmt::format("{}: a layer has no selections", origin_));
    std::vector<double> target(row.size());
    for (std::size_t e = 0; e < row.size(); ++e) target[e] = static_cast<double>(row[e]) * top_k_ / selections;
    for (double t : target) {
      if (t >= 1.0) throw InputError(fmt::format("{}: an expert is chosen by every token; cannot fit top-{} sampling", origin_, top_k_));
    }
    weights_.push_back(fit_sampling_weights(target, top_k_));
    targets_.push_back(std::move(target));
  }
}

std::string MarginalRoutingSource::label() const {
  return fmt::format("real per-layer marginals from {}, independent tokens (correlations not modelled)", origin_);
}

RoutingCounts MarginalRoutingSource::route(const BatchSpans& batch) {
  const std::vector<std::int64_t> tokens = tokens_per_gpu(batch);
  RoutingCounts counts(weights_.size(),
                       std::vector<std::vector<std::int64_t>>(tokens.size(), std::vector<std::int64_t>(static_cast<std::size_t>(experts_), 0)));
  for (std::size_t l = 0; l < weights_.size(); ++l) {
    const auto& w = weights_[l];
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    for (std::size_t g = 0; g < tokens.size(); ++g) {
      for (std::int64_t t = 0; t < tokens[g]; ++t) {
        double remaining = total;
        std::size_t first = w.size();
        for (int k = 0; k < top_k_; ++k) {
          double u = rng_.uniform01() * remaining;
          std::size_t e = 0;
          for (; e + 1 < w.size(); ++e) {
            if (e == first) continue;
            if (u < w[e]) break;
            u -= w[e];
          }
          if (e == first || w[e] == 0.0) {  // rounding ran past the end: take the last usable expert
            e = w.size();
            while (e-- > 0 && (e == first || w[e] == 0.0)) {}
          }
          ++counts[l][g][e];
          remaining -= w[e];
          first = e;
        }
      }
    }
  }
  return counts;
}

}  // namespace moesim::models
