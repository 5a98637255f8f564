#pragma once
// The expert-parallel serving engine (docs/models.md, "Serving engine"). One coroutine runs the
// batching loop; each iteration takes, on every GPU, the decode token of each of
// its running requests plus prefill chunks of waiting ones (continuous batching,
// vLLM/Sarathi style) and runs the model layer by layer:
//
//   attention (+ gate, shared experts or dense FFN) on each GPU for its own tokens
//   -> dispatch all-to-all: token rows to the GPUs holding their experts
//   -> expert FFN on each GPU for the tokens its experts received
//   -> combine all-to-all back
//
// Each stage ends when the slowest GPU (or the last flow) is done: the straggler
// sets the pace. Per-token routing is aggregated to per-(layer, GPU, expert)
// counts before it reaches the engine, and an all-to-all is one coflow by default,
// so a layer costs O(1) events and solves, not O(tokens) or O(GPUs²).
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "models/gpu_profile.h"
#include "models/layer_costs.h"
#include "models/moe_model.h"
#include "models/serving/expert_placement.h"
#include "models/serving/expert_provisioner.h"
#include "models/serving/placement_controller.h"
#include "models/serving/replica_dispatch.h"
#include "models/serving/request.h"
#include "models/serving/serving_config.h"
#include "models/serving/serving_metrics.h"
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
  ServingEngine(sim::Simulator& sim, const MoeModel& model, const GpuProfile& gpu,
                const std::vector<GpuSlowdown>& slowdowns, Topology& topology, ExpertPlacement placement,
                RoutingSource& routing, ServingConfig config, ServingMetrics& metrics, sim::TraceWriter* trace = nullptr,
                ServingPolicies policies = {});

  // A request arrives now; it is assigned to the GPU with the fewest requests.
  void submit(Request r);
  // No more requests will arrive: the loop ends once every request is done.
  void close();
  sim::Process run();

  const MemoryBudget& memory() const { return memory_; }
  int gpus() const { return gpus_; }

 private:
  struct Batch {
    std::vector<std::vector<std::pair<Request*, std::int64_t>>> prefill;  // per GPU: request, chunk tokens
    std::vector<std::vector<Request*>> decode;                           // per GPU
    std::vector<std::int64_t> tokens;                                    // per GPU
    std::int64_t total() const;
  };
  struct Exchange;  // one all-to-all in flight

  Batch form_batch();
  BatchSpans batch_spans(const Batch& b) const;
  bool admit(int gpu, const Request& r);
  // Static buckets: whether a request that arrived at `arrival` may join a batch now.
  bool in_closed_bucket(sim::Time arrival) const;
  // KV-cache bytes held for a request from admission to completion (input + output tokens).
  std::int64_t kv_reservation(const Request& r) const {
    return (r.input_tokens + r.output_tokens) * model_.kv_cache_bytes_per_token();
  }
  // The batch's attention load per GPU, for attention_stage_time() in this iteration.
  void prepare_attention(const Batch& b);
  // A layer's attention stage on a GPU. It depends on the layer only through its kind
  // (MoE or dense, last or not), so each kind is computed once per GPU and iteration.
  sim::Time attention_stage_time(int gpu, int layer);
  // 0..3: MoE or dense, last layer or not.
  std::size_t layer_kind(int layer) const;
  // The layer's attention stage across GPUs (the slowest GPU's), per-GPU times in `stage`
  // unless a closed-form iteration already knows the layer kind's slowest.
  sim::Time attention_stage(int layer, sim::Time start, bool closed_form, std::vector<sim::Time>& stage);
  // Assigns a layer's routed tokens to expert copies; fills pair_tokens_ (src × dst),
  // copy_loads_ and the tokens per expert.
  void assign_tokens(const std::vector<std::vector<int>>& replicas, const std::vector<std::vector<std::int64_t>>& counts,
                     std::vector<std::int64_t>& expert_tokens);
  // assign_tokens() when every expert has one copy (the common static case): no
  // split to make, so the sums run over plain integer arrays.
  void assign_to_single_copies(const std::vector<std::vector<int>>& replicas,
                               const std::vector<std::vector<std::int64_t>>& counts,
                               std::vector<std::int64_t>& expert_tokens);
  // part_bytes_ from pair_tokens_: the pairs src != dst in (src, dst) order.
  void fill_part_bytes(double row_bytes);
  // Bytes of one token's activations (a row of the all-to-all).
  double row_bytes() const;
  // Sets switch_slot_ when the GPUs share one switch and sums per GPU are exact.
  void find_switch_slots();
  // The dispatch coflow from pair_tokens_ through per-GPU sums (needs switch_slot_).
  void assign_switch_sums(double row_bytes);
  // Moves the expert weights `next` needs over the topology, then switches to it.
  sim::Process migrate(ExpertPlacement next);
  // The expert stage of a layer whose tokens landed at `dispatched` (copy_loads_):
  // when its slowest GPU is done. With a provisioner, each GPU starts once its copies
  // are ready.
  // `check_memos`: whether the memos must be checked against the GPUs' slowdowns first.
  sim::Time expert_stage_end(int layer, sim::Time dispatched, bool check_memos, std::vector<sim::Time>& stage);
  bool closed_form_iteration_possible() const;
  void complete_iteration(Batch& b);
  void trace_stage(const char* what, int layer, sim::Time start, const std::vector<sim::Time>& per_gpu);
  void trace_request(const Request& r);

  sim::Simulator& sim_;
  const MoeModel& model_;
  const GpuProfile& gpu_;
  LayerCosts costs_;  // also refuses a GPU without the model's dtype
  const std::vector<GpuSlowdown>& slowdowns_;
  Topology& topology_;
  sim::Coflow collective_;  // the all-to-all being gathered (buffers reused)
  std::vector<sim::Coflow::Route> gpu_routes_;  // [src * gpus + dst]: looked up and checked once
  // The all-to-all's parts, pairs src != dst in (src, dst) order: dispatch src -> dst,
  // combine dst -> src; part_bytes_ holds the current layer's sizes.
  sim::Coflow::Pattern dispatch_pattern_, combine_pattern_;
  std::vector<double> part_bytes_;
  // On one switch, per dispatch-pattern link: GPU g's uplink is slot g, its downlink
  // slot G + g; empty on other topologies (the dispatch then sums part by part).
  std::vector<std::uint32_t> switch_slot_;
  bool twin_bandwidths_equal_ = false;      // every combine link as fast as its dispatch twin
  std::vector<std::int64_t> slot_tokens_;   // per slot: rows over the link
  std::vector<std::uint32_t> slot_pairs_;   // per slot: non-empty GPU pairs over the link
  std::vector<double> link_demand_;         // per dispatch-pattern link
  std::vector<std::uint32_t> link_crossings_;
  ExpertPlacement placement_;
  ServingPolicies policies_;
  bool migrating_ = false;
  std::vector<std::vector<std::int64_t>> iteration_loads_;  // [moe layer][expert], for the controller
  std::vector<std::int64_t> share_;                          // dispatch scratch
  std::vector<int> owner_;                                   // assign_to_single_copies(): expert -> GPU
  std::vector<const std::int64_t*> source_rows_;             // assign_to_single_copies(): counts[src].data()
  std::vector<std::int64_t> pair_tokens_;                    // assign_tokens(): rows sent [src * gpus + dst]
  // The current layer's expert copies and the tokens each received: every copy
  // without replicas, else those given tokens (GPU-major).
  struct CopyLoad {
    std::size_t gpu = 0;
    std::size_t expert = 0;
    std::int64_t tokens = 0;
  };
  std::vector<CopyLoad> copy_loads_;
  std::vector<std::int64_t> copy_tokens_;  // assign_tokens() with replicas: [gpu * experts + expert]
  std::vector<sim::Time> copy_busy_;       // with a provisioner: per (GPU, expert) compute of the current layer
  std::vector<AttentionLoad> attention_loads_;               // per GPU, this iteration
  std::vector<sim::Time> attention_memo_;                    // [gpu * 4 + kind], -1 = not yet
  std::array<sim::Time, 4> attention_slowest_{};             // closed form: per kind, -1 = not yet
  // Expert FFN time per (GPU, token count) below kExpertMemoTokens: decode batches
  // ask for the same small counts thousands of times. Both memos hold for the GPU's
  // slowdown they were computed at (throttling episodes change it mid-run).
  static constexpr std::int64_t kExpertMemoTokens = 256;
  std::vector<sim::Time> expert_memo_;  // [gpu * kExpertMemoTokens + tokens], -1 = not yet
  std::vector<GpuSlowdown> memo_slowdown_;
  void check_memo(std::size_t gpu);
  sim::Time expert_time(std::size_t gpu, std::int64_t tokens);
  RoutingSource& routing_;
  ServingConfig config_;
  ServingMetrics& metrics_;
  sim::TraceWriter* trace_;
  int gpus_;
  MemoryBudget memory_;
  std::deque<std::unique_ptr<Request>> waiting_;
  std::vector<std::vector<std::unique_ptr<Request>>> running_;  // per GPU
  std::vector<std::int64_t> kv_used_;                           // bytes per GPU
  std::vector<int> assigned_;                                   // requests per GPU, for placement of new ones
  sim::Signal work_;
  bool closed_ = false;
  std::vector<sim::TraceWriter::TrackId> gpu_tracks_;
};

}  // namespace moesim::models
