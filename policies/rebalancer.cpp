#include "policies/rebalancer.h"

#include <cmath>
#include <numeric>

#include "models/op_costs.h"

namespace moesim::policies {

ProfiledExpertTime::ProfiledExpertTime(const models::MoeModel& model, const models::GpuProfile& gpu,
                                       std::vector<models::GpuSlowdown> speeds)
    : model_(model), gpu_(gpu), expert_ffn_(gpu.resolve(models::expert_ffn_key(model))), speeds_(std::move(speeds)) {}

double ProfiledExpertTime::seconds(int gpu, double tokens) const {
  return sim::to_seconds(
      gpu_.op_time(expert_ffn_, tokens, models::expert_ffn_work(model_, tokens), speeds_[static_cast<std::size_t>(gpu)]));
}

Rebalancer::Rebalancer(PlacementPolicy& policy, LoadPredictor& predictor, PlacementContext context, RebalanceConfig config,
                       ProfiledExpertTime* time_model, const std::vector<models::GpuSlowdown>* live_speeds)
    : policy_(policy), predictor_(predictor), context_(std::move(context)), config_(std::move(config)),
      time_model_(time_model), live_speeds_(live_speeds) {
  const auto L = static_cast<std::size_t>(context_.model->moe_layer_count());
  const auto E = static_cast<std::size_t>(context_.model->experts);
  interval_.assign(L, std::vector<double>(E, 0.0));
  context_.time_model = time_model_;
}

models::ExpertPlacement Rebalancer::initial() {
  context_.loads = predictor_.predict();
  if (context_.loads.empty()) {
    context_.loads = interval_;  // zeros ...
    for (auto& row : context_.loads) std::fill(row.begin(), row.end(), 1.0);  // ... read as uniform
  } else {
    context_.batch_tokens = config_.initial_batch_tokens;
  }
  profile_ = context_.loads;
  return policy_.place(context_);
}

void Rebalancer::observe(sim::Time, const std::vector<std::vector<std::int64_t>>& expert_tokens) {
  for (std::size_t l = 0; l < interval_.size(); ++l) {
    for (std::size_t e = 0; e < interval_[l].size(); ++e) interval_[l][e] += static_cast<double>(expert_tokens[l][e]);
  }
  double batch = 0.0;
  for (std::int64_t n : expert_tokens[0]) batch += static_cast<double>(n);
  interval_squares_ += batch * batch;
  interval_iterations_ += 1.0;
}

bool Rebalancer::drifted(const Loads& forecast) {
  double distance = 0.0;
  for (std::size_t l = 0; l < forecast.size(); ++l) {
    double dot = 0, a = 0, b = 0;
    for (std::size_t e = 0; e < forecast[l].size(); ++e) {
      dot += forecast[l][e] * profile_[l][e];
      a += forecast[l][e] * forecast[l][e];
      b += profile_[l][e] * profile_[l][e];
    }
    distance += a > 0 && b > 0 ? 1.0 - dot / std::sqrt(a * b) : 0.0;
  }
  distance /= static_cast<double>(forecast.size());
  bool speeds_moved = false;
  if (time_model_ != nullptr && live_speeds_ != nullptr) {
    for (std::size_t g = 0; g < live_speeds_->size(); ++g) {
      const double before = time_model_->speeds()[g].compute_bound();
      const double now = (*live_speeds_)[g].compute_bound();
      speeds_moved = speeds_moved || std::abs(now / before - 1.0) > config_.speed_tolerance;
    }
  }
  return distance > config_.drift_threshold || speeds_moved;
}

std::optional<models::ExpertPlacement> Rebalancer::propose(sim::Time now, const models::ExpertPlacement& current) {
  if (sim::to_seconds(now - interval_start_) < config_.interval_s || interval_iterations_ == 0.0) return std::nullopt;
  double tokens = 0.0;
  for (double x : interval_[0]) tokens += x;
  // The batch the performance model is evaluated at: the token-weighted mean of the
  // interval's iterations (Σ n² / Σ n), the size of the iteration an average routed
  // token is in. Time is spent in the large (prefill) iterations; the plain mean
  // sits among the small decode ones, where expert time hardly depends on tokens
  // and a binning for it may unbalance the tokens the large iterations then carry.
  context_.batch_tokens = std::max(1.0, interval_squares_ / std::max(tokens, 1.0));
  interval_squares_ = 0.0;
  predictor_.observe(interval_);
  for (auto& row : interval_) std::fill(row.begin(), row.end(), 0.0);
  interval_iterations_ = 0.0;
  interval_start_ = now;
  const Loads forecast = predictor_.predict();
  // The first observed interval always re-places in full; after it, "drift" updates
  // incrementally and only when something moved, "periodic" re-solves every time.
  const bool incremental = profiled_ && config_.trigger == "drift";
  if (incremental && !drifted(forecast)) return std::nullopt;
  if ((incremental || !profiled_) && time_model_ != nullptr && live_speeds_ != nullptr) time_model_->remeasure(*live_speeds_);
  recalibrations_ += incremental ? 1 : 0;
  profiled_ = true;
  context_.loads = forecast;
  models::ExpertPlacement next = incremental ? policy_.update(context_, current) : policy_.place(context_);
  profile_ = forecast;
  if (next == current) return std::nullopt;
  return next;
}

}  // namespace moesim::policies
