// The offloading engine against hand-computed timelines: a miss costs the copy
// latency plus bytes / bandwidth on an idle link, two misses share the link, a hit
// costs nothing beyond compute; and the expert cache's bookkeeping.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "models/catalog.h"
#include "models/layer_costs.h"
#include "models/offload/offload_engine.h"
#include "util/errors.h"

using namespace moesim;
using namespace moesim::models;

namespace {

// Every token of every step goes to experts `a` and `b` at every MoE layer.
class PairRouting final : public RoutingSource {
 public:
  PairRouting(const MoeModel& m, int a, int b) : experts_(m.experts), layers_(m.moe_layer_count()), a_(a), b_(b) {}
  std::string label() const override { return "pair test routing"; }
  void route(const BatchSpans& batch, RoutingCounts& c) override {
    const std::int64_t tokens = tokens_per_gpu(batch)[0];
    reset_counts(c, static_cast<std::size_t>(layers_), 1, static_cast<std::size_t>(experts_));
    for (auto& layer : c) {
      layer[0][static_cast<std::size_t>(a_)] = tokens;
      layer[0][static_cast<std::size_t>(b_)] = tokens;
    }
  }

 private:
  int experts_, layers_, a_, b_;
};

// No reuse: everything is copied in when needed and dropped after use.
class NoReuse final : public CachePolicy {
 public:
  std::string name() const override { return "no-reuse (test)"; }
  std::vector<int> warm_start(const ExpertCache&) override { return {}; }
  int victim(const ExpertCache&, std::span<const int> evictable, int, int) override { return evictable.front(); }
  bool keep_after_use() const override { return false; }
};

// Keeps whatever the default warm start loaded.
class KeepAll final : public CachePolicy {
 public:
  std::string name() const override { return "keep-all (test)"; }
  int victim(const ExpertCache&, std::span<const int> evictable, int, int) override { return evictable.front(); }
};

struct Run {
  OffloadMetrics metrics;
  sim::Time copy_latency = 0;
  double link_bandwidth = 0.0;
};

Run run_one_decode_step(const MoeModel& m, const GpuProfile& gpu, CachePolicy& policy, int cache_experts,
                        sim::TraceWriter* trace = nullptr) {
  sim::Simulator sim;
  sim::FlowNetwork net(sim);
  Topology topology(net);
  build_topology(topology, TopologyOptions{"workstation-1", 1, false});
  OffloadConfig config;
  config.cache_experts = cache_experts;
  PairRouting routing(m, 2, 5);
  Run run;
  OffloadEngine engine(sim, m, gpu, topology, config, policy, routing, run.metrics, trace);
  run.copy_latency = engine.copy_latency();
  run.link_bandwidth = 1e300;
  for (const sim::LinkId l : topology.host_to_gpu(0)) run.link_bandwidth = std::min(run.link_bandwidth, net.link_bandwidth(l));
  sim.spawn(engine.serve({OffloadRequest{0, 1, 1}}));
  sim.run();
  return run;
}

// Attention etc. of every layer for the one decode token (context 1) + the two experts' compute.
sim::Time compute_only(const MoeModel& m, const GpuProfile& gpu) {
  AttentionLoad load;
  load.add_decode(1);
  const LayerCosts costs(m, gpu);
  sim::Time t = 0;
  for (int layer = 0; layer < m.layers; ++layer) {
    t += costs.non_expert({}, layer, load);
    if (m.is_moe_layer(layer)) t += 2 * costs.expert({}, 1);
  }
  return t;
}

}  // namespace

