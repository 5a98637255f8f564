// Expert FFN microbenchmarks: one SwiGLU expert (fused gate+up GEMM, SiLU·mul, down
// GEMM) per catalog shape; several experts run back to back on one GPU (the way a
// serving engine without a grouped-GEMM kernel runs a GPU's experts); and the spread
// runs — the same two configurations repeated on every GPU with NVML readings.
#include <algorithm>
#include <string>

#include "benches.cuh"

namespace mc {
namespace {

__global__ void silu_mul(const __nv_bfloat16* gate_up, __nv_bfloat16* out, long tokens, long f) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= tokens * f) return;
  const long t = i / f, j = i % f;
  const float g = __bfloat162float(gate_up[t * 2 * f + j]);
  const float u = __bfloat162float(gate_up[t * 2 * f + f + j]);
  out[i] = __float2bfloat16(g / (1.0f + __expf(-g)) * u);
}

// Weight sets of one expert shape, enough of them that rotating through the sets
// streams more than twice the L2 cache (so small-token runs read weights from HBM).
struct Experts {
  long d, f;
  std::vector<__nv_bfloat16*> gate_up, down;
  Experts(long d_model, long d_ff, int at_least, long l2_bytes) : d(d_model), f(d_ff) {
    const long weight_bytes = 3 * d * f * 2;
    const long for_l2 = (2 * l2_bytes + weight_bytes - 1) / weight_bytes;
    const int sets = static_cast<int>(std::max<long>(at_least, std::min<long>(16, std::max<long>(1, for_l2))));
    for (int s = 0; s < sets; ++s) {
      gate_up.push_back(random_bf16(static_cast<std::size_t>(2 * d * f), 100 + 2 * s));
      down.push_back(random_bf16(static_cast<std::size_t>(f * d), 101 + 2 * s));
    }
  }
  ~Experts() {
    for (auto* p : gate_up) cudaFree(p);
    for (auto* p : down) cudaFree(p);
  }
  int sets() const { return static_cast<int>(gate_up.size()); }
};

// Activations for up to `max_tokens` tokens.
struct Activations {
  __nv_bfloat16 *x, *h, *a, *y;
  Activations(long d, long f, long max_tokens) {
    x = random_bf16(static_cast<std::size_t>(max_tokens * d), 7);
    h = random_bf16(static_cast<std::size_t>(max_tokens * 2 * f), 8);
    a = random_bf16(static_cast<std::size_t>(max_tokens * f), 9);
    y = random_bf16(static_cast<std::size_t>(max_tokens * d), 10);
  }
  ~Activations() {
    cudaFree(x);
    cudaFree(h);
    cudaFree(a);
    cudaFree(y);
  }
};

void run_expert(cublasHandle_t blas, const Experts& e, int set, const Activations& act, long t) {
  gemm_bf16(blas, t, 2 * e.f, e.d, act.x, e.gate_up[set], act.h);
  const long n = t * e.f;
  silu_mul<<<static_cast<unsigned>((n + 255) / 256), 256>>>(act.h, act.a, t, e.f);
  gemm_bf16(blas, t, e.d, e.f, act.a, e.down[set], act.y);
}

std::string mlp_shape(long d, long f) { return "\"d_model\": " + std::to_string(d) + ", \"d_ff\": " + std::to_string(f); }

int calls_for(long tokens) { return tokens <= 256 ? 50 : 10; }

}  // namespace

void bench_gated_mlp(Writer& w, cublasHandle_t blas, long d, long f, const std::vector<long>& token_counts, const Options& o) {
  Experts e(d, f, 1, o.l2_bytes);
  Activations act(d, f, token_counts.back());
  for (long t : token_counts) {
    w.line("gated_mlp", mlp_shape(d, f), "tokens", static_cast<double>(t),
           time_calls([&](int i) { run_expert(blas, e, i % e.sets(), act, t); }, calls_for(t), o.repetitions));
  }
}

void bench_grouped_mlp(Writer& w, cublasHandle_t blas, long d, long f, const std::vector<int>& expert_counts,
                       const std::vector<long>& tokens_per_expert, const Options& o) {
  const int most = *std::max_element(expert_counts.begin(), expert_counts.end());
  Experts e(d, f, most, o.l2_bytes);
  Activations act(d, f, *std::max_element(tokens_per_expert.begin(), tokens_per_expert.end()));
  for (int experts : expert_counts) {
    for (long t : tokens_per_expert) {
      auto group = [&](int call) {
        for (int k = 0; k < experts; ++k) run_expert(blas, e, (call * experts + k) % e.sets(), act, t);
      };
      w.line("grouped_mlp", mlp_shape(d, f) + ", \"experts\": " + std::to_string(experts), "tokens", static_cast<double>(t),
             time_calls(group, std::max(2, calls_for(t) / experts), o.repetitions));
    }
  }
}

void bench_spread(Writer& w, cublasHandle_t blas, int devices, long d, long f, const std::vector<long>& token_counts, int repeats,
                  const Options& o) {
  for (int dev = 0; dev < devices; ++dev) {
    check(cudaSetDevice(dev), "cudaSetDevice");
    cublasHandle_t handle = blas;
    if (dev != 0) check(cublasCreate(&handle), "cublasCreate");
    {
      Experts e(d, f, 1, o.l2_bytes);
      Activations act(d, f, token_counts.back());
      for (int r = 0; r < repeats; ++r) {
        for (long t : token_counts) {
          const Stats s = time_calls([&](int i) { run_expert(handle, e, i % e.sets(), act, t); }, calls_for(t), 3);
          const std::string reading = nvml_reading(dev);
          w.line("gated_mlp", mlp_shape(d, f) + ", \"spread\": 1, \"gpu\": " + std::to_string(dev) + ", \"repeat\": " + std::to_string(r),
                 "tokens", static_cast<double>(t), s, reading);
        }
      }
    }
    if (dev != 0) cublasDestroy(handle);
  }
  check(cudaSetDevice(0), "cudaSetDevice");
}

}  // namespace mc
