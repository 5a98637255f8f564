#pragma once
// What every scenario kind starts with, read one way: name, seed, model, and the
// cluster's GPU and topology under "cluster" (serving and offloading scenarios
// alike; docs/workflows.md).
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "models/gpu_profile.h"
#include "models/moe_model.h"
#include "models/topology.h"
#include "util/json_input.h"

namespace moesim::run {

struct ScenarioHeader {
  std::string name;
  std::uint64_t seed = 1;
  models::MoeModel model;
  models::GpuProfile gpu;
  models::TopologyOptions topology;
};

// `default_topology`: the preset used when "cluster" has no "topology" (nullopt:
// the topology is required). Other "cluster" keys are left to the caller.
ScenarioHeader parse_scenario_header(const JsonInput& json, const std::string& default_name,
                                     const std::optional<std::string>& default_topology);

}  // namespace moesim::run
