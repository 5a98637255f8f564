#include "policies/registry.h"

#include <fmt/format.h>
#include <functional>

#include "policies/builtin.h"
#include "util/errors.h"

namespace moesim::policies {
namespace {

template <class Made, class... Extra>
struct Entry {
  PolicyInfo info;
  std::function<Made(PolicyParams&, Extra...)> make;
};

using PlacementEntry = Entry<std::unique_ptr<PlacementPolicy>>;
using PredictorEntry = Entry<std::unique_ptr<LoadPredictor>, const models::RoutingSource*>;
using DispatchEntry = Entry<std::unique_ptr<models::ReplicaDispatch>, const std::vector<double>&>;
using CacheEntry = Entry<std::unique_ptr<models::CachePolicy>>;
using ProvisionerEntry = Entry<std::unique_ptr<Provisioner>, const ProvisionerContext*>;

// The registration lines.
const std::vector<PlacementEntry>& placements() {
  static const std::vector<PlacementEntry> list{
      {{"placement", "static-contiguous", "expert e on GPU floor(e·P/E), no replicas, never moves", {}}, make_static_contiguous},
      {{"placement", "static-round-robin", "expert e on GPU e mod P, no replicas, never moves", {}}, make_static_round_robin},
      {{"placement", "eplb", "DeepSeek EPLB port: replicate the heaviest experts, pack slots onto GPUs by load (hardware-blind)",
        {{"redundant_per_gpu", "1", "extra expert slots per GPU for replicas"},
         {"replicas", "0", "physical expert slots per layer, as EPLB's num_replicas (0: from redundant_per_gpu)"},
         {"groups", "1", "expert groups for the hierarchical node packing"}}},
       make_eplb},
      {{"placement", "vibe", "ViBE: bin experts to minimise the slowest GPU's modelled time (heavy experts on fast GPUs)",
        {{"max_swaps", "30", "swaps per layer allowed by an incremental recalibration"}}},
       make_vibe},
  };
  return list;
}

const std::vector<PredictorEntry>& predictors() {
  static const std::vector<PredictorEntry> list{
      {{"predictor", "last-value", "next interval's loads = the last interval's", {}}, make_last_value},
      {{"predictor", "ewma", "exponentially weighted moving average of interval loads", {{"alpha", "0.3", "weight of the newest interval"}}},
       make_ewma},
      {{"predictor", "window-mean", "mean of the last W intervals", {{"window", "5", "intervals averaged"}}}, make_window_mean},
      {{"predictor", "oracle", "the routing source's true expert distribution, known from t = 0 (an upper bound, not a real system)", {}},
       make_oracle},
  };
  return list;
}

const std::vector<DispatchEntry>& dispatches() {
  static const std::vector<DispatchEntry> list{
      {{"dispatch", "even", "tokens split evenly across an expert's replicas (MoEless)", {}}, make_even},
      {{"dispatch", "least-loaded", "each token to the replica whose GPU has the fewest tokens in the layer", {}}, make_least_loaded},
      {{"dispatch", "speed-weighted", "shares proportional to the replicas' GPU speeds", {}}, make_speed_weighted},
  };
  return list;
}

const std::vector<CacheEntry>& caches() {
  static const std::vector<CacheEntry> list{
      {{"cache", "on-demand", "copy in what each layer needs, drop it after use (no reuse; DeepSpeed-style)", {}}, make_on_demand},
      {{"cache", "lru", "expert cache, least recently used expert evicted", {}}, make_lru},
      {{"cache", "lfu", "expert cache, fewest uses since cached evicted (MoE-Infinity's C++ fetch path)", {}}, make_lfu},
      {{"cache", "mixtral-offloading", "per-layer LRU with a fixed share of the cache per layer, swaps write back (Eliseev & Mazur)", {}},
       make_mixtral_offloading},
      {{"cache", "popularity", "the experts most used in profiling stay resident, the rest stream through LRU slots (BrainStorm-like)",
        {{"buffer", "2", "cache slots kept for non-resident experts"}}},
       make_popularity},
      {{"cache", "moe-infinity", "activation-aware caching (and optional prefetch) from request-level expert activation matrices",
        {{"trace_capacity", "1000", "activation matrices kept (LFU replacement)"},
         {"match", "paper", "paper: cosine on executed layers; code-faithful: as the open-source find_most_similar"},
         {"prefetch", "false", "copy predicted experts ahead of need (the published code's default is off)"},
         {"max_prefetch", "16", "with prefetch: candidates kept after each layer"}}},
       make_moe_infinity},
  };
  return list;
}

const std::vector<ProvisionerEntry>& provisioners() {
  static const std::vector<ProvisionerEntry> list{
      {{"provisioner", "moeless",
        "MoEless: layer-aware load forecasts scale stragglers out to replicas (even split) placed by load and warm locality",
        {{"predictor", "error-model", "oracle | error-model | learned | last-value | ewma | none (reactive: scale at the gate)"},
         {"horizon", "1", "layers forecast ahead (H)"},
         {"sigma_1", "0.10", "error model: σ of the relative error one layer ahead"},
         {"sigma_step", "0.05", "error model: σ added per further layer"},
         {"alpha", "0.5", "EWMA weight of the newest iteration (history fallback, ewma predictor)"},
         {"train_iterations", "200", "learned: iterations fitted before the regression is used"},
         {"predictor_latency_us", "50", "time from a gate until its forecasts are ready"},
         {"tau", "0.2", "straggler threshold: per-replica cap = mean load × (1 + tau)"},
         {"max_replicas", "0", "replicas per expert at most (0: the GPU count)"},
         {"min_replica_tokens", "-1", "tokens per replica at least (-1: where the expert's time doubles its 1-token time)"},
         {"warm_start", "true", "bring up one instance per expert (contiguous layout) at t = 0"},
         {"wait_for_scale_out", "false", "true: a layer waits for new replicas to load; false: they serve once warm"}}},
       make_moeless},
  };
  return list;
}

template <class E>
const E& find(const std::vector<E>& list, const std::string& kind, const std::string& name, const std::optional<JsonInput>& json) {
  for (const E& e : list) {
    if (e.info.name == name) return e;
  }
  const std::string message =
      fmt::format("unknown {} policy '{}' (registered: {})", kind, name, fmt::join(policy_names(kind), ", "));
  if (json) {
    if (const auto p = json->find("policy")) p->fail(message);
  }
  throw InputError(message);
}

}  // namespace

const std::vector<PolicyInfo>& policy_catalog() {
  static const std::vector<PolicyInfo> all = [] {
    std::vector<PolicyInfo> v;
    for (const auto& e : placements()) v.push_back(e.info);
    for (const auto& e : predictors()) v.push_back(e.info);
    for (const auto& e : dispatches()) v.push_back(e.info);
    for (const auto& e : caches()) v.push_back(e.info);
    for (const auto& e : provisioners()) v.push_back(e.info);
    return v;
  }();
  return all;
}

std::vector<std::string> policy_names(const std::string& kind) {
  std::vector<std::string> names;
  for (const auto& p : policy_catalog()) {
    if (p.kind == kind) names.push_back(p.name);
  }
  return names;
}

std::unique_ptr<PlacementPolicy> make_placement(const std::string& name, const std::optional<JsonInput>& json) {
  PolicyParams params(name, json);
  return find(placements(), "placement", name, json).make(params);
}

std::unique_ptr<LoadPredictor> make_predictor(const std::string& name, const std::optional<JsonInput>& json,
                                              const models::RoutingSource* routing) {
  PolicyParams params(name, json);
  return find(predictors(), "predictor", name, json).make(params, routing);
}

std::unique_ptr<models::ReplicaDispatch> make_dispatch(const std::string& name, const std::optional<JsonInput>& json,
                                                       const std::vector<double>& gpu_speed) {
  PolicyParams params(name, json);
  return find(dispatches(), "dispatch", name, json).make(params, gpu_speed);
}

std::unique_ptr<models::CachePolicy> make_cache_policy(const std::string& name, const std::optional<JsonInput>& json) {
  PolicyParams params(name, json);
  return find(caches(), "cache", name, json).make(params);
}

bool is_provisioner(const std::string& name) {
  for (const auto& e : provisioners()) {
    if (e.info.name == name) return true;
  }
  return false;
}

std::unique_ptr<Provisioner> make_provisioner(const std::string& name, const std::optional<JsonInput>& json,
                                              const ProvisionerContext& context) {
  PolicyParams params(name, json);
  return find(provisioners(), "provisioner", name, json).make(params, &context);
}

void check_provisioner(const std::string& name, const std::optional<JsonInput>& json) {
  PolicyParams params(name, json);
  find(provisioners(), "provisioner", name, json).make(params, nullptr);
}

}  // namespace moesim::policies
