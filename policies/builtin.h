#pragma once
// Factories of the built-in policies, one per policy file; registry.cpp lists them.
#include <memory>
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

namespace moesim::policies {

std::unique_ptr<PlacementPolicy> make_static_contiguous(PolicyParams& p);
std::unique_ptr<PlacementPolicy> make_static_round_robin(PolicyParams& p);
std::unique_ptr<PlacementPolicy> make_eplb(PolicyParams& p);
std::unique_ptr<PlacementPolicy> make_vibe(PolicyParams& p);

// Predictors are given the run's routing source; only the oracle reads it.
std::unique_ptr<LoadPredictor> make_last_value(PolicyParams& p, const models::RoutingSource* routing);
std::unique_ptr<LoadPredictor> make_ewma(PolicyParams& p, const models::RoutingSource* routing);
std::unique_ptr<LoadPredictor> make_window_mean(PolicyParams& p, const models::RoutingSource* routing);
std::unique_ptr<LoadPredictor> make_oracle(PolicyParams& p, const models::RoutingSource* routing);

std::unique_ptr<models::ReplicaDispatch> make_even(PolicyParams& p, const std::vector<double>& gpu_speed);
std::unique_ptr<models::ReplicaDispatch> make_least_loaded(PolicyParams& p, const std::vector<double>& gpu_speed);
std::unique_ptr<models::ReplicaDispatch> make_speed_weighted(PolicyParams& p, const std::vector<double>& gpu_speed);

std::unique_ptr<models::CachePolicy> make_on_demand(PolicyParams& p);
std::unique_ptr<models::CachePolicy> make_lru(PolicyParams& p);
std::unique_ptr<models::CachePolicy> make_lfu(PolicyParams& p);
std::unique_ptr<models::CachePolicy> make_mixtral_offloading(PolicyParams& p);
std::unique_ptr<models::CachePolicy> make_popularity(PolicyParams& p);
std::unique_ptr<models::CachePolicy> make_moe_infinity(PolicyParams& p);
// Bounds: a random resident set (below) and Belady's offline MIN (above).
std::unique_ptr<models::CachePolicy> make_random_static(PolicyParams& p);
std::unique_ptr<models::CachePolicy> make_belady(PolicyParams& p);

// Provisioners check their parameters and, given a context, build themselves
// (null context: the parameters are only checked).
std::unique_ptr<Provisioner> make_moeless(PolicyParams& p, const ProvisionerContext* context);
// Request routers over model instances; the random ones draw from `rng`.
std::unique_ptr<models::RequestRouter> make_round_robin(PolicyParams& p, sim::Rng rng);
std::unique_ptr<models::RequestRouter> make_random_router(PolicyParams& p, sim::Rng rng);
std::unique_ptr<models::RequestRouter> make_least_requests(PolicyParams& p, sim::Rng rng);
std::unique_ptr<models::RequestRouter> make_least_tokens(PolicyParams& p, sim::Rng rng);
std::unique_ptr<models::RequestRouter> make_most_free_kv(PolicyParams& p, sim::Rng rng);
std::unique_ptr<models::RequestRouter> make_power_of_two(PolicyParams& p, sim::Rng rng);
std::unique_ptr<models::RequestRouter> make_prefix_aware_router(PolicyParams& p, sim::Rng rng);

}  // namespace moesim::policies
