#include "policies/moeless/moeless.h"

#include <fmt/format.h>
#include <numeric>

#include "util/errors.h"

#include "policies/builtin.h"
#include "policies/moeless/expert_scaling.h"

namespace moesim::policies {

MoelessProvisioner::MoelessProvisioner(sim::Simulator& sim, const models::MoeModel& model,
                                       models::ServerlessRuntime& runtime, MoelessOptions options, sim::Rng rng,
                                       const ExpertTimeModel* time)
    : sim_(sim),
      model_(model),
      runtime_(runtime),
      o_(std::move(options)),
      time_(time),
      layers_(model.moe_layer_count()),
      score_(model.top_k) {
  if (o_.predictor.horizon >= layers_) {
    throw InputError(fmt::format("moeless: horizon {} must be below {}'s {} MoE layers (forecasts look at most to the last layer)",
                                 o_.predictor.horizon, model_.name, layers_));
  }
  if (o_.max_replicas <= 0) o_.max_replicas = runtime_.gpus();
  if (o_.min_replica_tokens < 0) {
    o_.min_replica_tokens = 0;
    if (time_ != nullptr) {  // the knee of the expert's roofline on GPU 0
      const double one = time_->seconds(0, 1.0);
      double n = 1.0;
      while (n < 1e6 && time_->seconds(0, n) < 2.0 * one) n *= 1.25;
      o_.min_replica_tokens = n;
    }
  }
  o_.predictor.layers = layers_;
  o_.predictor.experts = model_.experts;
  if (o_.predictor.kind != "none") predictor_ = make_layer_predictor(o_.predictor, rng);
  const auto L = static_cast<std::size_t>(layers_);
  truth_.resize(L);
  forecast_.resize(L);
  shares_.resize(L);
  plan_.resize(L);
  planned_.assign(L, false);
  if (o_.warm_start) {
    const int P = runtime_.gpus();
    for (int l = 0; l < layers_; ++l) {
      for (int e = 0; e < model_.experts; ++e) runtime_.start_warm(l, e, e * P / model_.experts);
    }
  }
}

void MoelessProvisioner::begin_iteration(sim::Time, const models::RoutingCounts& routing) {
  ++iteration_;
  next_layer_ = 0;
  tokens_ = 0.0;
  for (std::size_t l = 0; l < truth_.size(); ++l) {
    auto& t = truth_[l];
    t.assign(static_cast<std::size_t>(model_.experts), 0);
    for (const auto& src : routing[l]) {
      for (std::size_t e = 0; e < t.size(); ++e) t[e] += src[e];
    }
    forecast_[l].clear();
    planned_[l] = false;
  }
  tokens_ = static_cast<double>(std::accumulate(truth_[0].begin(), truth_[0].end(), std::int64_t{0}));
}

std::vector<double> MoelessProvisioner::history(int layer) const {
  const auto& s = shares_[static_cast<std::size_t>(layer)];
  std::vector<double> out(static_cast<std::size_t>(model_.experts), tokens_ / model_.experts);
  if (!s.empty()) {
    for (std::size_t e = 0; e < out.size(); ++e) out[e] = s[e] * tokens_;
  }
  return out;
}

std::vector<std::vector<int>> MoelessProvisioner::plan(int layer, const std::vector<double>& predicted) const {
  LayerPlacementInput in;
  in.predicted = predicted;
  in.replicas = replica_counts(predicted, o_.tau, o_.max_replicas, o_.min_replica_tokens);
  if (time_ != nullptr) in.time = [this](int g, double tokens) { return tokens > 0 ? time_->seconds(g, tokens) : 0.0; };
  in.free_slots.resize(static_cast<std::size_t>(runtime_.gpus()));
  // Scale-out goes only where memory is unused: evicting one warm function to make
  // room for another's replica would trade a cold start for a cold start.
  for (int g = 0; g < runtime_.gpus(); ++g) in.free_slots[static_cast<std::size_t>(g)] = runtime_.unused_slots(g);
  in.live = [this, layer](int e, int g) { return runtime_.live(layer, e, g); };
  return place_replicas(in);
}

const std::vector<std::vector<int>>& MoelessProvisioner::acquire(int moe_layer, const std::vector<std::int64_t>& expert_tokens) {
  const auto l = static_cast<std::size_t>(moe_layer);
  next_layer_ = moe_layer + 1;
  if (!forecast_[l].empty()) score_.add(forecast_[l], expert_tokens);
  if (predictor_ == nullptr) {
    plan_[l] = plan(moe_layer, {expert_tokens.begin(), expert_tokens.end()});  // reactive: the truth, at the gate
  } else if (planned_[l]) {
    ++stats_.planned_by_forecast;
  } else {
    plan_[l] = plan(moe_layer, history(moe_layer));
    ++stats_.planned_by_history;
  }
  use_warm(moe_layer, expert_tokens);
  runtime_.acquire(moe_layer, used_, expert_tokens);
  ++stats_.layers;
  for (const auto& gpus : used_) stats_.replicas += static_cast<std::int64_t>(gpus.size());

  // History for the fallback and the history-based predictors.
  const double total = static_cast<double>(std::accumulate(expert_tokens.begin(), expert_tokens.end(), std::int64_t{0}));
  if (total > 0) {
    auto& s = shares_[l];
    const double alpha = s.empty() ? 1.0 : o_.predictor.alpha;
    if (s.empty()) s.assign(expert_tokens.size(), 0.0);
    for (std::size_t e = 0; e < s.size(); ++e) s[e] = alpha * static_cast<double>(expert_tokens[e]) / total + (1.0 - alpha) * s[e];
  }
  if (predictor_ == nullptr) return used_;
  predictor_->observe(moe_layer, expert_tokens);
  // Forecast the next H layers; each plan lands after the predictor's latency.
  for (int d = 1; d <= o_.predictor.horizon && moe_layer + d < layers_; ++d) {
    const int target = moe_layer + d;
    forecast_[static_cast<std::size_t>(target)] =
        predictor_->predict(moe_layer, d, expert_tokens, truth_[static_cast<std::size_t>(target)]);
    const std::uint32_t iteration = iteration_;
    sim_.schedule_in(o_.predictor_latency, [this, target, iteration] {
      if (iteration == iteration_ && next_layer_ <= target) apply_forecast(target);
    });
  }
  return used_;
}

void MoelessProvisioner::use_warm(int layer, const std::vector<std::int64_t>& expert_tokens) {
  const auto& planned = plan_[static_cast<std::size_t>(layer)];
  if (o_.wait_for_scale_out) {
    used_ = planned;
    return;
  }
  used_.assign(planned.size(), {});
  for (std::size_t e = 0; e < planned.size(); ++e) {
    const auto e_int = static_cast<int>(e);
    auto those = [&](auto&& keep) {
      std::vector<int> out;
      for (const int g : planned[e]) {
        if (keep(g)) out.push_back(g);
      }
      return out;
    };
    used_[e] = those([&](int g) { return runtime_.warm(layer, e_int, g); });
    if (!used_[e].empty()) {
      // Replicas still cold or loading keep loading for later iterations.
      if (expert_tokens[e] > 0) {
        for (const int g : those([&](int g) { return !runtime_.warm(layer, e_int, g); })) runtime_.prepare(layer, e_int, g, false);
      }
      continue;
    }
    // Nothing warm: wait for a copy already loading if there is one, else load the first.
    used_[e] = those([&](int g) { return runtime_.live(layer, e_int, g); });
    if (used_[e].empty()) used_[e] = {planned[e].front()};
  }
}

void MoelessProvisioner::apply_forecast(int target) {
  const auto t = static_cast<std::size_t>(target);
  plan_[t] = plan(target, forecast_[t]);
  planned_[t] = true;
  for (std::size_t e = 0; e < plan_[t].size(); ++e) {
    if (forecast_[t][e] <= 0.0) continue;  // no tokens expected: nothing to bring up
    for (const int g : plan_[t][e]) runtime_.prepare(target, static_cast<int>(e), g, false);
  }
}

std::unique_ptr<Provisioner> make_moeless(PolicyParams& p, const ProvisionerContext* context) {
  MoelessOptions options = moeless_options(p);
  if (!context) return nullptr;
  return std::make_unique<MoelessProvisioner>(context->sim, context->model, context->runtime, std::move(options),
                                              context->rng, context->time);
}

MoelessOptions moeless_options(PolicyParams& p) {
  MoelessOptions o;
  o.predictor.kind = p.choice("predictor", o.predictor.kind, layer_predictor_kinds(),
                              "layer load forecasts; none: reactive, scale at the gate");
  o.predictor.horizon =
      static_cast<int>(p.integer("horizon", o.predictor.horizon, 1, 1 << 30, "layers forecast ahead (H)"));
  o.predictor.sigma_1 =
      p.number("sigma_1", o.predictor.sigma_1, 0.0, 10.0, "error model: σ of the relative error one layer ahead");
  o.predictor.sigma_step = p.number("sigma_step", o.predictor.sigma_step, 0.0, 10.0, "error model: σ added per further layer");
  o.predictor.alpha =
      p.number("alpha", o.predictor.alpha, 1e-9, 1.0, "EWMA weight of the newest iteration (history fallback, ewma predictor)");
  o.predictor.train_iterations = static_cast<int>(p.integer("train_iterations", o.predictor.train_iterations, 1, 1 << 30,
                                                            "learned: iterations fitted before the regression is used"));
  o.predictor_latency = sim::from_seconds(
      p.number("predictor_latency_us", sim::to_microseconds(o.predictor_latency), 0.0, 1e9,
               "time from a gate until its forecasts are ready") *
      1e-6);
  o.tau = p.number("tau", o.tau, 0.0, 1e9, "straggler threshold: per-replica cap = mean load × (1 + tau)");
  o.max_replicas = static_cast<int>(
      p.integer("max_replicas", o.max_replicas, 0, 1 << 30, "replicas per expert at most (0: the GPU count)"));
  o.min_replica_tokens = p.number("min_replica_tokens", o.min_replica_tokens, -1.0, 1e12,
                                  "tokens per replica at least (-1: where the expert's time doubles its 1-token time)");
  o.warm_start = p.boolean("warm_start", o.warm_start, "bring up one instance per expert (contiguous layout) at t = 0");
  o.wait_for_scale_out = p.boolean("wait_for_scale_out", o.wait_for_scale_out,
                                   "true: a layer waits for new replicas to load; false: they serve once warm");
  p.reject_unknown();
  return o;
}

}  // namespace moesim::policies
