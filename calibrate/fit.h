#pragma once
// Least-squares fits of the timing models (Eigen), in relative error because the
// measured times span four orders of magnitude:
//  * roofline  t = c + max(bytes / B, flops / F): fixed overhead c, effective memory
//    bandwidth B and compute rate F. The max() makes it piecewise linear: points
//    sorted by arithmetic intensity are split into a memory-bound prefix and a
//    compute-bound suffix, every split is solved as a weighted linear problem in
//    (c, 1/B, 1/F), and the split whose *consistent* model (evaluated with the max)
//    has the least error wins;
//  * link  t = latency + bytes / bandwidth.
#include <string>
#include <vector>

namespace moesim::calibrate {

struct WorkPoint {
  double flops = 0.0;
  double bytes = 0.0;
  double seconds = 0.0;
};

struct RooflineFit {
  double overhead_s = 0.0;
  double bytes_per_s = 0.0;
  double flops_per_s = 0.0;
  double rms_relative_error = 0.0;
  std::size_t points = 0;
  double predict(double flops, double bytes) const;
};

// Throws InputError (naming `what`) with fewer than 4 points.
RooflineFit fit_roofline(const std::vector<WorkPoint>& points, const std::string& what);

struct LinkFit {
  double latency_s = 0.0;
  double bytes_per_s = 0.0;
  double rms_relative_error = 0.0;
  std::size_t points = 0;
  double predict(double bytes) const { return latency_s + bytes / bytes_per_s; }
};

// points: (bytes, seconds); throws InputError with fewer than 2 distinct sizes.
LinkFit fit_link(const std::vector<std::pair<double, double>>& points, const std::string& what);

}  // namespace moesim::calibrate
