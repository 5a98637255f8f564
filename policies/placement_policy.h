#pragma once
// Expert placement policies: given what a real system could know now — predicted
// per-(layer, expert) token loads and the GPUs' profiled speeds — decide which GPU
// holds which expert copies. Registered by name in policies/registry.cpp.
#include <memory>
#include <string>
#include <vector>

#include "models/moe_model.h"
#include "models/serving/expert_placement.h"

namespace moesim::policies {

using Loads = std::vector<std::vector<double>>;  // [MoE layer][expert] tokens (or shares)

// A per-GPU performance model: seconds for `tokens` tokens of one expert on `gpu`.
class ExpertTimeModel {
 public:
  virtual ~ExpertTimeModel() = default;
  virtual double seconds(int gpu, double tokens) const = 0;
};

struct PlacementContext {
  const models::MoeModel* model = nullptr;
  int gpus = 0;
  int nodes = 1;
  Loads loads;                                    // predicted load per layer and expert
  double batch_tokens = 1.0;                      // tokens per iteration the loads are scaled to (perf model input)
  const ExpertTimeModel* time_model = nullptr;    // profiled per-GPU speed (policies that use it)
};

class PlacementPolicy {
 public:
  virtual ~PlacementPolicy() = default;
  virtual std::string name() const = 0;
  virtual models::ExpertPlacement place(const PlacementContext& c) = 0;
  // An update of `current` for new loads or speeds; the default re-solves. Policies
  // that can move a few experts instead (ViBE's incremental swaps) override it.
  virtual models::ExpertPlacement update(const PlacementContext& c, const models::ExpertPlacement& current) {
    (void)current;
    return place(c);
  }
  // Whether the placement depends on loads at all (static ones never re-place).
  virtual bool adaptive() const { return true; }
  // When a run re-places with "trigger": "auto": "periodic" full re-solves, or
  // "drift" (re-place only when loads or measured speeds moved; ViBE).
  virtual std::string default_trigger() const { return "periodic"; }
};

}  // namespace moesim::policies
