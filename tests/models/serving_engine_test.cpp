// The serving engine against hand-computed timelines and conservation laws.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>

#include "models/catalog.h"
#include "models/layer_costs.h"
#include "models/op_costs.h"
#include "models/serving/serving_engine.h"
#include "serving_harness.h"
#include "util/errors.h"

using namespace moesim;
using namespace moesim::models;

using moesim_test::FixedRouting;
using moesim_test::Harness;
using moesim_test::one_layer_model;
using moesim_test::seconds_ns;

TEST_CASE("one request through one MoE layer on an idle DGX-H100 matches the hand timeline", "[models][serving]") {
  FixedRouting to_expert7(8, 1, 7, false);
  Harness h(one_layer_model(), to_expert7, ServingConfig{});
  h.submit_at(0, 16, 1, 0);
  h.finish();
  REQUIRE(h.metrics.requests().size() == 1);
  const RequestRecord& r = h.metrics.requests()[0];
  CHECK(r.gpu == 0);

  // Attention stage on GPU 0, two operations on the H100 roofline (memory 0.85 × 3.35 TB/s,
  // compute 0.7 × 989.4 TFLOP/s, 5 µs launch each): (1) prefill attention over 16 prompt
  // tokens: projections plus causal scores over 16·8 key positions, reading 16 tokens of
  // KV cache; (2) the gate (router weights, reading the 16 token rows); (3) this being
  // the last layer, the LM head over the one position sampled.
  const auto roofline = [](double f, double b) {
    return seconds_ns(std::max(f / (0.7 * 989.4e12), b / (0.85 * 3.35e12))) + 5000;
  };
  const double P = 2.0 * 4096 * 4096 + 2.0 * 4096 * 1024;  // q, o, k, v projections
  const double head = 32000.0 * 4096;
  const double router = 4096.0 * 8;
  const sim::Time attention = roofline(2 * P * 16 + 4.0 * 32 * 128 * (16 * 8), P * 2 + 2.0 * 8 * 128 * 2 * 16) +
                              roofline(2 * router * 16, router * 2 + 16.0 * 4096 * 2) +
                              roofline(2 * head * 1, head * 2);  // logits of the last prompt position only
  // Dispatch: the fitted 7.59 µs of an NVLink peer copy (software start-up + two 0.5 µs
  // hops), then 16 rows × 4096 × 2 B at the measured 357.5 GB/s.
  const sim::Time a2a = 7590 + static_cast<sim::Time>(std::ceil(16.0 * 4096 * 2 / 357.5e9 * 1e9));
  // Expert 7 on GPU 7, 16 tokens: weight-read bound.
  const double expert_bytes = 3.0 * 4096 * 14336 * 2 + 16.0 * (2 * 4096 + 4 * 14336) * 2;
  const double expert_flops = 16.0 * 2 * 3 * 4096 * 14336;
  const sim::Time expert = roofline(expert_flops, expert_bytes);
  CHECK(r.first_token == attention + a2a + expert + a2a);
  CHECK(r.last_token == r.first_token);
  CHECK(h.metrics.remote_rows() == 16);
  // ViBE's kernel-level metric: GPU 7 runs the only expert, the others none.
  CHECK(h.metrics.expert_gap().mean() == Approx(sim::to_seconds(expert)));
  CHECK(h.metrics.expert_mean().mean() == Approx(sim::to_seconds(expert) / 8.0));
}

