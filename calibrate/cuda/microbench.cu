// moesim-calibrate: CUDA microbenchmarks that measure a real GPU and write moesim's
// measurement format (JSON Lines, docs/calibration.md): expert FFNs of the catalog
// shapes (alone and several back to back), attention prefill/decode stand-ins,
// host↔device / device-local / peer copies, launch overhead, and spread runs with
// NVML clocks, temperature and power. Method: warm-up, CUDA events around batches
// of calls, weights rotated across enough copies to exceed twice the L2 cache,
// random BF16 data, median / p10 / p90 / min / max over repetitions.
// Refuses to run (exit 2) with a clear message when no GPU is visible.
#include <algorithm>
#include <cstdio>
#include <string>
#include <cstring>
#include <ctime>

#include "benches.cuh"

int main(int argc, char** argv) {
  const char* out_path = nullptr;
  mc::Options o;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
      out_path = argv[++i];
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      o.quick = true;
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
  mc::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  // Lines go to <path>.partial as they are measured (an interrupted run keeps what it
  // measured, under a name no reader mistakes for a whole run) and are renamed at the end.
  const std::string partial = out_path ? std::string(out_path) + ".partial" : "";
  FILE* out = out_path ? std::fopen(partial.c_str(), "w") : stdout;
  if (!out) {
    std::fprintf(stderr, "moesim-calibrate: cannot write %s\n", partial.c_str());
    return 2;
  }
  const std::string reading = mc::nvml_reading(0);
  std::fprintf(out,
               "{\"header\": {\"device\": \"%s\", \"devices\": %d, \"sms\": %d, \"memory_bytes\": %zu, \"l2_bytes\": %d, "
               "\"driver\": %d, \"cuda_runtime\": %d, \"timestamp\": %ld, \"tool\": \"moesim-calibrate\"%s%s}}\n",
               prop.name, devices, prop.multiProcessorCount, prop.totalGlobalMem, prop.l2CacheSize, driver, runtime,
               static_cast<long>(std::time(nullptr)), reading.empty() ? "" : ", ", reading.c_str());
  mc::Writer w{out, prop.name};
  o.l2_bytes = prop.l2CacheSize;
  if (o.quick) o.repetitions = 3;
  mc::bench_launch(w, o);
  cublasHandle_t blas;
  mc::check(cublasCreate(&blas), "cublasCreate");
  std::vector<long> tokens;
  for (long t = 1; t <= 8192; t *= 2) {
    tokens.push_back(t);
    if (t >= 4 && t < 8192) tokens.push_back(t + t / 2);
  }
  std::sort(tokens.begin(), tokens.end());
  // Expert shapes of the catalog (d_model, d_ff): Mixtral, Phi-3.5-MoE, Qwen3-30B/235B, DeepSeek-V3, Llama-4, OLMoE,
  // and Vidur's measured width (LLaMA-2-7B MLP) so the H100 data has an H200 counterpart.
  const long shapes[][2] = {{4096, 14336}, {4096, 6400}, {2048, 768}, {4096, 1536}, {7168, 2048}, {5120, 8192}, {2048, 1024}, {4096, 11008}};
  for (const auto& s : shapes) {
    mc::bench_gated_mlp(w, blas, s[0], s[1], tokens, o);
    if (o.quick) break;
  }
  mc::bench_grouped_mlp(w, blas, 4096, 14336, {2, 4, 8}, {1, 16, 128, 1024}, o);
  if (!o.quick) mc::bench_grouped_mlp(w, blas, 2048, 768, {8, 32}, {1, 16, 128, 1024}, o);
  // Attention shapes (d_model, heads, kv_heads, head_dim): Mixtral/Phi-3.5, Qwen3-30B, Llama-4.
  const mc::AttentionShape attention[] = {{4096, 32, 8, 128}, {2048, 32, 4, 128}, {5120, 40, 8, 128}};
  for (const auto& a : attention) {
    mc::bench_attention_prefill(w, blas, a, {128, 256, 512, 1024, 2048, 4096}, o);
    mc::bench_attention_decode(w, blas, a, {1, 4, 16, 64, 256}, {512, 2048, 8192}, o);
    if (o.quick) break;
  }
  mc::bench_spread(w, blas, devices, 4096, 14336, {16, 2048}, o.quick ? 3 : 20, o);
  mc::check(cublasDestroy(blas), "cublasDestroy");
  mc::bench_memcpy(w, o.quick ? (64L << 20) : (1L << 30), o);
  if (devices >= 2) mc::bench_peer(w, o.quick ? (64L << 20) : (1L << 30), o);
  if (out != stdout) {
    if (std::fclose(out) != 0 || std::rename(partial.c_str(), out_path) != 0) {
      std::fprintf(stderr, "moesim-calibrate: cannot write %s\n", out_path);
      return 1;
    }
  }
  return 0;
}
