#pragma once
// Reproducible randomness. One master seed; each entity draws from its own named
// stream whose state depends only on (seed, name), so adding a GPU or a request
// class does not shift anybody else's numbers. The generator is xoshiro256**
// (Blackman & Vigna), seeded through SplitMix64. Distributions are implemented
// here rather than taken from <random>, whose algorithms differ between standard
// libraries: the same seed must give the same run on every machine.
#include <cstdint>
#include <string_view>

namespace moesim::sim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  // The generator and the two draws hot loops make per sample are inline here
  // (per-token routing makes hundreds per token: docs/performance.md).
  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  double uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi);     // [lo, hi)
  // [0, n), unbiased (Lemire's nearly divisionless method); n > 0.
  std::uint64_t uniform_int(std::uint64_t n) {
    if (n == 0) throw_empty_range();
    __uint128_t m = static_cast<__uint128_t>(next_u64()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next_u64()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }
  bool bernoulli(double p);
  double exponential(double rate);          // mean 1/rate
  double standard_exponential();            // mean 1 (ziggurat, no logarithm on the fast path)
  double normal(double mean = 0.0, double stddev = 1.0);
  double lognormal(double mu, double sigma);
  double gamma(double shape, double scale);  // Marsaglia–Tsang
  double pareto(double scale, double shape);  // x_m = scale, tail index = shape

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  [[noreturn]] static void throw_empty_range();
  std::uint64_t s_[4];
  double spare_normal_ = 0.0;
  bool has_spare_ = false;
};

class RngStreams {
 public:
  explicit RngStreams(std::uint64_t master_seed) : seed_(master_seed) {}
  std::uint64_t master_seed() const { return seed_; }
  // A fresh generator for `name`; the same name always gives the same stream.
  Rng stream(std::string_view name) const;
  Rng stream(std::string_view name, std::uint64_t index) const;

 private:
  std::uint64_t seed_;
};

std::uint64_t splitmix64(std::uint64_t& state);
// FNV-1a; pass the previous result as `h` to hash data that arrives in pieces.
inline constexpr std::uint64_t kFnv1aOffset = 0xcbf29ce484222325ULL;
std::uint64_t fnv1a64(std::string_view s, std::uint64_t h = kFnv1aOffset);

}  // namespace moesim::sim
