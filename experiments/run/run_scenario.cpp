#include "experiments/run/run_scenario.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <fmt/format.h>

#include "experiments/run/instance_metrics.h"
#include "util/text_table.h"
#include "util/errors.h"
#include "models/serving/expert_placement.h"
#include "models/serving/kv_handoff.h"
#include "models/workload/arrivals.h"
#include "policies/rebalancer.h"
#include "policies/registry.h"

namespace moesim::run {
namespace {

// Submits the scenario's arrivals until its duration (or its request count, or the
// end of a trace), each to the instance the router picks, then closes the engines
// to new work.
sim::Process arrival_process(sim::Simulator& sim, const Scenario& s, const std::vector<models::ServingEngine*>& engines,
                             models::RequestRouter& router, sim::Rng rng, const ProgressCallback& progress) {
  const auto arrivals = models::open_arrivals(s.arrivals, rng);
  const sim::Time horizon = sim::from_seconds(s.duration_s);
  std::vector<models::InstanceLoad> loads(engines.size());
  for (std::uint64_t id = 0; s.arrivals.count == 0 || id < static_cast<std::uint64_t>(s.arrivals.count); ++id) {
    auto next = arrivals->next();
    if (!next && s.arrivals.count > 0 && !s.arrivals.from_trace()) {
      throw InputError(fmt::format("{}: $.workload.arrivals.count: arrival {} of {} would come after the simulated "
                                   "clock's range (about {:g} s, docs/limits.md) at {:g} requests per second; "
                                   "expected a count the process reaches within it",
                                   s.name, id + 1, s.arrivals.count, models::kLastArrivalSeconds,
                                   s.arrivals.mean_rate_per_s()));
    }
    if (!next || (s.arrivals.count == 0 && next->at > horizon)) break;
    co_await sim.sleep(next->at - sim.now());
    models::Request r;
    r.id = id;
    r.arrival = sim.now();
    r.input_tokens = next->input_tokens;
    r.output_tokens = next->output_tokens;
    r.prefix_hashes = std::move(next->prefix_hashes);
    std::size_t instance = 0;
    if (engines.size() > 1) {
      for (std::size_t i = 0; i < engines.size(); ++i) loads[i] = engines[i]->load(r, router);
      instance = router.route(r, loads);
    }
    engines[instance]->submit(r);
    if (progress) {
      progress(s.arrivals.count > 0 ? static_cast<double>(id + 1) / static_cast<double>(s.arrivals.count)
                                    : sim::to_seconds(sim.now()) / s.duration_s);
    }
  }
  for (models::ServingEngine* engine : engines) engine->close();
}

std::string quantiles(const sim::QuantileSketch& q, double scale) {
  return fmt::format("{:.1f} / {:.1f} / {:.1f}", q.quantile(0.5) * scale, q.quantile(0.9) * scale,
                     q.quantile(0.99) * scale);
}

// One model instance: its slice of the cluster, its policies and its engine
// (docs/models.md "Instances"). Members the engine refers to live here with it.
struct Instance {
  int first_gpu = 0;
  // Instances whose EP groups share no link each get a flow network of their own
  // (the cluster's topology, rebuilt): their collectives can then run in closed form
  // side by side, and the result is the same as on one network.
  std::unique_ptr<sim::FlowNetwork> own_network;
  std::unique_ptr<models::Topology> own_topology;
  std::unique_ptr<models::Topology> slice;         // null: the whole cluster's topology
  std::vector<models::GpuSlowdown> own_slowdowns;  // the slice's (several instances; no drift then)
  std::unique_ptr<policies::PlacementPolicy> placement;
  std::unique_ptr<policies::LoadPredictor> predictor;
  std::unique_ptr<models::ReplicaDispatch> dispatch;
  std::unique_ptr<policies::ProfiledExpertTime> time_model;
  std::unique_ptr<policies::Rebalancer> rebalancer;
  models::ExpertPlacement initial;
  std::unique_ptr<models::ServingEngine> engine;
};

// Whether the links of every GPU pair within one instance carry no pair of another
// instance (per-GPU cables into NVSwitches and a non-blocking switch: yes; GPUs
// behind one PCIe switch in two instances: no).
bool instances_disjoint(const models::Topology& topology, const std::vector<InstanceSpan>& spans) {
  std::vector<int> owner(topology.network().link_count(), -1);
  for (const InstanceSpan& span : spans) {
    const int first = span.first_gpu;
    for (int a = first; a < first + span.gpus; ++a) {
      for (int b = first; b < first + span.gpus; ++b) {
        if (a == b) continue;
        for (const sim::LinkId l : topology.gpu_to_gpu(a, b)) {
          int& o = owner[static_cast<std::size_t>(l)];
          if (o != -1 && o != first) return false;
          o = first;
        }
      }
    }
  }
  return true;
}

int machines_spanned(const models::Topology& topology) {
  std::vector<int> machines;
  for (int g = 0; g < topology.gpu_count(); ++g) machines.push_back(topology.node(topology.gpu_node(g)).machine);
  std::sort(machines.begin(), machines.end());
  return static_cast<int>(std::unique(machines.begin(), machines.end()) - machines.begin());
}

// The GPU type of an instance: its group's, else the scenario's.
const models::GpuProfile& gpu_of(const Scenario& s, const InstanceGroup* group) {
  return group != nullptr && group->gpu ? *group->gpu : s.gpu;
}

// The placement side of an instance on `topology` whose GPUs run at `slowdowns`:
// what the policies may know is the initial profiling of GPU speeds (re-measured
// on recalibration) and the routing they observe.
void build_policies(Instance& in, const Scenario& s, const InstanceGroup* group, const models::Topology& topology,
                    const std::vector<models::GpuSlowdown>& slowdowns, const models::RoutingSource& routing,
                    bool serverless) {
  const bool own_placement = group != nullptr && group->placement.has_value();
  const std::string& placement = own_placement ? *group->placement : s.placement;
  const std::optional<JsonInput>& placement_params = own_placement ? group->placement_params : s.placement_params;
  std::vector<double> speed;
  for (const auto& sd : slowdowns) speed.push_back(1.0 / sd.compute_bound());
  // A serverless policy has no placement of its own; the static one stands in for the unused hooks.
  in.placement = policies::make_placement(serverless ? "static-contiguous" : placement,
                                          serverless ? std::nullopt : placement_params);
  in.predictor = policies::make_predictor(s.predictor, s.predictor_params, &routing);
  in.dispatch = policies::make_dispatch(s.dispatch, s.dispatch_params, speed);
  in.time_model = std::make_unique<policies::ProfiledExpertTime>(s.model, gpu_of(s, group), slowdowns);
  policies::PlacementContext context;
  context.model = &s.model;
  context.gpus = topology.gpu_count();
  context.nodes = s.instances.count() > 1 ? machines_spanned(topology) : s.topology.machines;
  policies::RebalanceConfig rebalance;
  rebalance.interval_s = s.rebalance_interval_s;
  rebalance.trigger = s.rebalance_trigger == "auto" ? in.placement->default_trigger() : s.rebalance_trigger;
  rebalance.drift_threshold = s.drift_threshold;
  rebalance.initial_batch_tokens = static_cast<double>(s.serving.max_batched_tokens * context.gpus * s.model.top_k);
  in.rebalancer = std::make_unique<policies::Rebalancer>(*in.placement, *in.predictor, context, rebalance,
                                                         in.time_model.get(), &slowdowns);
  in.initial = in.rebalancer->initial();
}

}  // namespace

RunResult run_scenario(const Scenario& s, sim::TraceWriter* trace, const ProgressCallback& progress) {
  const auto wall_start = std::chrono::steady_clock::now();
  sim::Simulator sim;
  sim::FlowNetwork net(sim);
  models::Topology topo(net);
  models::build_topology(topo, s.topology);
  const sim::RngStreams streams(s.seed);
  RunResult result;
  result.gpus = topo.gpu_count();
  result.slowdowns = s.variability.draw_all(streams, result.gpus);
  models::ThrottleProcess throttle(sim, s.variability.drift, result.slowdowns, streams);
  const auto routing = s.routing.make(s.model, streams.stream("routing"));
  result.routing_label = routing->label();
  result.metrics = models::ServingMetrics(result.gpus, s.slo);
  net.trace_to(trace);
  const bool serverless = policies::is_provisioner(s.placement);
  if (serverless && s.serving.expert_kernels == models::ServingConfig::ExpertKernels::kGrouped) {
    throw InputError(fmt::format("$.serving.expert_kernels: \"grouped\" cannot run with the serverless policy '{}' (each "
                                 "expert is its own function); expected \"per-expert\"",
                                 s.placement));
  }
  const std::vector<InstanceSpan> spans = s.instances.spans(result.gpus);
  std::vector<Instance> instances(spans.size());
  // Instances sharing links share the network, which times collectives by events
  // (closed form assumes one engine alone on it); so does a traced run. The cluster's
  // own network then carries only what crosses instances (disaggregated KV transfers).
  const bool own_networks = instances.size() > 1 && trace == nullptr && instances_disjoint(topo, spans);
  models::ServingConfig serving = s.serving;
  if (instances.size() > 1 && !own_networks) serving.closed_form_iterations = false;
  // Serverless (one instance only): the runtime and the policy provision experts layer by layer.
  std::unique_ptr<models::ServerlessRuntime> runtime;
  std::unique_ptr<policies::Provisioner> provisioner;
  std::vector<models::ServingEngine*> engines;         // those arrivals go to
  std::vector<models::ServingEngine*> decode_engines;  // disaggregated: the decode pool
  for (std::size_t i = 0; i < instances.size(); ++i) {
    Instance& in = instances[i];
    in.first_gpu = spans[i].first_gpu;
    const int per_instance = spans[i].gpus;
    if (own_networks) {
      in.own_network = std::make_unique<sim::FlowNetwork>(sim);
      in.own_topology = std::make_unique<models::Topology>(*in.own_network);
      models::build_topology(*in.own_topology, s.topology);
    }
    if (instances.size() > 1) {
      in.slice = std::make_unique<models::Topology>(
          (in.own_topology ? *in.own_topology : topo).gpu_subset(in.first_gpu, per_instance));
      in.own_slowdowns.assign(throttle.current().begin() + in.first_gpu,
                              throttle.current().begin() + in.first_gpu + per_instance);
    }
    models::Topology& topology = in.slice ? *in.slice : topo;
    const std::vector<models::GpuSlowdown>& slowdowns = in.slice ? in.own_slowdowns : throttle.current();
    const InstanceGroup* group = s.instances.group(spans[i]);
    build_policies(in, s, group, topology, slowdowns, *routing, serverless);
    models::ServingPolicies hooks{in.dispatch.get(), in.placement->adaptive() ? in.rebalancer.get() : nullptr};
    if (serverless) {
      runtime = std::make_unique<models::ServerlessRuntime>(sim, s.model, topology, s.serverless,
                                                            models::make_keep_alive(s.serverless.keep_alive), trace);
      provisioner = policies::make_provisioner(s.placement, s.placement_params,
                                               {sim, s.model, *runtime, streams.stream("serverless"), in.time_model.get()});
      hooks = {in.dispatch.get(), nullptr, provisioner.get()};
    }
    try {
      in.engine = std::make_unique<models::ServingEngine>(sim, s.model, gpu_of(s, group), slowdowns, topology,
                                                          in.initial, *routing, serving, result.metrics, trace, hooks,
                                                          in.first_gpu);
    } catch (const InputError& e) {
      // An instance too small for the model's weights: name the size that set it.
      if (group == nullptr) throw;
      throw InputError(fmt::format("{}.gpus: {}", group->json_path, e.what()));
    }
    (s.instances.prefill(spans[i]) || !s.instances.disaggregated() ? engines : decode_engines).push_back(in.engine.get());
    sim.spawn(in.engine->run());
  }
  const auto router = policies::make_router(s.router, s.router_params, streams.stream("router"));
  // Disaggregated: arrivals go to the prefill pool, which hands each prompt's KV to
  // a decode instance picked by a router of the same policy (docs/models.md).
  std::unique_ptr<models::RequestRouter> decode_router;
  std::unique_ptr<models::KvHandoff> handoff;
  if (s.instances.disaggregated()) {
    decode_router = policies::make_router(s.router, s.router_params, streams.stream("decode-router"));
    std::vector<models::KvHandoff::DecodeInstance> decode;
    for (std::size_t i = engines.size(); i < instances.size(); ++i) {
      decode.push_back({instances[i].engine.get(), instances[i].first_gpu});
    }
    handoff = std::make_unique<models::KvHandoff>(sim, s.model, topo, std::move(decode), *decode_router, result.metrics);
    handoff->expect_prefill_engines(static_cast<int>(engines.size()));
    for (models::ServingEngine* e : engines) {
      e->set_handoff([h = handoff.get()](models::Request r, int src) { h->hand_over(std::move(r), src); });
      e->set_on_finish([h = handoff.get()] { h->prefill_finished(); });
    }
  }
  sim.spawn(arrival_process(sim, s, engines, *router, streams.stream("arrivals"), progress));
  // Throttling episodes never end on their own: with drift, step until only the
  // throttle processes are left.
  const std::size_t background = s.variability.drift.episodes_per_hour > 0 ? static_cast<std::size_t>(result.gpus) : 0;
  if (background == 0) {
    sim.run();
  } else {
    while (sim.live_processes() > background) sim.run_until(sim.now() + sim::seconds(1));
  }
  if (result.metrics.requests().empty() && !result.metrics.dropped().empty()) {
    // Every request refused (KV cache too small for any of them): no latency to report.
    const std::string hint =
        s.serving.kv_blocks > 0
            ? fmt::format("; $.serving.kv_blocks = {} blocks of {} tokens is smaller than one request needs",
                          s.serving.kv_blocks, s.serving.kv_block_tokens)
            : "";
    throw InputError(fmt::format("{}: every one of the {} requests was dropped (the first: {}){}", s.name,
                                 result.metrics.dropped().size(), result.metrics.dropped().front().second, hint));
  }
  if (result.metrics.requests().empty() && result.metrics.dropped().empty()) {
    // All-zero latencies and NaN rates would read as a measurement; say why there is none.
    throw InputError(fmt::format("{}: the workload produced no requests within duration_s = {} s ({}); nothing to "
                                 "measure",
                                 s.name, s.duration_s,
                                 s.arrivals.from_trace() ? "the arrival trace holds none in that time"
                                                         : "the first arrival comes later"));
  }
  result.makespan = result.metrics.last_completion();
  std::int64_t copies = 0;
  for (const Instance& in : instances) copies += in.initial.copies();
  result.cost = serverless ? serverless_cost(s, runtime->bill(), result) : serverful_cost(s, copies, result);
  if (serverless) {
    result.serverless = ServerlessSummary{runtime->bill(), provisioner->stats(), provisioner->accuracy(),
                                          runtime->keep_alive().name(), runtime->pool_bytes()};
  }
  result.predictor_accuracy = instances.front().predictor->accuracy();
  for (std::size_t i = 1; i < instances.size(); ++i) {
    result.predictor_accuracy = pooled(result.predictor_accuracy, instances[i].predictor->accuracy());
  }
  for (std::size_t i = 0; i < instances.size(); ++i) {
    result.recalibrations += instances[i].rebalancer->recalibrations();
    const InstanceGroup* group = s.instances.group(spans[i]);
    result.instances.push_back({instances[i].first_gpu, instances[i].engine->gpus(), group ? group->pool : "",
                                group && group->gpu ? group->gpu->name : ""});
  }
  result.router = s.router;
  result.events = sim.events_executed();
  for (std::size_t l = 0; l < net.link_count(); ++l) {
    const auto id = static_cast<sim::LinkId>(l);
    LinkSummary link{net.link_name(id), net.link_bytes(id), net.link_utilisation(id)};
    // Own networks are copies of this one: the same link carries only its instance's bytes in each.
    for (const Instance& in : instances) {
      if (!in.own_network) continue;
      link.bytes += in.own_network->link_bytes(id);
      link.utilisation += in.own_network->link_utilisation(id);
    }
    result.links.push_back(std::move(link));
  }
  std::stable_sort(result.links.begin(), result.links.end(),
                   [](const LinkSummary& a, const LinkSummary& b) { return a.bytes > b.bytes; });
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

namespace {

// The rules every policy is measured by: busy and reserved GPU time.
CostSummary common_cost(const RunResult& r, sim::Time loads) {
  CostSummary c;
  sim::Time busy = loads;
  for (const sim::Time t : r.metrics.gpu_busy()) busy += t;
  c.busy_gpu_seconds = sim::to_seconds(busy);
  c.reserved_gpu_seconds = r.gpus * sim::to_seconds(r.makespan);
  return c;
}

}  // namespace

CostSummary serverful_cost(const Scenario& s, std::int64_t expert_copies, const RunResult& r) {
  // Weight moves of re-placements count as busy time once per migration (its duration).
  CostSummary c = common_cost(r, r.metrics.migration_time());
  const double seconds = sim::to_seconds(r.makespan);
  c.expert_gb_seconds = static_cast<double>(expert_copies * s.model.expert_bytes()) / 1e9 * seconds;
  c.billed_gpu_seconds = c.reserved_gpu_seconds;
  c.usd = c.billed_gpu_seconds / 3600.0 * s.serverless.gpu_hour_price +
          c.expert_gb_seconds / 3600.0 * s.serverless.gb_hour_price;
  return c;
}

CostSummary serverless_cost(const Scenario& s, const models::ServerlessBill& bill, const RunResult& r) {
  CostSummary c = common_cost(r, bill.load_time);
  c.expert_gb_seconds = bill.gb_seconds;
  c.billed_gpu_seconds = bill.billed_gpu_seconds();
  c.usd = bill.cost(s.serverless);
  return c;
}

std::string format_summary(const Scenario& s, const RunResult& r) {
  const auto& m = r.metrics;
  util::TextTable t({"metric", "value"});
  t.align_left(1);  // values mix numbers and long labels (trace paths)
  t.add_row({"model / GPUs", fmt::format("{} on {} × {} ({})", s.model.display_name, r.gpus, s.gpu.name, s.topology.preset)});
  if (s.instances.disaggregated()) t.add_row({"pools", s.instances.describe(s.gpu.name, s.placement, true)});
  if (s.serving.attention_tp > 1) {
    t.add_row({"attention", fmt::format("tensor-parallel groups of {} GPUs ({} ranks), {} + all-gather",
                                        s.serving.attention_tp, r.gpus / s.serving.attention_tp,
                                        s.serving.tp_collective == models::ServingConfig::TpCollective::kAllReduce
                                            ? "all-reduce"
                                            : "reduce-scatter")});
  }
  t.add_row({"arrivals", s.arrivals.label()});
  t.add_row({"routing", r.routing_label});
  t.add_row({"requests completed / dropped", fmt::format("{} / {}", m.requests().size(), m.dropped().size())});
  t.add_row({"TTFT P50 / P90 / P99 [ms]", quantiles(m.ttft(), 1e3)});
  t.add_row({"TPOT P50 / P90 / P99 [ms]", quantiles(m.tpot(), 1e3)});
  t.add_row({"inter-token latency P50 / P90 / P99 [ms]", quantiles(m.inter_token(), 1e3)});
  t.add_row({"end-to-end P50 / P90 / P99 [s]", quantiles(m.e2e(), 1.0)});
  t.add_row({fmt::format("SLO attainment (TTFT ≤ {:.0f} ms, TPOT ≤ {:.0f} ms)", s.slo.ttft_s * 1e3, s.slo.tpot_s * 1e3),
             fmt::format("{:.1f}%", 100.0 * m.slo_attainment())});
  t.add_row({"throughput [output tokens/s]", fmt::format("{:.1f}", static_cast<double>(m.output_tokens()) / sim::to_seconds(r.makespan))});
  t.add_row({"layer imbalance mean / max (max/mean GPU expert time)",
             fmt::format("{:.3f} / {:.3f}", m.layer_imbalance().mean(), m.layer_imbalance().max())});
  t.add_row({"slowest GPU's expert time per MoE layer, mean [µs]", fmt::format("{:.1f}", m.max_expert_time().mean() * 1e6)});
  t.add_row({"expert stage per MoE layer: slowest − fastest GPU / GPU mean [µs]",
             fmt::format("{:.1f} / {:.1f}", m.expert_gap().mean() * 1e6, m.expert_mean().mean() * 1e6)});
  t.add_row({"placement", fmt::format("{} (dispatch {}, predictor {})", s.placement, s.dispatch, s.predictor)});
  if (r.instances.size() > 1) {
    const std::string layout = s.instances.describe(s.gpu.name, s.placement);
    t.add_row({"instances / router", fmt::format("{} / {}", layout, r.router)});
    for (const auto& row : instance_rows(r)) t.add_row(row);
  }
  t.add_row({"re-placements / expert copies moved / GB / swaps",
             fmt::format("{} / {} / {:.2f} / {}", m.migrations(), m.experts_moved(), m.bytes_migrated() / 1e9, m.swaps())});
  if (r.predictor_accuracy.scored > 0) {
    t.add_row({"predictor share MAE / top-2 recall", fmt::format("{:.4f} / {:.3f} over {} intervals", r.predictor_accuracy.share_mae,
                                                                 r.predictor_accuracy.top_recall, r.predictor_accuracy.scored)});
  }
  double busy = 0.0;
  for (sim::Time b : m.gpu_busy()) busy += sim::to_seconds(b);
  t.add_row({"GPU busy", fmt::format("{:.1f}%", 100.0 * busy / r.gpu_seconds())});
  t.add_row({"iterations / mean batch [tokens]", fmt::format("{} / {:.1f}", m.iterations(), m.batch_tokens().mean())});
  t.add_row({"requests waiting for admission, mean / max", fmt::format("{:.1f} / {:.0f}", m.mean_waiting(), m.max_waiting())});
  if (s.serving.kv_cache == models::ServingConfig::KvCache::kPaged) {
    const auto& kv = m.kv_cache();
    t.add_row({"KV preemptions: recompute / swap (GB swapped out)",
               fmt::format("{} / {} ({:.2f})", kv.recompute_preemptions, kv.swap_preemptions, kv.swapped_out_bytes / 1e9)});
    if (s.serving.prefix_cache) t.add_row({"prefix cache hits [% of prefill tokens looked up]", fmt::format("{:.1f}%", 100.0 * kv.prefix_hit_share())});
  }
  if (s.instances.disaggregated()) {
    const auto& w = m.kv_transfer_wait();
    t.add_row({"KV hand-overs / GB / first token to KV at decode, mean / max [ms]",
               fmt::format("{} / {:.2f} / {:.2f} / {:.2f}", w.count(), m.kv_transfer_bytes() / 1e9, w.mean() * 1e3,
                           w.count() > 0 ? w.max() * 1e3 : 0.0)});
  }
  if (!r.links.empty()) {
    t.add_row({"busiest link", fmt::format("{} ({:.2f} GB, {:.1f}% utilised)", r.links[0].name, r.links[0].bytes / 1e9,
                                          100.0 * r.links[0].utilisation)});
  }
  if (r.serverless) {
    const auto& sv = *r.serverless;
    const auto& b = sv.bill;
    t.add_row({"serverless: keep-alive / pool per GPU", fmt::format("{} / {:.1f} GiB", sv.keep_alive, sv.pool_bytes / double(1LL << 30))});
    t.add_row({"instance loads (pre-warms) / evictions / reclaims",
               fmt::format("{} ({}) / {} / {}", b.loads, b.prewarms, b.evictions, b.reclaims)});
    t.add_row({"cold starts on the critical path: instances / layers / wait [s]",
               fmt::format("{} / {} / {:.3f}", b.cold_waits, b.layers_waited, sim::to_seconds(b.wait_time))});
    t.add_row({"layers planned by forecast / by history; replicas per expert",
               fmt::format("{} / {}; {:.2f}", sv.stats.planned_by_forecast, sv.stats.planned_by_history,
                           sv.stats.layers > 0 ? static_cast<double>(sv.stats.replicas) / static_cast<double>(sv.stats.layers * s.model.experts) : 0.0)});
    if (sv.accuracy.scored > 0) {
      t.add_row({"layer forecast share MAE / top-k recall", fmt::format("{:.4f} / {:.3f} over {} layers", sv.accuracy.share_mae,
                                                                       sv.accuracy.top_recall, sv.accuracy.scored)});
    }
  }
  t.add_row({"GPU-seconds busy / reserved (every policy alike)",
             fmt::format("{:.1f} / {:.1f}", r.cost.busy_gpu_seconds, r.cost.reserved_gpu_seconds)});
  t.add_row({"billed GPU-seconds (own billing) / expert GB-seconds / cost",
             fmt::format("{:.1f} / {:.1f} / ${:.3f}", r.cost.billed_gpu_seconds, r.cost.expert_gb_seconds, r.cost.usd)});
  t.add_row({"MoE layer mean / P99 [ms]", fmt::format("{:.3f} / {:.3f}", m.moe_layer_mean().mean() * 1e3, m.moe_layer().quantile(0.99) * 1e3)});
  t.add_row({"simulated time / GPU-seconds", fmt::format("{:.2f} s / {:.1f}", sim::to_seconds(r.makespan), r.gpu_seconds())});
  t.add_row({"events / wall time", fmt::format("{} / {:.2f} s", r.events, r.wall_seconds)});
  return t.render();
}

std::string metrics_json(const Scenario& s, const RunResult& r) {
  const auto& m = r.metrics;
  nlohmann::ordered_json j;
  j["scenario"] = s.resolved;
  j["labels"] = {s.arrivals.label(), r.routing_label};
  j["requests"] = {{"completed", m.requests().size()}, {"dropped", m.dropped().size()}};
  j["dropped"] = nlohmann::ordered_json::array();
  for (const auto& [id, why] : m.dropped()) j["dropped"].push_back({{"id", id}, {"reason", why}});
  j["ttft_s"] = quantiles_json(m.ttft());
  j["tpot_s"] = quantiles_json(m.tpot());
  j["inter_token_latency_s"] = quantiles_json(m.inter_token());
  j["e2e_s"] = quantiles_json(m.e2e());
  j["slo_attainment"] = m.slo_attainment();
  j["throughput_output_tokens_per_s"] = static_cast<double>(m.output_tokens()) / sim::to_seconds(r.makespan);
  j["waiting_requests"] = {{"mean", m.mean_waiting()}, {"max", m.max_waiting()}};
  if (s.serving.kv_cache == models::ServingConfig::KvCache::kPaged) {
    const auto& kv = m.kv_cache();
    j["kv_cache"] = {{"recompute_preemptions", kv.recompute_preemptions},
                     {"swap_preemptions", kv.swap_preemptions},
                     {"swapped_out_bytes", kv.swapped_out_bytes},
                     {"prefill_lookup_tokens", kv.prefill_lookup_tokens},
                     {"prefix_hit_tokens", kv.prefix_hit_tokens},
                     {"prefix_hit_share", kv.prefix_hit_share()}};
  }
  if (s.instances.disaggregated()) {
    const auto& w = m.kv_transfer_wait();
    j["kv_transfers"] = {{"count", w.count()},
                         {"bytes", m.kv_transfer_bytes()},
                         {"first_token_to_kv_s", {{"mean", w.mean()}, {"max", w.count() > 0 ? w.max() : 0.0}}}};
  }
  j["layer_imbalance"] = {{"mean", m.layer_imbalance().mean()}, {"max", m.layer_imbalance().max()}};
  // ViBE's kernel-level metric, per MoE layer, averaged over layers and iterations.
  j["expert_stage_us"] = {{"slowest_minus_fastest", m.expert_gap().mean() * 1e6},
                          {"gpu_mean", m.expert_mean().mean() * 1e6},
                          {"slowest", m.max_expert_time().mean() * 1e6}};
  auto& gpus = j["gpus"] = nlohmann::ordered_json::array();
  for (int g = 0; g < r.gpus; ++g) {
    const models::GpuSlowdown& sd = r.slowdowns[static_cast<std::size_t>(g)];
    nlohmann::ordered_json gpu{{"gpu", g}, {"compute_slowdown", sd.compute_bound()}, {"memory_slowdown", sd.memory}};
    // Power-limited clocks: the budget says how soon the GPU throttles; compute_slowdown is then its compute-bound figure.
    if (sd.power_budget > 0.0) gpu["power_budget"] = sd.power_budget / sd.reference_budget;
    gpu["busy_s"] = sim::to_seconds(m.gpu_busy()[static_cast<std::size_t>(g)]);
    gpus.push_back(gpu);
  }
  auto& links = j["links"] = nlohmann::ordered_json::array();
  for (const LinkSummary& l : r.links) {
    links.push_back({{"link", l.name}, {"bytes", l.bytes}, {"utilisation", l.utilisation}});
  }
  j["routing"] = {{"tokens_routed", m.tokens_routed()}, {"expert_assignments", m.expert_assignments()},
                  {"remote_rows", m.remote_rows()}};
  if (r.instances.size() > 1) j["instances"] = instances_json(r);
  j["iterations"] = m.iterations();
  j["simulated_s"] = sim::to_seconds(r.makespan);
  j["gpu_seconds"] = r.gpu_seconds();
  j["moe_layer_s"] = {{"mean", m.moe_layer_mean().mean()}, {"p50", m.moe_layer().quantile(0.5)}, {"p99", m.moe_layer().quantile(0.99)}};
  j["cost"] = {{"busy_gpu_seconds", r.cost.busy_gpu_seconds},
               {"reserved_gpu_seconds", r.cost.reserved_gpu_seconds},
               {"expert_gb_seconds", r.cost.expert_gb_seconds},
               {"billed_gpu_seconds", r.cost.billed_gpu_seconds},
               {"usd", r.cost.usd}};
  if (r.serverless) {
    const auto& b = r.serverless->bill;
    j["serverless"] = {{"keep_alive", r.serverless->keep_alive},
                       {"pool_bytes", r.serverless->pool_bytes},
                       {"loads", b.loads},
                       {"prewarms", b.prewarms},
                       {"evictions", b.evictions},
                       {"reclaims", b.reclaims},
                       {"cold_waits", b.cold_waits},
                       {"layers_waited", b.layers_waited},
                       {"cold_wait_s", sim::to_seconds(b.wait_time)},
                       {"load_s", sim::to_seconds(b.load_time)},
                       {"busy_s", sim::to_seconds(b.busy_time)},
                       {"bytes_loaded", b.bytes_loaded},
                       {"instance_seconds", b.instance_seconds},
                       {"planned_by_forecast", r.serverless->stats.planned_by_forecast},
                       {"planned_by_history", r.serverless->stats.planned_by_history},
                       {"forecast_share_mae", r.serverless->accuracy.share_mae},
                       {"forecast_top_recall", r.serverless->accuracy.top_recall}};
  }
  j["events"] = r.events;
  return j.dump(2) + "\n";
}

std::string requests_csv(const RunResult& r) {
  std::string out = "id,gpu,arrival_s,input_tokens,output_tokens,ttft_s,tpot_s,e2e_s\n";
  for (const auto& rec : r.metrics.requests()) {
    out += fmt::format("{},{},{:.9f},{},{},{:.9f},{:.9f},{:.9f}\n", rec.id, rec.gpu, sim::to_seconds(rec.arrival),
                       rec.input_tokens, rec.output_tokens, rec.ttft_s(), rec.tpot_s(), rec.e2e_s());
  }
  return out;
}

}  // namespace moesim::run
