// Copies and launch overhead: host↔device (pinned and pageable), device-local
// copies (HBM read + write), peer copies between two GPUs, an empty kernel.
#include <string>

#include "benches.cuh"

namespace mc {
namespace {

__global__ void empty_kernel() {}

int calls_for(long bytes) { return bytes <= (1L << 20) ? 50 : 5; }

}  // namespace

void bench_memcpy(Writer& w, long max_bytes, const Options& o) {
  void *dev, *dev2, *pinned;
  check(cudaMalloc(&dev, max_bytes), "cudaMalloc");
  check(cudaMalloc(&dev2, max_bytes), "cudaMalloc");
  check(cudaMallocHost(&pinned, max_bytes), "cudaMallocHost");
  std::vector<char> pageable(static_cast<std::size_t>(max_bytes), 1);
  for (long b = 4096; b <= max_bytes; b *= 4) {
    for (int pin : {1, 0}) {
      void* host = pin ? pinned : pageable.data();
      const std::string shape = "\"pinned\": " + std::to_string(pin);
      w.line("memcpy_h2d", shape, "bytes", static_cast<double>(b),
             time_calls([&](int) { check(cudaMemcpy(dev, host, b, cudaMemcpyHostToDevice), "H2D"); }, calls_for(b), o.repetitions));
      w.line("memcpy_d2h", shape, "bytes", static_cast<double>(b),
             time_calls([&](int) { check(cudaMemcpy(host, dev, b, cudaMemcpyDeviceToHost), "D2H"); }, calls_for(b), o.repetitions));
    }
    w.line("memcpy_d2d", "", "bytes", static_cast<double>(b),
           time_calls([&](int) { check(cudaMemcpyAsync(dev2, dev, b, cudaMemcpyDeviceToDevice), "D2D"); }, calls_for(b), o.repetitions));
  }
  cudaFree(dev);
  cudaFree(dev2);
  cudaFreeHost(pinned);
}

void bench_peer(Writer& w, long max_bytes, const Options& o) {
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
           time_calls([&](int) { check(cudaMemcpyPeer(b, 1, a, 0, n), "cudaMemcpyPeer"); }, calls_for(n), o.repetitions));
  }
  cudaFree(a);
  cudaSetDevice(1);
  cudaFree(b);
  cudaSetDevice(0);
}

void bench_launch(Writer& w, const Options& o) {
  w.line("launch", "", "tokens", 1, time_calls([](int) { empty_kernel<<<1, 1>>>(); }, 1000, o.repetitions));
}

}  // namespace mc
