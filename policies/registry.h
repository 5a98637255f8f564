#pragma once
// Every policy by name: placement, load prediction, replica dispatch, expert cache. Scenarios
// select them as {"policy": "<name>", <parameters>}; `moesim policies` lists them.
// Adding a policy = one file with its factory + one line in registry.cpp.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/offload/cache_policy.h"
#include "models/serving/replica_dispatch.h"
#include "models/serving/request_router.h"
#include "models/workload/routing_source.h"
#include "policies/load_predictor.h"
#include "policies/provisioner.h"
#include "policies/placement_policy.h"
#include "policies/policy_params.h"
#include "sim/rng.h"
#include "util/json_input.h"

namespace moesim::policies {

struct PolicyInfo {
  std::string kind;  // placement | predictor | dispatch | cache | provisioner | router
  std::string name;
  std::string description;
  std::vector<ParamInfo> params{};  // filled from the factories' declarations
};

const std::vector<PolicyInfo>& policy_catalog();
std::vector<std::string> policy_names(const std::string& kind);

// `json` is the policy's object ({"policy": name, params...}) or nullopt for defaults.
// Unknown names list the registered ones; bad parameters name the policy and parameter.
std::unique_ptr<PlacementPolicy> make_placement(const std::string& name, const std::optional<JsonInput>& json);
// `routing` is the run's routing source (the oracle reads its distribution); null
// where only the name and parameters are being checked.
std::unique_ptr<LoadPredictor> make_predictor(const std::string& name, const std::optional<JsonInput>& json,
                                              const models::RoutingSource* routing = nullptr);
std::unique_ptr<models::ReplicaDispatch> make_dispatch(const std::string& name, const std::optional<JsonInput>& json,
                                                       const std::vector<double>& gpu_speed);

// The global request router of a cluster with several model instances; `rng`
// feeds the randomised ones (random, power-of-two).
std::unique_ptr<models::RequestRouter> make_router(const std::string& name, const std::optional<JsonInput>& json,
                                                   sim::Rng rng = sim::Rng(0));

std::unique_ptr<models::CachePolicy> make_cache_policy(const std::string& name, const std::optional<JsonInput>& json);

// Provisioners place experts layer by layer on the serverless runtime instead of
// once; scenarios name them where a placement goes.
bool is_provisioner(const std::string& name);
std::unique_ptr<Provisioner> make_provisioner(const std::string& name, const std::optional<JsonInput>& json,
                                              const ProvisionerContext& context);
// Throws InputError unless `name` is a provisioner taking these parameters.
void check_provisioner(const std::string& name, const std::optional<JsonInput>& json);
}  // namespace moesim::policies
