#pragma once
// Arithmetic and memory traffic of the operations the serving engine times, from
// the model's shapes (docs/models.md, "Operation costs").
#include <string>

#include "models/gpu_profile.h"
#include "models/moe_model.h"

namespace moesim::models {

// "bf16" for 2-byte weights, "fp8" for 1-byte, "fp32" for 4-byte.
std::string dtype_name(int dtype_bytes);
// The inverse: bytes per weight of "fp8", "bf16", "fp16", "fp32"; InputError otherwise.
int dtype_size(const std::string& dtype);

// One SwiGLU expert over `tokens` tokens: 2·3·d·f FLOPs per token; traffic = the
// expert's weights once plus activations T·(2d + 4f)·bytes (input and output rows,
// gate/up outputs written and read back).
OpWork expert_ffn_work(const MoeModel& m, double tokens);
// The same for any gated MLP of width d_model × d_ff (calibration shapes).
OpWork gated_mlp_work(std::int64_t d_model, std::int64_t d_ff, int dtype_bytes, double tokens);
OpKey expert_ffn_key(const MoeModel& m);
// One gated MLP as the profile times it: its measured table inside the table's range,
// else the tile/wave model when the profile has one (gemm_waves), else the roofline.
sim::Time gated_mlp_time(const GpuProfile& gpu, const GpuProfile::ResolvedOp& op, std::int64_t d_model, std::int64_t d_ff,
                         int dtype_bytes, double tokens, GpuSlowdown slowdown = {});
// The tile/wave model alone: gate/up GEMM (T × 2f × d), SiLU·mul, down GEMM (T × d × f),
// each GEMM at its fastest candidate tile, plus the model's fixed cost once.
sim::Time gated_mlp_wave_time(const GpuProfile& gpu, const GemmWaves& waves, double peak, std::int64_t d_model,
                              std::int64_t d_ff, int dtype_bytes, double tokens, GpuSlowdown slowdown = {});

// Attention over `tokens` new tokens: projections 2·P FLOPs per token plus 4·heads·
// head_dim per query-key pair (Q·Kᵀ and P·V); traffic = the projection weights once
// plus the KV cache read for `kv_tokens` context tokens. Softmax and activation
// traffic are left out (fused kernels keep them on chip).
OpWork attention_work(const AttentionShape& a, int weight_bytes, double tokens, double score_pairs, double kv_tokens);
OpKey attention_key(const char* op, std::int64_t d_model, const AttentionShape& a, int weight_bytes);

}  // namespace moesim::models
