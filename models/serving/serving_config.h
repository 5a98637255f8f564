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
