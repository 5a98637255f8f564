#pragma once
// Time of one transformer layer's work on one GPU, shared by every engine that
// runs the model (expert-parallel serving, single-GPU offloading): the attention
// and the rest of the per-token, non-routed work (gate, shared experts or dense FFN,
// LM head after the last layer), and one routed expert's FFN. Equations and
// sources: docs/models.md, "Operation costs".
#include <cstdint>

#include "models/gpu_profile.h"
#include "models/moe_model.h"
#include "sim/time.h"

namespace moesim::models {

// The attention load of one layer's batch on one GPU.
struct AttentionLoad {
  double prefill_tokens = 0.0;
  double prefill_scores = 0.0;  // Σ chunk · (context before the chunk + chunk / 2): query-key pairs
  double prefill_kv = 0.0;      // KV-cache tokens read by the prefill chunks
  double decode_tokens = 0.0;
  double decode_scores = 0.0;   // Σ context + 1 over decode tokens (also the KV tokens they read)
  double sampled = 0.0;         // positions whose logits are computed: one per sequence yielding a token
  double tokens() const { return prefill_tokens + decode_tokens; }
  // `last`: the chunk ends the prompt, so its final position yields the first output token.
  void add_prefill(std::int64_t context, std::int64_t chunk, bool last);
  void add_decode(std::int64_t context);
};

// The layer costs of one model on one GPU type, with every table and peak looked
// up once: engines ask for them per layer and GPU of every iteration. Both
// references must outlive the object.
class LayerCosts {
 public:
  // `attention_tp`: GPUs of a tensor-parallel attention group, each doing a 1/t share
  // of the group's non-expert work (docs/models.md, "Tensor-parallel attention").
  LayerCosts(const MoeModel& m, const GpuProfile& gpu, int attention_tp = 1);

  // Attention + gate/shared experts (MoE layer) or dense FFN, + LM head on the last layer
  // (for the sampled positions only, docs/models.md); under TP attention, one GPU's
  // share of the whole group's `load`.
  // Depends on `layer` only through those two facts (the serving engine memoises on them).
  sim::Time non_expert(GpuSlowdown slow, int layer, const AttentionLoad& load) const;
  // One routed expert over `tokens` tokens (table or roofline); 0 tokens cost nothing.
  sim::Time expert(GpuSlowdown slow, std::int64_t tokens) const;
  // `experts` routed experts over `tokens` tokens in all, as one grouped-GEMM kernel:
  // every expert's weights read once, the summed FLOPs, one launch, on the expert
  // FFN's roofline (its tables time single-expert kernels, so they do not apply).
  sim::Time expert_group(GpuSlowdown slow, std::int64_t experts, std::int64_t tokens) const;

 private:
  // An op's time on one GPU of the attention group: its measured (or roofline) time
  // for the whole work, scaled by the roofline ratio of this GPU's share to it.
  sim::Time shared_op(const GpuProfile::ResolvedOp& op, double tokens, const OpWork& whole, const OpWork& share,
                      GpuSlowdown slow) const;

  const MoeModel& m_;
  const GpuProfile& gpu_;
  GpuProfile::ResolvedOp prefill_, decode_, gate_, expert_ffn_;
  double peak_flops_;  // the model's dtype, for the untabulated rest
  double tp_;          // attention group size: weights and compute split this many ways
  double kv_shards_;   // ... and the KV cache (MoeModel::kv_shards)
};

}  // namespace moesim::models
