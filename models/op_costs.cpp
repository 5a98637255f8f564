#include "models/op_costs.h"

#include <cmath>

#include <fmt/format.h>

#include "util/errors.h"

namespace moesim::models {

std::string dtype_name(int dtype_bytes) {
  switch (dtype_bytes) {
    case 1: return "fp8";
    case 2: return "bf16";
    case 4: return "fp32";
    default: throw InputError(fmt::format("no dtype with {} bytes per weight (expected 1, 2 or 4)", dtype_bytes));
  }
}

int dtype_size(const std::string& dtype) {
  if (dtype == "fp8") return 1;
  if (dtype == "bf16" || dtype == "fp16") return 2;
  if (dtype == "fp32") return 4;
  throw InputError(fmt::format("unknown dtype '{}' (known: fp8, bf16, fp16, fp32)", dtype));
}

OpWork gated_mlp_work(std::int64_t d_model, std::int64_t d_ff, int dtype_bytes, double tokens) {
  const auto d = static_cast<double>(d_model);
  const auto f = static_cast<double>(d_ff);
  const double b = dtype_bytes;
  return OpWork{tokens * 2.0 * 3.0 * d * f, 3.0 * d * f * b + tokens * (2.0 * d + 4.0 * f) * b};
}

sim::Time gated_mlp_wave_time(const GpuProfile& gpu, const GemmWaves& waves, double peak, std::int64_t d_model,
                              std::int64_t d_ff, int dtype_bytes, double tokens, GpuSlowdown slowdown) {
  if (tokens <= 0.0) return 0;
  OpRoofline kernel = waves.roofline;
  kernel.launch_overhead = 0;  // the fixed cost is paid once per expert FFN, below
  const double b = dtype_bytes;
  const auto sms = static_cast<double>(waves.sm_count);
  // A wave's fixed cost as the FLOPs the SMs would do meanwhile, so that it scales
  // with the compute slowdowns as the tiles do.
  const double wave_flops = sim::to_seconds(waves.wave_overhead) * waves.roofline.compute_efficiency * peak;
  const auto gemm = [&](double m, double n, double k) {
    const double bytes = b * n * k + b * m * k + b * m * n;  // weights, input rows, output rows
    sim::Time best = -1;
    for (const auto& [tm, tn] : waves.tiles) {
      const double tiles = std::ceil(m / static_cast<double>(tm)) * std::ceil(n / static_cast<double>(tn));
      const double wave_count = std::ceil(tiles / sms);
      const OpWork work{wave_count * (sms * 2.0 * static_cast<double>(tm * tn) * k + wave_flops), bytes};
      const sim::Time t = gpu.roofline_time(work, peak, slowdown, &kernel);
      if (best < 0 || t < best) best = t;
    }
    return best;
  };
  const auto d = static_cast<double>(d_model);
  const auto f = static_cast<double>(d_ff);
  const OpWork silu{tokens * f * 4.0, tokens * 3.0 * f * b};  // reads gate and up, writes their product
  return waves.roofline.launch_overhead + gemm(tokens, 2.0 * f, d) + gpu.roofline_time(silu, peak, slowdown, &kernel) +
         gemm(tokens, d, f);
}

sim::Time gated_mlp_time(const GpuProfile& gpu, const GpuProfile::ResolvedOp& op, std::int64_t d_model, std::int64_t d_ff,
                         int dtype_bytes, double tokens, GpuSlowdown slowdown) {
  const OpWork work = gated_mlp_work(d_model, d_ff, dtype_bytes, tokens);
  const LatencyTable* table = op.table;
  const bool in_table = table != nullptr && tokens >= table->tokens.front() && tokens <= table->tokens.back();
  if (in_table || !gpu.gemm_waves) return gpu.op_time(op, tokens, work, slowdown);
  return gated_mlp_wave_time(gpu, *gpu.gemm_waves, op.peak_flops, d_model, d_ff, dtype_bytes, tokens, slowdown);
}

OpWork expert_ffn_work(const MoeModel& m, double tokens) {
  return gated_mlp_work(m.d_model, m.expert_ffn, m.dtype_bytes, tokens);
}

OpKey expert_ffn_key(const MoeModel& m) {
  return OpKey{"expert_ffn", {{"d_model", m.d_model}, {"d_ff", m.expert_ffn}}, dtype_name(m.dtype_bytes)};
}

OpWork attention_work(const AttentionShape& a, int weight_bytes, double tokens, double score_pairs, double kv_tokens) {
  const auto params = static_cast<double>(a.projection_params);
  const auto kv_bytes_per_token = static_cast<double>(a.kv_cache_elements_per_token * a.kv_cache_dtype_bytes);
  return OpWork{2.0 * params * tokens + 4.0 * a.heads * a.head_dim * score_pairs, params * weight_bytes + kv_bytes_per_token * kv_tokens};
}

OpKey attention_key(const char* op, std::int64_t d_model, const AttentionShape& a, int weight_bytes) {
  return OpKey{op, {{"d_model", d_model}, {"heads", a.heads}, {"kv_heads", a.kv_heads}, {"head_dim", a.head_dim}}, dtype_name(weight_bytes)};
}

}  // namespace moesim::models
