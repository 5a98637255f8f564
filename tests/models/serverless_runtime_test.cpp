// The serverless runtime against hand-computed timelines: a cold invocation costs
// exactly latency + bytes / bandwidth + init before it can run, a warm one nothing;
// keep-alive expiry reclaims at the right nanosecond; the bill matches a hand sum.
#include <catch2/catch.hpp>
#include <tuple>
#include <cmath>

#include "models/catalog.h"
#include "models/serverless/serverless_runtime.h"
#include "util/errors.h"
#include "sim/process.h"

using namespace moesim;
using namespace moesim::models;

namespace {

constexpr double kBandwidth = 10e9;  // bytes/s, host → each GPU
constexpr sim::Time kLatency = 2000;

struct Cluster {
  sim::Simulator sim;
  sim::FlowNetwork net{sim};
  Topology topo{net};
  MoeModel model = load_moe_model("mixtral-8x7b");
  explicit Cluster(int gpus = 2) {
    const auto host = topo.add_node(NodeKind::kHostMemory, "host", 0);
    topo.set_host(0, host);
    for (int g = 0; g < gpus; ++g) {
      const auto gpu = topo.add_gpu("gpu" + std::to_string(g), 0);
      topo.connect(host, gpu, kBandwidth, kLatency, "pcie");
    }
  }
  sim::Time load_time(double bytes) const { return kLatency + static_cast<sim::Time>(std::llround(bytes / kBandwidth * 1e9)); }
};

ServerlessConfig config_with(sim::Time init, int slots_per_gpu, const MoeModel& m) {
  ServerlessConfig c;
  c.init_time = init;
  c.pool_bytes = m.expert_bytes() * slots_per_gpu;
  c.gpu_hour_price = 3.6;   // $0.001 per GPU-second
  c.gb_hour_price = 0.036;  // $0.00001 per GB-second
  return c;
}

std::vector<std::vector<int>> one_expert_on(int experts, int expert, int gpu) {
  std::vector<std::vector<int>> r(static_cast<std::size_t>(experts), std::vector<int>{0});
  r[static_cast<std::size_t>(expert)] = {gpu};
  return r;
}

std::vector<std::int64_t> tokens_for(int experts, int expert) {
  std::vector<std::int64_t> t(static_cast<std::size_t>(experts), 0);
  t[static_cast<std::size_t>(expert)] = 4;
  return t;
}

}  // namespace

TEST_CASE("a cold invocation waits latency + bytes/bandwidth + init: a warm one does not wait", "[models][serverless]") {
  Cluster c;
  const sim::Time init = sim::milliseconds(3);
  ServerlessRuntime rt(c.sim, c.model, c.topo, config_with(init, 4, c.model), fixed_keep_alive(sim::seconds(10)));
  const auto bytes = static_cast<double>(c.model.expert_bytes());
  const sim::Time ready = c.load_time(bytes) + init;
  const int E = c.model.experts;
  std::vector<sim::Time> busy(static_cast<std::size_t>(2 * E), 0);
  busy[static_cast<std::size_t>(1 * E + 3)] = sim::milliseconds(1);  // GPU 1's copy of expert 3

  rt.acquire(0, one_expert_on(E, 3, 1), tokens_for(E, 3));
  sim::Signal* pending = rt.pending();
  REQUIRE(pending != nullptr);
  sim::Time fired = -1;
  c.sim.spawn([](sim::Simulator& sim, sim::Signal& s, sim::Time& at) -> sim::Process {
    co_await s.wait();
    at = sim.now();
  }(c.sim, *pending, fired));
  c.sim.run_until(sim::seconds(1));
  CHECK(std::llabs(fired - ready) <= 1);
  CHECK(std::llabs(rt.ready_at(1) - ready) <= 1);
  CHECK(rt.ready_at(0) == 0);  // GPU 0 needed nothing
  CHECK(rt.bill().cold_waits == 1);
  CHECK(rt.bill().loads == 1);
  rt.release(busy);

  // Warm now: the same function again needs no wait and no load.
  rt.acquire(0, one_expert_on(E, 3, 1), tokens_for(E, 3));
  CHECK(rt.pending() == nullptr);
  CHECK(rt.bill().loads == 1);
  rt.release(busy);
  CHECK(rt.bill().busy_time == sim::milliseconds(2));
}

