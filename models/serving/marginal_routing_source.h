#pragma once
// Routing with real per-layer marginals and independent tokens: each token draws
// its top-k (k <= 2) distinct experts per layer by sequential sampling without
// replacement, with per-layer weights fitted so that every expert's inclusion
// probability equals its measured share of selections (counts_e / tokens).
// Labelled "real marginals, independent tokens": temporal locality and cross-layer
// affinity are not modelled yet.
#include <string>
#include <vector>

#include "models/moe_model.h"
#include "models/serving/workload.h"
#include "sim/rng.h"
#include "traces/expert_popularity.h"

namespace moesim::models {

// Inclusion probabilities of each expert when k (1 or 2) distinct experts are
// drawn sequentially with probabilities proportional to `weights`.
std::vector<double> inclusion_probabilities(const std::vector<double>& weights, int k);

// Weights whose inclusion probabilities equal `target` (which sums to k).
std::vector<double> fit_sampling_weights(const std::vector<double>& target, int k);

class MarginalRoutingSource final : public RoutingSource {
 public:
  MarginalRoutingSource(const MoeModel& model, const traces::ExpertPopularity& popularity, std::string origin, sim::Rng rng);
  std::string label() const override;
  RoutingCounts route(const BatchSpans& batch) override;
  const std::vector<double>& target(int moe_layer) const { return targets_[static_cast<std::size_t>(moe_layer)]; }

 private:
  int experts_;
  int top_k_;
  std::string origin_;
  sim::Rng rng_;
  std::vector<std::vector<double>> targets_;  // inclusion probability per expert
  std::vector<std::vector<double>> weights_;
};

}  // namespace moesim::models
