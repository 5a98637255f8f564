#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>

#include "common.cuh"

namespace mc {

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

Stats summarize(std::vector<double>& per_call) {
  std::sort(per_call.begin(), per_call.end());
  const std::size_t n = per_call.size();
  auto at = [&](double q) { return per_call[static_cast<std::size_t>(q * static_cast<double>(n - 1) + 0.5)]; };
  return {per_call[n / 2], per_call.front(), per_call.back(), at(0.1), at(0.9)};
}

namespace {

__global__ void fill_kernel(__nv_bfloat16* p, std::size_t n, unsigned seed) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  // A 32-bit integer hash (Wang-style mixing) to a value in [-0.05, 0.05).
  unsigned h = static_cast<unsigned>(i) * 2654435761u ^ seed;
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  p[i] = __float2bfloat16((static_cast<float>(h & 0xffffffu) / 16777216.0f - 0.5f) * 0.1f);
}

__global__ void softmax_kernel(__nv_bfloat16* x, long cols) {
  __nv_bfloat16* row = x + blockIdx.x * cols;
  __shared__ float scratch[32];
  float m = -1e30f;
  for (long j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, __bfloat162float(row[j]));
  for (int o = 16; o > 0; o /= 2) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = m;
  __syncthreads();
  m = scratch[0];
  for (int w = 1; w < static_cast<int>(blockDim.x / 32); ++w) m = fmaxf(m, scratch[w]);
  __syncthreads();
  float s = 0;
  for (long j = threadIdx.x; j < cols; j += blockDim.x) s += __expf(__bfloat162float(row[j]) - m);
  for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = s;
  __syncthreads();
  s = 0;
  for (int w = 0; w < static_cast<int>(blockDim.x / 32); ++w) s += scratch[w];
  const float inv = 1.0f / s;
  for (long j = threadIdx.x; j < cols; j += blockDim.x) row[j] = __float2bfloat16(__expf(__bfloat162float(row[j]) - m) * inv);
}

// The few NVML entry points used, resolved by dlopen (signatures from NVML's API).
struct Nvml {
  using Device = void*;
  int (*init)() = nullptr;
  int (*handle)(unsigned, Device*) = nullptr;
  int (*clock)(Device, int, unsigned*) = nullptr;
  int (*temperature)(Device, int, unsigned*) = nullptr;
  int (*power)(Device, unsigned*) = nullptr;
  bool ok = false;
  Nvml() {
    void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    if (!lib) return;
    init = reinterpret_cast<int (*)()>(dlsym(lib, "nvmlInit_v2"));
    handle = reinterpret_cast<int (*)(unsigned, Device*)>(dlsym(lib, "nvmlDeviceGetHandleByIndex_v2"));
    clock = reinterpret_cast<int (*)(Device, int, unsigned*)>(dlsym(lib, "nvmlDeviceGetClockInfo"));
    temperature = reinterpret_cast<int (*)(Device, int, unsigned*)>(dlsym(lib, "nvmlDeviceGetTemperature"));
    power = reinterpret_cast<int (*)(Device, unsigned*)>(dlsym(lib, "nvmlDeviceGetPowerUsage"));
    ok = init && handle && clock && temperature && power && init() == 0;
  }
};

}  // namespace

void fill_random_bf16(__nv_bfloat16* p, std::size_t elements, unsigned seed) {
  fill_kernel<<<static_cast<unsigned>((elements + 255) / 256), 256>>>(p, elements, seed);
  check(cudaGetLastError(), "fill kernel");
}

__nv_bfloat16* random_bf16(std::size_t elements, unsigned seed) {
  __nv_bfloat16* p = nullptr;
  check(cudaMalloc(&p, elements * sizeof(__nv_bfloat16)), "cudaMalloc");
  fill_random_bf16(p, elements, seed);
  return p;
}

std::string nvml_reading(int device) {
  static Nvml nvml;
  if (!nvml.ok) return "";
  Nvml::Device d = nullptr;
  unsigned sm = 0, mem = 0, temp = 0, mw = 0;
  if (nvml.handle(static_cast<unsigned>(device), &d) != 0) return "";
  // NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2, NVML_TEMPERATURE_GPU = 0.
  if (nvml.clock(d, 1, &sm) != 0 || nvml.clock(d, 2, &mem) != 0 || nvml.temperature(d, 0, &temp) != 0 || nvml.power(d, &mw) != 0) {
    return "";
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, "\"nvml\": {\"sm_clock_mhz\": %u, \"mem_clock_mhz\": %u, \"temperature_c\": %u, \"power_w\": %.1f}", sm,
                mem, temp, mw / 1000.0);
  return buf;
}

void Writer::line(const char* op, const std::string& shape, const char* amount_key, double amount, const Stats& s,
                  const std::string& extra) {
  std::fprintf(out,
               "{\"op\": \"%s\", \"device\": \"%s\", \"dtype\": \"bf16\", \"shape\": {%s}, \"%s\": %.0f, "
               "\"time_us\": {\"median\": %.3f, \"min\": %.3f, \"max\": %.3f, \"p10\": %.3f, \"p90\": %.3f}, "
               "\"source\": \"moesim-calibrate\"%s%s}\n",
               op, device.c_str(), shape.c_str(), amount_key, amount, s.median, s.min, s.max, s.p10, s.p90, extra.empty() ? "" : ", ",
               extra.c_str());
  std::fflush(out);
}

void gemm_bf16(cublasHandle_t blas, long m, long n, long k, const __nv_bfloat16* a, const __nv_bfloat16* b, __nv_bfloat16* c) {
  const float one = 1.0f, zero = 0.0f;
  check(cublasGemmEx(blas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &one, b, CUDA_R_16BF,
                     static_cast<int>(n), a, CUDA_R_16BF, static_cast<int>(k), &zero, c, CUDA_R_16BF, static_cast<int>(n),
                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
        "cublasGemmEx");
}

void softmax_rows(__nv_bfloat16* x, long rows, long cols) {
  softmax_kernel<<<static_cast<unsigned>(rows), 256>>>(x, cols);
}

}  // namespace mc
