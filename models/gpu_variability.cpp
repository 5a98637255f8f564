#include "models/gpu_variability.h"

#include <cmath>
#include <fmt/format.h>

#include "util/errors.h"

namespace moesim::models {

GpuVariability GpuVariability::none() {
  GpuVariability v;
  v.spread = 0.0;
  v.outlier_probability = 0.0;
  return v;
}

GpuSlowdown GpuVariability::draw(const sim::RngStreams& streams, int gpu_id) const {
  const auto fixed = per_gpu.find(gpu_id);
  const double reference = 1.0 / compute_demand;
  if (fixed != per_gpu.end()) {
    if (model == VariabilityModel::kStatic) return fixed->second;
    GpuSlowdown s;
    s.power_budget = fixed->second.power_budget * reference;
    s.reference_budget = reference;
    return s;
  }
  sim::Rng rng = streams.stream("gpu-variability", static_cast<std::uint64_t>(gpu_id));
  // Always draw both numbers so one GPU's stream use does not depend on its luck.
  const double z = rng.normal();
  const double u = rng.uniform01();
  const double v = rng.uniform01();
  const double outlier = outlier_low + (outlier_high - outlier_low) * v;
  if (model == VariabilityModel::kPower) {
    double efficiency = std::exp(efficiency_spread * z - efficiency_spread * efficiency_spread / 2.0);
    // An outlier runs compute-bound work `outlier` times slower when throttled: x ∝ η^(-1/3).
    if (u < outlier_probability) efficiency *= outlier * outlier * outlier;
    GpuSlowdown s;
    s.power_budget = reference / efficiency;
    s.reference_budget = reference;
    return s;
  }
  double compute = std::exp(spread * z - spread * spread / 2.0);
  if (u < outlier_probability) compute = outlier;
  return GpuSlowdown{compute, 1.0 + memory_coupling * (compute - 1.0)};
}

std::vector<GpuSlowdown> GpuVariability::draw_all(const sim::RngStreams& streams, int gpus) const {
  if (!per_gpu.empty() && per_gpu.rbegin()->first >= gpus) {
    throw InputError(fmt::format("{}: GPU id {} is outside the cluster's {} GPUs (ids 0..{})", per_gpu_where,
                                 per_gpu.rbegin()->first, gpus, gpus - 1));
  }
  std::vector<GpuSlowdown> out;
  out.reserve(static_cast<std::size_t>(gpus));
  for (int g = 0; g < gpus; ++g) out.push_back(draw(streams, g));
  return out;
}

nlohmann::ordered_json to_json(const GpuVariability& v) {
  const bool power = v.model == VariabilityModel::kPower;
  nlohmann::ordered_json j;
  if (power) {
    j = {{"model", "power"}, {"compute_demand", v.compute_demand}, {"efficiency_spread", v.efficiency_spread}};
  } else {
    j = {{"spread", v.spread}};
  }
  j["outlier_probability"] = v.outlier_probability;
  j["outlier_range"] = {v.outlier_low, v.outlier_high};
  if (!power) j["memory_coupling"] = v.memory_coupling;
  if (!v.per_gpu.empty()) {
    nlohmann::ordered_json per = nlohmann::ordered_json::object();
    for (const auto& [id, s] : v.per_gpu) {
      per[std::to_string(id)] = power ? nlohmann::ordered_json{{"power_budget", s.power_budget}}
                                      : nlohmann::ordered_json{{"compute", s.compute}, {"memory", s.memory}};
    }
    j["per_gpu"] = per;
  }
  j["drift"] = {{"episodes_per_hour", v.drift.episodes_per_hour},
                {"mean_duration_s", v.drift.mean_duration_s},
                {"compute_factor", v.drift.compute_factor}};
  return j;
}

GpuVariability parse_gpu_variability(const JsonInput& json) {
  if (json.raw().is_string()) {
    const std::string s = json.string();
    if (s == "none") return GpuVariability::none();
    if (s == "default") return GpuVariability{};
    json.fail(fmt::format("expected \"none\", \"default\" or an object, got \"{}\"", s));
  }
  GpuVariability v;
  if (const auto x = json.find("model")) {
    v.model = x->choice<VariabilityModel>({{"static", VariabilityModel::kStatic}, {"power", VariabilityModel::kPower}});
  }
  const bool power = v.model == VariabilityModel::kPower;
  // Keys of the other model would be silently ignored: name them instead.
  for (const char* key : power ? std::vector<const char*>{"spread", "memory_coupling"}
                               : std::vector<const char*>{"compute_demand", "efficiency_spread"}) {
    if (const auto x = json.find(key)) {
      x->fail(fmt::format("\"{}\" belongs to the {} variability model (set \"model\" accordingly)", key,
                          power ? "static" : "power"));
    }
  }
  if (const auto x = json.find("spread")) v.spread = x->number_in(0.0, 1.0);
  // Above 1 a compute-bound kernel at the maximum clock exceeds the nominal chip's budget; below, it never throttles.
  if (const auto x = json.find("compute_demand")) v.compute_demand = x->number_in(0.1, 10.0);
  if (const auto x = json.find("efficiency_spread")) v.efficiency_spread = x->number_in(0.0, 1.0);
  if (const auto x = json.find("outlier_probability")) v.outlier_probability = x->number_in(0.0, 1.0);
  if (const auto x = json.find("outlier_range")) {
    const auto range = x->items();
    x->check(range.size() == 2, "[low, high]");
    v.outlier_low = range[0].number_in(1.0, 100.0);
    v.outlier_high = range[1].number_in(v.outlier_low, 100.0);
  }
  if (const auto x = json.find("memory_coupling")) v.memory_coupling = x->number_in(0.0, 1.0);
  if (const auto per = json.find("per_gpu")) {
    v.per_gpu_where = per->where();
    for (const auto& [key, value] : per->members()) {
      int id = -1;
      try {
        std::size_t used = 0;
        id = std::stoi(key, &used);
        if (used != key.size()) id = -1;
      } catch (const std::exception&) {
        id = -1;
      }
      if (id < 0) value.fail("per_gpu keys must be GPU ids (non-negative integers)");
      if (power) {
        GpuSlowdown budget;
        budget.power_budget = value.at("power_budget").number_in(0.05, 10.0);
        v.per_gpu[id] = budget;
        continue;
      }
      // Slowdown factors multiply kernel times: bounded so that times stay finite.
      const auto memory = value.find("memory");
      v.per_gpu[id] = GpuSlowdown{value.at("compute").number_in(0.01, 100.0), memory ? memory->number_in(0.01, 100.0) : 1.0};
    }
  }
  if (const auto d = json.find("drift")) {
    v.drift.episodes_per_hour = d->at("episodes_per_hour").number_in(0.0, 3600.0);
    if (const auto x = d->find("mean_duration_s")) v.drift.mean_duration_s = x->duration(1.0);
    if (const auto x = d->find("compute_factor")) v.drift.compute_factor = x->number_in(0.01, 100.0);
  }
  return v;
}

ThrottleProcess::ThrottleProcess(sim::Simulator& sim, const ThrottleDrift& drift, std::vector<GpuSlowdown> base,
                                 const sim::RngStreams& streams)
    : sim_(sim), drift_(drift), base_(std::move(base)), current_(base_) {
  if (drift_.episodes_per_hour <= 0.0) return;
  for (std::size_t g = 0; g < base_.size(); ++g) {
    sim_.spawn(run_gpu(static_cast<int>(g), streams.stream("gpu-throttle", g)));
  }
}

sim::Process ThrottleProcess::run_gpu(int gpu, sim::Rng rng) {
  const double rate_per_s = drift_.episodes_per_hour / 3600.0;
  const auto g = static_cast<std::size_t>(gpu);
  for (;;) {
    co_await sim_.sleep(sim::from_seconds(rng.exponential(rate_per_s)));
    ++episodes_;
    current_[g].compute = base_[g].compute * drift_.compute_factor;
    co_await sim_.sleep(sim::from_seconds(rng.exponential(1.0 / drift_.mean_duration_s)));
    current_[g] = base_[g];
  }
}

}  // namespace moesim::models