TEST_CASE("offload: two on-demand misses per layer share the idle host link: latency + 2·bytes/bandwidth") {
  const MoeModel m = load_moe_model("mixtral-8x7b");
  const GpuProfile gpu = load_gpu_profile("rtx-a5000");
  NoReuse policy;
  const Run run = run_one_decode_step(m, gpu, policy, 8);
  REQUIRE(run.metrics.decode_steps == 1);
  REQUIRE(run.link_bandwidth == Approx(25e9));  // workstation-1: PCIe 4.0 x16
  const double copy_s = 2.0 * static_cast<double>(m.expert_bytes()) / run.link_bandwidth;
  const auto copies = static_cast<sim::Time>(m.moe_layer_count()) * (run.copy_latency + sim::from_seconds(copy_s));
  // One nanosecond of rounding per flow completion at most.
  CHECK(std::llabs(run.metrics.step_times[0] - (compute_only(m, gpu) + copies)) <= 2 * m.moe_layer_count());
  CHECK(run.metrics.misses == 2 * 2 * m.moe_layer_count());  // prefill and decode, two experts per layer
  CHECK(run.metrics.hits == 0);
  CHECK(run.metrics.host_to_gpu_bytes == Approx(4.0 * m.moe_layer_count() * static_cast<double>(m.expert_bytes())));
  // A single miss alone on the link: latency + bytes/bandwidth (the pair above took twice the transfer).
  CHECK(copy_s / 2.0 == Approx(0.014092).epsilon(0.001));  // 352 MB Mixtral expert over 25 GB/s
}

TEST_CASE("offload: a warm expert costs only its compute") {
  const MoeModel m = load_moe_model("mixtral-8x7b");
  const GpuProfile gpu = load_gpu_profile("rtx-a5000");
  KeepAll policy;
  const Run run = run_one_decode_step(m, gpu, policy, m.experts * m.moe_layer_count());
  CHECK(run.metrics.step_times[0] == compute_only(m, gpu));
  CHECK(run.metrics.misses == 0);
  CHECK(run.metrics.hit_rate() == 1.0);
  CHECK(run.metrics.host_to_gpu_bytes == 0.0);
}

TEST_CASE("offload: a cache of one expert still serves a layer needing two, one after the other") {
  const MoeModel m = load_moe_model("mixtral-8x7b");
  const GpuProfile gpu = load_gpu_profile("rtx-a5000");
  NoReuse policy;
  const Run run = run_one_decode_step(m, gpu, policy, 1);
  const double one_copy_s = static_cast<double>(m.expert_bytes()) / run.link_bandwidth;
  // Copies cannot overlap (one slot): each layer pays two full single copies.
  const auto copies = static_cast<sim::Time>(m.moe_layer_count()) * 2 * (run.copy_latency + sim::from_seconds(one_copy_s));
  CHECK(std::llabs(run.metrics.step_times[0] - (compute_only(m, gpu) + copies)) <= 2 * m.moe_layer_count());
}

TEST_CASE("offload trace: every copy, stall and compute span of the hand-computed timeline") {
  const MoeModel m = load_moe_model("mixtral-8x7b");
  const GpuProfile gpu = load_gpu_profile("rtx-a5000");
  NoReuse policy;
  sim::TraceWriter trace;
  const Run run = run_one_decode_step(m, gpu, policy, 8, &trace);
  const auto events = nlohmann::json::parse(trace.to_json())["traceEvents"];
  const auto ns = [](const nlohmann::json& v) { return std::llround(v.get<double>() * 1e3); };  // µs -> ns
  std::map<int, std::string> track_names;
  for (const auto& e : events) {
    if (e["name"] == "thread_name") track_names[e["tid"].get<int>()] = e["args"]["name"].get<std::string>();
  }
  int copies = 0;
  std::set<std::string> lanes;
  sim::Time stalled = 0;
  sim::Time computed = 0;
  sim::Time request_end = -1;
  const sim::Time pair_copy = run.copy_latency + sim::from_seconds(2.0 * static_cast<double>(m.expert_bytes()) / run.link_bandwidth);
  for (const auto& e : events) {
    if (e["ph"] != "X") continue;
    const std::string name = e["name"].get<std::string>();
    const std::string track = track_names.at(e["tid"].get<int>());
    if (name.rfind("on demand MoE", 0) == 0) {
      ++copies;
      lanes.insert(track);
      // Both misses of a layer start together and share the link to the end.
      CHECK(std::llabs(ns(e["dur"]) - pair_copy) <= 2);
    } else if (track == "waiting for copies") {
      stalled += ns(e["dur"]);
    } else if (track == "compute") {
      computed += ns(e["dur"]);
    } else if (name == "decode") {
      request_end = ns(e["ts"]) + ns(e["dur"]);
    }
  }
  CHECK(copies == run.metrics.misses);  // 2 per MoE layer, prefill and decode
  CHECK(copies == 2 * 2 * m.moe_layer_count());
  CHECK(lanes.size() == 2);  // two copies in flight at once, never more
  CHECK(stalled == run.metrics.stall_time);
  CHECK(computed == run.metrics.compute_time);
  CHECK(request_end == run.metrics.prefill_time + run.metrics.decode_time);
}