TEST_CASE("two instances of EP 4 serve one request each exactly as the hand timeline says, and report cluster GPUs",
          "[models][serving][instances]") {
  // One DGX-H100 cut into two EP-4 instances (GPUs 0-3 and 4-7), each on its own copy
  // of the network (their NVLink cables are disjoint) and one shared metrics object.
  // Each gets one 16-token request at t = 0. Without interference each request's
  // first token is the single-request hand timeline of the test above: the same
  // attention, one dispatch to expert 7 (on the instance's last GPU), expert 7 over
  // 16 tokens, the combine back. Served as one batch instead (one engine), expert 7
  // would take 32 tokens and both requests would finish later.
  FixedRouting to_expert7(8, 1, 7, false);
  const MoeModel model = one_layer_model();
  const GpuProfile gpu = load_gpu_profile("h100-sxm");
  sim::Simulator sim;
  ServingMetrics metrics(8, Slo{});
  const std::vector<GpuSlowdown> slowdowns(4);
  struct Slice {
    std::unique_ptr<sim::FlowNetwork> net;
    std::unique_ptr<Topology> whole, part;
    std::unique_ptr<ServingEngine> engine;
  };
  std::vector<Slice> slices(2);
  for (int i = 0; i < 2; ++i) {
    Slice& s = slices[static_cast<std::size_t>(i)];
    s.net = std::make_unique<sim::FlowNetwork>(sim);
    s.whole = std::make_unique<Topology>(*s.net);
    build_topology(*s.whole, {"dgx-h100", 1, false});
    s.part = std::make_unique<Topology>(s.whole->gpu_subset(4 * i, 4));
    REQUIRE(s.part->gpu_count() == 4);
    s.engine = std::make_unique<ServingEngine>(sim, model, gpu, slowdowns, *s.part, ExpertPlacement::contiguous(model, 4),
                                               to_expert7, ServingConfig{}, metrics, nullptr, ServingPolicies{}, 4 * i);
    sim.spawn(s.engine->run());
    s.engine->submit(Request{static_cast<std::uint64_t>(i), 0, 16, 1, {}});
    CHECK(s.engine->outstanding_requests() == 1);
    CHECK(s.engine->outstanding_tokens() == 17);
    s.engine->close();
  }
  sim.run();
  REQUIRE(metrics.requests().size() == 2);
  const auto roofline = [](double f, double b) {
    return seconds_ns(std::max(f / (0.7 * 989.4e12), b / (0.85 * 3.35e12))) + 5000;
  };
  const double P = 2.0 * 4096 * 4096 + 2.0 * 4096 * 1024;
  const double head = 32000.0 * 4096;
  const double router = 4096.0 * 8;
  const sim::Time attention = roofline(2 * P * 16 + 4.0 * 32 * 128 * (16 * 8), P * 2 + 2.0 * 8 * 128 * 2 * 16) +
                              roofline(2 * router * 16, router * 2 + 16.0 * 4096 * 2) + roofline(2 * head * 1, head * 2);
  const sim::Time a2a = 7590 + static_cast<sim::Time>(std::ceil(16.0 * 4096 * 2 / 357.5e9 * 1e9));
  const sim::Time expert = roofline(16.0 * 2 * 3 * 4096 * 14336, 3.0 * 4096 * 14336 * 2 + 16.0 * (2 * 4096 + 4 * 14336) * 2);
  std::vector<int> gpus;
  for (const RequestRecord& r : metrics.requests()) {
    CHECK(r.first_token == attention + a2a + expert + a2a);
    gpus.push_back(r.gpu);
  }
  std::sort(gpus.begin(), gpus.end());
  CHECK(gpus == std::vector<int>{0, 4});  // each instance's GPU 0, in the cluster's numbering
  // Busy time lands on the cluster's GPUs: attention on 0 and 4, expert 7 on 3 and 7.
  CHECK(metrics.gpu_busy()[0] == metrics.gpu_busy()[4]);
  CHECK(metrics.gpu_busy()[3] == expert);
  CHECK(metrics.gpu_busy()[7] == expert);
  CHECK(metrics.gpu_busy()[1] == 0);
  for (const Slice& s : slices) {
    CHECK(s.engine->outstanding_requests() == 0);
    CHECK(s.engine->outstanding_tokens() == 0);
  }
}

TEST_CASE("a request whose experts are local skips the all-to-all", "[models][serving]") {
  FixedRouting to_expert0(8, 1, 0, false);  // expert 0 lives on GPU 0, where the request is
  Harness h(one_layer_model(), to_expert0, ServingConfig{});
  h.submit_at(0, 16, 1, 0);
  h.finish();
  CHECK(h.metrics.remote_rows() == 0);
  CHECK(h.net.solves() == 0);
}

