// Per-layer dense costs against hand computation: the LM head is paid only for the
// positions an engine samples (one per finished prompt, one per decode token).
#include <catch2/catch.hpp>

#include "models/catalog.h"
#include "models/gpu_profile.h"
#include "models/layer_costs.h"

using namespace moesim;
using namespace moesim::models;

namespace {

// What the last layer adds over an inner one: Mixtral has no shared experts or dense
// layers, so that is the LM head alone, one roofline op.
sim::Time head_cost(const MoeModel& m, const GpuProfile& gpu, const AttentionLoad& load) {
  const LayerCosts costs(m, gpu);
  return costs.non_expert({}, m.layers - 1, load) - costs.non_expert({}, 0, load);
}

// The head read once (vocab × d_model BF16 weights) for `sampled` rows, by hand.
sim::Time head_by_hand(const GpuProfile& gpu, double sampled) {
  const double params = 32000.0 * 4096.0;
  const double memory_s = params * 2.0 / (gpu.memory_efficiency * gpu.hbm_bytes_per_s);
  const double compute_s = 2.0 * params * sampled / (gpu.compute_efficiency * gpu.peak_for("bf16"));
  return sim::from_seconds(std::max(memory_s, compute_s)) + gpu.launch_overhead;
}

}  // namespace

TEST_CASE("the LM head runs for sampled positions only, not for every prefill token", "[models][layer_costs]") {
  const MoeModel m = load_moe_model("mixtral-8x7b");
  const GpuProfile gpu = load_gpu_profile("h100-sxm");
  REQUIRE(m.vocab == 32000);
  REQUIRE(m.d_model == 4096);

  AttentionLoad middle_chunk;  // a 4,096-token chunk that does not end its prompt
  middle_chunk.add_prefill(0, 4096, false);
  CHECK(head_cost(m, gpu, middle_chunk) == 0);

  AttentionLoad last_chunk;  // the same chunk ending the prompt: one row of logits
  last_chunk.add_prefill(4096, 4096, true);
  CHECK(head_cost(m, gpu, last_chunk) == head_by_hand(gpu, 1));
  // Charged for all 4,096 rows the head would be compute bound and ≈ 16× dearer.
  CHECK(head_by_hand(gpu, 4096) > 15 * head_by_hand(gpu, 1));

  AttentionLoad mixed;  // two finished prompts and 64 decode tokens: 66 rows
  mixed.add_prefill(0, 100, true);
  mixed.add_prefill(0, 300, true);
  mixed.add_prefill(0, 2000, false);
  for (int i = 0; i < 64; ++i) mixed.add_decode(500);
  CHECK(mixed.sampled == 66.0);
  CHECK(head_cost(m, gpu, mixed) == head_by_hand(gpu, 66));
}

TEST_CASE("a grouped expert kernel reads every expert's weights, sums the FLOPs and launches once", "[models][layer_costs]") {
  const MoeModel m = load_moe_model("mixtral-8x7b");
  const GpuProfile gpu = load_gpu_profile("h100-sxm");
  const LayerCosts costs(m, gpu);
  const double weights = 3.0 * 4096 * 14336 * 2;      // one expert's gate, up and down projections
  const double row = (2.0 * 4096 + 4.0 * 14336) * 2;  // one token's activations in and out
  const double flops_per_token = 2.0 * 3 * 4096 * 14336;
  const auto by_hand = [&](double experts, double tokens) {
    return sim::from_seconds(std::max(experts * weights / (0.85 * 3.35e12) + tokens * row / (0.85 * 3.35e12),
                                      tokens * flops_per_token / (0.7 * 989.4e12))) +
           5000;
  };
  CHECK(costs.expert_group({}, 0, 0) == 0);
  CHECK(std::llabs(costs.expert_group({}, 4, 64) - by_hand(4, 64)) <= 1);        // weight-read bound
  CHECK(std::llabs(costs.expert_group({}, 4, 16384) - by_hand(4, 16384)) <= 1);  // compute bound
  // Four memory-bound experts of 16 tokens: back to back costs three launches more.
  CHECK(std::llabs(4 * costs.expert({}, 16) - costs.expert_group({}, 4, 64) - 3 * 5000) <= 4);
}
