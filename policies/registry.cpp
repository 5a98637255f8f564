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
using RouterEntry = Entry<std::unique_ptr<models::RequestRouter>, sim::Rng>;

// The registration lines.
const std::vector<PlacementEntry>& placements() {
  static const std::vector<PlacementEntry> list{
      {{"placement", "static-contiguous", "expert e on GPU floor(e·P/E), no replicas, never moves"}, make_static_contiguous},
      {{"placement", "static-round-robin", "expert e on GPU e mod P, no replicas, never moves"}, make_static_round_robin},
      {{"placement", "eplb", "DeepSeek EPLB port: replicate the heaviest experts, pack slots onto GPUs by load (hardware-blind)"},
       make_eplb},
      {{"placement", "vibe", "ViBE: bin experts to minimise the slowest GPU's modelled time (heavy experts on fast GPUs)"},
       make_vibe},
  };
  return list;
}

const std::vector<PredictorEntry>& predictors() {
  static const std::vector<PredictorEntry> list{
      {{"predictor", "last-value", "next interval's loads = the last interval's"}, make_last_value},
      {{"predictor", "ewma", "exponentially weighted moving average of interval loads"},
       make_ewma},
      {{"predictor", "window-mean", "mean of the last W intervals"}, make_window_mean},
      {{"predictor", "oracle", "the routing source's true expert distribution, known from t = 0 (an upper bound, not a real system)"},
       make_oracle},
  };
  return list;
}

const std::vector<DispatchEntry>& dispatches() {
  static const std::vector<DispatchEntry> list{
      {{"dispatch", "even", "tokens split evenly across an expert's replicas (MoEless)"}, make_even},
      {{"dispatch", "least-loaded", "each token to the replica whose GPU has the fewest tokens in the layer"}, make_least_loaded},
      {{"dispatch", "speed-weighted", "shares proportional to the replicas' GPU speeds"}, make_speed_weighted},
  };
  return list;
}

const std::vector<CacheEntry>& caches() {
  static const std::vector<CacheEntry> list{
      {{"cache", "on-demand", "copy in what each layer needs, drop it after use (no reuse; DeepSpeed-style)"}, make_on_demand},
      {{"cache", "lru", "expert cache, least recently used expert evicted"}, make_lru},
      {{"cache", "lfu", "expert cache, fewest uses since cached evicted (MoE-Infinity's C++ fetch path)"}, make_lfu},
      {{"cache", "mixtral-offloading", "per-layer LRU with a fixed share of the cache per layer, swaps write back (Eliseev & Mazur)"},
       make_mixtral_offloading},
      {{"cache", "popularity", "the experts most used in profiling stay resident, the rest stream through LRU slots (BrainStorm-like)"},
       make_popularity},
      {{"cache", "moe-infinity", "activation-aware caching (and optional prefetch) from request-level expert activation matrices"},
       make_moe_infinity},
      {{"cache", "random-static", "lower bound: a uniformly random resident set, the rest through LRU slots (no knowledge of routing)"},
       make_random_static},
      {{"cache", "belady", "upper bound on the hit rate: Belady's MIN, told the served routing in advance (offline, not a real system)"},
       make_belady},
  };
  return list;
}

const std::vector<ProvisionerEntry>& provisioners() {
  static const std::vector<ProvisionerEntry> list{
      {{"provisioner", "moeless",
        "MoEless: layer-aware load forecasts scale stragglers out to replicas (even split) placed by load and warm locality"},
       make_moeless},
  };
  return list;
}

const std::vector<RouterEntry>& routers() {
  static const std::vector<RouterEntry> list{
      {{"router", "round-robin", "instances in turn, blind to their load"}, make_round_robin},
      {{"router", "random", "a uniformly random instance (each one then sees a Poisson stream)"}, make_random_router},
      {{"router", "least-requests", "join the shortest queue: fewest outstanding requests per GPU"}, make_least_requests},
      {{"router", "least-tokens", "fewest outstanding prompt + output tokens per GPU"}, make_least_tokens},
      {{"router", "most-free-kv", "largest share of its KV cache not reserved (ties: fewer requests per GPU)"},
       make_most_free_kv},
      {{"router", "power-of-two", "two random instances, the one with fewer outstanding requests per GPU"},
       make_power_of_two},
      {{"router", "prefix-aware",
        "the instance caching the longest prefix of the prompt while loads stay balanced (SGLang's cache-aware "
        "router; needs prefix caching)"},
       make_prefix_aware_router},
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


// The parameters of an entry are what its factory declares when built with defaults.
template <class E, class... Extra>
void describe(const std::vector<E>& list, std::vector<PolicyInfo>& out, Extra... extra) {
  for (const E& e : list) {
    PolicyParams params(e.info.name, std::nullopt);
    e.make(params, extra...);
    out.push_back(e.info);
    out.back().params = params.declared();
  }
}

}  // namespace

const std::vector<PolicyInfo>& policy_catalog() {
  static const std::vector<PolicyInfo> all = [] {
    std::vector<PolicyInfo> v;
    describe(placements(), v);
    describe(predictors(), v, static_cast<const models::RoutingSource*>(nullptr));
    describe(dispatches(), v, std::vector<double>{});
    describe(caches(), v);
    describe(provisioners(), v, static_cast<const ProvisionerContext*>(nullptr));
    describe(routers(), v, sim::Rng(0));
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

std::unique_ptr<models::RequestRouter> make_router(const std::string& name, const std::optional<JsonInput>& json,
                                                   sim::Rng rng) {
  PolicyParams params(name, json);
  return find(routers(), "router", name, json).make(params, rng);
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