TEST_CASE("uniform routing balances the layer: one 1.5x-slow GPU becomes the straggler", "[models][serving]") {
  ServingConfig config;
  config.prefill_chunk = 4096;
  config.max_batched_tokens = 4096;
  double gap_us = -1.0;
  auto run = [&](std::vector<GpuSlowdown> s) {
    FixedRouting uniform(8, 1, 0, true);
    Harness h(one_layer_model(), uniform, config, s);
    for (std::uint64_t i = 0; i < 8; ++i) h.submit_at(0, 4096, 1, i);  // one per GPU
    h.finish();
    sim::Time last = 0;
    for (const auto& r : h.metrics.requests()) last = std::max(last, r.first_token);
    gap_us = h.metrics.expert_gap().mean() * 1e6;
    return std::make_pair(last, h.metrics.layer_imbalance().mean());
  };
  const auto [nominal, balanced] = run({});
  CHECK(balanced == Approx(1.0));  // every GPU's expert gets 8 × 512 tokens
  CHECK(gap_us == 0.0);            // equal GPUs, equal loads: no kernel gap
  std::vector<GpuSlowdown> slow(8);
  slow[3] = GpuSlowdown{1.5, 1.0};
  const auto [stretched, imbalance] = run(slow);
  CHECK(imbalance > 1.05);
  // Expected stretch: GPU 3's compute-bound attention and expert stages take 1.5×
  // their compute time; both are the slowest of their stage. The router gate is
  // not stretched: it reads 4096 × 4096 activations for 4096 × 8 outputs, so it is
  // memory-bound (≈10 µs of bytes vs 0.4 µs of FLOPs) and only compute is slowed.
  const GpuProfile h100 = load_gpu_profile("h100-sxm");
  const MoeModel m = one_layer_model();
  const double expert_compute = expert_ffn_work(m, 4096).flops / (0.7 * 989.4e12);
  const double P = 2.0 * 4096 * 4096 + 2.0 * 4096 * 1024;
  // The LM head runs for the one sampled position per GPU: memory-bound, not stretched.
  const double attn_flops = 2 * P * 4096 + 4.0 * 32 * 128 * (4096.0 * 2048);
  const double attention_compute = attn_flops / (0.7 * 989.4e12);
  const double expected = 0.5 * (expert_compute + attention_compute) * 1e9;
  CHECK(static_cast<double>(stretched - nominal) == Approx(expected).margin(3.0));
  // The kernel gap is the slow GPU's extra expert compute (0.5 × its compute time).
  CHECK(gap_us == Approx(0.5 * expert_compute * 1e6).margin(0.01));
}

TEST_CASE("tokens are conserved and every request completes", "[models][serving]") {
  const MoeModel mixtral = load_moe_model("mixtral-8x7b");
  ZipfRoutingSource zipf(mixtral, 1.0, sim::Rng(5));
  Harness h(mixtral, zipf, ServingConfig{});
  std::int64_t output = 0;
  for (std::uint64_t i = 0; i < 40; ++i) {
    h.submit_at(static_cast<sim::Time>(i) * 2000000, 100 + 37 * static_cast<std::int64_t>(i % 7), 5 + static_cast<std::int64_t>(i % 4), i);
    output += 5 + static_cast<std::int64_t>(i % 4);
  }
  h.finish();
  CHECK(h.metrics.requests().size() == 40);
  CHECK(h.metrics.dropped().empty());
  CHECK(h.metrics.output_tokens() == output);
  // Each routed token picks top-k = 2 experts in each of the 32 MoE layers.
  CHECK(h.metrics.expert_assignments() == h.metrics.tokens_routed() * 2 * 32);
  for (const auto& r : h.metrics.requests()) {
    CHECK(r.first_token > r.arrival);
    CHECK(r.last_token >= r.first_token);
  }
}

namespace {

// The same routing with its row support hidden: the engine then reads every count.
class WithoutSupport final : public RoutingSource {
 public:
  explicit WithoutSupport(RoutingSource& inner) : inner_(inner) {}
  std::string label() const override { return inner_.label(); }
  void route(const BatchSpans& batch, RoutingCounts& c) override { inner_.route(batch, c); }

 private:
  RoutingSource& inner_;
};

}  // namespace

TEST_CASE("the experts a row lists give the engine the timeline of reading every count", "[models][serving]") {
  // Qwen3's 128 experts, top-8: decode steps of a few tokens per GPU are sparse rows,
  // prompts dense ones; both kinds of iteration occur. Truth: the dense walk.
  const MoeModel qwen = load_moe_model("qwen3-30b-a3b");
  auto serve = [&](bool listed) {
    ZipfRoutingSource zipf(qwen, 0.8, sim::Rng(12));
    WithoutSupport hidden(zipf);
    RoutingSource& routing = listed ? static_cast<RoutingSource&>(zipf) : hidden;
    auto h = std::make_unique<Harness>(qwen, routing, ServingConfig{});
    for (std::uint64_t i = 0; i < 24; ++i) {
      h->submit_at(static_cast<sim::Time>(i) * 3000000, 20 + 53 * static_cast<std::int64_t>(i % 5), 12, i);
    }
    h->finish();
    return h;
  };
  const auto listed = serve(true);
  const auto dense = serve(false);
  REQUIRE(listed->metrics.requests().size() == 24);
  for (std::size_t i = 0; i < 24; ++i) {
    CHECK(listed->metrics.requests()[i].first_token == dense->metrics.requests()[i].first_token);
    CHECK(listed->metrics.requests()[i].last_token == dense->metrics.requests()[i].last_token);
  }
  CHECK(listed->metrics.expert_assignments() == dense->metrics.expert_assignments());
  CHECK(listed->metrics.remote_rows() == dense->metrics.remote_rows());
  CHECK(listed->metrics.expert_assignments() == listed->metrics.tokens_routed() * 8 * qwen.moe_layer_count());
}

