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

  std::uint64_t next_u64();
  double uniform01();                       // [0, 1)
  double uniform(double lo, double hi);     // [lo, hi)
  std::uint64_t uniform_int(std::uint64_t n);  // [0, n), unbiased; n > 0
  bool bernoulli(double p);
  double exponential(double rate);          // mean 1/rate
  double standard_exponential();            // mean 1 (ziggurat, no logarithm on the fast path)
  double normal(double mean = 0.0, double stddev = 1.0);
  double lognormal(double mu, double sigma);
  double gamma(double shape, double scale);  // Marsaglia–Tsang
  double pareto(double scale, double shape);  // x_m = scale, tail index = shape

 private:
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
