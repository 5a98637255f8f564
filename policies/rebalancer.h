#pragma once
// Runs an adaptive placement policy during a simulation (a models::PlacementController):
// it sums the tokens routed to each (layer, expert) over an interval, feeds each
// interval to a load predictor, and re-places with the forecast.
//  * trigger "periodic" (EPLB's practice): a full re-solve every interval_s;
//  * trigger "drift" (ViBE's recalibration): every interval_s, re-measure the GPUs'
//    speeds and compare the forecast activation distribution with the profile the
//    current placement was made for; when the cosine distance exceeds the threshold
//    (or a GPU's measured speed moved by more than speed_tolerance), update the
//    placement incrementally (policy.update: a few swaps).
// The first placement is made from the predictor's forecast where it has one before
// any observation (the oracle), else from uniform loads; the first full interval
// then always re-places from what was observed.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/gpu_profile.h"
#include "models/serving/placement_controller.h"
#include "policies/load_predictor.h"
#include "policies/placement_policy.h"

namespace moesim::policies {

// Expert time per GPU from the GPU profile's expert-FFN model and a snapshot of
// each GPU's measured slowdown (what a profiling pass would find).
class ProfiledExpertTime final : public ExpertTimeModel {
 public:
  ProfiledExpertTime(const models::MoeModel& model, const models::GpuProfile& gpu, std::vector<models::GpuSlowdown> speeds);
  double seconds(int gpu, double tokens) const override;
  void remeasure(const std::vector<models::GpuSlowdown>& now) { speeds_ = now; }
  const std::vector<models::GpuSlowdown>& speeds() const { return speeds_; }

 private:
  const models::MoeModel& model_;
  const models::GpuProfile& gpu_;
  models::GpuProfile::ResolvedOp expert_ffn_;  // binning asks for it per (expert, GPU) candidate
  std::vector<models::GpuSlowdown> speeds_;
};

struct RebalanceConfig {
  double interval_s = 10.0;
  std::string trigger = "periodic";  // periodic | drift
  double drift_threshold = 0.02;     // cosine distance of activation distributions
  double speed_tolerance = 0.03;     // relative change of a GPU's measured compute speed
  // Routed selections per iteration and layer the first placement is made for when
  // it has a forecast (nothing has run yet): the serving capacity, where placement matters most.
  double initial_batch_tokens = 1.0;
};

class Rebalancer final : public models::PlacementController {
 public:
  Rebalancer(PlacementPolicy& policy, LoadPredictor& predictor, PlacementContext context, RebalanceConfig config,
             ProfiledExpertTime* time_model, const std::vector<models::GpuSlowdown>* live_speeds);
  // The placement to start with.
  models::ExpertPlacement initial();
  void observe(sim::Time now, const std::vector<std::vector<std::int64_t>>& expert_tokens) override;
  std::optional<models::ExpertPlacement> propose(sim::Time now, const models::ExpertPlacement& current) override;
  int recalibrations() const { return recalibrations_; }

 private:
  bool drifted(const Loads& forecast);
  PlacementPolicy& policy_;
  LoadPredictor& predictor_;
  PlacementContext context_;
  RebalanceConfig config_;
  ProfiledExpertTime* time_model_;
  const std::vector<models::GpuSlowdown>* live_speeds_;
  Loads interval_;
  double interval_iterations_ = 0.0;
  double interval_squares_ = 0.0;
  sim::Time interval_start_ = 0;
  Loads profile_;  // the loads the current placement was made for
  bool profiled_ = false;  // false until a placement was made from observed loads
  int recalibrations_ = 0;
};

}  // namespace moesim::policies
