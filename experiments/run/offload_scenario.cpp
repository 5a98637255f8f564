#include "experiments/run/offload_scenario.h"

#include <fmt/format.h>

#include "experiments/run/policy_spec.h"
#include "experiments/run/scenario_header.h"
#include "models/catalog.h"
#include "policies/registry.h"
#include "traces/arrival_trace.h"

namespace moesim::run {

OffloadScenario parse_offload_scenario(const JsonInput& json) {
  OffloadScenario s;
  ScenarioHeader header = parse_scenario_header(json, "offload", "workstation-1");
  s.name = std::move(header.name);
  s.seed = header.seed;
  s.model = std::move(header.model);
  s.gpu = std::move(header.gpu);
  s.topology = header.topology;
  if (const auto routing = json.find("routing")) s.routing = models::parse_routing_spec(*routing);
  if (const auto r = json.find("requests")) {
    if (const auto v = r->find("train")) s.train_requests = static_cast<int>(v->integer_in(0, 1 << 24));
    if (const auto v = r->find("eval")) s.eval_requests = static_cast<int>(v->integer_in(1, 1 << 24));
    if (const auto v = r->find("prompt_tokens")) s.prompt_tokens = v->integer_in(1, traces::kMaxRequestTokens);
    if (const auto v = r->find("decode_tokens")) s.decode_tokens = v->integer_in(1, traces::kMaxRequestTokens);
    if (const auto v = r->find("max_decode_steps")) s.max_decode_steps = v->integer_in(0, traces::kMaxRequestTokens);
  }
  s.offload = json.find("offload") ? models::parse_offload_config(json.at("offload"), s.model, s.gpu)
                                   : models::parse_offload_config(JsonInput::parse("{}", json.source()), s.model, s.gpu);
  if (const auto list = json.find("policies")) {
    for (const JsonInput& p : list->items()) {
      const PolicySpec spec = parse_policy_spec(p.string());
      try {
        policies::make_cache_policy(spec.name, spec.params);
      } catch (const InputError& e) {
        p.fail(e.what());
      }
      s.policies.push_back(spec.text);
    }
    list->check(!s.policies.empty(), "at least one cache policy");
  } else {
    s.policies = {"on-demand", "lru", "mixtral-offloading", "moe-infinity"};
  }
  json.reject_unknown_keys();  // a typo would otherwise leave a default in place
  s.resolved = {{"name", s.name},
                {"seed", s.seed},
                {"model", s.model.name},
                {"cluster", {{"gpu", s.gpu.name}, {"topology", models::to_json(s.topology)}}},
                {"routing", models::to_json(s.routing)},
                {"requests",
                 {{"train", s.train_requests},
                  {"eval", s.eval_requests},
                  {"prompt_tokens", s.prompt_tokens},
                  {"decode_tokens", s.decode_tokens},
                  {"max_decode_steps", s.max_decode_steps}}},
                {"offload", models::to_json(s.offload)},
                {"policies", s.policies}};
  return s;
}

OffloadScenario load_offload_scenario(const std::string& path) { return parse_offload_scenario(JsonInput::load_file(path)); }

}  // namespace moesim::run
