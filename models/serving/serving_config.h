#pragma once
// How the serving engine batches and communicates (docs/models.md, "Serving
// engine"): a scenario's "serving" object.
#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "sim/time.h"
#include "util/json_input.h"
#include "util/settings.h"

namespace moesim::models {

struct ServingConfig {
  // continuous: vLLM/Sarathi iteration-level batching. static-buckets: Megatron-LM's
  // text server has no continuous batching; requests that arrived by a bucket
  // boundary (every `bucket`) form a GPU's next batch, which runs to completion
  // before that GPU admits more (as the MoEless testbed batches, docs/serverless.md).
  enum class Batching { kContinuous, kStaticBuckets };
  Batching batching = Batching::kContinuous;
  sim::Time bucket = sim::seconds(1);
  std::int64_t max_batched_tokens = 8192;  // per GPU per iteration
  int max_running_requests = 256;          // per GPU
  std::int64_t prefill_chunk = 512;        // per request per iteration
  // Fixed cost per all-to-all (ns); unset: the topology's fitted start-up of the
  // collective's slowest pair (Topology::collective_startup).
  std::optional<sim::Time> collective_overhead;
  // coflow: an all-to-all is one entity whose parts progress together (NCCL
  // interleaves chunks across peers): one start and one end per collective.
  // flows: one max-min flow per (source, destination) pair, each ending on its
  // own: the finer model, O(GPUs²) events per collective (docs/models.md).
  enum class Collectives { kCoflow, kFlows };
  Collectives collectives = Collectives::kCoflow;
  // per-expert: a GPU runs its experts one kernel after another (Megatron-LM's loop,
  // the back-to-back sum). grouped: one grouped-GEMM kernel over all of them (vLLM's
  // fused MoE, SGLang): one launch, the summed work on the expert roofline
  // (docs/models.md, "Expert kernels").
  enum class ExpertKernels { kPerExpert, kGrouped };
  ExpertKernels expert_kernels = ExpertKernels::kPerExpert;
  std::int64_t activation_reserve_bytes = std::int64_t{4} << 30;
  // reserve: a request holds KV for its whole life (prompt + output) from admission,
  // never preempted. paged: vLLM's PagedAttention blocks, taken as tokens are
  // computed; when a GPU runs out the latest admitted request is preempted
  // (docs/models.md, "Paged KV cache").
  enum class KvCache { kReserve, kPaged };
  KvCache kv_cache = KvCache::kReserve;
  std::int64_t kv_block_tokens = 16;  // vLLM's default block size
  std::int64_t kv_blocks = 0;         // per GPU, either mode; 0: what the memory budget leaves
  // recompute: the preempted request's KV is dropped and its prompt and output so
  // far prefilled again on readmission (vLLM v1). swap: its KV is copied to host
  // memory over the GPU's host link and back (vLLM v0), while swap space lasts.
  enum class Preemption { kRecompute, kSwap };
  Preemption preemption = Preemption::kRecompute;
  std::int64_t swap_space_bytes = std::int64_t{4} << 30;  // per GPU, vLLM's default swap_space
  // Automatic prefix caching over the trace's prefix-block hashes: a prompt's
  // leading blocks already cached on its GPU are not computed again.
  bool prefix_cache = false;
  std::int64_t prefix_block_tokens = 512;  // tokens per hash (the Mooncake trace's block)
  // Which GPU (data-parallel attention rank) of the instance takes an arriving
  // request: the one with the fewest requests, or, prefix-aware, the one caching the
  // longest prefix of its prompt while loads stay balanced (docs/models.md).
  enum class GpuAssignment { kLeastRequests, kPrefixAware };
  GpuAssignment gpu_assignment = GpuAssignment::kLeastRequests;
  // Attention layout (docs/models.md, "Tensor-parallel attention"): 1 is
  // data-parallel attention (each GPU attends its own requests); t > 1 makes each
  // group of t consecutive GPUs one attention rank whose non-expert work is split
  // t ways (Megatron tensor parallelism), the experts staying expert-parallel.
  int attention_tp = 1;
  // How a TP group combines its partial activations after each layer's non-expert
  // work: all-reduce (every GPU then holds every row; each dispatches its 1/t share,
  // and an all-gather after the combine restores the rows), or reduce-scatter
  // (each GPU gets its 1/t share reduced, then the same all-gather): both rings.
  enum class TpCollective { kAllReduce, kReduceScatter };
  TpCollective tp_collective = TpCollective::kReduceScatter;
  // An iteration whose collectives have the network to themselves is computed in
  // closed form (one event instead of ~12 per layer; the same times to the ns).
  // false forces the event path everywhere (for checking that equivalence).
  bool closed_form_iterations = true;
};

// Each setting declared once (key, range, unit, description); the default is the
// member initialiser above. `moesim settings` prints the table.
const util::Settings<ServingConfig>& serving_settings();
ServingConfig parse_serving_config(const JsonInput& json);
// The settings as parse_serving_config reads them back.
nlohmann::ordered_json to_json(const ServingConfig& config);

}  // namespace moesim::models
