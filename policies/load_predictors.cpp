// Last-value, EWMA and sliding-window-mean load predictors, and the oracle.
#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

#include "policies/builtin.h"
#include "util/errors.h"

namespace moesim::policies {
namespace {

std::vector<double> shares(const std::vector<double>& row) {
  const double total = std::accumulate(row.begin(), row.end(), 0.0);
  std::vector<double> s(row.size(), total > 0 ? 0.0 : 1.0 / static_cast<double>(row.size()));
  if (total > 0) {
    for (std::size_t e = 0; e < row.size(); ++e) s[e] = row[e] / total;
  }
  return s;
}

std::vector<std::size_t> top(const std::vector<double>& v, int h) {
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[a] > v[b]; });
  idx.resize(std::min(idx.size(), static_cast<std::size_t>(h)));
  return idx;
}

class LastValue final : public LoadPredictor {
 public:
  std::string name() const override { return "last-value"; }
  Loads predict() const override { return last_; }

 protected:
  void update(const Loads& actual) override { last_ = actual; }

 private:
  Loads last_;
};

class Ewma final : public LoadPredictor {
 public:
  explicit Ewma(double alpha) : alpha_(alpha) {}
  std::string name() const override { return "ewma"; }
  Loads predict() const override { return state_; }

 protected:
  void update(const Loads& actual) override {
    if (state_.empty()) {
      state_ = actual;
      return;
    }
    for (std::size_t l = 0; l < actual.size(); ++l) {
      for (std::size_t e = 0; e < actual[l].size(); ++e) state_[l][e] = alpha_ * actual[l][e] + (1 - alpha_) * state_[l][e];
    }
  }

 private:
  double alpha_;
  Loads state_;
};

class WindowMean final : public LoadPredictor {
 public:
  explicit WindowMean(std::size_t window) : window_(window) {}
  std::string name() const override { return "window-mean"; }
  Loads predict() const override {
    if (history_.empty()) return {};
    Loads mean = history_.front();
    for (std::size_t i = 1; i < history_.size(); ++i) {
      for (std::size_t l = 0; l < mean.size(); ++l) {
        for (std::size_t e = 0; e < mean[l].size(); ++e) mean[l][e] += history_[i][l][e];
      }
    }
    for (auto& row : mean) {
      for (double& x : row) x /= static_cast<double>(history_.size());
    }
    return mean;
  }

 protected:
  void update(const Loads& actual) override {
    history_.push_back(actual);
    if (history_.size() > window_) history_.pop_front();
  }

 private:
  std::size_t window_;
  std::deque<Loads> history_;
};

// Knows the distribution the routing source draws from (for a replayed trace: the
// whole trace's counts) before anything is observed. It cannot foresee an
// interval's sampling noise, so its accuracy is the floor any predictor of a
// stationary source could reach.
class Oracle final : public LoadPredictor {
 public:
  explicit Oracle(const models::RoutingSource* routing) : routing_(routing) {}
  std::string name() const override { return "oracle"; }
  Loads predict() const override {
    if (truth_.empty()) {
      if (routing_ == nullptr) throw std::logic_error("oracle predictor used without a routing source");
      truth_ = routing_->expected_selections();
      if (truth_.empty()) {
        throw InputError(fmt::format("predictor 'oracle': the routing ({}) cannot state its expert distribution", routing_->label()));
      }
    }
    return truth_;
  }

 protected:
  void update(const Loads&) override {}

 private:
  const models::RoutingSource* routing_;
  mutable Loads truth_;  // read from the source on first use
};

}  // namespace

ForecastError forecast_error(const std::vector<double>& predicted, const std::vector<double>& actual, int top_h) {
  const auto a = shares(actual);
  const auto p = shares(predicted);
  ForecastError out;
  for (std::size_t e = 0; e < a.size(); ++e) out.share_mae += std::abs(a[e] - p[e]);
  out.share_mae /= static_cast<double>(a.size());
  const auto ta = top(a, top_h);
  const auto tp = top(p, top_h);
  std::size_t hit = 0;
  for (auto e : ta) hit += std::find(tp.begin(), tp.end(), e) != tp.end() ? 1 : 0;
  out.top_recall = static_cast<double>(hit) / static_cast<double>(ta.size());
  return out;
}

void LoadPredictor::observe(const Loads& actual) {
  const Loads forecast = predict();
  if (!forecast.empty()) {
    double mae = 0.0;
    double recall = 0.0;
    for (std::size_t l = 0; l < actual.size(); ++l) {
      const ForecastError err = forecast_error(forecast[l], actual[l], accuracy_.top_h);
      mae += err.share_mae;
      recall += err.top_recall;
    }
    const double n = static_cast<double>(accuracy_.scored);
    const double layers = static_cast<double>(actual.size());
    accuracy_.share_mae = (accuracy_.share_mae * n + mae / layers) / (n + 1);
    accuracy_.top_recall = (accuracy_.top_recall * n + recall / layers) / (n + 1);
    ++accuracy_.scored;
  }
  update(actual);
}

std::unique_ptr<LoadPredictor> make_last_value(PolicyParams& p, const models::RoutingSource*) {
  p.reject_unknown();
  return std::make_unique<LastValue>();
}

std::unique_ptr<LoadPredictor> make_ewma(PolicyParams& p, const models::RoutingSource*) {
  const double alpha = p.number("alpha", 0.3, 1e-9, 1.0, "weight of the newest interval");
  p.reject_unknown();
  return std::make_unique<Ewma>(alpha);
}

std::unique_ptr<LoadPredictor> make_window_mean(PolicyParams& p, const models::RoutingSource*) {
  const auto window = static_cast<std::size_t>(p.integer("window", 5, 1, 1 << 20, "intervals averaged"));
  p.reject_unknown();
  return std::make_unique<WindowMean>(window);
}

std::unique_ptr<LoadPredictor> make_oracle(PolicyParams& p, const models::RoutingSource* routing) {
  p.reject_unknown();
  return std::make_unique<Oracle>(routing);
}

}  // namespace moesim::policies
