#include "models/moe_model.h"

#include <fmt/format.h>

#include "traces/compact_routing.h"

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

namespace {

// Largest values a model file may give (docs/limits.md): several times any
// published MoE model, and small enough that products of them stay in int64.
constexpr std::int64_t kMaxLayers = 4096;
constexpr std::int64_t kMaxWidth = std::int64_t{1} << 20;
constexpr std::int64_t kMaxVocab = std::int64_t{1} << 24;
constexpr std::int64_t kMaxHeads = 16384;
constexpr std::int64_t kMaxHeadDim = 16384;
constexpr std::int64_t kMaxExperts = traces::CompactRoutingReader::kMaxExperts;  // u16 expert ids
constexpr std::int64_t kMaxKvElements = std::int64_t{1} << 30;
// Byte and parameter counts derived from the shape must stay exact in a double
// (the engine divides them into times) and far from int64 overflow.
constexpr std::int64_t kMaxDerived = std::int64_t{1} << 53;
// KV bytes are multiplied by a request's tokens (at most 2^25): 2^32 per token keeps it in int64.
constexpr std::int64_t kMaxKvBytesPerToken = std::int64_t{1} << 32;

// Every derived byte and parameter count, computed in 128 bits, must fit kMaxDerived;
// the model's inline getters then never overflow.
void check_derived_sizes(const JsonInput& json, const MoeModel& m) {
  using Wide = __int128;
  const Wide expert = Wide{3} * m.d_model * m.expert_ffn;
  const Wide kv_per_token = Wide{m.layers} * m.attention.kv_cache_elements_per_token * m.attention.kv_cache_dtype_bytes;
  if (kv_per_token > kMaxKvBytesPerToken) {
    json.fail(fmt::format("the shape gives {} KV-cache bytes per token; at most 2^32 accepted (docs/limits.md)",
                          static_cast<long double>(kv_per_token)));
  }
  const struct {
    Wide value;
    const char* what;
  } sizes[] = {
      {expert * m.dtype_bytes * m.experts * m.layers, "expert weight bytes"},
      {Wide{m.attention.projection_params} * m.dtype_bytes * m.layers, "attention weight bytes"},
      {Wide{3} * m.d_model * m.shared_expert_ffn * m.shared_experts * m.dtype_bytes * m.layers, "shared-expert weight bytes"},
      {Wide{3} * m.d_model * m.dense_ffn * m.dtype_bytes * m.layers, "dense FFN weight bytes"},
      {Wide{2} * m.vocab * m.d_model * m.dtype_bytes, "embedding bytes"},
  };
  for (const auto& size : sizes) {
    if (size.value > kMaxDerived) {
      json.fail(fmt::format("the shape gives {} beyond 2^53; the model is larger than moesim accepts (docs/limits.md)",
                            size.what));
    }
  }
}

}  // namespace

MoeModel parse_moe_model(const JsonInput& json) {
  MoeModel m;
  m.name = json.at("name").string();
  m.display_name = json.string_or("display_name", m.name);
  m.source = json.string_or("source", "");
  m.layers = static_cast<int>(json.at("layers").integer_in(1, kMaxLayers));
  m.d_model = json.at("d_model").integer_in(1, kMaxWidth);
  m.vocab = json.at("vocab").integer_in(1, kMaxVocab);
  if (const auto tied = json.find("tied_embeddings")) m.tied_embeddings = tied->boolean();
  const JsonInput dtype = json.at("dtype_bytes");
  m.dtype_bytes = static_cast<int>(dtype.integer_in(1, 8));

  const JsonInput attn = json.at("attention");
  m.attention.heads = static_cast<int>(attn.at("heads").integer_in(1, kMaxHeads));
  m.attention.kv_heads = static_cast<int>(attn.at("kv_heads").integer_in(1, kMaxHeads));
  m.attention.head_dim = static_cast<int>(attn.at("head_dim").integer_in(1, kMaxHeadDim));
  const AttentionShape gqa = gqa_attention(m.d_model, m.attention.heads, m.attention.kv_heads, m.attention.head_dim);
  m.attention.projection_params =
      attn.find("projection_params") ? attn.at("projection_params").integer_in(1, kMaxDerived) : gqa.projection_params;
  m.attention.kv_cache_elements_per_token = attn.find("kv_cache_elements_per_token")
                                                ? attn.at("kv_cache_elements_per_token").integer_in(1, kMaxKvElements)
                                                : gqa.kv_cache_elements_per_token;
  m.attention.kv_cache_dtype_bytes = static_cast<int>(attn.integer_in_or("kv_cache_dtype_bytes", 1, 8, 2));

  const JsonInput moe = json.at("moe");
  m.experts = static_cast<int>(moe.at("experts").integer_in(1, kMaxExperts));
  const JsonInput top_k = moe.at("top_k");
  m.top_k = static_cast<int>(top_k.integer_in(1, kMaxExperts));
  top_k.check(m.top_k <= m.experts, fmt::format("an integer <= experts ({})", m.experts));
  m.expert_ffn = moe.at("expert_ffn").integer_in(1, kMaxWidth);
  m.shared_experts = static_cast<int>(moe.integer_in_or("shared_experts", 0, kMaxExperts, 0));
  m.shared_expert_ffn = moe.integer_in_or("shared_expert_ffn", 0, kMaxWidth, m.shared_experts > 0 ? m.expert_ffn : 0);
  m.first_moe_layer = static_cast<int>(moe.integer_in_or("first_moe_layer", 0, kMaxLayers, 0));
  m.moe_layer_step = static_cast<int>(moe.integer_in_or("moe_layer_step", 1, kMaxLayers, 1));
  moe.check(m.first_moe_layer >= 0 && m.first_moe_layer < m.layers,
            fmt::format("first_moe_layer in [0, {})", m.layers));
  moe.check(m.moe_layer_step >= 1, "moe_layer_step >= 1");
  m.dense_ffn = json.integer_in_or("dense_ffn", 0, kMaxWidth, 0);
  if (m.dense_layer_count() > 0 && m.dense_ffn <= 0) {
    json.fail(fmt::format("missing 'dense_ffn': the model has {} non-MoE layers", m.dense_layer_count()));
  }
  check_derived_sizes(json, m);
  if (const auto reported = json.find("reported_params")) {
    m.reported_total_params = reported->at("total").positive_number();
    m.reported_active_params = reported->at("active").positive_number();
  }
  return m;
}

}  // namespace moesim::models
