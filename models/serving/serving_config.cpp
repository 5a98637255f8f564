#include "models/serving/serving_config.h"

#include <fmt/format.h>

#include "util/errors.h"

namespace moesim::models {

const util::Settings<ServingConfig>& serving_settings() {
  using C = ServingConfig;
  static const util::Settings<C> settings{
      util::choice_setting("batching", &C::batching,
                           {{"continuous", C::Batching::kContinuous}, {"static-buckets", C::Batching::kStaticBuckets}},
                           "continuous: iteration-level batching (vLLM, Sarathi); static-buckets: requests arrived "
                           "by a bucket boundary form a GPU's next batch (Megatron-LM's text server)"),
      util::duration_setting("bucket_s", &C::bucket, 1e9, false, "static-buckets: time between bucket boundaries"),
      util::integer_setting("max_batched_tokens", &C::max_batched_tokens, 1, std::int64_t{1} << 24,
                            "tokens per GPU per iteration (vLLM's max_num_batched_tokens)"),
      util::integer_setting("max_running_requests", &C::max_running_requests, 1, 1 << 20,
                            "requests running per GPU (vLLM's max_num_seqs)"),
      util::integer_setting("prefill_chunk", &C::prefill_chunk, 1, std::int64_t{1} << 24,
                            "prompt tokens of one request per iteration (Sarathi chunked prefill)"),
      util::optional_duration_setting("collective_overhead_us", &C::collective_overhead, 1e3, "topology",
                                      "fixed software cost of each all-to-all before data moves; topology: the fitted "
                                      "start-up of its slowest GPU pair (docs/models.md)"),
      util::choice_setting("collectives", &C::collectives,
                           {{"coflow", C::Collectives::kCoflow}, {"flows", C::Collectives::kFlows}},
                           "coflow: an all-to-all progresses as one entity; flows: one max-min flow per GPU pair"),
      util::choice_setting("expert_kernels", &C::expert_kernels,
                           {{"per-expert", C::ExpertKernels::kPerExpert}, {"grouped", C::ExpertKernels::kGrouped}},
                           "per-expert: one kernel per expert, back to back; grouped: one grouped-GEMM kernel over a "
                           "GPU's experts (vLLM fused MoE)"),
      util::boolean_setting("closed_form_iterations", &C::closed_form_iterations,
                            "iterations alone on the network computed in closed form (same times to the ns)"),
      util::gib_setting("activation_reserve_gib", &C::activation_reserve_bytes, 0.0, 1 << 20,
                        "GPU memory held back for activations (the KV cache gets the rest)"),
      util::choice_setting("kv_cache", &C::kv_cache, {{"reserve", C::KvCache::kReserve}, {"paged", C::KvCache::kPaged}},
                           "reserve: KV for prompt + output held from admission to the end, no preemption; paged: "
                           "blocks taken as tokens are computed, preemption when they run out (vLLM)"),
      util::integer_setting("kv_block_tokens", &C::kv_block_tokens, 1, 1 << 16,
                            "paged: tokens per KV block (vLLM's block_size)"),
      util::integer_setting("kv_blocks", &C::kv_blocks, 0, std::int64_t{1} << 40,
                            "KV cache per GPU in blocks of kv_block_tokens (either mode); 0: what the memory budget "
                            "leaves (vLLM's num_gpu_blocks_override)"),
      util::choice_setting("preemption", &C::preemption,
                           {{"recompute", C::Preemption::kRecompute}, {"swap", C::Preemption::kSwap}},
                           "paged: recompute drops the KV and prefills it again (vLLM v1); swap copies it to host "
                           "memory and back over the host link (vLLM v0)"),
      util::gib_setting("swap_space_gib", &C::swap_space_bytes, 0.0, 1 << 20,
                        "paged, swap: host memory per GPU for swapped KV (vLLM's swap_space); past it, recompute"),
      util::boolean_setting("prefix_cache", &C::prefix_cache,
                            "paged: reuse cached prompt blocks by the trace's prefix hashes (vLLM's automatic prefix "
                            "caching, Mooncake's hash_ids)"),
      util::integer_setting("prefix_block_tokens", &C::prefix_block_tokens, 1, 1 << 20,
                            "prefix_cache: prompt tokens per trace hash (Mooncake: 512), a multiple of kv_block_tokens"),
      util::choice_setting("gpu_assignment", &C::gpu_assignment,
                           {{"least-requests", C::GpuAssignment::kLeastRequests},
                            {"prefix-aware", C::GpuAssignment::kPrefixAware}},
                           "the GPU (attention rank) an arriving request joins: fewest requests, or prefix-aware: the "
                           "longest cached prefix while loads stay balanced (SGLang's cache-aware rule)"),
      util::integer_setting("attention_tp", &C::attention_tp, 1, 1 << 10,
                            "GPUs per tensor-parallel attention group (1: data-parallel attention); divides an "
                            "instance's GPUs and the model's heads"),
      util::choice_setting("tp_collective", &C::tp_collective,
                           {{"all-reduce", C::TpCollective::kAllReduce},
                            {"reduce-scatter", C::TpCollective::kReduceScatter}},
                           "attention_tp > 1: ring all-reduce, or reduce-scatter, of a group's activations after its "
                           "non-expert work; an all-gather restores the rows after the experts"),
  };
  return settings;
}

ServingConfig parse_serving_config(const JsonInput& json) {
  ServingConfig c;
  util::read_settings(json, serving_settings(), c);
  if (c.prefix_cache && c.kv_cache != ServingConfig::KvCache::kPaged) {
    throw InputError(fmt::format("{}.prefix_cache: prefix caching needs \"kv_cache\": \"paged\"", json.where()));
  }
  if (c.gpu_assignment == ServingConfig::GpuAssignment::kPrefixAware && !c.prefix_cache) {
    throw InputError(fmt::format("{}.gpu_assignment: prefix-aware assignment needs \"prefix_cache\": true", json.where()));
  }
  if (c.kv_cache == ServingConfig::KvCache::kPaged && c.batching != ServingConfig::Batching::kContinuous) {
    throw InputError(fmt::format("{}.kv_cache: a paged KV cache needs \"batching\": \"continuous\"", json.where()));
  }
  if (c.prefix_cache && c.prefix_block_tokens % c.kv_block_tokens != 0) {
    throw InputError(fmt::format("{}.prefix_block_tokens: {} is not a multiple of kv_block_tokens ({})", json.where(),
                                 c.prefix_block_tokens, c.kv_block_tokens));
  }
  return c;
}

nlohmann::ordered_json to_json(const ServingConfig& config) { return util::write_settings(serving_settings(), config); }

}  // namespace moesim::models
