#pragma once
// The microbenchmark families; each writes measurement lines through the Writer.
#include <vector>

#include "common.cuh"

namespace mc {

struct AttentionShape {
  long d_model, heads, kv_heads, head_dim;
};

void bench_gated_mlp(Writer& w, cublasHandle_t blas, long d, long f, const std::vector<long>& token_counts, const Options& o);
void bench_grouped_mlp(Writer& w, cublasHandle_t blas, long d, long f, const std::vector<int>& expert_counts,
                       const std::vector<long>& tokens_per_expert, const Options& o);
void bench_spread(Writer& w, cublasHandle_t blas, int devices, long d, long f, const std::vector<long>& token_counts, int repeats,
                  const Options& o);
void bench_attention_prefill(Writer& w, cublasHandle_t blas, const AttentionShape& s, const std::vector<long>& token_counts,
                             const Options& o);
void bench_attention_decode(Writer& w, cublasHandle_t blas, const AttentionShape& s, const std::vector<long>& batches,
                            const std::vector<long>& contexts, const Options& o);
void bench_memcpy(Writer& w, long max_bytes, const Options& o);
void bench_peer(Writer& w, long max_bytes, const Options& o);
void bench_launch(Writer& w, const Options& o);

}  // namespace mc
