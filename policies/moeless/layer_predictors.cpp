#include "policies/moeless/layer_predictors.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace moesim::policies {
namespace {

double total_of(const ExpertCounts& c) { return static_cast<double>(std::accumulate(c.begin(), c.end(), std::int64_t{0})); }

Eigen::VectorXd shares(const ExpertCounts& c) {
  Eigen::VectorXd s(static_cast<Eigen::Index>(c.size()));
  const double total = total_of(c);
  for (std::size_t e = 0; e < c.size(); ++e) s[static_cast<Eigen::Index>(e)] = total > 0 ? static_cast<double>(c[e]) / total : 0.0;
  return s;
}

std::vector<double> scaled(const Eigen::VectorXd& share, double total) {
  std::vector<double> out(static_cast<std::size_t>(share.size()));
  double sum = 0.0;
  for (Eigen::Index e = 0; e < share.size(); ++e) sum += std::max(share[e], 0.0);
  for (Eigen::Index e = 0; e < share.size(); ++e) {
    out[static_cast<std::size_t>(e)] = sum > 0 ? std::max(share[e], 0.0) / sum * total : total / static_cast<double>(share.size());
  }
  return out;
}

class OraclePredictor : public LayerLoadPredictor {
 public:
  std::string name() const override { return "oracle"; }
  std::vector<double> predict(int, int, const ExpertCounts&, const ExpertCounts& truth) override {
    return {truth.begin(), truth.end()};
  }
  void observe(int, const ExpertCounts&) override {}
};

class ErrorModelPredictor final : public LayerLoadPredictor {
 public:
  ErrorModelPredictor(const LayerPredictorOptions& o, sim::Rng rng) : o_(o), rng_(rng) {}
  std::string name() const override { return "error-model"; }
  std::vector<double> predict(int, int d, const ExpertCounts&, const ExpertCounts& truth) override {
    const double sigma = o_.sigma_1 + (d - 1) * o_.sigma_step;
    std::vector<double> out(truth.size());
    for (std::size_t e = 0; e < truth.size(); ++e) {
      out[e] = std::max(0.0, static_cast<double>(truth[e]) * (1.0 + rng_.normal(0.0, sigma)));
    }
    return out;
  }
  void observe(int, const ExpertCounts&) override {}

 private:
  LayerPredictorOptions o_;
  sim::Rng rng_;
};

// Last value and EWMA: history of each layer's shares across iterations.
class HistoryPredictor : public LayerLoadPredictor {
 public:
  HistoryPredictor(const LayerPredictorOptions& o, double alpha, std::string name)
      : o_(o), alpha_(alpha), name_(std::move(name)), history_(static_cast<std::size_t>(o.layers)) {}
  std::string name() const override { return name_; }
  std::vector<double> predict(int layer, int d, const ExpertCounts& current, const ExpertCounts&) override {
    const auto& h = history_[static_cast<std::size_t>(layer + d)];
    if (h.size() == 0) return scaled(shares(current), total_of(current));  // nothing seen yet: this layer's shape
    return scaled(h, total_of(current));
  }
  void observe(int layer, const ExpertCounts& actual) override {
    auto& h = history_[static_cast<std::size_t>(layer)];
    const Eigen::VectorXd s = shares(actual);
    h = h.size() == 0 ? s : Eigen::VectorXd(alpha_ * s + (1.0 - alpha_) * h);
  }

 protected:
  LayerPredictorOptions o_;

 private:
  double alpha_;
  std::string name_;
  std::vector<Eigen::VectorXd> history_;
};

class LearnedPredictor final : public HistoryPredictor {
 public:
  explicit LearnedPredictor(const LayerPredictorOptions& o)
      : HistoryPredictor(o, o.alpha, "learned"), current_(static_cast<std::size_t>(o.layers)) {
    for (int l = 0; l < o.layers; ++l) {
      for (int d = 1; d <= o.horizon; ++d) fits_.emplace_back(o.experts + 1, o.experts);
    }
  }
  std::vector<double> predict(int layer, int d, const ExpertCounts& current, const ExpertCounts& truth) override {
    if (!trained_) return HistoryPredictor::predict(layer, d, current, truth);
    return scaled(fit(layer, d).apply(features(shares(current))), total_of(current));
  }
  void observe(int layer, const ExpertCounts& actual) override {
    HistoryPredictor::observe(layer, actual);
    if (trained_) return;
    if (layer == 0 && ++iterations_ > o_.train_iterations) {
      for (auto& f : fits_) f.solve(o_.ridge);
      trained_ = true;
      return;
    }
    current_[static_cast<std::size_t>(layer)] = shares(actual);
    for (int d = 1; d <= o_.horizon && layer - d >= 0; ++d) {
      fit(layer - d, d).add(features(current_[static_cast<std::size_t>(layer - d)]), current_[static_cast<std::size_t>(layer)]);
    }
  }

 private:
  RidgeFit& fit(int layer, int d) { return fits_[static_cast<std::size_t>(layer * o_.horizon + d - 1)]; }
  static Eigen::VectorXd features(const Eigen::VectorXd& s) {
    Eigen::VectorXd x(s.size() + 1);
    x << s, 1.0;
    return x;
  }
  std::vector<Eigen::VectorXd> current_;
  std::vector<RidgeFit> fits_;
  int iterations_ = 0;
  bool trained_ = false;
};

}  // namespace

RidgeFit::RidgeFit(int inputs, int outputs)
    : xtx_(Eigen::MatrixXd::Zero(inputs, inputs)), xty_(Eigen::MatrixXd::Zero(inputs, outputs)) {}

void RidgeFit::add(const Eigen::VectorXd& x, const Eigen::VectorXd& y) {
  xtx_.noalias() += x * x.transpose();
  xty_.noalias() += x * y.transpose();
  ++samples_;
}

bool RidgeFit::solve(double ridge) {
  if (samples_ == 0) return false;
  const auto n = xtx_.rows();
  const double scale = std::max(xtx_.trace() / static_cast<double>(n), 1e-12);
  const Eigen::MatrixXd a = xtx_ + ridge * scale * Eigen::MatrixXd::Identity(n, n);
  weights_ = a.ldlt().solve(xty_);
  return true;
}

void ForecastScore::add(const std::vector<double>& predicted, const ExpertCounts& actual) {
  if (total_of(actual) <= 0) return;
  const ForecastError err = forecast_error(predicted, std::vector<double>(actual.begin(), actual.end()), accuracy_.top_h);
  mae_sum_ += err.share_mae;
  recall_sum_ += err.top_recall;
  ++accuracy_.scored;
  accuracy_.share_mae = mae_sum_ / accuracy_.scored;
  accuracy_.top_recall = recall_sum_ / accuracy_.scored;
}

std::vector<std::string> layer_predictor_kinds() { return {"oracle", "error-model", "learned", "last-value", "ewma", "none"}; }

std::unique_ptr<LayerLoadPredictor> make_layer_predictor(const LayerPredictorOptions& o, sim::Rng rng) {
  if (o.kind == "oracle") return std::make_unique<OraclePredictor>();
  if (o.kind == "error-model") return std::make_unique<ErrorModelPredictor>(o, rng);
  if (o.kind == "learned") return std::make_unique<LearnedPredictor>(o);
  if (o.kind == "last-value") return std::make_unique<HistoryPredictor>(o, 1.0, "last-value");
  if (o.kind == "ewma") return std::make_unique<HistoryPredictor>(o, o.alpha, "ewma");
  throw std::logic_error("unknown layer predictor " + o.kind);
}

}  // namespace moesim::policies
