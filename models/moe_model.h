#pragma once
// One MoE model's architecture, as its config.json gives it, and what follows
// from it: expert weight bytes, FLOPs per token, KV-cache bytes per token, and
// total / active parameter counts (the last two checked against the published
// figures in tests). Equations and sources: docs/models.md.
#include <algorithm>
#include <cstdint>
#include <string>

#include "util/json_input.h"

namespace moesim::models {

struct AttentionShape {
  int heads = 0;
  int kv_heads = 0;
  int head_dim = 0;
  // Weights of the q/k/v/o projections per layer; derived for standard GQA, given
  // explicitly for other schemes (DeepSeek's multi-head latent attention).
  std::int64_t projection_params = 0;
  // KV-cache elements per token per layer: 2·kv_heads·head_dim for GQA; the
  // compressed latent plus rope key (512 + 64) for MLA.
  std::int64_t kv_cache_elements_per_token = 0;
  int kv_cache_dtype_bytes = 2;
};

// Standard grouped-query attention of this width: q, o projections d·heads·head_dim
// each, k, v d·kv_heads·head_dim each; K and V cached per token (BF16).
AttentionShape gqa_attention(std::int64_t d_model, int heads, int kv_heads, int head_dim);

struct MoeModel {
  std::string name;
  std::string display_name;
  std::string source;
  int layers = 0;
  std::int64_t d_model = 0;
  std::int64_t vocab = 0;
  bool tied_embeddings = false;
  int dtype_bytes = 2;
  AttentionShape attention;
  int experts = 0;
  int top_k = 0;
  std::int64_t expert_ffn = 0;
  int shared_experts = 0;
  std::int64_t shared_expert_ffn = 0;
  int first_moe_layer = 0;
  int moe_layer_step = 1;
  std::int64_t dense_ffn = 0;  // FFN width of the non-MoE layers (0 if all are MoE)
  double reported_total_params = 0.0;
  double reported_active_params = 0.0;

  bool is_moe_layer(int layer) const {
    return layer >= first_moe_layer && (layer - first_moe_layer) % moe_layer_step == 0;
  }
  int moe_layer_count() const;
  int dense_layer_count() const { return layers - moe_layer_count(); }

  // One SwiGLU expert: gate, up and down projections, 3·d_model·d_ff weights.
  std::int64_t expert_params() const { return 3 * d_model * expert_ffn; }
  std::int64_t expert_bytes() const { return expert_params() * dtype_bytes; }
  // 2 FLOPs per multiply-accumulate.
  double expert_flops_per_token() const { return 2.0 * static_cast<double>(expert_params()); }
  std::int64_t shared_expert_params() const { return 3 * d_model * shared_expert_ffn * shared_experts; }
  std::int64_t dense_ffn_params() const { return 3 * d_model * dense_ffn; }
  std::int64_t router_params() const { return d_model * experts; }
  std::int64_t embedding_params() const { return vocab * d_model * (tied_embeddings ? 1 : 2); }
  std::int64_t kv_cache_bytes_per_token() const {
    return static_cast<std::int64_t>(layers) * attention.kv_cache_elements_per_token * attention.kv_cache_dtype_bytes;
  }
  // Over how many GPUs a tensor-parallel attention group of `tp` splits the KV cache:
  // GQA/MHA shards by KV head (a head is replicated once tp exceeds kv_heads); MLA's
  // latent serves every head, so each GPU of the group caches it whole.
  int kv_shards(int tp) const {
    const bool per_head = attention.kv_cache_elements_per_token ==
                          2 * static_cast<std::int64_t>(attention.kv_heads) * attention.head_dim;
    return per_head ? std::min(tp, attention.kv_heads) : 1;
  }
  std::int64_t all_expert_bytes() const {
    return expert_bytes() * experts * static_cast<std::int64_t>(moe_layer_count());
  }

  double total_params() const { return params_with_routed_experts(experts); }
  double active_params() const { return params_with_routed_experts(top_k); }  // per token

  // All weights, counting `routed_per_layer` routed experts in each MoE layer.
  double params_with_routed_experts(int routed_per_layer) const;
};

// Reads and validates a model description; errors name the JSON path.
MoeModel parse_moe_model(const JsonInput& json);

}  // namespace moesim::models
