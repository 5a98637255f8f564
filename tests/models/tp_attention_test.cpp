// Tensor-parallel attention (docs/models.md, "Tensor-parallel attention") against
// hand-computed timelines: a TP group's share of the attention, its ring
// collectives, and the experts fed from every GPU of the group.
#include <catch2/catch.hpp>
#include <cmath>

#include "models/catalog.h"
#include "models/serving/expert_placement.h"
#include "models/serving/tensor_parallel.h"
#include "serving_harness.h"
#include "sim/rng.h"

using namespace moesim_test;  // the harness, and moesim::models through it

TEST_CASE("split_spans gives each GPU of a TP group an equal share of its rank's tokens in batch order",
          "[models][serving][tp]") {
  const BatchSpans ranks{{TokenSpan{1, 0, 5, true}, TokenSpan{2, 7, 1, false}}, {TokenSpan{3, 10, 1, false}}};
  BatchSpans gpus;
  split_spans(ranks, 2, gpus);
  REQUIRE(gpus.size() == 4);
  // Rank 0 has 6 tokens: request 1's prompt 0-2 | 3-4 and request 2's decode step.
  REQUIRE(gpus[0].size() == 1);
  CHECK((gpus[0][0].request == 1 && gpus[0][0].position == 0 && gpus[0][0].count == 3 && gpus[0][0].prefill));
  REQUIRE(gpus[1].size() == 2);
  CHECK((gpus[1][0].request == 1 && gpus[1][0].position == 3 && gpus[1][0].count == 2));
  CHECK((gpus[1][1].request == 2 && gpus[1][1].position == 7 && gpus[1][1].count == 1 && !gpus[1][1].prefill));
  // Rank 1's one token: ⌊1/2⌋ = 0 for its first GPU, the token for its second.
  CHECK(gpus[2].empty());
  REQUIRE(gpus[3].size() == 1);
  CHECK(gpus[3][0].request == 3);
  split_spans(ranks, 1, gpus);
  CHECK(gpus == ranks);
}

TEST_CASE("TP attention splits the non-expert weights, and the KV cache by KV head (MLA's latent is replicated)",
          "[models][serving][tp]") {
  const MoeModel mixtral = load_moe_model("mixtral-8x7b");  // GQA, 8 KV heads
  CHECK(mixtral.kv_shards(1) == 1);
  CHECK(mixtral.kv_shards(4) == 4);
  CHECK(mixtral.kv_shards(16) == 8);  // past 8, KV heads are replicated
  CHECK(load_moe_model("deepseek-v3").kv_shards(8) == 1);
  const auto placement = ExpertPlacement::contiguous(mixtral, 8);
  const std::int64_t memory = load_gpu_profile("h100-sxm").memory_bytes;
  const MemoryBudget dp = check_memory(mixtral, placement, 8, memory, 1LL << 32);
  const MemoryBudget tp = check_memory(mixtral, placement, 8, memory, 1LL << 32, 4);
  CHECK(tp.non_expert_weights == (dp.non_expert_weights + 3) / 4);
  CHECK(tp.kv_capacity() - dp.kv_capacity() == dp.non_expert_weights - tp.non_expert_weights);
}

