#include "experiments/run/scenario.h"

#include "experiments/run/policy_spec.h"
#include "experiments/run/scenario_header.h"

#include "policies/registry.h"
#include "util/errors.h"

#include <fmt/format.h>

#include "models/catalog.h"

namespace moesim::run {

void check_placement(const std::string& name, const std::optional<JsonInput>& params) {
  if (policies::is_provisioner(name)) {
    policies::check_provisioner(name, params);
  } else {
    policies::make_placement(name, params);
  }
}

Scenario parse_scenario(const JsonInput& json) {
  Scenario s;
  ScenarioHeader header = parse_scenario_header(json, "scenario", std::nullopt);
  s.name = std::move(header.name);
  s.seed = header.seed;
  s.model = std::move(header.model);
  s.gpu = std::move(header.gpu);
  s.topology = header.topology;
  if (const auto v = json.at("cluster").find("variability")) s.variability = models::parse_gpu_variability(*v);
  const JsonInput workload = json.at("workload");
  s.arrivals = models::parse_arrivals(workload.at("arrivals"));
  if (const auto v = workload.find("duration_s")) s.duration_s = v->duration(1.0);
  if (const auto routing = workload.find("routing")) s.routing = models::parse_routing_spec(*routing);
  if (const auto serving = json.find("serving")) s.serving = models::parse_serving_config(*serving);
  // Policies are built here once so that unknown names and bad parameters fail at load time.
  if (const auto placement = json.find("placement")) {
    s.placement = placement->at("policy").string();
    s.placement_params = placement;
  }
  check_placement(s.placement, s.placement_params);
  if (const auto sl = json.find("serverless")) {
    s.serverless = models::parse_serverless_config(*sl);
  }
  if (const auto predictor = json.find("predictor")) {
    s.predictor = predictor->at("policy").string();
    s.predictor_params = predictor;
  }
  policies::make_predictor(s.predictor, s.predictor_params);
  if (const auto dispatch = json.find("dispatch")) {
    s.dispatch = dispatch->at("policy").string();
    s.dispatch_params = dispatch;
  }
  policies::make_dispatch(s.dispatch, s.dispatch_params, {});  // GPU speeds are known only at run time
  if (const auto rebalance = json.find("rebalance")) {
    if (const auto v = rebalance->find("interval_s")) s.rebalance_interval_s = v->duration(1.0);
    if (rebalance->has("trigger")) s.rebalance_trigger = rebalance->at("trigger").choice({"auto", "periodic", "drift"});
    if (const auto v = rebalance->find("drift_threshold")) s.drift_threshold = v->number_in(0.0, 1.0);
  }
  if (const auto slo = json.find("slo")) {
    s.slo.ttft_s = slo->at("ttft_ms").duration(1e-3) / 1e3;
    s.slo.tpot_s = slo->at("tpot_ms").duration(1e-3) / 1e3;
  }
  // Everything is read: a key nobody asked for is a typo that would leave a default in place.
  json.reject_unknown_keys();
  s.resolved = {{"name", s.name},
                {"seed", s.seed},
                {"model", s.model.name},
                {"cluster",
                 {{"gpu", s.gpu.name},
                  {"topology", models::to_json(s.topology)},
                  {"variability", models::to_json(s.variability)}}},
                {"workload",
                 {{"duration_s", s.duration_s},
                  {"arrivals", models::to_json(s.arrivals)},
                  {"routing", models::to_json(s.routing)}}},
                {"serving", models::to_json(s.serving)},
                {"placement", s.placement_params ? s.placement_params->raw() : nlohmann::json{{"policy", s.placement}}},
                {"serverless", models::to_json(s.serverless)},
                {"predictor", s.predictor_params ? s.predictor_params->raw() : nlohmann::json{{"policy", s.predictor}}},
                {"dispatch", s.dispatch_params ? s.dispatch_params->raw() : nlohmann::json{{"policy", s.dispatch}}},
                {"rebalance", {{"interval_s", s.rebalance_interval_s}, {"trigger", s.rebalance_trigger},
                               {"drift_threshold", s.drift_threshold}}},
                {"slo", {{"ttft_ms", s.slo.ttft_s * 1e3}, {"tpot_ms", s.slo.tpot_s * 1e3}}}};
  return s;
}

Scenario Scenario::with_placement(const std::string& spec) const {
  Scenario s = *this;
  const PolicySpec p = parse_policy_spec(spec);
  if (p.params) {
    s.placement = p.name;
    s.placement_params = p.params;
    check_placement(p.name, s.placement_params);
  } else if (p.name != placement) {
    s.placement = p.name;
    s.placement_params.reset();
    check_placement(p.name, std::nullopt);  // unknown names fail here
  }
  s.resolved["placement"] = s.placement_params ? s.placement_params->raw() : nlohmann::json{{"policy", s.placement}};
  return s;
}

Scenario load_scenario(const std::string& path) { return parse_scenario(JsonInput::load_file(path)); }

}  // namespace moesim::run
