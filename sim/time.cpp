#include "sim/time.h"

#include <cmath>
#include <stdexcept>

namespace moesim::sim {

Time from_seconds(double s) {
  const double ns = std::nearbyint(s * 1e9);
  if (!std::isfinite(ns) || ns >= 9.2e18 || ns <= -9.2e18) {
    throw std::out_of_range("duration in seconds is not finite or exceeds the 292-year time range");
  }
  return static_cast<Time>(ns);
}

}  // namespace moesim::sim
