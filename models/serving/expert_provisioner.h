#pragma once
// Per-layer expert provisioning: instead of a fixed placement, something decides at
// every MoE layer which GPUs serve each expert and may have to bring copies up
// first — the serverless runtime with MoEless' scaling (docs/serverless.md). The
// engine asks at the gate of each MoE layer, once the layer's true token counts are
// known, waits until the copies are ready (a cold start is on the critical path),
// runs the experts, and reports what each copy executed.
#include <cstdint>
#include <vector>

#include "models/workload/routing_source.h"
#include "sim/resource.h"
#include "sim/time.h"

namespace moesim::models {

class ExpertProvisioner {
 public:
  virtual ~ExpertProvisioner() = default;
  // Expert bytes per GPU to reserve for copies (the KV cache gets what is left).
  virtual std::int64_t reserved_expert_bytes() const = 0;
  // A new iteration starts with this routing (all MoE layers). Predictors that model
  // error around the truth (the spec's error model, an oracle) read it here.
  virtual void begin_iteration(sim::Time now, const RoutingCounts& routing) = 0;
  // Gate of MoE layer `moe_layer`: tokens per expert are known. Returns the GPUs
  // serving each expert in this layer (never empty) and pins those copies.
  virtual const std::vector<std::vector<int>>& acquire(int moe_layer, const std::vector<std::int64_t>& expert_tokens) = 0;
  // Fires when every copy acquired for the current layer is ready; nullptr if they already are.
  virtual sim::Signal* pending() = 0;
  // When GPU g's copies of the current layer were all ready (<= now once pending() fired).
  virtual sim::Time ready_at(int gpu) const = 0;
  // The layer's experts ran: busy[g * experts + e] is GPU g's copy of e's compute time.
  virtual void release(int moe_layer, const std::vector<sim::Time>& busy) = 0;
  // The run is over at `end`: close the books on instances still alive.
  virtual void finish(sim::Time end) = 0;
};

}  // namespace moesim::models
