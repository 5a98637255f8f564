#pragma once
// The expert-parallel serving engine (docs/models.md, "Serving engine"). One coroutine runs the
// batching loop; each iteration takes, on every GPU, the decode token of each of
// its running requests plus prefill chunks of waiting ones (continuous batching,
// vLLM/Sarathi style) and runs the model layer by layer:
//
//   attention (+ gate, shared experts or dense FFN) on each GPU for its own tokens
//   (or its share of its tensor-parallel group's, then the group's ring collective)
//   -> dispatch all-to-all: token rows to the GPUs holding their experts
//   -> expert FFN on each GPU for the tokens its experts received
//   -> combine all-to-all back
//
// Each stage ends when the slowest GPU (or the last flow) is done: the straggler
// sets the pace. Per-token routing is aggregated to per-(layer, GPU, expert)
// counts before it reaches the engine, and an all-to-all is one coflow by default,
// so a layer costs O(1) events and solves, not O(tokens) or O(GPUs²).
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "models/gpu_profile.h"
#include "models/layer_costs.h"
#include "models/moe_model.h"
#include "models/serving/all_to_all.h"
#include "models/serving/attention_stage.h"
#include "models/serving/batch_scheduler.h"
#include "models/serving/expert_placement.h"
#include "models/serving/expert_provisioner.h"
#include "models/serving/placement_controller.h"
#include "models/serving/replica_dispatch.h"
#include "models/serving/request.h"
#include "models/serving/request_router.h"
#include "models/serving/serving_config.h"
#include "models/serving/serving_metrics.h"
#include "models/serving/expert_stage.h"
#include "models/serving/stage_recorder.h"
#include "models/serving/tensor_parallel.h"
#include "models/workload/routing_source.h"
#include "models/topology.h"
#include "sim/process.h"
#include "sim/resource.h"
#include "sim/trace_writer.h"

namespace moesim::models {

// Optional policy hooks: how tokens are split among an expert's replicas (needed
// when the placement has replicas), who may re-place experts between iterations,
// and who provisions experts layer by layer (serverless; the placement is then unused).
struct ServingPolicies {
  ReplicaDispatch* dispatch = nullptr;
  PlacementController* controller = nullptr;
  ExpertProvisioner* provisioner = nullptr;
};

class ServingEngine {
 public:
  // `first_gpu`: where this engine's GPUs start in the cluster when it serves one
  // instance among several (docs/models.md "Instances"); `topology` is then the
  // instance's slice (Topology::gpu_subset) and `slowdowns` its GPUs'.
  ServingEngine(sim::Simulator& sim, const MoeModel& model, const GpuProfile& gpu,
                const std::vector<GpuSlowdown>& slowdowns, Topology& topology, ExpertPlacement placement,
                RoutingSource& routing, ServingConfig config, ServingMetrics& metrics, sim::TraceWriter* trace = nullptr,
                ServingPolicies policies = {}, int first_gpu = 0);

  // A request arrives now; it joins the GPU serving.gpu_assignment picks.
  void submit(Request r) { scheduler_.submit(std::move(r)); }
  // Disaggregated serving (docs/models.md "Disaggregated prefill and decode"): the
  // rank a request handed over from a prefill pool would join, then its submission
  // there once its KV has arrived; and, on a prefill pool, where requests go once
  // their prompt is done.
  int choose_rank(const Request& r) const { return scheduler_.choose_rank(r); }
  void submit(Request r, int rank) { scheduler_.submit(std::move(r), rank); }
  void set_handoff(BatchScheduler::Handoff handoff) { scheduler_.set_handoff(std::move(handoff)); }
  int attention_tp() const { return tp_; }
  // Called once run() has served its last request after close().
  void set_on_finish(std::function<void()> on_finish) { on_finish_ = std::move(on_finish); }
  // No more requests will arrive: the loop ends once every request is done.
  void close() { scheduler_.close(); }
  sim::Process run();

  const MemoryBudget& memory() const { return memory_; }
  // For a request router: requests here and not finished, and their remaining tokens.
  std::int64_t outstanding_requests() const { return scheduler_.outstanding_requests(); }
  std::int64_t outstanding_tokens() const { return scheduler_.outstanding_tokens(); }
  // Share of the instance's KV cache that admitted requests do not hold.
  double kv_free_share() const { return scheduler_.kv_free_share(); }
  // Prompt tokens of `r` already in the prefix cache of this instance's best GPU.
  std::int64_t cached_prefix_tokens(const Request& r) const { return scheduler_.cached_prefix_tokens(r); }
  int gpus() const { return gpus_; }
  // What `router` sees of this instance when `r` arrives.
  InstanceLoad load(const Request& r, const RequestRouter& router) const {
    return {outstanding_requests(), outstanding_tokens(), gpus_, kv_free_share(),
            router.reads_prefix_cache() ? cached_prefix_tokens(r) : 0};
  }

 private:
  // The experts of every MoE layer: the placement's copies, or the provisioner's.
  const std::vector<std::vector<int>>& layer_copies(int moe_layer, const std::vector<std::vector<std::int64_t>>& counts,
                                                    std::vector<std::int64_t>& per_expert);
  // Refreshes single_owners_ from placement_ (at start and after each migration).
  void index_placement();
  // Moves the expert weights `next` needs over the topology, then switches to it.
  sim::Process migrate(ExpertPlacement next);
  // After an iteration: the controller sees its loads and may start a re-placement.
  void offer_loads_to_controller();
  // Paged KV swaps before a pass: each GPU copies over its host link; the pass
  // starts when the slowest is done (docs/models.md "Paged KV cache").
  sim::Time swap_time(const Batch& batch) const;
  bool closed_form_iteration_possible() const;
  // The TP groups' collectives after a layer's non-expert work or after its experts
  // (none with data-parallel attention).
  std::span<const TpStep> tp_steps(bool moe_layer, bool after_experts) const;

  sim::Simulator& sim_;
  const MoeModel& model_;
  const GpuProfile& gpu_;
  LayerCosts costs_;  // also refuses a GPU without the model's dtype
  Topology& topology_;
  ExpertPlacement placement_;
  // Per MoE layer: each expert's GPU when the layer has one copy of every expert,
  // else empty (the assignment then reads the copies).
  std::vector<std::vector<int>> single_owners_;
  ServingPolicies policies_;
  RoutingSource& routing_;
  ServingConfig config_;
  ServingMetrics& metrics_;
  sim::TraceWriter* trace_;
  int gpus_;
  int tp_;  // GPUs per attention rank (serving.attention_tp)
  MemoryBudget memory_;
  StageRecorder recorder_;
  BatchScheduler scheduler_;
  AttentionStage attention_;
  ExpertStage experts_;
  std::unique_ptr<AllToAll> all_to_all_;
  std::unique_ptr<TpCollectives> tp_collectives_;  // attention_tp > 1 only
  BatchSpans gpu_spans_;
  std::function<void()> on_finish_;                            // the batch's tokens per GPU (TP: split from the ranks')
  bool migrating_ = false;
  std::vector<std::vector<std::int64_t>> iteration_loads_;  // [moe layer][expert], for the controller
};

}  // namespace moesim::models
