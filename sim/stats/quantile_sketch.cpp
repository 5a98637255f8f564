#include "sim/stats/quantile_sketch.h"

#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace moesim::sim {

QuantileSketch::QuantileSketch(double relative_accuracy, std::size_t max_buckets)
    : alpha_(relative_accuracy), max_buckets_(max_buckets) {
  if (!(relative_accuracy > 0.0 && relative_accuracy < 1.0)) {
    throw std::invalid_argument("quantile sketch relative accuracy must be in (0, 1)");
  }
  if (max_buckets < 2) throw std::invalid_argument("quantile sketch needs at least 2 buckets");
  gamma_ = (1.0 + alpha_) / (1.0 - alpha_);
  log_gamma_ = std::log(gamma_);
}

int QuantileSketch::key_of(double value) const { return static_cast<int>(std::ceil(std::log(value) / log_gamma_)); }

int QuantileSketch::cached_key(double value) {
  // Integer nanoseconds leave the low mantissa bits zero: a multiplicative hash
  // takes the slot from all of them.
  const auto bits = std::bit_cast<std::uint64_t>(value);
  CachedKey& slot = key_cache_[static_cast<std::size_t>((bits * 0x9E3779B97F4A7C15ULL) >> 59)];
  if (slot.value != value) slot = CachedKey{value, key_of(value)};
  return slot.key;
}

double QuantileSketch::value_of(int key) const { return 2.0 * std::pow(gamma_, key) / (gamma_ + 1.0); }

void QuantileSketch::ensure_key(int key) {
  if (counts_.empty()) {
    counts_.assign(1, 0);
    offset_ = key;
    return;
  }
  if (key < offset_) {
    const std::size_t grow = static_cast<std::size_t>(offset_ - key);
    counts_.insert(counts_.begin(), grow, 0);
    offset_ = key;
  } else if (key >= offset_ + static_cast<int>(counts_.size())) {
    counts_.resize(static_cast<std::size_t>(key - offset_ + 1), 0);
  }
  if (counts_.size() > max_buckets_) {
    // Merge the lowest buckets into the first one that stays.
    const std::size_t excess = counts_.size() - max_buckets_;
    std::uint64_t merged = 0;
    for (std::size_t i = 0; i <= excess; ++i) merged += counts_[i];
    counts_.erase(counts_.begin(), counts_.begin() + static_cast<std::ptrdiff_t>(excess));
    counts_[0] = merged;
    offset_ += static_cast<int>(excess);
    collapsed_ = true;
  }
}

void QuantileSketch::add(double value, std::uint64_t count) {
  if (!(value >= 0.0) || !std::isfinite(value)) {
    throw std::invalid_argument("quantile sketch accepts finite non-negative values, got " + std::to_string(value));
  }
  count_ += count;
  if (value == 0.0 || value < std::numeric_limits<double>::min()) {
    zero_count_ += count;
    return;
  }
  int key = cached_key(value);
  if (collapsed_ && key < offset_) key = offset_;
  ensure_key(key);
  counts_[static_cast<std::size_t>(key - offset_)] += count;
}

void QuantileSketch::merge(const QuantileSketch& other) {
  if (other.alpha_ != alpha_) throw std::invalid_argument("merging quantile sketches of different accuracy");
  zero_count_ += other.zero_count_;
  count_ += other.count_;
  collapsed_ = collapsed_ || other.collapsed_;
  for (std::size_t i = 0; i < other.counts_.size(); ++i) {
    if (other.counts_[i] == 0) continue;
    int key = other.offset_ + static_cast<int>(i);
    if (collapsed_ && !counts_.empty() && key < offset_) key = offset_;
    ensure_key(key);
    counts_[static_cast<std::size_t>(key - offset_)] += other.counts_[i];
  }
}

void QuantileSketch::reset() {
  counts_.clear();
  offset_ = 0;
  zero_count_ = 0;
  count_ = 0;
  collapsed_ = false;
}

double QuantileSketch::quantile(double q) const {
  if (!(q >= 0.0 && q <= 1.0)) throw std::invalid_argument("quantile must be in [0, 1]");
  if (count_ == 0) return 0.0;
  // Rank of the exact sample this estimate stands for (0-based, lower).
  const auto rank = static_cast<std::uint64_t>(std::floor(q * static_cast<double>(count_ - 1)));
  if (rank < zero_count_) return 0.0;
  std::uint64_t seen = zero_count_;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen > rank) return value_of(offset_ + static_cast<int>(i));
  }
  return value_of(offset_ + static_cast<int>(counts_.size()) - 1);
}

}  // namespace moesim::sim
