// Disaggregated prefill and decode (docs/models.md, "Disaggregated prefill and
// decode") against a hand-computed timeline: a prompt served by a prefill instance,
// its KV moved to a decode instance over NVLink, its output decoded there.
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>

#include "models/catalog.h"
#include "models/layer_costs.h"
#include "models/serving/kv_handoff.h"
#include "serving_harness.h"

using namespace moesim_test;  // the harness, and moesim::models through it

namespace {

class FirstInstance final : public RequestRouter {
 public:
  std::string name() const override { return "first"; }
  std::size_t route(const Request&, const std::vector<InstanceLoad>&) override { return 0; }
};

// One DGX-H100 on one network: GPUs 0-3 a prefill instance, 4-7 a decode instance,
// each EP 4 (expert 7 on its last GPU), every token to expert 7, the KV handed over
// to the decode instance.
struct PrefillDecodePair {
  PrefillDecodePair(const MoeModel& m, const ServingConfig& config)
      : model(m),
        whole(built(net)),
        prefill_gpus(whole->gpu_subset(0, 4)),
        decode_gpus(whole->gpu_subset(4, 4)),
        prefill(sim, model, gpu, slowdowns, prefill_gpus, ExpertPlacement::contiguous(model, 4), to_expert7, config,
                metrics, nullptr, ServingPolicies{}, 0),
        decode(sim, model, gpu, slowdowns, decode_gpus, ExpertPlacement::contiguous(model, 4), to_expert7, config,
               metrics, nullptr, ServingPolicies{}, 4),
        handoff(sim, model, *whole, {{&decode, 4}}, router, metrics) {
    handoff.expect_prefill_engines(1);
    prefill.set_handoff([this](Request r, int src) { handoff.hand_over(std::move(r), src); });
    prefill.set_on_finish([this] { handoff.prefill_finished(); });
  }
  static std::unique_ptr<Topology> built(sim::FlowNetwork& net) {
    auto t = std::make_unique<Topology>(net);
    build_topology(*t, {"dgx-h100", 1, false});
    return t;
  }
  // Serves `r` on the prefill instance and runs until both instances are done.
  void serve(Request r) {
    sim.spawn(prefill.run());
    sim.spawn(decode.run());
    prefill.submit(std::move(r));
    prefill.close();
    sim.run();
  }

  MoeModel model;
  FixedRouting to_expert7{8, 1, 7, false};
  GpuProfile gpu = load_gpu_profile("h100-sxm");
  sim::Simulator sim;
  sim::FlowNetwork net{sim};
  std::unique_ptr<Topology> whole;
  Topology prefill_gpus, decode_gpus;
  ServingMetrics metrics{8, Slo{}};
  std::vector<GpuSlowdown> slowdowns = std::vector<GpuSlowdown>(4);
  ServingEngine prefill, decode;
  FirstInstance router;
  KvHandoff handoff;
};

}  // namespace

