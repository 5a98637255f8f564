#pragma once
// Routing with real per-layer marginals and modelled correlations ("real marginals,
// modelled correlations"). Each token's top-k (k <= 2) distinct experts per layer
// are drawn by sequential sampling without replacement, with per-layer weights
// fitted so that every expert's inclusion probability equals its measured share of
// selections (counts_e / tokens). The first draw (the token's "primary" expert,
// distribution p_l = w_l / Σ w_l) carries two correlations:
//  * locality α: with probability α a token repeats the previous token of its
//    request on its whole path of primaries (all layers); otherwise it draws a
//    fresh path. Repeat rate at each layer = α + (1 − α) Σ p_l(e)², so the
//    locality lift (repeat − chance)/(1 − chance) is α exactly.
//  * cross-layer affinity β: on a fresh path, layer l's primary follows the
//    coupling J_l of p_{l−1} and p_l (north-west-corner transport plan between
//    p_{l−1} and a seeded permutation of p_l, so a layer-(l−1) expert has one or
//    two preferred successors) with probability β, else is drawn from p_l. The
//    pair joint is (1 − β) p_{l−1} ⊗ p_l + β J_l, whose marginals are exact, and
//    the accuracy of the best-successor predictor Σ_i max_j of it is solved for β
//    to give the target cross-layer lift.
// Both mixtures keep every p_l, and the second draw depends only on the first, so
// the per-layer inclusion probabilities are those of the independent model.
// α and the cross-layer lift are fitted from a real per-token trace (docs/traces.md).
#include <string>
#include <unordered_map>
#include <vector>

#include "models/moe_model.h"
#include "models/workload/routing_source.h"
#include "sim/alias_table.h"
#include "sim/rng.h"
#include "traces/expert_popularity.h"
#include "traces/routing_trace.h"

namespace moesim::models {

// Weights whose inclusion probabilities equal `target` (which sums to k).
std::vector<double> fit_sampling_weights(const std::vector<double>& target, int k);

struct RoutingCorrelations {
  double locality_lift = 0.0;     // α
  double cross_layer_lift = 0.0;  // target lift of the best-successor predictor
  std::string fitted_from;        // the per-token trace they were measured on, if any
};

// The lifts of a real per-token routing trace (.moert), as `moesim trace stats` reports them.
RoutingCorrelations fit_correlations(const std::string& moert_path);

class MarginalRoutingSource final : public RoutingSource {
 public:
  MarginalRoutingSource(const MoeModel& model, const traces::ExpertPopularity& popularity, std::string origin, sim::Rng rng,
                        RoutingCorrelations correlations = {});
  std::string label() const override;
  using RoutingSource::route;
  void route(const BatchSpans& batch, RoutingCounts& counts) override;
  std::vector<std::vector<double>> expected_selections() const override { return targets_; }
  const std::vector<double>& target(int moe_layer) const { return targets_[static_cast<std::size_t>(moe_layer)]; }
  // β of each layer pair (index l: layers l−1 → l; index 0 unused) and the lift it gives.
  double affinity(int moe_layer) const { return beta_[static_cast<std::size_t>(moe_layer)]; }
  double model_cross_layer_lift(int moe_layer) const;
  const RoutingCorrelations& correlations() const { return corr_; }
  // A request of `tokens` consecutive tokens in one step, routed as route() would.
  traces::RequestRouting sample_request(std::uint64_t id, std::uint32_t tokens);
  traces::RoutingTraceHeader trace_header() const;

 private:
  // Draws one token's experts from `rng`, calling emit(layer, primary, second) per
  // MoE layer (second = primary when top-1); `previous` is the request's last primary
  // path (empty for its first token) and becomes this token's. Callers pass a local
  // copy of rng_ so that its state stays in registers across emit's stores.
  template <class Emit>
  void draw_token(sim::Rng& rng, std::vector<std::uint16_t>& previous, Emit&& emit) const;
  // Whether a token repeats its predecessor's path (locality), drawn from `rng`;
  // draw_token() and route() both decide through it, in the same stream order.
  bool repeats(sim::Rng& rng, bool has_path) const;
  std::vector<double> pair_joint(std::size_t layer, double beta) const;
  void build_tables();

  int experts_;
  int top_k_;
  std::string model_name_;
  std::string origin_;
  RoutingCorrelations corr_;
  sim::Rng rng_;
  std::vector<std::vector<double>> targets_;  // inclusion probability per expert
  std::vector<std::vector<double>> weights_;
  std::vector<double> weight_totals_;
  std::vector<std::vector<double>> coupling_;  // J_l flattened [i * E + j], l >= 1
  std::vector<double> beta_;
  // Sampling tables (one 32-bit alias draw each), all in one bank. Per layer l:
  // fresh[i] is a fresh path's primary at l after primary i at l − 1, the mixture
  // (1 − β_l) p_l + β_l J_l(i, ·) / p_{l−1}(i) — one table (stride 0) when β_l = 0
  // or l = 0; second[a] is the second expert given primary a.
  struct LayerTables {
    std::uint32_t fresh = 0;         // bank index of fresh[0]
    std::uint32_t fresh_stride = 0;  // 1, or 0 when every predecessor shares one table
    std::uint32_t second = 0;        // bank index of second[0]
  };
  sim::AliasBank bank_;
  std::vector<LayerTables> tables_;
  std::unordered_map<std::uint64_t, std::vector<std::uint16_t>> last_path_;  // per request

  // route() draws a block of tokens at a time, in the order draw_token() would, in
  // three passes: the random bits (in stream order), then the primary paths of the
  // fresh tokens four at a time — each path is a chain of dependent table lookups,
  // and four independent chains keep the core busy — then the second experts and
  // the counts. Repeating tokens copy their predecessor's path.
  struct PendingToken {
    std::size_t gpu;
    bool repeat;
    const std::uint16_t* repeat_from;     // the predecessor's path (block or request)
    std::vector<std::uint16_t>* request;  // the request's last path, updated after the block
  };
  static constexpr std::size_t kBlockTokens = 64;
  void draw_block();
  std::vector<PendingToken> block_;
  std::vector<std::uint64_t> block_bits_;   // [token * L + l]
  std::vector<std::uint16_t> block_paths_;  // [token * L + l]: primaries
  std::vector<std::uint32_t> fresh_;        // block tokens that draw their own path
  std::vector<std::int64_t*> rows_;         // route(): counts[l][g] at [g * L + l]
};

}  // namespace moesim::models
