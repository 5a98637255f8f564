// moesim-calibrate: CUDA microbenchmarks that measure a real GPU and write
// moesim's measurement format (JSON Lines, docs/calibration.md):
//  * gated_mlp — the SwiGLU expert of each catalog shape (fused gate+up GEMM, SiLU·mul,
//    down GEMM; BF16 cuBLAS, FP32 accumulate) for 1 … 8192 tokens;
//  * memcpy_h2d / memcpy_d2h — pinned and pageable, 4 KiB … 1 GiB;
//  * p2p — device-to-device peer copies when two GPUs are visible;
//  * launch — an empty kernel's launch-to-completion time.
// Method: warm-up, CUDA events around batches of calls, weights rotated across enough
// copies to exceed twice the L2 cache, median / min / max over repetitions.
// Refuses to run (exit 2) with a clear message when no GPU is visible.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "moesim-calibrate: %s failed: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "moesim-calibrate: %s failed: cuBLAS status %d\n", what, static_cast<int>(s));
    std::exit(1);
  }
}

struct Stats {
  double median = 0, min = 0, max = 0;  // microseconds per call
};

// Times `calls` calls of `body` per repetition with CUDA events; per-call statistics.
template <class F>
Stats time_calls(F body, int calls, int repetitions) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  for (int i = 0; i < calls; ++i) body(i);  // warm-up
  check(cudaDeviceSynchronize(), "warm-up");
  std::vector<double> per_call;
  for (int r = 0; r < repetitions; ++r) {
    check(cudaEventRecord(start), "cudaEventRecord");
    for (int i = 0; i < calls; ++i) body(i);
    check(cudaEventRecord(stop), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    per_call.push_back(1e3 * ms / calls);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(per_call.begin(), per_call.end());
  return {per_call[per_call.size() / 2], per_call.front(), per_call.back()};
}

__global__ void silu_mul(const __nv_bfloat16* gate_up, __nv_bfloat16* out, long tokens, long f) {
  const long i = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (i >= tokens * f) return;
  const long t = i / f, j = i % f;
  const float g = __bfloat162float(gate_up[t * 2 * f + j]);
  const float u = __bfloat162float(gate_up[t * 2 * f + f + j]);
  out[i] = __float2bfloat16(g / (1.0f + __expf(-g)) * u);
}

__global__ void empty_kernel() {}

struct Writer {
  FILE* out;
  std::string device;
  void line(const char* op, const std::string& shape, const char* amount_key, double amount, Stats s) {
    std::fprintf(out,
                 "{\"op\": \"%s\", \"device\": \"%s\", \"dtype\": \"bf16\", \"shape\": {%s}, \"%s\": %.0f, "
                 "\"time_us\": {\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}, \"source\": \"moesim-calibrate\"}\n",
                 op, device.c_str(), shape.c_str(), amount_key, amount, s.median, s.min, s.max);
    std::fflush(out);
  }
};

void bench_gated_mlp(Writer& w, cublasHandle_t blas, long d, long f, const std::vector<long>& token_counts, long l2_bytes,
                     int repetitions) {
  const long weight_bytes = 3 * d * f * 2;
  const int copies = static_cast<int>(std::min<long>(16, std::max<long>(1, (2 * l2_bytes + weight_bytes - 1) / weight_bytes)));
  const long max_t = token_counts.back();
  std::vector<__nv_bfloat16*> w_gate_up(copies), w_down(copies);
  for (int c = 0; c < copies; ++c) {
    check(cudaMalloc(&w_gate_up[c], 2 * d * f * 2), "cudaMalloc weights");
    check(cudaMalloc(&w_down[c], f * d * 2), "cudaMalloc weights");
    check(cudaMemset(w_gate_up[c], 0, 2 * d * f * 2), "cudaMemset");
    check(cudaMemset(w_down[c], 0, f * d * 2), "cudaMemset");
  }
  __nv_bfloat16 *x, *h, *a, *y;
  check(cudaMalloc(&x, max_t * d * 2), "cudaMalloc");
  check(cudaMalloc(&h, max_t * 2 * f * 2), "cudaMalloc");
  check(cudaMalloc(&a, max_t * f * 2), "cudaMalloc");
  check(cudaMalloc(&y, max_t * d * 2), "cudaMalloc");
  check(cudaMemset(x, 0, max_t * d * 2), "cudaMemset");
  const float one = 1.0f, zero = 0.0f;
  for (long t : token_counts) {
    auto expert = [&](int i) {
      const int c = i % copies;
      // Row-major X[t,d]·W[d,2f] = H[t,2f] is, column-major, H^T = W^T · X^T.
      check(cublasGemmEx(blas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(2 * f), static_cast<int>(t), static_cast<int>(d), &one,
                         w_gate_up[c], CUDA_R_16BF, static_cast<int>(2 * f), x, CUDA_R_16BF, static_cast<int>(d), &zero, h,
                         CUDA_R_16BF, static_cast<int>(2 * f), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "gate/up GEMM");
      const long n = t * f;
      silu_mul<<<static_cast<unsigned>((n + 255) / 256), 256>>>(h, a, t, f);
      check(cublasGemmEx(blas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(d), static_cast<int>(t), static_cast<int>(f), &one,
                         w_down[c], CUDA_R_16BF, static_cast<int>(d), a, CUDA_R_16BF, static_cast<int>(f), &zero, y, CUDA_R_16BF,
                         static_cast<int>(d), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
            "down GEMM");
    };
    const int calls = t <= 256 ? 50 : 10;
    w.line("gated_mlp", "\"d_model\": " + std::to_string(d) + ", \"d_ff\": " + std::to_string(f), "tokens",
           static_cast<double>(t), time_calls(expert, calls, repetitions));
  }
  for (int c = 0; c < copies; ++c) {
    cudaFree(w_gate_up[c]);
    cudaFree(w_down[c]);
  }
  cudaFree(x);
  cudaFree(h);
  cudaFree(a);
  cudaFree(y);
}

void bench_memcpy(Writer& w, long max_bytes, int repetitions) {
  void* dev;
  void* pinned;
  check(cudaMalloc(&dev, max_bytes), "cudaMalloc");
  check(cudaMallocHost(&pinned, max_bytes), "cudaMallocHost");
  std::vector<char> pageable(static_cast<std::size_t>(max_bytes));
  for (long b = 4096; b <= max_bytes; b *= 4) {
    const int calls = b <= (1 << 20) ? 50 : 5;
    for (int pin : {1, 0}) {
      void* host = pin ? pinned : pageable.data();
      const std::string shape = "\"pinned\": " + std::to_string(pin);
      w.line("memcpy_h2d", shape, "bytes", static_cast<double>(b),
             time_calls([&](int) { check(cudaMemcpy(dev, host, b, cudaMemcpyHostToDevice), "H2D"); }, calls, repetitions));
      w.line("memcpy_d2h", shape, "bytes", static_cast<double>(b),
             time_calls([&](int) { check(cudaMemcpy(host, dev, b, cudaMemcpyDeviceToHost), "D2H"); }, calls, repetitions));
    }
  }
  cudaFree(dev);
  cudaFreeHost(pinned);
}

void bench_peer(Writer& w, long max_bytes, int repetitions) {
  int can = 0;
  check(cudaDeviceCanAccessPeer(&can, 0, 1), "cudaDeviceCanAccessPeer");
  void *a, *b;
  check(cudaSetDevice(1), "cudaSetDevice");
  check(cudaMalloc(&b, max_bytes), "cudaMalloc");
  if (can) cudaDeviceEnablePeerAccess(0, 0);
  check(cudaSetDevice(0), "cudaSetDevice");
  check(cudaMalloc(&a, max_bytes), "cudaMalloc");
  if (can) cudaDeviceEnablePeerAccess(1, 0);
  for (long n = 4096; n <= max_bytes; n *= 4) {
    w.line("p2p", "\"same_node\": 1", "bytes", static_cast<double>(n),
           time_calls([&](int) { check(cudaMemcpyPeer(b, 1, a, 0, n), "cudaMemcpyPeer"); }, n <= (1 << 20) ? 50 : 5, repetitions));
  }
  cudaFree(a);
  cudaSetDevice(1);
  cudaFree(b);
  cudaSetDevice(0);
}

}  // namespace

int main(int argc, char** argv) {
  const char* out_path = nullptr;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
      out_path = argv[++i];
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: moesim-calibrate [-o measurements.jsonl] [--quick]\n");
      return 2;
    }
  }
  int devices = 0;
  const cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess || devices == 0) {
    std::fprintf(stderr, "moesim-calibrate: no CUDA GPU is visible (%s); run it on a machine with an NVIDIA GPU\n",
                 e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
    return 2;
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  FILE* out = out_path ? std::fopen(out_path, "w") : stdout;
  if (!out) {
    std::fprintf(stderr, "moesim-calibrate: cannot write %s\n", out_path);
    return 2;
  }
  std::fprintf(out,
               "{\"header\": {\"device\": \"%s\", \"devices\": %d, \"sms\": %d, \"memory_bytes\": %zu, \"l2_bytes\": %d, "
               "\"driver\": %d, \"cuda_runtime\": %d, \"timestamp\": %ld, \"tool\": \"moesim-calibrate\"}}\n",
               prop.name, devices, prop.multiProcessorCount, prop.totalGlobalMem, prop.l2CacheSize, driver, runtime,
               static_cast<long>(std::time(nullptr)));
  Writer w{out, prop.name};
  const int repetitions = quick ? 3 : 7;
  w.line("launch", "", "tokens", 1, time_calls([](int) { empty_kernel<<<1, 1>>>(); }, 1000, repetitions));
  cublasHandle_t blas;
  check(cublasCreate(&blas), "cublasCreate");
  std::vector<long> tokens;
  for (long t = 1; t <= 8192; t *= 2) {
    tokens.push_back(t);
    if (t >= 4 && t < 8192) tokens.push_back(t + t / 2);
  }
  std::sort(tokens.begin(), tokens.end());
  // Expert shapes of the catalog (d_model, d_ff): Mixtral, Phi-3.5-MoE, Qwen3-30B/235B, DeepSeek-V3, Llama-4, OLMoE.
  const long shapes[][2] = {{4096, 14336}, {4096, 6400}, {2048, 768}, {4096, 1536}, {7168, 2048}, {5120, 8192}, {2048, 1024}};
  for (const auto& s : shapes) {
    bench_gated_mlp(w, blas, s[0], s[1], tokens, prop.l2CacheSize, repetitions);
    if (quick) break;
  }
  cublasDestroy(blas);
  bench_memcpy(w, quick ? (64L << 20) : (1L << 30), repetitions);
  if (devices >= 2) bench_peer(w, quick ? (64L << 20) : (1L << 30), repetitions);
  if (out != stdout) std::fclose(out);
  return 0;
}
