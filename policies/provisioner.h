#pragma once
// Provisioners: policies that decide at every MoE layer which GPUs serve each
// expert on the serverless runtime, bringing copies up as needed, instead of
// placing experts once (docs/serverless.md). Scenarios name them where a placement
// goes; the registry builds them by name like every other policy kind.
#include <cstdint>

#include "models/moe_model.h"
#include "models/serverless/serverless_runtime.h"
#include "models/serving/expert_provisioner.h"
#include "policies/load_predictor.h"
#include "policies/placement_policy.h"
#include "sim/rng.h"
#include "sim/simulator.h"

namespace moesim::policies {

struct ProvisionerStats {
  std::int64_t planned_by_forecast = 0;  // layers that ran on a forecast's plan
  std::int64_t planned_by_history = 0;   // forecast late or absent: history
  std::int64_t replicas = 0;             // Σ replicas over layers that ran
  std::int64_t layers = 0;
};

// What a provisioner runs on.
struct ProvisionerContext {
  sim::Simulator& sim;
  const models::MoeModel& model;
  models::ServerlessRuntime& runtime;
  sim::Rng rng;
  const ExpertTimeModel* time = nullptr;  // expert time on a GPU (minimum tokens per replica)
};

class Provisioner : public models::ExpertProvisioner {
 public:
  // How well the load forecasts matched the layers' true loads.
  virtual const PredictorAccuracy& accuracy() const = 0;
  virtual const ProvisionerStats& stats() const = 0;
};

}  // namespace moesim::policies