TEST_CASE("a placement that does not fit in GPU memory is rejected with the numbers", "[models][serving]") {
  const MoeModel mixtral = load_moe_model("mixtral-8x7b");
  const GpuProfile a5000 = load_gpu_profile("rtx-a5000");
  CHECK_THROWS_WITH(check_memory(mixtral, ExpertPlacement::contiguous(mixtral, 1), 1, a5000.memory_bytes, 1LL << 30),
                    Catch::Contains("does not fit") && Catch::Contains("84.0 GiB of expert weights") &&
                        Catch::Contains("24.0 GiB"));
  const MoeModel v3 = load_moe_model("deepseek-v3");
  CHECK_NOTHROW(check_memory(v3, ExpertPlacement::contiguous(v3, 8), 8, load_gpu_profile("mi325x").memory_bytes, 1LL << 32));
}

TEST_CASE("static buckets: a request joins a batch only once its bucket has closed", "[models][serving]") {
  FixedRouting routing(8, 1, 0, true);
  ServingConfig config;
  config.batching = ServingConfig::Batching::kStaticBuckets;
  config.bucket = sim::seconds(1);
  Harness continuous_run(one_layer_model(), routing, ServingConfig{});
  continuous_run.submit_at(seconds_ns(0.3), 16, 2, 0);
  continuous_run.finish();
  Harness bucketed(one_layer_model(), routing, config);
  bucketed.submit_at(seconds_ns(0.3), 16, 2, 0);
  bucketed.submit_at(seconds_ns(1.2), 16, 2, 1);
  bucketed.finish();
  const auto& cont = continuous_run.metrics.requests();
  const auto& buck = bucketed.metrics.requests();
  REQUIRE(cont.size() == 1);
  REQUIRE(buck.size() == 2);
  // Continuous batching starts at arrival; the bucket closes at 1 s, so the same
  // request's first token comes exactly 0.7 s later (the iteration takes as long).
  CHECK(buck[0].first_token - cont[0].first_token == seconds_ns(0.7));
  // The second request arrived during the first's bucket run; it waits for the 2 s boundary.
  CHECK(buck[1].first_token > seconds_ns(2.0));
  CHECK(buck[1].first_token - seconds_ns(2.0) == cont[0].first_token - seconds_ns(0.3));
}

TEST_CASE("bad batching settings name the field", "[models][serving]") {
  CHECK_THROWS_WITH(parse_serving_config(JsonInput::parse(R"({"batching": "dynamic"})", "s.json")),
                    Catch::Contains("$.batching") && Catch::Contains("static-buckets"));
  CHECK_THROWS_WITH(parse_serving_config(JsonInput::parse(R"({"bucket_s": 0})", "s.json")), Catch::Contains("bucket_s"));
  CHECK_THROWS_WITH(parse_serving_config(JsonInput::parse(R"({"collectives": "ring"})", "s.json")),
                    Catch::Contains("$.collectives") && Catch::Contains("coflow, flows"));
  CHECK(parse_serving_config(JsonInput::parse(R"({"collectives": "flows"})", "s.json")).collectives ==
        ServingConfig::Collectives::kFlows);
}

