#pragma once
// Where a run's expert routing comes from, as a scenario's "routing" object says:
// a real per-token trace replayed, real per-layer marginals with modelled
// correlations, or synthetic Zipf. Shared by the serving and offloading scenarios.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "models/moe_model.h"
#include "models/workload/marginal_routing_source.h"
#include "models/workload/routing_source.h"
#include "util/json_input.h"
#include "sim/rng.h"

namespace moesim::models {

struct RoutingSpec {
  double skew = 1.0;
  std::string trace;      // compact routing trace to replay
  std::string marginals;  // expert-popularity counts (file or folder) for real marginals
  RoutingCorrelations correlations;  // with marginals: modelled correlations
  // neither: synthetic Zipf

  // "trace (real)", "zipf (synthetic)", ...: what the outputs call it.
  std::string label() const;
  std::unique_ptr<RoutingSource> make(const MoeModel& model, sim::Rng rng) const;
};

// {"kind": "zipf"|"trace"|"marginals", ...}; errors name the JSON path.
RoutingSpec parse_routing_spec(const JsonInput& routing);
// The spec as parse_routing_spec reads it back to the same routing (fitted
// correlations as their lifts), its label in "comment".
nlohmann::ordered_json to_json(const RoutingSpec& spec);

}  // namespace moesim::models
