#pragma once
// An offloading scenario (docs/offload.md): one GPU serving one model at batch
// size 1 with its experts offloaded to host memory, a routing source, how many
// requests profile the policies (training split) and how many are served and
// measured (evaluation split), and the offload settings. Read from JSON with every
// error naming its JSON path.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/workload/routing_spec.h"
#include "models/gpu_profile.h"
#include "models/moe_model.h"
#include "models/offload/offload_config.h"
#include "models/topology.h"
#include "util/json_input.h"

namespace moesim::run {

struct OffloadScenario {
  std::string name;
  std::uint64_t seed = 1;
  models::MoeModel model;
  models::GpuProfile gpu;
  models::TopologyOptions topology;
  models::RoutingSpec routing;
  int train_requests = 100;  // profiled offline, never served
  int eval_requests = 10;    // served and measured
  // With synthetic or marginal routing: every request's lengths. With a trace: its
  // own lengths, decode steps capped at max_decode_steps (0: no cap).
  std::int64_t prompt_tokens = 32;
  std::int64_t decode_tokens = 64;
  std::int64_t max_decode_steps = 0;
  models::OffloadConfig offload;
  std::vector<std::string> policies;  // policy specs ("name" or "name:param=value")
  nlohmann::ordered_json resolved;
};

OffloadScenario parse_offload_scenario(const JsonInput& json);
OffloadScenario load_offload_scenario(const std::string& path);

}  // namespace moesim::run
