#include "experiments/run/scenario.h"

#include "experiments/run/policy_spec.h"
#include "experiments/run/scenario_header.h"

#include "policies/registry.h"
#include "util/errors.h"

#include <fmt/format.h>

#include "models/catalog.h"
#include "traces/arrival_trace.h"

namespace moesim::run {

void check_placement(const std::string& name, const std::optional<JsonInput>& params) {
  if (policies::is_provisioner(name)) {
    policies::check_provisioner(name, params);
  } else {
    policies::make_placement(name, params);
  }
}

namespace {

// {"count": N, "gpus": G[, "gpu": type][, "placement": {...}]}: N instances of G
// consecutive GPUs, each an EP group of G (G divides the experts, so every GPU of an
// instance holds as many experts under the static layouts).
InstanceGroup parse_group(const JsonInput& json, const models::MoeModel& model, std::string pool) {
  InstanceGroup group;
  group.pool = std::move(pool);
  group.json_path = json.path();
  group.count = static_cast<int>(json.at("count").integer_in(1, 1 << 20));
  const JsonInput gpus = json.at("gpus");
  group.gpus = static_cast<int>(gpus.integer_in(1, 1 << 20));
  if (model.experts % group.gpus != 0) {
    gpus.fail(fmt::format("an EP group of {} GPUs does not divide {}'s {} experts; expected a divisor of {}", group.gpus,
                          model.name, model.experts, model.experts));
  }
  if (const auto gpu = json.find("gpu")) group.gpu = models::load_gpu_profile(gpu->string(), gpu->where());
  if (const auto placement = json.find("placement")) {
    group.placement = placement->at("policy").string();
    group.placement_params = placement;
    check_placement(*group.placement, group.placement_params);
    if (policies::is_provisioner(*group.placement)) {
      placement->at("policy").fail(fmt::format(
          "the serverless policy '{}' provisions the whole cluster's experts; expected a serverful policy per instance",
          *group.placement));
    }
  }
  json.reject_unknown_keys();
  return group;
}

// The groups, in order, must cover the cluster's GPUs exactly.
void check_tiling(const JsonInput& json, const InstanceLayout& layout, const models::TopologyOptions& topology) {
  const int cluster = models::topology_gpu_count(topology);
  std::int64_t used = 0;
  std::vector<std::string> terms;
  for (const InstanceGroup& g : layout.groups) {
    used += static_cast<std::int64_t>(g.count) * g.gpus;
    terms.push_back(fmt::format("{} × {}{}", g.count, g.gpus, g.pool.empty() ? "" : " " + g.pool));
  }
  if (used != cluster) {
    json.fail(fmt::format("{} GPUs = {} GPUs do not tile the cluster's {} GPUs; expected instances × GPUs to sum to {}",
                          fmt::join(terms, " + "), used, cluster, cluster));
  }
}

// One group ({"count", "gpus", ...}) or a list of them, laid out in order.
InstanceLayout parse_instances(const JsonInput& json, const models::TopologyOptions& topology,
                               const models::MoeModel& model) {
  InstanceLayout layout;
  if (json.raw().is_array()) {
    for (const JsonInput& item : json.items()) layout.groups.push_back(parse_group(item, model, ""));
    if (layout.groups.empty()) json.fail("an empty list of instance groups; expected at least one {\"count\", \"gpus\"}");
  } else {
    json.check(json.raw().is_object(), "an object {\"count\", \"gpus\"} or a list of them");
    layout.groups.push_back(parse_group(json, model, ""));
  }
  check_tiling(json, layout, topology);
  return layout;
}

// {"prefill": {...}, "decode": {...}}, each a group: prefill instances then decode
// instances tiling the cluster.
InstanceLayout parse_pools(const JsonInput& json, const models::TopologyOptions& topology, const models::MoeModel& model) {
  InstanceLayout layout;
  for (const char* name : {"prefill", "decode"}) layout.groups.push_back(parse_group(json.at(name), model, name));
  json.reject_unknown_keys();
  check_tiling(json, layout, topology);
  return layout;
}

// Prefix caching needs prompts with prefix hashes (only Mooncake traces carry them),
// and the prefix-aware router needs prefix caching: otherwise both would quietly
// act as if no prompt were ever shared. And a what-if KV capacity must fit in bytes.
void check_kv_cache(const JsonInput& json, const Scenario& s) {
  if (s.serving.prefix_cache &&
      !(s.arrivals.from_trace() && traces::resolve_arrival_format(s.arrivals.trace_path, s.arrivals.trace_format) == "mooncake")) {
    json.at("serving").at("prefix_cache").fail(
        "these arrivals carry no prefix hashes; expected a Mooncake trace (its hash_ids) or prefix_cache false");
  }
  // kv_blocks × block bytes must stay far inside int64 (the capacity in bytes).
  const std::int64_t block_bytes = s.serving.kv_block_tokens * s.model.kv_cache_bytes_per_token();
  if (block_bytes > 0 && s.serving.kv_blocks > (std::int64_t{1} << 60) / block_bytes) {
    json.at("serving").at("kv_blocks").fail(fmt::format(
        "{} blocks of {} bytes exceed 2^60 bytes of KV cache per GPU; expected at most {}", s.serving.kv_blocks,
        block_bytes, (std::int64_t{1} << 60) / block_bytes));
  }
  if (s.router == "prefix-aware" && !s.serving.prefix_cache) {
    json.at("router").at("policy").fail("the prefix-aware router needs \"serving\": {\"prefix_cache\": true}");
  }
}

// Tensor-parallel attention groups must tile each instance and split the heads
// evenly; GQA's KV heads are split too, or replicated whole (vLLM's rule).
void check_attention_tp(const JsonInput& json, const Scenario& s) {
  const int tp = s.serving.attention_tp;
  if (tp == 1) return;
  const JsonInput at = json.at("serving").at("attention_tp");
  for (const InstanceSpan& in : s.instances.spans(models::topology_gpu_count(s.topology))) {
    if (in.gpus % tp != 0) {
      at.fail(fmt::format("TP groups of {} GPUs do not tile an instance of {} GPUs; expected a divisor of {}", tp,
                          in.gpus, in.gpus));
    }
  }
  const auto& a = s.model.attention;
  if (a.heads % tp != 0) {
    at.fail(fmt::format("a TP degree of {} does not divide {}'s {} attention heads; expected a divisor of {}", tp,
                        s.model.name, a.heads, a.heads));
  }
  if (s.model.kv_shards(tp) > 1 && a.kv_heads % tp != 0 && tp % a.kv_heads != 0) {
    at.fail(fmt::format("a TP degree of {} neither divides nor is a multiple of {}'s {} KV heads", tp, s.model.name,
                        a.kv_heads));
  }
}

}  // namespace

Scenario parse_scenario(const JsonInput& json) {
  Scenario s;
  ScenarioHeader header = parse_scenario_header(json, "scenario", std::nullopt);
  s.name = std::move(header.name);
  s.seed = header.seed;
  s.model = std::move(header.model);
  s.gpu = std::move(header.gpu);
  s.topology = header.topology;
  if (const auto v = json.at("cluster").find("variability")) s.variability = models::parse_gpu_variability(*v);
  const auto instances = json.at("cluster").find("instances");
  const auto pools = json.at("cluster").find("pools");
  if (instances && pools) pools->fail("give either cluster.instances or cluster.pools, not both");
  if (instances) s.instances = parse_instances(*instances, s.topology, s.model);
  if (pools) s.instances = parse_pools(*pools, s.topology, s.model);
  if (s.instances.count() > 1 && s.variability.drift.episodes_per_hour > 0) {
    (instances ? *instances : *pools)
        .fail("several instances with throttling drift (cluster.variability.drift) are not supported; expected one "
              "instance or no drift");
  }
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
  if (s.instances.count() > 1 && policies::is_provisioner(s.placement)) {
    json.at("cluster").at(pools ? "pools" : "instances").fail(fmt::format(
        "the serverless policy '{}' provisions the whole cluster's experts; expected one instance with it", s.placement));
  }
  if (const auto router = json.find("router")) {
    s.router = router->at("policy").string();
    s.router_params = router;
  }
  policies::make_router(s.router, s.router_params);
  check_kv_cache(json, s);
  check_attention_tp(json, s);
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
  // Only scenarios that cut the cluster into instances say so: others resolve as before.
  if (s.instances.given()) {
    const auto group_json = [](const InstanceGroup& g) {
      nlohmann::ordered_json j{{"count", g.count}, {"gpus", g.gpus}};
      if (g.gpu) j["gpu"] = g.gpu->name;
      if (g.placement) j["placement"] = g.placement_params->raw();
      return j;
    };
    auto& cluster = s.resolved["cluster"];
    if (s.instances.disaggregated()) {
      for (const InstanceGroup& g : s.instances.groups) cluster["pools"][g.pool] = group_json(g);
    } else if (instances->raw().is_array()) {
      for (const InstanceGroup& g : s.instances.groups) cluster["instances"].push_back(group_json(g));
    } else {
      cluster["instances"] = group_json(s.instances.groups.front());
    }
    s.resolved["router"] = s.router_params ? s.router_params->raw() : nlohmann::json{{"policy", s.router}};
  }
  return s;
}

int InstanceLayout::count() const {
  int n = 0;
  for (const InstanceGroup& g : groups) n += g.count;
  return groups.empty() ? 1 : n;
}

std::vector<InstanceSpan> InstanceLayout::spans(int cluster_gpus) const {
  if (groups.empty()) return {{0, cluster_gpus, 0}};
  std::vector<InstanceSpan> out;
  int first = 0;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (int i = 0; i < groups[g].count; ++i) {
      out.push_back({first, groups[g].gpus, static_cast<int>(g)});
      first += groups[g].gpus;
    }
  }
  return out;
}

std::string InstanceLayout::describe(const std::string& gpu, const std::string& placement, bool full) const {
  std::vector<std::string> parts;
  for (const InstanceGroup& g : groups) {
    const std::string& own_gpu = g.gpu ? g.gpu->name : gpu;
    const std::string& own_placement = g.placement ? *g.placement : placement;
    std::string part = fmt::format("{}{} × EP {}", g.pool.empty() ? "" : g.pool + " ", g.count, g.gpus);
    if (full || own_gpu != gpu) part += " on " + own_gpu;
    if (full || own_placement != placement) part += " (" + own_placement + ")";
    parts.push_back(std::move(part));
  }
  return fmt::format("{}", fmt::join(parts, full ? "; " : " + "));
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