TEST_CASE("pay-per-use bill of a 2-GPU, 2-expert timeline under each billing rule", "[models][serverless]") {
  // Expert 0 on GPU 0 and expert 1 on GPU 1, both cold: one load each (the same bytes
  // over separate links, so equal durations), then two layers execute: 0.3 ms and
  // 1.2 ms on GPU 0, 2.05 ms and 0.7 ms on GPU 1.
  const auto bill_under = [](sim::Time granularity, sim::Time minimum) {
    Cluster c;
    ServerlessConfig config = config_with(sim::milliseconds(3), 4, c.model);
    config.billing_granularity = granularity;
    config.billing_minimum = minimum;
    ServerlessRuntime rt(c.sim, c.model, c.topo, config, fixed_keep_alive(sim::seconds(100)));
    const int E = c.model.experts;
    std::vector<std::vector<int>> placement(static_cast<std::size_t>(E), std::vector<int>{0});
    placement[1] = {1};
    std::vector<std::int64_t> tokens(static_cast<std::size_t>(E), 0);
    tokens[0] = tokens[1] = 4;
    std::vector<sim::Time> busy(static_cast<std::size_t>(2 * E), 0);
    for (const auto& [on0, on1] : {std::pair{sim::microseconds(300), sim::microseconds(2050)},
                                  std::pair{sim::microseconds(1200), sim::microseconds(700)}}) {
      rt.acquire(0, placement, tokens);
      c.sim.run_until(c.sim.now() + sim::seconds(1));
      busy[0] = on0;
      busy[static_cast<std::size_t>(E + 1)] = on1;
      rt.release(busy);
    }
    const sim::Time load = c.load_time(static_cast<double>(c.model.expert_bytes())) + sim::milliseconds(3);
    return std::tuple{rt.bill(), load};
  };
  const auto [exact, load] = bill_under(0, 0);
  CHECK(exact.loads == 2);
  CHECK(exact.busy_time == sim::microseconds(300 + 1200 + 2050 + 700));
  CHECK(std::llabs(exact.billed - (2 * load + sim::microseconds(4250))) <= 2);  // exact: what was used
  const auto ceil_ms = [](sim::Time t) { return (t + sim::milliseconds(1) - 1) / sim::milliseconds(1) * sim::milliseconds(1); };
  // 1 ms rounding per invocation: executions 1 + 2 + 3 + 1 ms, each load rounded up.
  const auto [lambda, load_l] = bill_under(sim::milliseconds(1), 0);
  CHECK(lambda.billed == 2 * ceil_ms(load_l) + sim::milliseconds(7));
  // A 5 ms minimum lifts every invocation below it (all four executions), rounding the rest.
  const auto [minimum, load_m] = bill_under(sim::milliseconds(1), sim::milliseconds(5));
  CHECK(minimum.billed == 2 * std::max(ceil_ms(load_m), sim::milliseconds(5)) + 4 * sim::milliseconds(5));
  CHECK(billed_time(0, ServerlessConfig{}) == 0);  // no work, no invocation
}

TEST_CASE("two cold loads over one link share it", "[models][serverless]") {
  Cluster c(1);
  ServerlessRuntime rt(c.sim, c.model, c.topo, config_with(0, 4, c.model), fixed_keep_alive(sim::seconds(10)));
  const int E = c.model.experts;
  auto replicas = one_expert_on(E, 0, 0);
  auto tokens = tokens_for(E, 0);
  tokens[1] = 4;  // experts 0 and 1, both on GPU 0
  rt.acquire(0, replicas, tokens);
  c.sim.run_until(sim::seconds(1));
  const auto bytes = static_cast<double>(c.model.expert_bytes());
  CHECK(std::llabs(rt.ready_at(0) - c.load_time(2 * bytes)) <= 1);
}

TEST_CASE("keep-alive: reclaimed exactly when it runs out: none reclaims at once", "[models][serverless]") {
  Cluster c;
  const int E = c.model.experts;
  std::vector<sim::Time> busy(static_cast<std::size_t>(2 * E), 0);
  SECTION("fixed 2 s") {
    ServerlessRuntime rt(c.sim, c.model, c.topo, config_with(0, 4, c.model), fixed_keep_alive(sim::seconds(2)));
    rt.acquire(0, one_expert_on(E, 5, 0), tokens_for(E, 5));
    c.sim.run_until(sim::seconds(1));  // loaded long before
    rt.release(busy);                  // idle from t = 1 s
    c.sim.run_until(sim::seconds(3) - 1);
    CHECK(rt.warm(0, 5, 0));
    c.sim.run_until(sim::seconds(3));
    CHECK_FALSE(rt.live(0, 5, 0));
    CHECK(rt.bill().reclaims == 1);
    // Lifetime 0 → 3 s: GB-seconds = bytes / 1e9 × 3.
    CHECK(rt.bill().gb_seconds == Approx(static_cast<double>(c.model.expert_bytes()) / 1e9 * 3.0));
  }
  SECTION("a use before expiry restarts the clock") {
    ServerlessRuntime rt(c.sim, c.model, c.topo, config_with(0, 4, c.model), fixed_keep_alive(sim::seconds(2)));
    rt.acquire(0, one_expert_on(E, 5, 0), tokens_for(E, 5));
    c.sim.run_until(sim::seconds(1));
    rt.release(busy);
    c.sim.run_until(sim::milliseconds(2500));
    rt.acquire(0, one_expert_on(E, 5, 0), tokens_for(E, 5));
    CHECK(rt.pending() == nullptr);
    rt.release(busy);  // idle again from 2.5 s: expires at 4.5 s, not 3 s
    c.sim.run_until(sim::milliseconds(4499));
    CHECK(rt.warm(0, 5, 0));
    c.sim.run_until(sim::milliseconds(4500));
    CHECK_FALSE(rt.live(0, 5, 0));
  }
  SECTION("none") {
    ServerlessRuntime rt(c.sim, c.model, c.topo, config_with(0, 4, c.model), fixed_keep_alive(0));
    rt.acquire(0, one_expert_on(E, 5, 0), tokens_for(E, 5));
    c.sim.run_until(sim::seconds(1));
    rt.release(busy);
    CHECK_FALSE(rt.live(0, 5, 0));
    rt.acquire(0, one_expert_on(E, 5, 0), tokens_for(E, 5));
    CHECK(rt.pending() != nullptr);  // cold again
  }
}