TEST_CASE("expert cache: slots, pins and the state machine") {
  ExpertCache cache(2, 4, 2);
  CHECK(cache.id(1, 3) == 7);
  CHECK(cache.layer_of(7) == 1);
  cache.begin_fetch(7, true);
  CHECK(cache.state(7) == Residency::kFetching);
  cache.insert_resident(0);
  CHECK(cache.full());
  CHECK_THROWS_AS(cache.begin_fetch(1, false), std::logic_error);
  cache.complete_fetch(7);
  CHECK(cache.residents().size() == 2);
  CHECK(cache.prefetched_unused(7));
  CHECK(cache.mark_used(7));   // first use of a prefetch
  CHECK_FALSE(cache.mark_used(7));
  CHECK(cache.uses_in_cache(7) == 2);
  cache.pin(7);
  CHECK_THROWS_AS(cache.evict(7), std::logic_error);
  cache.unpin(7);
  cache.evict(7);
  CHECK(cache.state(7) == Residency::kHost);
  CHECK(cache.used() == 1);
  cache.begin_fetch(5, true);
  cache.abort_fetch(5);
  CHECK(cache.state(5) == Residency::kHost);
  CHECK(cache.used() == 1);
}

TEST_CASE("offload config: bad sizes and rates are errors naming the field and the numbers") {
  const MoeModel m = load_moe_model("mixtral-8x7b");
  const GpuProfile gpu = load_gpu_profile("rtx-a5000");
  auto parse = [&](const std::string& text) { return parse_offload_config(JsonInput::parse(text, "offload.json"), m, gpu); };
  CHECK_THROWS_WITH(parse(R"({"cache_bytes": 1000})"),
                    Catch::Contains("$.cache_bytes") && Catch::Contains("1000 bytes") && Catch::Contains("352321536"));
  CHECK_THROWS_WITH(parse(R"({"cache_experts": 0})"), Catch::Contains("$.cache_experts"));
  CHECK_THROWS_WITH(parse(R"({"cache_fraction": 0.001})"), Catch::Contains("less than one expert"));
  CHECK_THROWS_WITH(parse(R"({"pageable_gb_per_s": -5})"), Catch::Contains("$.pageable_gb_per_s"));
  CHECK_THROWS_WITH(parse(R"({"home": "tape"})"), Catch::Contains("host-pinned, host-pageable, ssd"));
  CHECK_THROWS_WITH(parse(R"({"cache_experts": 4, "cache_fraction": 0.5})"), Catch::Contains("at most one"));
  CHECK(parse(R"({"cache_fraction": 0.25})").cache_experts == 64);
  // Default: what the A5000's 24 GB leave beside Mixtral's ~1.6 B dense parameters, activations and KV.
  const int fits = parse("{}").cache_experts;
  CHECK(fits > 50);
  CHECK(fits < 64);
  GpuProfile small = gpu;
  small.memory_bytes = std::int64_t{4} << 30;
  CHECK_THROWS_WITH(memory_cache_experts(m, small, OffloadConfig{}), Catch::Contains("rtx-a5000") && Catch::Contains("one expert needs"));
}