TEST_CASE("grouped expert kernels: two experts per GPU pay one launch instead of two", "[models][serving]") {
  // 16 experts on 8 GPUs (two each); 16 prompt tokens on GPU 0, token t to expert t,
  // so every GPU runs two memory-bound experts of one token. Everything else is the
  // same, so the first token comes one H100 launch (5 µs) earlier with one kernel.
  MoeModel m = one_layer_model();
  m.experts = 16;
  sim::Time first[2] = {0, 0};
  for (const bool grouped : {false, true}) {
    FixedRouting one_each(16, 1, 0, true);
    ServingConfig config;
    if (grouped) config.expert_kernels = ServingConfig::ExpertKernels::kGrouped;
    Harness h(m, one_each, config);
    h.submit_at(0, 16, 1, 0);
    h.finish();
    REQUIRE(h.metrics.requests().size() == 1);
    first[grouped ? 1 : 0] = h.metrics.requests()[0].first_token;
  }
  CHECK(std::llabs(first[0] - first[1] - 5000) <= 2);  // the two roofline times round separately
}

TEST_CASE("an all-to-all as one coflow lasts as long as its busiest port: as flows, as its last flow", "[models][serving]") {
  // One request of 14 prompt tokens on GPU 0; token t goes to expert 1 + t % 7, i.e. two
  // rows to each of GPUs 1..7. Dispatch: GPU 0's NVLink egress carries 14 rows. Combine:
  // the same back into GPU 0's ingress. Both models give 14 rows / 357.5 GB/s here, since the
  // seven equal flows share the port evenly; with unequal pairs the coflow is shorter.
  struct Spread final : RoutingSource {
    std::string label() const override { return "spread"; }
    void route(const BatchSpans& batch, RoutingCounts& c) override {
      const auto tokens = tokens_per_gpu(batch);
      reset_counts(c, 1, tokens.size(), 8);
      for (std::size_t g = 0; g < tokens.size(); ++g) {
        for (std::int64_t t = 0; t < tokens[g]; ++t) ++c[0][g][static_cast<std::size_t>(1 + t % 7)];
      }
    }
  };
  sim::Time first_token[2] = {0, 0};
  std::uint64_t solves[2] = {0, 0};
  for (const bool flows : {false, true}) {
    Spread routing;
    ServingConfig config;
    config.closed_form_iterations = false;  // count the event path's solves
    config.collectives = flows ? ServingConfig::Collectives::kFlows : ServingConfig::Collectives::kCoflow;
    Harness h(one_layer_model(), routing, config);
    h.submit_at(0, 14, 1, 0);
    h.finish();
    REQUIRE(h.metrics.requests().size() == 1);
    first_token[flows ? 1 : 0] = h.metrics.requests()[0].first_token;
    solves[flows ? 1 : 0] = h.net.solves();
  }
  CHECK(first_token[0] == first_token[1]);
  CHECK(solves[0] == 4);   // start and end of each of the two coflows
  CHECK(solves[1] >= 4);   // the flows' starts and ends, batched per nanosecond
}

TEST_CASE("an iteration in closed form gives the event path's timeline to the nanosecond", "[models][serving]") {
  const MoeModel mixtral = load_moe_model("mixtral-8x7b");
  std::vector<GpuSlowdown> slow(8);
  slow[3] = GpuSlowdown{1.3, 1.1};
  std::vector<RequestRecord> records[2];
  std::uint64_t events[2] = {0, 0};
  double link_bytes[2] = {0.0, 0.0};
  std::vector<sim::Time> gpu_busy[2];
  for (const bool closed : {false, true}) {
    ZipfRoutingSource zipf(mixtral, 1.2, sim::Rng(9));
    ServingConfig config;
    config.closed_form_iterations = closed;
    Harness h(mixtral, zipf, config, slow);
    // Overlapping requests of mixed sizes: prefill chunks and decodes share iterations.
    for (std::uint64_t i = 0; i < 30; ++i) {
      h.submit_at(static_cast<sim::Time>(i) * 1700000 + 31 * static_cast<sim::Time>(i * i), 64 + 211 * static_cast<std::int64_t>(i % 5),
                  3 + static_cast<std::int64_t>(i % 6), i);
    }
    h.finish();
    records[closed ? 1 : 0] = h.metrics.requests();
    events[closed ? 1 : 0] = h.sim.events_executed();
    gpu_busy[closed ? 1 : 0] = h.metrics.gpu_busy();
    for (std::size_t l = 0; l < h.net.link_count(); ++l) link_bytes[closed ? 1 : 0] += h.net.link_bytes(static_cast<sim::LinkId>(l));
  }
  REQUIRE(records[0].size() == 30);
  REQUIRE(records[1].size() == records[0].size());
  for (std::size_t i = 0; i < records[0].size(); ++i) {
    CHECK(records[1][i].id == records[0][i].id);
    CHECK(records[1][i].first_token == records[0][i].first_token);
    CHECK(records[1][i].last_token == records[0][i].last_token);
  }
  // Closed form books each collective's exact bytes; the event path integrates rates
  // up to the whole nanosecond the drain is rounded to: up to 1 ns of extra transfer
  // per collective that lasts some tens of microseconds here, so about 1e-5 more.
  CHECK(link_bytes[1] <= link_bytes[0]);
  CHECK(link_bytes[1] == Approx(link_bytes[0]).epsilon(1e-4));
  CHECK(link_bytes[0] > 0.0);
  CHECK(events[1] * 20 < events[0]);  // one wake-up per iteration instead of several per layer
  CHECK(gpu_busy[1] == gpu_busy[0]);  // every layer's attention and experts, to the nanosecond
}

