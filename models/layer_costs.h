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
  LayerCosts(const MoeModel& m, const GpuProfile& gpu);

  // Attention + gate/shared experts (MoE layer) or dense FFN, + LM head on the last layer
  // (for the sampled positions only, docs/models.md).
  // Depends on `layer` only through those two facts (the serving engine memoises on them).
  sim::Time non_expert(GpuSlowdown slow, int layer, const AttentionLoad& load) const;
  // One routed expert over `tokens` tokens (table or roofline); 0 tokens cost nothing.
  sim::Time expert(GpuSlowdown slow, std::int64_t tokens) const;
  // `experts` routed experts over `tokens` tokens in all, as one grouped-GEMM kernel:
  // every expert's weights read once, the summed FLOPs, one launch, on the expert
  // FFN's roofline (its tables time single-expert kernels, so they do not apply).
  sim::Time expert_group(GpuSlowdown slow, std::int64_t experts, std::int64_t tokens) const;

 private:
  const MoeModel& m_;
  const GpuProfile& gpu_;
  GpuProfile::ResolvedOp prefill_, decode_, gate_, expert_ffn_;
  double peak_flops_;  // the model's dtype, for the untabulated rest
};

}  // namespace moesim::models
