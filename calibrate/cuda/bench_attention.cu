// Attention stand-ins built from cuBLAS batched GEMMs (what is approximated is said in
// docs/calibration.md): QKV projection, scores Q·Kᵀ per head, row softmax,
// probabilities·V, output projection.
//  * prefill: one sequence of N new tokens attending to all N (non-causal: the full
//    N×N score matrix is computed and, unlike FlashAttention, written to memory);
//    for grouped-query attention K and V are repeated per query head.
//  * decode: B sequences, one new token each, over a KV cache of `context` tokens per
//    sequence (real GQA layout: each KV head serves its group of query heads).
#include <algorithm>
#include <string>

#include "benches.cuh"

namespace mc {
namespace {

// Column-major batched C = op(A)·B in BF16 with FP32 accumulation.
void batched_gemm(cublasHandle_t blas, cublasOperation_t op_a, long m, long n, long k, const __nv_bfloat16* a, long lda, long stride_a,
                  const __nv_bfloat16* b, long ldb, long stride_b, __nv_bfloat16* c, long ldc, long stride_c, long batch) {
  const float one = 1.0f, zero = 0.0f;
  check(cublasGemmStridedBatchedEx(blas, op_a, CUBLAS_OP_N, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), &one, a,
                                   CUDA_R_16BF, static_cast<int>(lda), stride_a, b, CUDA_R_16BF, static_cast<int>(ldb), stride_b, &zero, c,
                                   CUDA_R_16BF, static_cast<int>(ldc), stride_c, static_cast<int>(batch), CUBLAS_COMPUTE_32F,
                                   CUBLAS_GEMM_DEFAULT),
        "cublasGemmStridedBatchedEx");
}

// Projection weights, rotated across enough sets to stream past the L2 cache.
struct Projections {
  std::vector<__nv_bfloat16*> qkv, o;
  Projections(const AttentionShape& s, long l2_bytes) {
    const long q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim;
    const long bytes = 2 * (s.d_model * (q + 2 * kv) + q * s.d_model);
    const int sets = static_cast<int>(std::min<long>(8, std::max<long>(1, (2 * l2_bytes + bytes - 1) / bytes)));
    for (int i = 0; i < sets; ++i) {
      qkv.push_back(random_bf16(static_cast<std::size_t>(s.d_model * (q + 2 * kv)), 200 + 2 * i));
      o.push_back(random_bf16(static_cast<std::size_t>(q * s.d_model), 201 + 2 * i));
    }
  }
  ~Projections() {
    for (auto* p : qkv) cudaFree(p);
    for (auto* p : o) cudaFree(p);
  }
  int sets() const { return static_cast<int>(qkv.size()); }
};

std::string shape_text(const AttentionShape& s, const std::string& more) {
  return "\"d_model\": " + std::to_string(s.d_model) + ", \"heads\": " + std::to_string(s.heads) +
         ", \"kv_heads\": " + std::to_string(s.kv_heads) + ", \"head_dim\": " + std::to_string(s.head_dim) + more;
}

}  // namespace

