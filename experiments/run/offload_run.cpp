#include "experiments/run/offload_run.h"

#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/text_table.h"
#include "experiments/run/policy_spec.h"
#include "models/offload/offload_engine.h"
#include "models/workload/trace_routing_source.h"
#include "policies/registry.h"
#include "sim/rng.h"

namespace moesim::run {

namespace {

// Training requests get ids [0, train), evaluation requests the next `eval` ids, so
// a replayed trace never serves a request its policy profiled.
std::vector<models::OffloadRequest> make_requests(const OffloadScenario& s, models::RoutingSource& routing) {
  const auto total = static_cast<std::uint64_t>(s.train_requests) + static_cast<std::uint64_t>(s.eval_requests);
  const auto* trace = dynamic_cast<const models::TraceRoutingSource*>(&routing);
  if (trace != nullptr && total > trace->trace_requests()) {
    throw InputError(fmt::format(
        "{}: requests.train + requests.eval = {} + {} exceeds the {} requests of routing trace {} (evaluation must not "
        "replay a training request)",
        s.name, s.train_requests, s.eval_requests, trace->trace_requests(), s.routing.trace));
  }
  std::vector<models::OffloadRequest> requests;
  for (std::uint64_t id = 0; id < total; ++id) {
    models::OffloadRequest r{id, s.prompt_tokens, s.decode_tokens};
    if (trace != nullptr) {
      const auto& steps = trace->trace_request(id).steps;
      r.prompt_tokens = steps[0].tokens;
      r.decode_steps = static_cast<std::int64_t>(steps.size()) - 1;
      if (s.max_decode_steps > 0) r.decode_steps = std::min(r.decode_steps, s.max_decode_steps);
    }
    requests.push_back(r);
  }
  return requests;
}

double all_experts(const OffloadScenario& s) {
  return static_cast<double>(s.model.experts) * static_cast<double>(s.model.moe_layer_count());
}

std::string number_or_dash(double v, const char* format_spec) {
  return std::isnan(v) ? std::string("-") : fmt::format(fmt::runtime(format_spec), v);
}

}  // namespace

std::vector<int> cache_sizes(const OffloadScenario& s, const std::vector<double>& fractions) {
  std::vector<int> sizes;
  for (const double f : fractions) {
    if (!(f > 0.0 && f <= 1.0)) throw InputError(fmt::format("cache fraction {} is not in (0, 1]", f));
    sizes.push_back(std::max(1, static_cast<int>(std::floor(f * all_experts(s)))));
  }
  return sizes;
}

OffloadRow run_offload(const OffloadScenario& s, const std::string& policy, int cache_experts, sim::TraceWriter* trace) {
  const auto wall_start = std::chrono::steady_clock::now();
  sim::Simulator sim;
  sim::FlowNetwork net(sim);
  net.trace_to(trace);
  models::Topology topology(net);
  models::build_topology(topology, s.topology);
  const sim::RngStreams streams(s.seed);
  const auto routing = s.routing.make(s.model, streams.stream("routing"));
  const std::vector<models::OffloadRequest> requests = make_requests(s, *routing);
  const PolicySpec spec = parse_policy_spec(policy);
  const auto cache_policy = policies::make_cache_policy(spec.name, spec.params);
  const auto train = static_cast<std::size_t>(s.train_requests);
  for (std::size_t i = 0; i < train; ++i) cache_policy->train(models::request_activations(s.model, *routing, requests[i]));

  OffloadRow row;
  row.policy = policy;
  row.cache_experts = cache_experts;
  row.cache_fraction = static_cast<double>(cache_experts) / all_experts(s);
  models::OffloadConfig config = s.offload;
  config.cache_experts = cache_experts;
  models::OffloadEngine engine(sim, s.model, s.gpu, topology, config, *cache_policy, *routing, row.metrics, trace);
  sim.spawn(engine.serve({requests.begin() + static_cast<std::ptrdiff_t>(train), requests.end()}));
  sim.run();
  row.events = sim.events_executed();
  row.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return row;
}

std::string format_offload(const OffloadScenario& s, const std::vector<OffloadRow>& rows) {
  std::string out = fmt::format(
      "{}: {} on one {} ({}), experts in {}; {} training requests profile the policies, {} are served (batch 1)\n"
      "routing: {}\n\n",
      s.name, s.model.display_name, s.gpu.display_name, s.topology.preset, models::expert_home_name(s.offload.home),
      s.train_requests, s.eval_requests, s.routing.label());
  util::TextTable table({"policy", "cache", "s/token", "P50 step s", "P99 step s", "hit rate", "prefetch acc",
                           "GB host→GPU", "stall %", "vs first"});
  for (const OffloadRow& r : rows) {
    const auto& m = r.metrics;
    double first = std::nan("");
    for (const OffloadRow& o : rows) {
      if (o.cache_experts == r.cache_experts) {
        first = o.metrics.per_token_latency_s();
        break;
      }
    }
    table.add_row({r.policy, fmt::format("{} ({:.0f}%)", r.cache_experts, 100.0 * r.cache_fraction),
                   number_or_dash(m.per_token_latency_s(), "{:.3f}"), number_or_dash(m.step_quantile_s(0.5), "{:.3f}"),
                   number_or_dash(m.step_quantile_s(0.99), "{:.3f}"), number_or_dash(m.hit_rate(), "{:.3f}"),
                   number_or_dash(m.prefetch_accuracy(), "{:.3f}"), fmt::format("{:.1f}", m.host_to_gpu_bytes / 1e9),
                   number_or_dash(100.0 * sim::to_seconds(m.stall_time) /
                                      sim::to_seconds(m.decode_time + m.prefill_time), "{:.1f}"),
                   number_or_dash(m.per_token_latency_s() / first, "{:.2f}×")});
  }
  out += table.render();
  out += "\ns/token: decode time / decode steps (prefill excluded); hit rate: chosen experts already resident;\n"
         "prefetch acc: prefetched experts used before eviction; vs first: s/token relative to the first policy\n"
         "at the same cache size.\n";
  return out;
}

std::string offload_json(const OffloadScenario& s, const std::vector<OffloadRow>& rows) {
  nlohmann::ordered_json j{{"scenario", s.resolved}, {"runs", nlohmann::ordered_json::array()}};
  auto finite = [](double v) { return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v); };
  for (const OffloadRow& r : rows) {
    const auto& m = r.metrics;
    j["runs"].push_back({{"policy", r.policy},
                         {"cache_experts", r.cache_experts},
                         {"cache_fraction", r.cache_fraction},
                         {"per_token_latency_s", finite(m.per_token_latency_s())},
                         {"step_p50_s", finite(m.step_quantile_s(0.5))},
                         {"step_p99_s", finite(m.step_quantile_s(0.99))},
                         {"prefill_s", sim::to_seconds(m.prefill_time)},
                         {"requests", m.requests},
                         {"decode_steps", m.decode_steps},
                         {"expert_uses", m.expert_uses},
                         {"hits", m.hits},
                         {"prefetch_in_flight", m.prefetch_in_flight},
                         {"misses", m.misses},
                         {"hit_rate", finite(m.hit_rate())},
                         {"prefetches", m.prefetches},
                         {"prefetches_used", m.prefetches_used},
                         {"prefetch_accuracy", finite(m.prefetch_accuracy())},
                         {"evictions", m.evictions},
                         {"host_to_gpu_bytes", m.host_to_gpu_bytes},
                         {"gpu_to_host_bytes", m.gpu_to_host_bytes},
                         {"stall_s", sim::to_seconds(m.stall_time)},
                         {"compute_s", sim::to_seconds(m.compute_time)},
                         {"events", r.events}});
  }
  return j.dump(2) + "\n";
}

std::string offload_csv(const std::vector<OffloadRow>& rows) {
  std::string out =
      "policy,cache_experts,cache_fraction,per_token_latency_s,step_p50_s,step_p99_s,hit_rate,prefetch_accuracy,"
      "host_to_gpu_bytes,gpu_to_host_bytes,stall_s,decode_steps\n";
  for (const OffloadRow& r : rows) {
    const auto& m = r.metrics;
    out += fmt::format("{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.0f},{:.0f},{:.6f},{}\n", r.policy,
                       r.cache_experts, r.cache_fraction, m.per_token_latency_s(), m.step_quantile_s(0.5),
                       m.step_quantile_s(0.99), m.hit_rate(), m.prefetch_accuracy(), m.host_to_gpu_bytes,
                       m.gpu_to_host_bytes, sim::to_seconds(m.stall_time), m.decode_steps);
  }
  return out;
}

}  // namespace moesim::run
