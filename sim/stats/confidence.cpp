#include "sim/stats/confidence.h"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "sim/stats/tally.h"

namespace moesim::sim {

double student_t_critical(double level, std::size_t degrees_of_freedom) {
  if (!(level > 0.0 && level < 1.0)) throw std::invalid_argument("confidence level must be in (0, 1)");
  if (degrees_of_freedom == 0) throw std::invalid_argument("Student-t needs at least one degree of freedom");
  const boost::math::students_t dist(static_cast<double>(degrees_of_freedom));
  return boost::math::quantile(dist, 0.5 + level / 2.0);
}

ConfidenceInterval student_t_interval(const std::vector<double>& samples, double level) {
  if (samples.size() < 2) throw std::invalid_argument("a confidence interval needs at least 2 samples");
  Tally t;
  for (double x : samples) t.add(x);
  const double n = static_cast<double>(samples.size());
  const double half = student_t_critical(level, samples.size() - 1) * std::sqrt(t.variance() / n);
  return ConfidenceInterval{t.mean(), half, level, samples.size()};
}

ConfidenceInterval batch_means_interval(const std::vector<double>& series, std::size_t batches, double level) {
  if (batches < 2 || series.size() < batches) {
    throw std::invalid_argument("batch means need at least 2 batches and one observation per batch");
  }
  const std::size_t per = series.size() / batches;
  std::vector<double> means;
  means.reserve(batches);
  for (std::size_t b = 0; b < batches; ++b) {
    double sum = 0.0;
    for (std::size_t i = b * per; i < (b + 1) * per; ++i) sum += series[i];
    means.push_back(sum / static_cast<double>(per));
  }
  return student_t_interval(means, level);
}

std::size_t mser5_truncation(const std::vector<double>& series) {
  constexpr std::size_t kBatch = 5;
  const std::size_t nb = series.size() / kBatch;
  if (nb < 2) return 0;
  std::vector<double> batch(nb);
  for (std::size_t b = 0; b < nb; ++b) {
    double s = 0.0;
    for (std::size_t i = 0; i < kBatch; ++i) s += series[b * kBatch + i];
    batch[b] = s / kBatch;
  }
  // Suffix sums let each candidate truncation point be scored in O(1).
  std::vector<double> suffix_sum(nb + 1, 0.0);
  std::vector<double> suffix_sq(nb + 1, 0.0);
  for (std::size_t b = nb; b-- > 0;) {
    suffix_sum[b] = suffix_sum[b + 1] + batch[b];
    suffix_sq[b] = suffix_sq[b + 1] + batch[b] * batch[b];
  }
  std::size_t best = 0;
  double best_score = std::numeric_limits<double>::infinity();
  for (std::size_t d = 0; d <= nb / 2; ++d) {
    const double m = static_cast<double>(nb - d);
    const double mean = suffix_sum[d] / m;
    const double sse = std::max(0.0, suffix_sq[d] - m * mean * mean);
    const double score = sse / (m * m);
    if (score < best_score) {
      best_score = score;
      best = d;
    }
  }
  return best * kBatch;
}

}  // namespace moesim::sim