void bench_attention_prefill(Writer& w, cublasHandle_t blas, const AttentionShape& s, const std::vector<long>& token_counts,
                             const Options& o) {
  const long n_max = token_counts.back();
  const long q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim;
  Projections proj(s, o.l2_bytes);
  __nv_bfloat16* x = random_bf16(static_cast<std::size_t>(n_max * s.d_model), 11);
  __nv_bfloat16* qkv = random_bf16(static_cast<std::size_t>(n_max * (q + 2 * kv)), 12);
  // Q, K and V per query head (K, V repeated across a GQA group), scores, output.
  __nv_bfloat16* qh = random_bf16(static_cast<std::size_t>(s.heads * n_max * s.head_dim), 13);
  __nv_bfloat16* kh = random_bf16(static_cast<std::size_t>(s.heads * n_max * s.head_dim), 14);
  __nv_bfloat16* vh = random_bf16(static_cast<std::size_t>(s.heads * n_max * s.head_dim), 15);
  __nv_bfloat16* scores = random_bf16(static_cast<std::size_t>(s.heads * n_max * n_max), 16);
  __nv_bfloat16* out = random_bf16(static_cast<std::size_t>(n_max * q), 17);
  __nv_bfloat16* y = random_bf16(static_cast<std::size_t>(n_max * s.d_model), 18);
  for (long n : token_counts) {
    auto prefill = [&](int call) {
      const int set = call % proj.sets();
      gemm_bf16(blas, n, q + 2 * kv, s.d_model, x, proj.qkv[set], qkv);
      batched_gemm(blas, CUBLAS_OP_T, n, n, s.head_dim, kh, s.head_dim, n * s.head_dim, qh, s.head_dim, n * s.head_dim, scores, n, n * n,
                   s.heads);
      softmax_rows(scores, s.heads * n, n);
      batched_gemm(blas, CUBLAS_OP_N, s.head_dim, n, n, vh, s.head_dim, n * s.head_dim, scores, n, n * n, out, s.head_dim, n * s.head_dim,
                   s.heads);
      gemm_bf16(blas, n, s.d_model, q, out, proj.o[set], y);
    };
    w.line("attention_prefill", shape_text(s, ", \"causal\": 0"), "tokens", static_cast<double>(n),
           time_calls(prefill, n <= 512 ? 20 : 5, o.repetitions));
  }
  for (auto* p : {x, qkv, qh, kh, vh, scores, out, y}) cudaFree(p);
}

void bench_attention_decode(Writer& w, cublasHandle_t blas, const AttentionShape& s, const std::vector<long>& batches,
                            const std::vector<long>& contexts, const Options& o) {
  const long b_max = *std::max_element(batches.begin(), batches.end());
  const long l_max = *std::max_element(contexts.begin(), contexts.end());
  const long q = s.heads * s.head_dim, kv = s.kv_heads * s.head_dim, group = s.heads / s.kv_heads;
  Projections proj(s, o.l2_bytes);
  __nv_bfloat16* x = random_bf16(static_cast<std::size_t>(b_max * s.d_model), 21);
  __nv_bfloat16* qkv = random_bf16(static_cast<std::size_t>(b_max * (q + 2 * kv)), 22);
  __nv_bfloat16* k_cache = random_bf16(static_cast<std::size_t>(b_max * l_max * kv), 23);
  __nv_bfloat16* v_cache = random_bf16(static_cast<std::size_t>(b_max * l_max * kv), 24);
  __nv_bfloat16* scores = random_bf16(static_cast<std::size_t>(b_max * s.heads * l_max), 25);
  __nv_bfloat16* out = random_bf16(static_cast<std::size_t>(b_max * q), 26);
  __nv_bfloat16* y = random_bf16(static_cast<std::size_t>(b_max * s.d_model), 27);
  for (long l : contexts) {
    for (long b : batches) {
      auto decode = [&](int call) {
        const int set = call % proj.sets();
        gemm_bf16(blas, b, q + 2 * kv, s.d_model, x, proj.qkv[set], qkv);
        // Per (sequence, KV head): scores[L × group] = K[L × hd] · q_group[hd × group].
        batched_gemm(blas, CUBLAS_OP_T, l, group, s.head_dim, k_cache, s.head_dim, l * s.head_dim, qkv, s.head_dim, group * s.head_dim,
                     scores, l, l * group, b * s.kv_heads);
        softmax_rows(scores, b * s.heads, l);
        batched_gemm(blas, CUBLAS_OP_N, s.head_dim, group, l, v_cache, s.head_dim, l * s.head_dim, scores, l, l * group, out, s.head_dim,
                     group * s.head_dim, b * s.kv_heads);
        gemm_bf16(blas, b, s.d_model, q, out, proj.o[set], y);
      };
      w.line("attention_decode", shape_text(s, ", \"context\": " + std::to_string(l)), "tokens", static_cast<double>(b),
             time_calls(decode, 20, o.repetitions));
    }
  }
  for (auto* p : {x, qkv, k_cache, v_cache, scores, out, y}) cudaFree(p);
}

}  // namespace mc
