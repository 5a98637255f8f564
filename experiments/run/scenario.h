#pragma once
// A scenario: cluster + model + workload + serving settings + placement + SLOs +
// seed, read from JSON with every error naming its JSON path. The resolved
// scenario (defaults filled in) is written next to the results.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/gpu_profile.h"
#include "models/gpu_variability.h"
#include "models/moe_model.h"
#include "models/serverless/serverless_config.h"
#include "models/workload/arrivals.h"
#include "models/serving/serving_engine.h"
#include "models/serving/serving_metrics.h"
#include "models/workload/routing_source.h"
#include "models/topology.h"
#include "models/workload/routing_spec.h"
#include "util/json_input.h"

namespace moesim::run {

// Model instances (replicas) the cluster's GPUs are cut into, each its own EP group
// with its own placement, behind one request router (docs/models.md "Instances").
struct InstanceSpan {
  int first_gpu = 0;
  int gpus = 0;
  int group = 0;  // index into InstanceLayout::groups (0 when there are none)
};

// `count` instances of `gpus` consecutive GPUs each, sharing a GPU type and a
// placement policy (unset: the scenario's). cluster.instances holds one group or a
// list of them (a cluster mixing GPU types); cluster.pools holds two, prefill then decode.
struct InstanceGroup {
  std::string pool;       // "prefill" / "decode" (disaggregated serving); "" colocated
  std::string json_path;  // where the group was written, for errors: "$.cluster.instances[1]"
  int count = 1;
  int gpus = 0;
  std::optional<models::GpuProfile> gpu;
  std::optional<std::string> placement;
  std::optional<JsonInput> placement_params;
};

struct InstanceLayout {
  // Tiling the cluster in order, prefill pool first; empty: one instance over the
  // whole cluster (the scenario gave neither cluster.instances nor cluster.pools).
  std::vector<InstanceGroup> groups;
  bool given() const { return !groups.empty(); }
  // The groups came from cluster.pools (disaggregated prefill and decode).
  bool disaggregated() const { return given() && !groups.front().pool.empty(); }
  // A prefill-pool instance.
  bool prefill(const InstanceSpan& span) const { return disaggregated() && span.group == 0; }
  int count() const;
  // Every instance's GPUs in the cluster's numbering.
  std::vector<InstanceSpan> spans(int cluster_gpus) const;
  // The group an instance belongs to; nullptr when the layout has no groups.
  const InstanceGroup* group(const InstanceSpan& span) const {
    return groups.empty() ? nullptr : &groups[static_cast<std::size_t>(span.group)];
  }
  // "2 × EP 4 on h100-sxm + 1 × EP 8": groups' GPU types and placements shown where
  // they differ from the scenario's `gpu` and `placement`, or always when `full`.
  std::string describe(const std::string& gpu, const std::string& placement, bool full = false) const;
};

struct Scenario {
  std::string name;
  std::uint64_t seed = 1;
  double duration_s = 60.0;  // arrivals stop after this (unless the arrival count is given)
  models::MoeModel model;
  models::GpuProfile gpu;
  models::TopologyOptions topology;
  InstanceLayout instances;
  models::GpuVariability variability;
  models::ArrivalSpec arrivals;
  models::RoutingSpec routing;
  // Policies: each {"policy": name, parameters...}; nullopt = that policy's defaults.
  std::string placement = "static-contiguous";
  std::optional<JsonInput> placement_params;
  std::string predictor = "ewma";
  std::optional<JsonInput> predictor_params;
  std::string dispatch = "even";
  std::optional<JsonInput> dispatch_params;
  std::string router = "round-robin";  // which instance takes each request (several instances only)
  std::optional<JsonInput> router_params;
  double rebalance_interval_s = 10.0;
  std::string rebalance_trigger = "auto";  // auto: the placement policy's default_trigger()
  double drift_threshold = 0.02;
  // The same scenario with another placement policy (its default parameters unless
  // the scenario names that policy), for moesim compare.
  Scenario with_placement(const std::string& policy) const;
  models::ServingConfig serving;
  // The serverless runtime, used when the placement names a serverless policy (moeless).
  models::ServerlessConfig serverless;
  models::Slo slo;
  nlohmann::ordered_json resolved;  // the scenario with defaults, for the outputs
};

Scenario parse_scenario(const JsonInput& json);
// Throws InputError unless `name` is a placement or serverless policy taking `params`.
void check_placement(const std::string& name, const std::optional<JsonInput>& params);
Scenario load_scenario(const std::string& path);


}  // namespace moesim::run
