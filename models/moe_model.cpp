#include "models/moe_model.h"

#include <fmt/format.h>

namespace moesim::models {

int MoeModel::moe_layer_count() const {
  int n = 0;
  for (int l = 0; l < layers; ++l) n += is_moe_layer(l) ? 1 : 0;
  return n;
}

double MoeModel::params_with_routed_experts(int routed_per_layer) const {
  const double moe = static_cast<double>(moe_layer_count()) *
                     (static_cast<double>(routed_per_layer) * expert_params() + shared_expert_params() + router_params());
  const double dense = static_cast<double>(dense_layer_count()) * dense_ffn_params();
  const double attn = static_cast<double>(layers) * attention.projection_params;
  return moe + dense + attn + embedding_params();
}

AttentionShape gqa_attention(std::int64_t d_model, int heads, int kv_heads, int head_dim) {
  AttentionShape a;
  a.heads = heads;
  a.kv_heads = kv_heads;
  a.head_dim = head_dim;
  const std::int64_t q_width = static_cast<std::int64_t>(heads) * head_dim;
  const std::int64_t kv_width = static_cast<std::int64_t>(kv_heads) * head_dim;
  a.projection_params = 2 * d_model * q_width + 2 * d_model * kv_width;  // q, o; k, v
  a.kv_cache_elements_per_token = 2 * kv_width;
  return a;
}

MoeModel parse_moe_model(const JsonInput& json) {
  MoeModel m;
  m.name = json.at("name").string();
  m.display_name = json.string_or("display_name", m.name);
  m.source = json.string_or("source", "");
  m.layers = static_cast<int>(json.at("layers").integer_at_least(1));
  m.d_model = json.at("d_model").integer_at_least(1);
  m.vocab = json.at("vocab").integer_at_least(1);
  if (const auto tied = json.find("tied_embeddings")) m.tied_embeddings = tied->boolean();
  const JsonInput dtype = json.at("dtype_bytes");
  m.dtype_bytes = static_cast<int>(dtype.integer_at_least(1));

  const JsonInput attn = json.at("attention");
  m.attention.heads = static_cast<int>(attn.at("heads").integer_at_least(1));
  m.attention.kv_heads = static_cast<int>(attn.at("kv_heads").integer_at_least(1));
  m.attention.head_dim = static_cast<int>(attn.at("head_dim").integer_at_least(1));
  const AttentionShape gqa = gqa_attention(m.d_model, m.attention.heads, m.attention.kv_heads, m.attention.head_dim);
  m.attention.projection_params =
      attn.find("projection_params") ? attn.at("projection_params").integer_at_least(1) : gqa.projection_params;
  m.attention.kv_cache_elements_per_token = attn.find("kv_cache_elements_per_token")
                                                ? attn.at("kv_cache_elements_per_token").integer_at_least(1)
                                                : gqa.kv_cache_elements_per_token;
  m.attention.kv_cache_dtype_bytes = static_cast<int>(attn.integer_or("kv_cache_dtype_bytes", 2));
  attn.check(m.attention.kv_cache_dtype_bytes >= 1, "kv_cache_dtype_bytes >= 1");

  const JsonInput moe = json.at("moe");
  m.experts = static_cast<int>(moe.at("experts").integer_at_least(1));
  const JsonInput top_k = moe.at("top_k");
  m.top_k = static_cast<int>(top_k.integer_at_least(1));
  top_k.check(m.top_k <= m.experts, fmt::format("an integer <= experts ({})", m.experts));
  m.expert_ffn = moe.at("expert_ffn").integer_at_least(1);
  m.shared_experts = static_cast<int>(moe.integer_or("shared_experts", 0));
  moe.check(m.shared_experts >= 0, "shared_experts >= 0");
  m.shared_expert_ffn = moe.integer_or("shared_expert_ffn", m.shared_experts > 0 ? m.expert_ffn : 0);
  m.first_moe_layer = static_cast<int>(moe.integer_or("first_moe_layer", 0));
  m.moe_layer_step = static_cast<int>(moe.integer_or("moe_layer_step", 1));
  moe.check(m.first_moe_layer >= 0 && m.first_moe_layer < m.layers,
            fmt::format("first_moe_layer in [0, {})", m.layers));
  moe.check(m.moe_layer_step >= 1, "moe_layer_step >= 1");
  m.dense_ffn = json.integer_or("dense_ffn", 0);
  if (m.dense_layer_count() > 0 && m.dense_ffn <= 0) {
    json.fail(fmt::format("missing 'dense_ffn': the model has {} non-MoE layers", m.dense_layer_count()));
  }
  if (const auto reported = json.find("reported_params")) {
    m.reported_total_params = reported->at("total").positive_number();
    m.reported_active_params = reported->at("active").positive_number();
  }
  return m;
}

}  // namespace moesim::models
