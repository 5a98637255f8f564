#pragma once
// Output analysis: Student-t confidence intervals over independent replications,
// batch means for one long run, and MSER-5 warm-up truncation (White, 1997).
#include <cstddef>
#include <vector>

namespace moesim::sim {

struct ConfidenceInterval {
  double mean = 0.0;
  double half_width = 0.0;  // mean ± half_width covers the true mean with `level`
  double level = 0.95;
  std::size_t samples = 0;
  double lower() const { return mean - half_width; }
  double upper() const { return mean + half_width; }
  bool contains(double x) const { return x >= lower() && x <= upper(); }
};

// Two-sided Student-t quantile t_{(1+level)/2, dof}.
double student_t_critical(double level, std::size_t degrees_of_freedom);

// CI for the mean of i.i.d. samples (e.g. one statistic per replication); needs >= 2.
ConfidenceInterval student_t_interval(const std::vector<double>& samples, double level = 0.95);

// Non-overlapping batch means of a correlated series, then a Student-t interval
// over the batch means; needs at least 2 batches and len >= batches.
ConfidenceInterval batch_means_interval(const std::vector<double>& series, std::size_t batches, double level = 0.95);

// MSER-5: averages the series in batches of 5 and returns the number of leading
// observations to delete that minimises the marginal standard error of what is
// left (searching the first half only, as the method prescribes).
std::size_t mser5_truncation(const std::vector<double>& series);

}  // namespace moesim::sim
