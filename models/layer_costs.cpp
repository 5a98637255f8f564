#include "models/layer_costs.h"

#include "models/op_costs.h"

namespace moesim::models {

void AttentionLoad::add_prefill(std::int64_t context, std::int64_t chunk) {
  const auto c = static_cast<double>(chunk);
  prefill_tokens += c;
  prefill_scores += c * (static_cast<double>(context) + c / 2.0);
  prefill_kv += static_cast<double>(context + chunk);
}

void AttentionLoad::add_decode(std::int64_t context) {
  decode_tokens += 1.0;
  decode_scores += static_cast<double>(context + 1);
}

sim::Time non_expert_layer_time(const MoeModel& m, const GpuProfile& gpu, GpuSlowdown slow, int layer,
                                const AttentionLoad& load) {
  const double tokens = load.tokens();
  if (tokens == 0.0) return 0;
  const auto& a = m.attention;
  const double weight_bytes = m.dtype_bytes;
  const double kv_bytes_per_token_layer = static_cast<double>(a.kv_cache_elements_per_token * a.kv_cache_dtype_bytes);
  const auto params = static_cast<double>(a.projection_params);
  const std::string dtype = dtype_name(m.dtype_bytes);
  // Attention proper, prefill and decode parts timed separately (each may have a
  // measured table keyed by token count): projections + scores over the context,
  // with the KV cache read.
  auto attention = [&](const char* op, double n, double score_work, double kv_tokens) {
    const OpWork w{2.0 * params * n + 4.0 * a.heads * a.head_dim * score_work,
                   params * weight_bytes + kv_bytes_per_token_layer * kv_tokens};
    const OpKey key{op, {{"d_model", m.d_model}, {"heads", a.heads}, {"kv_heads", a.kv_heads}, {"head_dim", a.head_dim}},
                    dtype};
    return gpu.op_time(key, n, w, slow);
  };
  sim::Time t = attention("attention_prefill", load.prefill_tokens, load.prefill_scores, load.prefill_kv) +
                attention("attention_decode", load.decode_tokens, load.decode_scores, load.decode_scores);
  OpWork rest;
  if (m.is_moe_layer(layer)) {
    const auto router = static_cast<double>(m.router_params());
    const OpKey gate{"gate", {{"d_model", m.d_model}, {"experts", m.experts}}, dtype};
    t += gpu.op_time(gate, tokens, OpWork{2.0 * router * tokens, router * weight_bytes + tokens * m.d_model * 2.0}, slow);
    const auto shared = static_cast<double>(m.shared_expert_params());
    rest.flops += 2.0 * shared * tokens;
    rest.bytes += shared * weight_bytes;
  } else {
    const auto dense = static_cast<double>(m.dense_ffn_params());
    rest.flops += 2.0 * dense * tokens;
    rest.bytes += dense * weight_bytes;
  }
  if (layer == m.layers - 1) {
    const auto head = static_cast<double>(m.vocab * m.d_model);
    rest.flops += 2.0 * head * tokens;
    rest.bytes += head * weight_bytes;
  }
  if (rest.flops == 0.0) return t;  // nothing else on this layer (no shared experts)
  return t + gpu.roofline_time(rest, dtype, slow);
}

sim::Time expert_compute_time(const MoeModel& m, const GpuProfile& gpu, GpuSlowdown slow, std::int64_t tokens) {
  if (tokens == 0) return 0;
  const auto n = static_cast<double>(tokens);
  return gpu.op_time(expert_ffn_key(m), n, expert_ffn_work(m, n), slow);
}

}  // namespace moesim::models
