#pragma once
// Re-placement during a run: the engine reports what each iteration routed, and
// between iterations asks whether the policy wants a new placement. Expert weights
// then move as real transfers over the topology; the old placement serves until
// the last byte lands (double-buffered, see docs/policies.md).
#include <cstdint>
#include <optional>
#include <vector>

#include "models/serving/expert_placement.h"
#include "sim/time.h"

namespace moesim::models {

class PlacementController {
 public:
  virtual ~PlacementController() = default;
  // Tokens routed to each (MoE layer, expert) in the iteration that just ended.
  virtual void observe(sim::Time now, const std::vector<std::vector<std::int64_t>>& expert_tokens) = 0;
  // A placement to migrate to now, if any (not asked while a migration is in flight).
  virtual std::optional<ExpertPlacement> propose(sim::Time now, const ExpertPlacement& current) = 0;
};

}  // namespace moesim::models