TEST_CASE("the bill adds up to a hand computation", "[models][serverless]") {
  Cluster c;
  const sim::Time init = sim::milliseconds(5);
  ServerlessConfig config = config_with(init, 4, c.model);
  config.billing_granularity = 0;  // billed exactly as used (rounding: the 2-GPU bill below)
  ServerlessRuntime rt(c.sim, c.model, c.topo, config, fixed_keep_alive(sim::seconds(1)));
  const int E = c.model.experts;
  std::vector<sim::Time> busy(static_cast<std::size_t>(2 * E), 0);
  busy[static_cast<std::size_t>(0 * E + 2)] = sim::milliseconds(7);
  rt.acquire(3, one_expert_on(E, 2, 0), tokens_for(E, 2));
  c.sim.run_until(sim::milliseconds(100));
  rt.release(busy);                   // idle at 0.1 s, reclaimed at 1.1 s
  c.sim.run_until(sim::seconds(5));
  rt.finish(sim::seconds(5));
  const auto bytes = static_cast<double>(c.model.expert_bytes());
  const double load_s = sim::to_seconds(c.load_time(bytes) + init);
  const auto& b = rt.bill();
  CHECK(sim::to_seconds(b.load_time) == Approx(load_s).margin(1e-9));
  CHECK(b.gpu_seconds() == Approx(load_s + 0.007).margin(1e-9));
  CHECK(b.instance_seconds == Approx(1.1));
  CHECK(b.gb_seconds == Approx(bytes / 1e9 * 1.1));
  CHECK(b.cost(config) == Approx((load_s + 0.007) * 0.001 + bytes / 1e9 * 1.1 * 0.00001));
}

TEST_CASE("a full pool: idle instances are evicted LRU first, in-use ones never", "[models][serverless]") {
  Cluster c(1);
  ServerlessRuntime rt(c.sim, c.model, c.topo, config_with(0, 2, c.model), fixed_keep_alive(sim::seconds(100)));
  const int E = c.model.experts;
  std::vector<sim::Time> busy(static_cast<std::size_t>(E), 0);
  for (int e : {0, 1}) {
    rt.acquire(0, one_expert_on(E, e, 0), tokens_for(E, e));
    c.sim.run_until(c.sim.now() + sim::seconds(1));
    rt.release(busy);
  }
  CHECK(rt.unused_slots(0) == 0);
  CHECK(rt.free_slots(0) == 2);                 // both idle: evictable
  CHECK_FALSE(rt.prepare(0, 2, 0, false));      // no unused slot and eviction not allowed
  CHECK(rt.prepare(0, 2, 0));                   // evicts expert 0, idle the longest
  CHECK_FALSE(rt.live(0, 0, 0));
  CHECK(rt.live(0, 1, 0));
  CHECK(rt.bill().evictions == 1);
  c.sim.run_until(c.sim.now() + sim::milliseconds(100));  // loaded, still reserved (for 1 s)
  // Expert 1 in use, expert 2 reserved for a coming layer: nothing is evictable.
  auto tokens = tokens_for(E, 1);
  rt.acquire(0, one_expert_on(E, 1, 0), tokens);
  CHECK(rt.free_slots(0) == 0);
  CHECK_FALSE(rt.prepare(0, 3, 0));
  rt.release(busy);
}

