#pragma once
// Load predictors: forecast the next interval's per-(layer, expert) token loads from
// the intervals observed so far — the input EPLB ("moving average of historical
// statistics") and MoEless' predictors need. Each keeps its accuracy: at every
// observation, the previous forecast is scored against what happened, by mean
// absolute error of load shares and by recall of the actual top-h hot experts.
#include <memory>
#include <string>
#include <vector>

#include "policies/placement_policy.h"

namespace moesim::policies {

struct PredictorAccuracy {
  int scored = 0;              // intervals scored
  double share_mae = 0.0;      // mean over intervals and layers of mean_e |predicted − actual share|
  double top_recall = 0.0;     // mean over intervals and layers of |top-h(pred) ∩ top-h(actual)| / h
  int top_h = 2;
};

// Two predictors' accuracies as one: means weighted by the intervals each scored.
inline PredictorAccuracy pooled(const PredictorAccuracy& a, const PredictorAccuracy& b) {
  PredictorAccuracy out = a;
  out.scored = a.scored + b.scored;
  if (out.scored == 0) return out;
  const double wa = static_cast<double>(a.scored) / out.scored, wb = static_cast<double>(b.scored) / out.scored;
  out.share_mae = wa * a.share_mae + wb * b.share_mae;
  out.top_recall = wa * a.top_recall + wb * b.top_recall;
  return out;
}

// One layer's forecast against what happened: mean over experts of |predicted share
// − actual share| (a zero forecast counts as uniform), and the share of the actual
// top-h experts that the forecast also ranks top-h.
struct ForecastError {
  double share_mae = 0.0;
  double top_recall = 0.0;
};
ForecastError forecast_error(const std::vector<double>& predicted, const std::vector<double>& actual, int top_h);

class LoadPredictor {
 public:
  virtual ~LoadPredictor() = default;
  virtual std::string name() const = 0;
  // One interval's observed loads (tokens per layer and expert).
  void observe(const Loads& actual);
  // The forecast for the next interval (empty before any observation).
  virtual Loads predict() const = 0;
  const PredictorAccuracy& accuracy() const { return accuracy_; }
  void set_top_h(int h) { accuracy_.top_h = h; }

 protected:
  virtual void update(const Loads& actual) = 0;

 private:
  PredictorAccuracy accuracy_;
};

}  // namespace moesim::policies