TEST_CASE("a GPU slowdown that changes mid-run applies from then on (no stale cost memo)", "[models][serving]") {
  FixedRouting to_expert7(8, 1, 7, false);  // every token to expert 7, on GPU 7
  Harness h(one_layer_model(), to_expert7, ServingConfig{});
  h.submit_at(0, 16, 1, 0);
  h.sim.schedule_at(seconds_ns(0.5), [&] { h.slowdowns[7] = GpuSlowdown{1.0, 2.0}; });  // e.g. a throttling episode
  h.submit_at(seconds_ns(1.0), 16, 1, 1);
  h.finish();
  REQUIRE(h.metrics.requests().size() == 2);
  const auto took = [&](std::size_t i) { return h.metrics.requests()[i].first_token - h.metrics.requests()[i].arrival; };
  // Only GPU 7's expert stage changed: its 16-token expert now reads at half the bandwidth.
  const LayerCosts costs(h.model, h.gpu);
  const sim::Time slower = costs.expert(GpuSlowdown{1.0, 2.0}, 16) - costs.expert(GpuSlowdown{}, 16);
  CHECK(slower > 0);
  CHECK(took(1) - took(0) == slower);
}

TEST_CASE("overloaded, a paged KV cache with room for one request serves them back to back as a D/D/1 queue",
          "[models][serving][kv]") {
  // One GPU. Identical 16-token requests arrive every half service time T (load 2).
  // (Throughput and queue depth are what a peer simulator got wrong in overload.)
  // One 16-token KV block admits one request at a time, so the waiting queue
  // grows without bound, yet the server must stay busy: request i's first token is
  // at (i + 1)·T exactly, its TTFT (i + 1)·T − i·T/2 (a deterministic queue has no
  // slack to hide a scheduler that stalls once requests wait).
  FixedRouting to_expert7(8, 1, 7, false);
  ServingConfig config;
  config.kv_cache = ServingConfig::KvCache::kPaged;
  config.kv_block_tokens = 16;
  config.kv_blocks = 1;
  Harness probe(one_layer_model(), to_expert7, config, {}, "workstation-1");
  probe.submit_at(0, 16, 1, 0);
  probe.finish();
  REQUIRE(probe.metrics.requests().size() == 1);
  const sim::Time T = probe.metrics.requests()[0].first_token;
  REQUIRE(T % 2 == 0);

  Harness h(one_layer_model(), to_expert7, config, {}, "workstation-1");
  const int n = 200;
  for (int i = 0; i < n; ++i) h.submit_at(i * T / 2, 16, 1, static_cast<std::uint64_t>(i));
  h.finish();
  REQUIRE(h.metrics.requests().size() == n);
  for (const RequestRecord& r : h.metrics.requests()) {
    INFO("request " << r.id);
    CHECK(r.first_token == static_cast<sim::Time>(r.id + 1) * T);
  }
  CHECK(h.metrics.iterations() == static_cast<std::uint64_t>(n));
  CHECK(h.metrics.kv_cache().recompute_preemptions == 0);
  // Queue depth: request i waits from i·T/2 to its admission at i·T, so the waiting
  // count integrates to Σ i·T/2 = T·n(n − 1)/4 over the n·T the run lasts: a mean of
  // (n − 1)/4; the line is longest just before the last arrival is served.
  CHECK(h.metrics.mean_waiting() == Approx((n - 1) / 4.0).epsilon(1e-12));
  CHECK(h.metrics.max_waiting() >= (n - 1) / 2.0 - 1.0);
  CHECK(h.metrics.max_waiting() <= (n - 1) / 2.0 + 1.0);
}
