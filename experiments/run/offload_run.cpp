#include "experiments/run/offload_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/line_reader.h"
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

// Records every router decision of a run, for offline bounds that are told the
// future. Its own evictions do not matter: routing does not depend on the cache.
class FutureRecorder final : public models::CachePolicy {
 public:
  std::string name() const override { return "future-recorder"; }
  void on_routed(int layer, std::span<const std::int64_t> counts) override {
    models::RoutedLayer seen{layer, {}};
    for (std::size_t e = 0; e < counts.size(); ++e) {
      if (counts[e] > 0) seen.experts.push_back(static_cast<int>(e));
    }
    future.push_back(std::move(seen));
  }
  int victim(const models::ExpertCache&, std::span<const int> evictable, int, int) override { return evictable.front(); }
  std::vector<models::RoutedLayer> future;
};

// One simulation of the scenario's evaluation split under `policy` (trained first
// on the training split), its metrics in `row`.
void simulate(const OffloadScenario& s, models::CachePolicy& policy, int cache_experts, sim::TraceWriter* trace,
              OffloadRow& row) {
  sim::Simulator sim;
  sim::FlowNetwork net(sim);
  net.trace_to(trace);
  models::Topology topology(net);
  models::build_topology(topology, s.topology);
  const sim::RngStreams streams(s.seed);
  const auto routing = s.routing.make(s.model, streams.stream("routing"));
  const std::vector<models::OffloadRequest> requests = make_requests(s, *routing);
  const auto train = static_cast<std::size_t>(s.train_requests);
  for (std::size_t i = 0; i < train; ++i) policy.train(models::request_activations(s.model, *routing, requests[i]));
  models::OffloadConfig config = s.offload;
  config.cache_experts = cache_experts;
  models::OffloadEngine engine(sim, s.model, s.gpu, topology, config, policy, *routing, row.metrics, trace);
  sim.spawn(engine.serve({requests.begin() + static_cast<std::ptrdiff_t>(train), requests.end()}));
  sim.run();
  row.events = sim.events_executed();
}

std::string number_or_dash(double v, const char* format_spec) {
  return std::isnan(v) ? std::string("-") : fmt::format(fmt::runtime(format_spec), v);
}

// Where each policy's hit rate falls between the bounds run at the same cache
// size: 0 = a random resident set, 1 = Belady's offline optimum.
std::string format_bounds(const std::vector<OffloadRow>& rows) {
  std::string out;
  for (const OffloadRow& low : rows) {
    if (low.policy != "random-static") continue;
    const auto high = std::find_if(rows.begin(), rows.end(), [&](const OffloadRow& r) {
      return r.policy == "belady" && r.cache_experts == low.cache_experts;
    });
    if (high == rows.end()) continue;
    const double lo = low.metrics.hit_rate();
    const double hi = high->metrics.hit_rate();
    if (!(hi - lo > 0.005)) continue;  // (nearly) everything fits: the bounds meet, nothing to rank
    out += fmt::format("\nhit rate between the bounds at {} experts (0: random-static {:.3f}, 1: belady {:.3f}):",
                       low.cache_experts, lo, hi);
    for (const OffloadRow& r : rows) {
      if (r.cache_experts != low.cache_experts || &r == &low || &r == &*high) continue;
      out += fmt::format(" {} {:.2f};", r.policy, (r.metrics.hit_rate() - lo) / (hi - lo));
    }
    out += "\n";
  }
  return out;
}

}  // namespace

std::vector<int> cache_sizes(const OffloadScenario& s, const std::vector<std::string>& items) {
  std::vector<int> sizes;
  for (const std::string& item : items) {
    if (item == "fit") {
      sizes.push_back(s.offload.cache_experts);
      continue;
    }
    double f = 0.0;
    if (!util::parse_number(item, f)) {
      throw InputError(fmt::format("--cache-fractions: '{}' is neither a fraction nor 'fit'", item));
    }
    if (!(f > 0.0 && f <= 1.0)) throw InputError(fmt::format("cache fraction {} is not in (0, 1]", f));
    sizes.push_back(std::max(1, static_cast<int>(std::floor(f * all_experts(s)))));
  }
  return sizes;
}

OffloadRow run_offload(const OffloadScenario& s, const std::string& policy, int cache_experts, sim::TraceWriter* trace) {
  const auto wall_start = std::chrono::steady_clock::now();
  const PolicySpec spec = parse_policy_spec(policy);
  const auto cache_policy = policies::make_cache_policy(spec.name, spec.params);
  OffloadRow row;
  row.policy = policy;
  row.cache_experts = cache_experts;
  row.cache_fraction = static_cast<double>(cache_experts) / all_experts(s);
  if (cache_policy->needs_future()) {
    // An offline bound: a first run records the routing it will be served.
    FutureRecorder recorder;
    OffloadRow recording;
    simulate(s, recorder, cache_experts, nullptr, recording);
    cache_policy->set_future(std::move(recorder.future));
  }
  simulate(s, *cache_policy, cache_experts, trace, row);
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
  out += format_bounds(rows);
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
