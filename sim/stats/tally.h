#pragma once
// Observation statistics: count, mean, variance (Welford's update, numerically
// stable for long runs), min and max.
#include <cstdint>
#include <limits>

namespace moesim::sim {

class Tally {
 public:
  void add(double x) {
    ++count_;
    const double delta = x - mean_;
    mean_ += delta / static_cast<double>(count_);
    m2_ += delta * (x - mean_);
    if (x < min_) min_ = x;
    if (x > max_) max_ = x;
  }
  void reset() { *this = Tally{}; }

  std::uint64_t count() const { return count_; }
  double mean() const { return mean_; }
  // Sample variance (n - 1 in the denominator); 0 for fewer than two observations.
  double variance() const { return count_ > 1 ? m2_ / static_cast<double>(count_ - 1) : 0.0; }
  double min() const { return min_; }
  double max() const { return max_; }

 private:
  std::uint64_t count_ = 0;
  double mean_ = 0.0;
  double m2_ = 0.0;
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
};

// A plain event counter with a reset for warm-up deletion.
class Counter {
 public:
  void add(std::uint64_t n = 1) { value_ += n; }
  void reset() { value_ = 0; }
  std::uint64_t value() const { return value_; }

 private:
  std::uint64_t value_ = 0;
};

}  // namespace moesim::sim