TEST_CASE("histogram keep-alive: pre-warm at the head, keep to the tail: unrepresentative histograms keep the range", "[models][serverless]") {
  HistogramKeepAliveParams p;
  p.range = sim::seconds(10);
  p.bin = sim::milliseconds(100);
  p.min_samples = 5;
  HistogramKeepAlive policy(p);
  // Idle times clustered in [1.0, 1.2) s.
  for (int i = 0; i < 20; ++i) policy.observe_idle(7, sim::milliseconds(1000 + 10 * i));
  const KeepAliveDecision d = policy.decide(7);
  // Head: the 5th percentile lies in bin [1.0, 1.1) → 1.0 s × (1 − 0.1) = 0.9 s.
  CHECK(d.prewarm == sim::milliseconds(900));
  // Tail: the 99th percentile lies in bin [1.1, 1.2) → 1.2 s × 1.1 = 1.32 s, kept 1.32 − 0.9 s after the pre-warm.
  CHECK(d.keep_alive == sim::milliseconds(420));
  // Too few samples, or idle times spread evenly over the range: the whole range, no pre-warm.
  for (int i = 0; i < 3; ++i) policy.observe_idle(8, sim::seconds(1));
  CHECK(policy.decide(8).prewarm == 0);
  CHECK(policy.decide(8).keep_alive == p.range);
  for (int i = 0; i < 100; ++i) policy.observe_idle(9, sim::milliseconds(100 * i + 50));
  CHECK(policy.decide(9).keep_alive == p.range);
  // Mostly beyond the range: out of bounds, the range again.
  for (int i = 0; i < 20; ++i) policy.observe_idle(10, sim::seconds(60));
  CHECK(policy.decide(10).keep_alive == p.range);
}

TEST_CASE("a pre-warm unloads at release and loads again before the predicted use", "[models][serverless]") {
  Cluster c(1);
  HistogramKeepAliveParams p;
  p.range = sim::seconds(10);
  p.bin = sim::milliseconds(100);
  p.min_samples = 3;
  auto policy = std::make_unique<HistogramKeepAlive>(p);
  for (int i = 0; i < 10; ++i) policy->observe_idle(0, sim::seconds(5));  // function (layer 0, expert 0)
  ServerlessRuntime rt(c.sim, c.model, c.topo, config_with(0, 4, c.model), std::move(policy));
  const int E = c.model.experts;
  std::vector<sim::Time> busy(static_cast<std::size_t>(E), 0);
  rt.acquire(0, one_expert_on(E, 0, 0), tokens_for(E, 0));
  c.sim.run_until(sim::seconds(1));
  rt.release(busy);
  CHECK_FALSE(rt.live(0, 0, 0));  // unloaded: pre-warm at 5.0 × 0.9 = 4.5 s after going idle
  c.sim.run_until(sim::milliseconds(5499));
  CHECK_FALSE(rt.live(0, 0, 0));
  c.sim.run_until(sim::milliseconds(5500));
  CHECK(rt.live(0, 0, 0));
  c.sim.run_until(sim::seconds(6));
  CHECK(rt.warm(0, 0, 0));
  CHECK(rt.bill().prewarms == 1);
  rt.acquire(0, one_expert_on(E, 0, 0), tokens_for(E, 0));
  CHECK(rt.pending() == nullptr);  // the predicted use finds it warm
}

TEST_CASE("bad serverless settings name the field", "[models][serverless]") {
  auto parse = [](const char* text) { return parse_serverless_config(JsonInput::parse(text, "scenario.json")); };
  CHECK_THROWS_WITH(parse(R"({"remote_gb_per_s": 0})"), Catch::Contains("$.remote_gb_per_s"));
  CHECK_THROWS_WITH(parse(R"({"remote_gb_per_s": -5})"), Catch::Contains("$.remote_gb_per_s"));
  CHECK_THROWS_WITH(parse(R"({"gpu_hour_price": -1})"), Catch::Contains("$.gpu_hour_price"));
  CHECK_THROWS_WITH(parse(R"({"gb_hour_price": "cheap"})"), Catch::Contains("$.gb_hour_price"));
  CHECK_THROWS_WITH(parse(R"({"keep_alive": {"policy": "fixed", "seconds": 0}})"), Catch::Contains("$.keep_alive.seconds"));
  CHECK_THROWS_WITH(parse(R"({"keep_alive": {"policy": "forever"}})"), Catch::Contains("$.keep_alive.policy"));
  CHECK_THROWS_WITH(parse(R"({"weights_from": "tape"})"), Catch::Contains("$.weights_from"));
  Cluster c;
  ServerlessConfig tiny;
  tiny.pool_bytes = c.model.expert_bytes() / 2;
  CHECK_THROWS_AS(ServerlessRuntime(c.sim, c.model, c.topo, tiny, fixed_keep_alive(1)), InputError);
  CHECK_THROWS_WITH(ServerlessRuntime(c.sim, c.model, c.topo, tiny, fixed_keep_alive(1)), Catch::Contains("pool_gib"));
}
