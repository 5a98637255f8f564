#pragma once
// Streaming quantiles with bounded relative error and bounded memory: a
// logarithmically bucketed histogram (the DDSketch construction, Masson et al.,
// VLDB 2019). Bucket i covers (gamma^(i-1), gamma^i] with gamma = (1+a)/(1-a);
// reporting 2·gamma^i/(gamma+1) is within relative error a of every value in the
// bucket, so the q-quantile is within a of the exact sample at rank floor(q·(n-1)).
//
// Memory is at most `max_buckets` counters. When the range of values needs more,
// the lowest buckets are merged into one: high quantiles (the tail latencies a
// serving study cares about) keep their guarantee, the merged low range loses it.
// With the defaults (a = 0.5%, 4096 buckets) one sketch spans a ratio of 1e17
// between smallest and largest value before any merging happens.
#include <array>
#include <cstdint>
#include <vector>

namespace moesim::sim {

class QuantileSketch {
 public:
  explicit QuantileSketch(double relative_accuracy = 0.005, std::size_t max_buckets = 4096);

  // Records a non-negative finite value (zeros are counted exactly).
  void add(double value, std::uint64_t count = 1);
  // Combines another sketch with the same accuracy.
  void merge(const QuantileSketch& other);
  void reset();

  // q in [0, 1]; 0 when empty.
  double quantile(double q) const;
  std::uint64_t count() const { return count_; }
  double relative_accuracy() const { return alpha_; }
  bool collapsed() const { return collapsed_; }
  std::size_t bucket_count() const { return counts_.size(); }

 private:
  int key_of(double value) const;
  // key_of() through a small direct-mapped cache of exact values: simulated
  // durations repeat (memoised stage times), and the logarithm was most of add().
  int cached_key(double value);
  double value_of(int key) const;
  void ensure_key(int key);

  double alpha_;
  double gamma_;
  double log_gamma_;
  std::size_t max_buckets_;
  std::vector<std::uint64_t> counts_;  // counts_[i] is bucket key offset_ + i
  int offset_ = 0;
  std::uint64_t zero_count_ = 0;
  std::uint64_t count_ = 0;
  bool collapsed_ = false;
  struct CachedKey {
    double value = -1.0;  // never a recorded value (those are >= 0; 0 has no key)
    int key = 0;
  };
  std::array<CachedKey, 32> key_cache_{};
};

}  // namespace moesim::sim
