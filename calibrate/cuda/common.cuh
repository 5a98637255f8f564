#pragma once
// Shared by the CUDA microbenchmarks: error checks, CUDA-event timing with
// percentiles, the JSON-Lines writer (moesim's measurement format,
// docs/calibration.md), random BF16 fills and optional NVML readings.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <string>
#include <vector>

namespace mc {

void check(cudaError_t e, const char* what);
void check(cublasStatus_t s, const char* what);

struct Stats {
  double median = 0, min = 0, max = 0, p10 = 0, p90 = 0;  // microseconds per call
};

// Times `calls` calls of `body(i)` per repetition with CUDA events around the batch
// (after one untimed batch of warm-up); per-call statistics over the repetitions.
template <class F>
Stats time_calls(F body, int calls, int repetitions);

// Per-call statistics from per-repetition times (sorted in place).
Stats summarize(std::vector<double>& per_call);

// Device buffers filled with small random BF16 values: zeros make tensor cores
// measurably faster (less switching), so timings on zeros would flatter the GPU.
__nv_bfloat16* random_bf16(std::size_t elements, unsigned seed);
void fill_random_bf16(__nv_bfloat16* p, std::size_t elements, unsigned seed);

// Clocks, temperature and power of one GPU when NVML is loadable (libnvidia-ml.so.1,
// opened at run time so the binary needs no NVML at build or link time); else empty.
std::string nvml_reading(int device);

struct Writer {
  FILE* out = nullptr;
  std::string device;
  // One measurement line; `extra` is inserted verbatim as further top-level fields.
  void line(const char* op, const std::string& shape, const char* amount_key, double amount, const Stats& s,
            const std::string& extra = "");
};

struct Options {
  int repetitions = 11;
  bool quick = false;
  long l2_bytes = 0;
};

template <class F>
Stats time_calls(F body, int calls, int repetitions) {
  cudaEvent_t start, stop;
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  for (int i = 0; i < calls; ++i) body(i);  // warm-up: clocks up, cuBLAS heuristics cached
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
  return summarize(per_call);
}

// Row-major C[m,n] = A[m,k]·B[k,n] in BF16 with FP32 accumulation (column-major
// cuBLAS computes C^T = B^T·A^T).
void gemm_bf16(cublasHandle_t blas, long m, long n, long k, const __nv_bfloat16* a, const __nv_bfloat16* b, __nv_bfloat16* c);

// In-place softmax over each of `rows` rows of length `cols` (FP32 arithmetic).
void softmax_rows(__nv_bfloat16* x, long rows, long cols);

}  // namespace mc