TEST_CASE("TP-attention + EP experts: one request matches the hand timeline with reduce-scatter or all-reduce",
          "[models][serving][tp]") {
  // Attention TP 2 on a DGX-H100: GPUs 0-1 are rank 0. One 16-token prompt routed to
  // expert 7 (GPU 7). Each GPU of the rank does half of every non-expert op; then
  //   reduce-scatter: a ring step, each GPU sending its partner half of the rank's
  //     16 rows (8 rows); all-reduce: two steps (16 rows, one more hop latency);
  //   dispatch: 8 rows from GPU 0 and 8 from GPU 1 to GPU 7, whose downlink carries
  //     16 rows — as long as the data-parallel dispatch of 16 rows from GPU 0;
  //   expert 7 over 16 tokens; the combine back;
  //   all-gather: each GPU sends its 8 reduced rows to its partner.
  FixedRouting to_expert7(8, 1, 7, false);
  const sim::Time attention = one_layer_attention(2.0);
  const sim::Time a2a = nvlink(kRows16);
  const sim::Time expert = h100_roofline(kExpertFlops, kExpertBytes);
  const sim::Time half = nvlink(kRows16 / 2);
  for (const auto kind : {ServingConfig::TpCollective::kReduceScatter, ServingConfig::TpCollective::kAllReduce}) {
    const bool all_reduce = kind == ServingConfig::TpCollective::kAllReduce;
    INFO((all_reduce ? "all-reduce" : "reduce-scatter"));
    ServingConfig config;
    config.attention_tp = 2;
    config.tp_collective = kind;
    Harness h(one_layer_model(), to_expert7, config);
    h.submit_at(0, 16, 1, 0);
    h.finish();
    REQUIRE(h.metrics.requests().size() == 1);
    const RequestRecord& r = h.metrics.requests()[0];
    CHECK(r.gpu == 0);
    const sim::Time reduce = all_reduce ? nvlink(kRows16, 1) : half;
    CHECK(r.first_token == attention + reduce + a2a + expert + a2a + half);
    // Both GPUs of the rank did their half of the attention; nobody else any.
    CHECK(h.metrics.gpu_busy()[0] == attention);
    CHECK(h.metrics.gpu_busy()[1] == attention);
    CHECK(h.metrics.gpu_busy()[2] == 0);
    CHECK(h.metrics.gpu_busy()[7] == expert);
  }
  // The data-parallel timeline of the same request, for contrast: the whole
  // attention on GPU 0, no ring collectives.
  Harness dp(one_layer_model(), to_expert7, ServingConfig{});
  dp.submit_at(0, 16, 1, 0);
  dp.finish();
  CHECK(dp.metrics.requests()[0].first_token == one_layer_attention(1.0) + a2a + expert + a2a);
}

TEST_CASE("TP attention ranks are numbered by their first GPU and take requests in turn", "[models][serving][tp]") {
  FixedRouting to_expert7(8, 1, 7, false);
  ServingConfig config;
  config.attention_tp = 4;
  Harness h(one_layer_model(), to_expert7, config);
  for (std::uint64_t i = 0; i < 4; ++i) h.submit_at(0, 16, 1, i);
  h.finish();
  REQUIRE(h.metrics.requests().size() == 4);
  std::vector<int> gpus;
  for (const RequestRecord& r : h.metrics.requests()) gpus.push_back(r.gpu);
  std::sort(gpus.begin(), gpus.end());
  CHECK(gpus == std::vector<int>{0, 0, 4, 4});  // two ranks (GPUs 0-3, 4-7), two requests each
}

TEST_CASE("with TP attention an iteration in closed form gives the event path's timeline to the nanosecond",
          "[models][serving][tp]") {
  // Two dense layers then two MoE layers, so that both of a dense layer's collectives
  // (reduce-scatter mode: scatter then gather at once) and a MoE layer's are timed.
  const MoeModel model = parse_moe_model(JsonInput::parse(R"({
    "name": "dense-then-moe", "layers": 4, "d_model": 4096, "vocab": 32000, "dtype_bytes": 2,
    "attention": {"heads": 32, "kv_heads": 8, "head_dim": 128},
    "moe": {"experts": 8, "top_k": 2, "expert_ffn": 14336, "first_moe_layer": 2},
    "dense_ffn": 14336})",
                                                          "dense-then-moe.json"));
  for (const auto kind : {ServingConfig::TpCollective::kReduceScatter, ServingConfig::TpCollective::kAllReduce}) {
    std::vector<RequestRecord> records[2];
    for (const bool closed : {false, true}) {
      ZipfRoutingSource zipf(model, 1.2, sim::Rng(9));
      ServingConfig config;
      config.attention_tp = 2;
      config.tp_collective = kind;
      config.closed_form_iterations = closed;
      Harness h(model, zipf, config);
      for (std::uint64_t i = 0; i < 20; ++i) {
        h.submit_at(static_cast<sim::Time>(i) * 900000, 64 + 97 * static_cast<std::int64_t>(i % 4), 2 + static_cast<std::int64_t>(i % 5), i);
      }
      h.finish();
      records[closed ? 1 : 0] = h.metrics.requests();
    }
    REQUIRE(records[0].size() == 20);
    REQUIRE(records[1].size() == 20);
    for (std::size_t i = 0; i < 20; ++i) {
      CHECK(records[1][i].first_token == records[0][i].first_token);
      CHECK(records[1][i].last_token == records[0][i].last_token);
    }
  }
}
