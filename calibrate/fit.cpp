#include "calibrate/fit.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

#include "util/errors.h"

namespace moesim::calibrate {
namespace {

double rms_relative(const std::vector<WorkPoint>& p, const RooflineFit& f) {
  double sum = 0.0;
  for (const auto& x : p) {
    const double e = f.predict(x.flops, x.bytes) / x.seconds - 1.0;
    sum += e * e;
  }
  return std::sqrt(sum / static_cast<double>(p.size()));
}

// Weighted least squares min Σ ((A x − t) / t)², with columns that are all zero dropped.
Eigen::VectorXd solve_relative(const Eigen::MatrixXd& a, const Eigen::VectorXd& t) {
  Eigen::MatrixXd w = a;
  Eigen::VectorXd rhs = Eigen::VectorXd::Ones(t.size());
  for (Eigen::Index i = 0; i < a.rows(); ++i) w.row(i) /= t(i);
  std::vector<Eigen::Index> used;
  for (Eigen::Index c = 0; c < w.cols(); ++c) {
    if (w.col(c).cwiseAbs().maxCoeff() > 0.0) used.push_back(c);
  }
  Eigen::MatrixXd reduced(w.rows(), static_cast<Eigen::Index>(used.size()));
  for (std::size_t k = 0; k < used.size(); ++k) reduced.col(static_cast<Eigen::Index>(k)) = w.col(used[k]);
  const Eigen::VectorXd y = reduced.colPivHouseholderQr().solve(rhs);
  Eigen::VectorXd x = Eigen::VectorXd::Zero(a.cols());
  for (std::size_t k = 0; k < used.size(); ++k) x(used[k]) = y(static_cast<Eigen::Index>(k));
  return x;
}

}  // namespace

double RooflineFit::predict(double flops, double bytes) const {
  const double memory = bytes_per_s > 0 ? bytes / bytes_per_s : 0.0;
  const double compute = flops_per_s > 0 ? flops / flops_per_s : 0.0;
  return overhead_s + std::max(memory, compute);
}

RooflineFit fit_roofline(const std::vector<WorkPoint>& input, const std::string& what) {
  if (input.size() < 4) {
    throw InputError(fmt::format("{}: {} measurements are too few to fit a roofline (need at least 4)", what, input.size()));
  }
  std::vector<WorkPoint> p(input);
  std::stable_sort(p.begin(), p.end(), [](const WorkPoint& a, const WorkPoint& b) { return a.flops / a.bytes < b.flops / b.bytes; });
  const auto n = static_cast<Eigen::Index>(p.size());
  Eigen::VectorXd t(n);
  for (Eigen::Index i = 0; i < n; ++i) t(i) = p[static_cast<std::size_t>(i)].seconds;
  RooflineFit best;
  best.rms_relative_error = INFINITY;
  for (Eigen::Index split = 0; split <= n; ++split) {
    for (const bool with_overhead : {true, false}) {
      Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, 3);
      for (Eigen::Index i = 0; i < n; ++i) {
        a(i, 0) = with_overhead ? 1.0 : 0.0;
        if (i < split) {
          a(i, 1) = p[static_cast<std::size_t>(i)].bytes;
        } else {
          a(i, 2) = p[static_cast<std::size_t>(i)].flops;
        }
      }
      const Eigen::VectorXd x = solve_relative(a, t);
      if (x(0) < 0.0 || x(1) < 0.0 || x(2) < 0.0) continue;
      RooflineFit f;
      f.overhead_s = x(0);
      f.bytes_per_s = x(1) > 0.0 ? 1.0 / x(1) : 0.0;
      f.flops_per_s = x(2) > 0.0 ? 1.0 / x(2) : 0.0;
      f.rms_relative_error = rms_relative(p, f);  // with the max(): the split must be consistent
      if (f.rms_relative_error < best.rms_relative_error) best = f;
    }
  }
  if (!std::isfinite(best.rms_relative_error)) throw InputError(fmt::format("{}: no non-negative roofline fits", what));
  best.points = p.size();
  return best;
}

LinkFit fit_link(const std::vector<std::pair<double, double>>& points, const std::string& what) {
  std::vector<double> sizes;
  for (const auto& [b, s] : points) sizes.push_back(b);
  std::sort(sizes.begin(), sizes.end());
  if (std::unique(sizes.begin(), sizes.end()) - sizes.begin() < 2) {
    throw InputError(fmt::format("{}: need transfers of at least 2 different sizes to fit latency and bandwidth", what));
  }
  const auto n = static_cast<Eigen::Index>(points.size());
  Eigen::MatrixXd a(n, 2);
  Eigen::VectorXd t(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    a(i, 0) = 1.0;
    a(i, 1) = points[static_cast<std::size_t>(i)].first;
    t(i) = points[static_cast<std::size_t>(i)].second;
  }
  Eigen::VectorXd x = solve_relative(a, t);
  if (x(0) < 0.0) {  // a negative latency is noise: fit bandwidth alone
    a.col(0).setZero();
    x = solve_relative(a, t);
  }
  LinkFit f;
  f.latency_s = x(0);
  f.bytes_per_s = 1.0 / x(1);
  f.points = points.size();
  double sum = 0.0;
  for (const auto& [b, s] : points) sum += std::pow(f.predict(b) / s - 1.0, 2);
  f.rms_relative_error = std::sqrt(sum / static_cast<double>(points.size()));
  return f;
}

}  // namespace moesim::calibrate
