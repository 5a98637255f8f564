#pragma once
// Time average of a piecewise-constant quantity (queue length, busy servers, link
// rate): the integral of the value over time divided by the elapsed time.
#include "sim/time.h"

namespace moesim::sim {

class TimeWeighted {
 public:
  TimeWeighted() = default;
  explicit TimeWeighted(Time start, double value = 0.0) : start_(start), last_(start), value_(value) {}

  // The quantity changes to `value` at time `now` (now >= the previous change).
  void set(Time now, double value) {
    advance(now);
    value_ = value;
  }
  void add(Time now, double delta) { set(now, value_ + delta); }

  // Restarts the average at `now` keeping the current value (warm-up deletion).
  void reset(Time now) {
    start_ = now;
    last_ = now;
    integral_ = 0.0;
  }

  double current() const { return value_; }
  // Integral of the value over [start, now], in value·ns.
  double integral(Time now) const { return integral_ + value_ * static_cast<double>(now - last_); }
  double mean(Time now) const {
    const Time span = now - start_;
    return span > 0 ? integral(now) / static_cast<double>(span) : value_;
  }

 private:
  void advance(Time now) {
    integral_ += value_ * static_cast<double>(now - last_);
    last_ = now;
  }

  Time start_ = 0;
  Time last_ = 0;
  double value_ = 0.0;
  double integral_ = 0.0;
};

}  // namespace moesim::sim