TEST_CASE("a disaggregated request: prefill on one instance, KV over NVLink, decode on the other, as the hand timeline says",
          "[models][serving][disaggregated]") {
  // One 16-token prompt, 3 output tokens, on the pair of instances above.
  ServingConfig config;
  config.kv_cache = ServingConfig::KvCache::kPaged;
  PrefillDecodePair pair(one_layer_model(), config);
  pair.serve(Request{0, 0, 16, 3, {}});
  const MoeModel& model = pair.model;
  const GpuProfile& gpu = pair.gpu;
  const ServingMetrics& metrics = pair.metrics;
  const ServingEngine& prefill = pair.prefill;
  const ServingEngine& decode = pair.decode;

  REQUIRE(metrics.requests().size() == 1);
  const RequestRecord& r = metrics.requests()[0];
  CHECK(r.gpu == 4);  // recorded where it finished: the decode instance's GPU 0
  // Prefill: the single-request timeline of serving_engine_test (attention on GPU 0,
  // 16 rows to GPU 3 and back around expert 7 over 16 tokens).
  const sim::Time attention = one_layer_attention(1.0);
  const sim::Time expert16 = h100_roofline(kExpertFlops, kExpertBytes);
  const sim::Time first = attention + nvlink(kRows16) + expert16 + nvlink(kRows16);
  CHECK(r.first_token == first);
  // The prompt's KV, 16 tokens × (2 · 8 KV heads · 128 · 2 B) = 64 KiB, GPU 0 -> GPU 4:
  // a peer copy's 7.59 µs and the bytes at 357.5 GB/s.
  const sim::Time kv = nvlink(16.0 * 2 * 8 * 128 * 2);
  CHECK(metrics.kv_transfer_wait().count() == 1);
  CHECK(metrics.kv_transfer_bytes() == 16.0 * 2 * 8 * 128 * 2);
  CHECK(sim::from_seconds(metrics.kv_transfer_wait().mean()) == kv);
  // Two decode steps on GPU 4 (contexts 17 and 18): decode attention, one row to
  // expert 7 on GPU 7 and back.
  const LayerCosts costs(model, gpu);
  sim::Time decode_steps = 0;
  for (const std::int64_t context : {17, 18}) {
    AttentionLoad load;
    load.add_decode(context);
    decode_steps += costs.non_expert(GpuSlowdown{}, 0, load) + nvlink(4096 * 2) + costs.expert(GpuSlowdown{}, 1) +
                    nvlink(4096 * 2);
  }
  CHECK(r.last_token == first + kv + decode_steps);
  // Each pool did only its part: GPU 0 the prompt's attention, GPU 4 the decodes'.
  CHECK(metrics.gpu_busy()[0] == attention);
  CHECK(metrics.gpu_busy()[3] == expert16);
  CHECK(metrics.gpu_busy()[7] == 2 * costs.expert(GpuSlowdown{}, 1));
  CHECK(prefill.outstanding_requests() == 0);
  CHECK(prefill.outstanding_tokens() == 0);
  CHECK(decode.outstanding_requests() == 0);
  CHECK(decode.outstanding_tokens() == 0);
}

TEST_CASE("with TP attention every GPU of the decode rank receives the KV shard it holds, replicated heads included",
          "[models][serving][disaggregated][tp]") {
  // One KV head (multi-query attention) under TP 2: the head is replicated, so both
  // GPUs of the decode rank need the whole prompt KV, 16 tokens × 2 · 128 · 2 B each;
  // with 8 KV heads each GPU needs half. GPUs 0-3 prefill, 4-7 decode, as above.
  for (const int kv_heads : {1, 8}) {
    INFO("kv_heads " << kv_heads);
    const MoeModel model = parse_moe_model(JsonInput::parse(R"({
      "name": "one-layer-gqa", "layers": 1, "d_model": 4096, "vocab": 32000, "dtype_bytes": 2,
      "attention": {"heads": 32, "kv_heads": )" + std::to_string(kv_heads) + R"(, "head_dim": 128},
      "moe": {"experts": 8, "top_k": 1, "expert_ffn": 14336}})",
                                                            "one-layer-gqa.json"));
    ServingConfig config;
    config.attention_tp = 2;
    PrefillDecodePair pair(model, config);
    pair.serve(Request{0, 0, 16, 3, {}});
    const ServingMetrics& metrics = pair.metrics;
    REQUIRE(metrics.requests().size() == 1);
    const double per_gpu = 16.0 * 2 * kv_heads * 128 * 2 / (kv_heads == 1 ? 1 : 2);
    CHECK(metrics.kv_transfer_bytes() == 2 * per_gpu);
    // Two transfers side by side on disjoint NVLink ports (GPU 0 -> 4, GPU 1 -> 5).
    CHECK(sim::from_seconds(metrics.kv_transfer_wait().mean()) == nvlink(per_gpu));
    // GPU 5 (the decode rank's second GPU) did its half of the decode attention.
    CHECK(metrics.gpu_busy()[5] > 0);
  }
}
