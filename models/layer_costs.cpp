#include "models/layer_costs.h"

#include <cmath>

#include "models/op_costs.h"

namespace moesim::models {

void AttentionLoad::add_prefill(std::int64_t context, std::int64_t chunk, bool last) {
  const auto c = static_cast<double>(chunk);
  if (last) sampled += 1.0;
  prefill_tokens += c;
  prefill_scores += c * (static_cast<double>(context) + c / 2.0);
  prefill_kv += static_cast<double>(context + chunk);
}

void AttentionLoad::add_decode(std::int64_t context) {
  decode_tokens += 1.0;
  sampled += 1.0;
  decode_scores += static_cast<double>(context + 1);
}

LayerCosts::LayerCosts(const MoeModel& m, const GpuProfile& gpu, int attention_tp)
    : m_(m),
      gpu_(gpu),
      prefill_(gpu.resolve(attention_key("attention_prefill", m.d_model, m.attention, m.dtype_bytes))),
      decode_(gpu.resolve(attention_key("attention_decode", m.d_model, m.attention, m.dtype_bytes))),
      gate_(gpu.resolve(OpKey{"gate", {{"d_model", m.d_model}, {"experts", m.experts}}, dtype_name(m.dtype_bytes)})),
      expert_ffn_(gpu.resolve(expert_ffn_key(m))),
      peak_flops_(gpu.peak_for(dtype_name(m.dtype_bytes))),
      tp_(attention_tp),
      kv_shards_(m.kv_shards(attention_tp)) {}

sim::Time LayerCosts::shared_op(const GpuProfile::ResolvedOp& op, double tokens, const OpWork& whole, const OpWork& share,
                                GpuSlowdown slow) const {
  const sim::Time t = gpu_.op_time(op, tokens, whole, slow);
  if (tp_ == 1.0 || t == 0) return t;
  const auto part = static_cast<double>(gpu_.roofline_time(share, op.peak_flops, slow, op.roofline));
  const auto all = static_cast<double>(gpu_.roofline_time(whole, op.peak_flops, slow, op.roofline));
  return static_cast<sim::Time>(std::llround(static_cast<double>(t) * part / all));
}

sim::Time LayerCosts::non_expert(GpuSlowdown slow, int layer, const AttentionLoad& load) const {
  const double tokens = load.tokens();
  if (tokens == 0.0) return 0;
  const double weight_bytes = m_.dtype_bytes;
  // Attention proper, prefill and decode parts timed separately (each may have a
  // measured table keyed by token count): projections + scores over the context,
  // with the KV cache read. A TP group splits heads and projections t ways and the
  // KV cache over its shards.
  auto attention = [&](const GpuProfile::ResolvedOp& op, double n, double score_work, double kv_tokens) {
    const OpWork whole = attention_work(m_.attention, m_.dtype_bytes, n, score_work, kv_tokens);
    const double kv_bytes =
        static_cast<double>(m_.attention.kv_cache_elements_per_token * m_.attention.kv_cache_dtype_bytes) * kv_tokens;
    const OpWork share{whole.flops / tp_, (whole.bytes - kv_bytes) / tp_ + kv_bytes / kv_shards_};
    return shared_op(op, n, whole, share, slow);
  };
  sim::Time t = attention(prefill_, load.prefill_tokens, load.prefill_scores, load.prefill_kv) +
                attention(decode_, load.decode_tokens, load.decode_scores, load.decode_scores);
  OpWork rest;
  if (m_.is_moe_layer(layer)) {
    const auto router = static_cast<double>(m_.router_params());
    const OpWork gate{2.0 * router * tokens, router * weight_bytes + tokens * m_.d_model * 2.0};
    t += shared_op(gate_, tokens, gate, OpWork{gate.flops / tp_, gate.bytes / tp_}, slow);
    const auto shared = static_cast<double>(m_.shared_expert_params());
    rest.flops += 2.0 * shared * tokens;
    rest.bytes += shared * weight_bytes;
  } else {
    const auto dense = static_cast<double>(m_.dense_ffn_params());
    rest.flops += 2.0 * dense * tokens;
    rest.bytes += dense * weight_bytes;
  }
  if (layer == m_.layers - 1 && load.sampled > 0.0) {
    // Engines compute logits only where they sample (vLLM's logits indices): the last
    // position of a finished prompt and each decode token, not every prefill token.
    const auto head = static_cast<double>(m_.vocab * m_.d_model);
    rest.flops += 2.0 * head * load.sampled;
    rest.bytes += head * weight_bytes;
  }
  if (rest.flops == 0.0) return t;  // nothing else on this layer (no shared experts)
  return t + gpu_.roofline_time(OpWork{rest.flops / tp_, rest.bytes / tp_}, peak_flops_, slow);
}

sim::Time LayerCosts::expert(GpuSlowdown slow, std::int64_t tokens) const {
  if (tokens == 0) return 0;
  return gated_mlp_time(gpu_, expert_ffn_, m_.d_model, m_.expert_ffn, m_.dtype_bytes, static_cast<double>(tokens), slow);
}

sim::Time LayerCosts::expert_group(GpuSlowdown slow, std::int64_t experts, std::int64_t tokens) const {
  if (experts == 0) return 0;
  OpWork work = expert_ffn_work(m_, static_cast<double>(tokens));  // one weight set + every token's activations
  work.bytes += static_cast<double>((experts - 1) * m_.expert_params() * m_.dtype_bytes);
  return gpu_.roofline_time(work, expert_ffn_.peak_flops, slow, expert_ffn_.roofline);
}

}  // namespace moesim::models
