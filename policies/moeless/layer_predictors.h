#pragma once
// MoEless' layer-aware load predictors: at the gate of MoE layer l (its expert
// counts known), forecast the expert loads of layer l + d, d = 1..H, before that
// layer's gate runs (docs/serverless.md, "MoEless"). Kinds:
//   oracle       — the true counts (the upper bound);
//   error-model  — the spec's model of a fine-tuned gate copy: truth × (1 + ε),
//                  ε ~ N(0, σ_d), σ_d = σ_1 + (d − 1)·σ_step;
//   learned      — per (l, d) ridge regression from layer l's load shares to layer
//                  l + d's, fitted with Eigen on the run's first iterations (EWMA
//                  until then);
//   last-value   — layer l + d's shares in the previous iteration;
//   ewma         — exponentially weighted shares of past iterations (α = 0.5).
// All forecasts are shares scaled to the token count the layer will see (every
// token picks k experts at every layer, so the total is known).
#include <Eigen/Dense>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "policies/load_predictor.h"
#include "sim/rng.h"

namespace moesim::policies {

using ExpertCounts = std::vector<std::int64_t>;

class LayerLoadPredictor {
 public:
  virtual ~LayerLoadPredictor() = default;
  virtual std::string name() const = 0;
  // Gate of `layer` with its true counts; `truth` is layer `layer + d`'s true
  // counts (read only by the oracle and the error model).
  virtual std::vector<double> predict(int layer, int d, const ExpertCounts& current, const ExpertCounts& truth) = 0;
  // A layer's true counts, once its gate ran (feeds history and training).
  virtual void observe(int layer, const ExpertCounts& actual) = 0;
};

struct LayerPredictorOptions {
  std::string kind = "error-model";
  int layers = 0;
  int experts = 0;
  int horizon = 1;
  double sigma_1 = 0.10;
  double sigma_step = 0.05;
  double alpha = 0.5;
  int train_iterations = 200;
  double ridge = 1e-3;
};

std::unique_ptr<LayerLoadPredictor> make_layer_predictor(const LayerPredictorOptions& o, sim::Rng rng);
std::vector<std::string> layer_predictor_kinds();

// Ridge least squares W = (XᵀX + λ·tr(XᵀX)/n·I)⁻¹ XᵀY from accumulated normal equations.
class RidgeFit {
 public:
  RidgeFit(int inputs, int outputs);
  void add(const Eigen::VectorXd& x, const Eigen::VectorXd& y);
  // Solves; returns false (and leaves the model unusable) without samples.
  bool solve(double ridge);
  Eigen::VectorXd apply(const Eigen::VectorXd& x) const { return weights_.transpose() * x; }
  int samples() const { return samples_; }

 private:
  Eigen::MatrixXd xtx_;
  Eigen::MatrixXd xty_;
  Eigen::MatrixXd weights_;
  int samples_ = 0;
};

// Scores forecasts against what happened: mean |share error| and recall of the
// true top-h experts (PredictorAccuracy, as for the interval predictors).
class ForecastScore {
 public:
  explicit ForecastScore(int top_h) { accuracy_.top_h = top_h; }
  void add(const std::vector<double>& predicted, const ExpertCounts& actual);
  const PredictorAccuracy& accuracy() const { return accuracy_; }

 private:
  PredictorAccuracy accuracy_;
  double mae_sum_ = 0.0;
  double recall_sum_ = 0.0;
};

}  // namespace moesim::policies
