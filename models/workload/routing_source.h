#pragma once
// Expert routing of a batch: the RoutingSource interface the serving engine
// consumes, and synthetic Zipf-skewed routing (labelled "synthetic" in outputs).
#include <cstdint>
#include <string>
#include <vector>

#include "models/moe_model.h"
#include "models/serving/request.h"
#include "models/workload/row_support.h"
#include "util/json_input.h"
#include "sim/alias_table.h"
#include "sim/rng.h"

namespace moesim::models {

// Routing of one batch: for each source GPU, how many of its tokens chose each
// expert at each MoE layer (counts[layer][src][expert]).
using RoutingCounts = std::vector<std::vector<std::vector<std::int64_t>>>;

// A run of consecutive tokens of one request in this iteration's batch: prompt
// tokens [position, position + count) of a prefill chunk, or the decode step that
// produces output token `position` (count 1).
struct TokenSpan {
  std::uint64_t request = 0;
  std::int64_t position = 0;
  std::int64_t count = 0;
  bool prefill = false;
  bool operator==(const TokenSpan&) const = default;
};
using BatchSpans = std::vector<std::vector<TokenSpan>>;  // per GPU

std::vector<std::int64_t> tokens_per_gpu(const BatchSpans& spans);
// Shapes `counts` to layers × gpus × experts of zeros, keeping its storage when the
// shape is unchanged (routing is asked for every iteration: no allocation then).
void reset_counts(RoutingCounts& counts, std::size_t layers, std::size_t gpus, std::size_t experts);

class RoutingSource {
 public:
  virtual ~RoutingSource() = default;
  virtual std::string label() const = 0;
  // Fills `counts` (any prior content; reset_counts shapes it) with the batch's routing.
  virtual void route(const BatchSpans& batch, RoutingCounts& counts) = 0;
  // route(), also listing in `support` the experts each row touched, where the source
  // tracks them; false when it does not (then every count must be read). When
  // `support` describes `counts` from the previous call (both passed back unchanged),
  // only what that call wrote needs clearing.
  virtual bool route_listed(const BatchSpans& batch, RoutingCounts& counts, RowSupport& support) {
    route(batch, counts);
    support.forget();
    return false;
  }
  RoutingCounts route(const BatchSpans& batch) {
    RoutingCounts counts;
    route(batch, counts);
    return counts;
  }
  // The distribution route() draws from: expected selections of each expert per
  // token at each MoE layer (each row sums to top_k). What an oracle predictor
  // knows; empty when the source cannot say.
  virtual std::vector<std::vector<double>> expected_selections() const { return {}; }
};

// Inclusion probability of each expert when k distinct experts are drawn one after
// another with probabilities ∝ `weights` among those not yet drawn.
// inclusion_probabilities: exact, k = 1 or 2. successive_inclusion: any k; exact
// for k <= 2, else estimated from `samples` draws of a fixed stream (a share p is
// off by about sqrt(p / samples)).
std::vector<double> inclusion_probabilities(const std::vector<double>& weights, int k);
// Throws InputError unless at least k weights are positive (k distinct draws exist).
void require_distinct_draws(const std::vector<double>& weights, int k);
std::vector<double> successive_inclusion(const std::vector<double>& weights, int k, int samples = 1 << 18);

// Zipf weights by popularity rank: w_r = 1 / (r + 1)^skew, r = 0 .. experts − 1.
std::vector<double> zipf_rank_weights(int experts, double skew);

// The Gini coefficient of Zipf(skew) routing's expected expert loads (k distinct
// experts per token, as ZipfRoutingSource draws them), and the skew whose loads have
// a given Gini (bisection over [0, 8]; NaN when no skew there reaches it). Used to
// choose Zipf exponents from real traces instead of a constant (docs/traces.md).
double zipf_load_gini(int experts, int top_k, double skew);
double zipf_skew_for_gini(int experts, int top_k, double gini);

// Each MoE layer has its own random ranking of experts; a token's k experts are
// drawn without replacement with probability ∝ 1/rank^skew (skew 0: uniform).
class ZipfRoutingSource final : public RoutingSource {
 public:
  ZipfRoutingSource(const MoeModel& model, double skew, sim::Rng rng);
  std::string label() const override;
  using RoutingSource::route;
  void route(const BatchSpans& batch, RoutingCounts& counts) override;
  std::vector<std::vector<double>> expected_selections() const override;
  bool route_listed(const BatchSpans& batch, RoutingCounts& counts, RowSupport& support) override;
  const std::vector<double>& layer_weights(int moe_layer) const { return weights_[static_cast<std::size_t>(moe_layer)]; }

 private:
  int experts_;
  int top_k_;
  int moe_layers_;
  double skew_;
  sim::Rng rng_;
  std::vector<std::vector<double>> weights_;  // per MoE layer, per expert
  std::vector<sim::ExactColumn> columns_;     // the same as alias tables, layer by layer, for O(1) draws
  std::vector<std::uint8_t> taken_;           // one token's experts drawn so far, a mark each
  std::vector<std::vector<int>> ranking_;     // per MoE layer: experts by rank
  RowSupport scratch_;                        // route()'s lists, forgotten as each call starts
  // Zeroes `counts` for a batch over `gpus` GPUs: only the counts `support` lists
  // when it describes `counts` at this shape, else every count.
  void clear(RoutingCounts& counts, const RowSupport& support, std::size_t gpus) const;
};

}  // namespace moesim::models
