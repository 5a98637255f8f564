#pragma once
// MoEless (docs/serverless.md, "MoEless") on the serverless runtime: at the gate of every MoE
// layer a layer-aware predictor forecasts the next H layers' expert loads; each
// forecast (ready after the predictor's latency, overlapped with the running
// layer) scales the target layer's experts (stragglers get replicas, load split
// evenly) and places the replicas across GPUs preferring warm instances, and the
// runtime starts loading cold ones at once, ahead of use. A layer whose forecast
// is not in by its gate falls back to history (EWMA of past iterations' shares).
// With predictor "none" the layer is scaled on its true counts at its gate, so
// every cold start is on the critical path (the reactive ablation).
#include <cstdint>
#include <memory>
#include <vector>

#include "models/moe_model.h"
#include "models/serverless/serverless_runtime.h"
#include "models/serving/expert_provisioner.h"
#include "policies/moeless/layer_predictors.h"
#include "policies/policy_params.h"
#include "policies/provisioner.h"
#include "policies/rebalancer.h"
#include "sim/simulator.h"

namespace moesim::policies {

struct MoelessOptions {
  LayerPredictorOptions predictor;  // kind "none": reactive
  double tau = 0.2;                 // straggler threshold over the mean load
  int max_replicas = 0;             // 0: the GPU count
  double min_replica_tokens = -1.0; // below it an expert is not split; < 0: where the expert's time doubles its 1-token time
  sim::Time predictor_latency = sim::microseconds(50);
  bool warm_start = true;           // one warm instance per expert (contiguous layout) deployed before t = 0, as static EP's weights are
  // false: a layer uses only the warm replicas of an expert that has any; new ones
  // load in the background and serve once warm (a scale-out never stalls a layer).
  bool wait_for_scale_out = false;
};


class MoelessProvisioner final : public Provisioner {
 public:
  MoelessProvisioner(sim::Simulator& sim, const models::MoeModel& model, models::ServerlessRuntime& runtime,
                     MoelessOptions options, sim::Rng rng, const ExpertTimeModel* time = nullptr);
  std::int64_t reserved_expert_bytes() const override { return runtime_.pool_bytes(); }
  void begin_iteration(sim::Time now, const models::RoutingCounts& routing) override;
  const std::vector<std::vector<int>>& acquire(int moe_layer, const std::vector<std::int64_t>& expert_tokens) override;
  sim::Signal* pending() override { return runtime_.pending(); }
  sim::Time ready_at(int gpu) const override { return runtime_.ready_at(gpu); }
  void release(int, const std::vector<sim::Time>& busy) override { runtime_.release(busy); }
  void finish(sim::Time end) override { runtime_.finish(end); }

  const PredictorAccuracy& accuracy() const override { return score_.accuracy(); }
  const ProvisionerStats& stats() const override { return stats_; }

 private:
  std::vector<std::vector<int>> plan(int layer, const std::vector<double>& predicted) const;
  void apply_forecast(int target);
  std::vector<double> history(int layer) const;
  // used_ = the plan's replicas this layer can use now (see wait_for_scale_out).
  void use_warm(int layer, const std::vector<std::int64_t>& expert_tokens);

  sim::Simulator& sim_;
  const models::MoeModel& model_;
  models::ServerlessRuntime& runtime_;
  MoelessOptions o_;
  std::unique_ptr<LayerLoadPredictor> predictor_;  // null: reactive
  const ExpertTimeModel* time_;
  int layers_;
  std::uint32_t iteration_ = 0;
  int next_layer_ = 0;                                  // the next gate of this iteration
  double tokens_ = 0.0;                                 // expert assignments per layer this iteration
  std::vector<ExpertCounts> truth_;                     // this iteration's counts per layer (error model, oracle)
  std::vector<std::vector<double>> forecast_;           // latest forecast per layer (empty: none)
  std::vector<std::vector<double>> shares_;             // EWMA of shares per layer (history fallback)
  std::vector<std::vector<std::vector<int>>> plan_;     // per layer
  std::vector<bool> planned_;                           // plan_ is this iteration's, from a forecast
  std::vector<std::vector<int>> used_;                  // the running layer's replicas
  ForecastScore score_;
  ProvisionerStats stats_;
};

// The options as a scenario's {"policy": "moeless", ...} gives them (defaults above).
MoelessOptions moeless_options(PolicyParams& p);

}  // namespace moesim::policies
