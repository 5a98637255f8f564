#pragma once
// A serving engine on a DGX-H100 (or one workstation GPU) with fixed test routing,
// for hand-computed timelines (serving_engine_test, tp_attention_test).
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "models/catalog.h"
#include "models/serving/serving_engine.h"
#include "one_layer_model.h"

namespace moesim_test {

using namespace moesim;
using namespace moesim::models;

// Routes token t of every GPU's batch to expert (offset + t) % experts.
class FixedRouting final : public RoutingSource {
 public:
  FixedRouting(int experts, int moe_layers, int offset, bool spread)
      : experts_(experts), layers_(moe_layers), offset_(offset), spread_(spread) {}
  std::string label() const override { return "fixed test routing"; }
  void route(const BatchSpans& batch, RoutingCounts& c) override {
    const std::vector<std::int64_t> tokens = tokens_per_gpu(batch);
    reset_counts(c, static_cast<std::size_t>(layers_), tokens.size(), static_cast<std::size_t>(experts_));
    for (auto& layer : c) {
      for (std::size_t g = 0; g < tokens.size(); ++g) {
        for (std::int64_t t = 0; t < tokens[g]; ++t) {
          ++layer[g][static_cast<std::size_t>((offset_ + (spread_ ? t : 0)) % experts_)];
        }
      }
    }
  }

 private:
  int experts_, layers_, offset_;
  bool spread_;
};

struct Harness {
  sim::Simulator sim;
  sim::FlowNetwork net{sim};
  Topology topo{net};
  MoeModel model;
  GpuProfile gpu = load_gpu_profile("h100-sxm");
  std::vector<GpuSlowdown> slowdowns;
  ServingMetrics metrics;
  std::unique_ptr<ServingEngine> engine;
  // `preset`: dgx-h100 (8 GPUs) or workstation-1 (1 GPU).
  Harness(MoeModel m, RoutingSource& routing, ServingConfig config, std::vector<GpuSlowdown> s = {},
          const std::string& preset = "dgx-h100")
      : model(std::move(m)), metrics(preset == "workstation-1" ? 1 : 8, Slo{}) {
    build_topology(topo, {preset, 1, false});
    const int gpus = topo.gpu_count();
    slowdowns = s.empty() ? std::vector<GpuSlowdown>(static_cast<std::size_t>(gpus)) : s;
    engine = std::make_unique<ServingEngine>(sim, model, gpu, slowdowns, topo, ExpertPlacement::contiguous(model, gpus),
                                             routing, config, metrics);
    sim.spawn(engine->run());
  }
  std::vector<Request> pending;
  void submit_at(sim::Time t, std::int64_t in, std::int64_t out, std::uint64_t id) {
    pending.push_back(Request{id, t, in, out, {}});
    sim.schedule_at(t, [this, i = pending.size() - 1] { engine->submit(pending[i]); });
  }
  // Closes the engine after the last submission, as an arrival process would.
  void finish() {
    sim::Time last = 0;
    for (const Request& r : pending) last = std::max(last, r.arrival);
    sim.schedule_at(last, [this] { engine->close(); });
    sim.run();
  }
};

inline moesim::sim::Time seconds_ns(double s) { return moesim::sim::from_seconds(s); }


// Pieces of the hand-computed timelines of the one-layer model on a DGX-H100.

// The H100 roofline the profile gives these shapes (no measured table applies):
// memory 0.85 × 3.35 TB/s, compute 0.7 × 989.4 TFLOP/s, 5 µs launch per op.
inline sim::Time h100_roofline(double flops, double bytes) {
  return seconds_ns(std::max(flops / (0.7 * 989.4e12), bytes / (0.85 * 3.35e12))) + 5000;
}

// The one-layer model's non-expert stage for one 16-token prompt, each op's work
// divided by `share` (1: data-parallel; t: one GPU of a TP group of t): prefill
// attention (projections, scores over 16·8 causal pairs, 16 tokens of KV, whose 8
// KV heads split as the query heads do here), the gate, the LM head at the sampled
// position.
inline sim::Time one_layer_attention(double share) {
  const double P = 2.0 * 4096 * 4096 + 2.0 * 4096 * 1024;
  const double head = 32000.0 * 4096;
  const double router = 4096.0 * 8;
  return h100_roofline((2 * P * 16 + 4.0 * 32 * 128 * (16 * 8)) / share, (P * 2 + 2.0 * 8 * 128 * 2 * 16) / share) +
         h100_roofline(2 * router * 16 / share, (router * 2 + 16.0 * 4096 * 2) / share) +
         h100_roofline(2 * head / share, head * 2 / share);
}

// A transfer over NVLink on the DGX-H100: the fitted 7.59 µs (software start-up
// 6.59 µs + two 0.5 µs hops), then the bytes at the measured 357.5 GB/s.
inline sim::Time nvlink(double bytes, int extra_hops = 0) {
  return 7590 + 1000 * extra_hops + static_cast<sim::Time>(std::ceil(bytes / 357.5e9 * 1e9));
}

inline const double kExpertFlops = 16.0 * 2 * 3 * 4096 * 14336;
inline const double kExpertBytes = 3.0 * 4096 * 14336 * 2 + 16.0 * (2 * 4096 + 4 * 14336) * 2;
inline const double kRows16 = 16.0 * 4096 * 2;  // one 16-token prompt's activations, BF16

}  // namespace moesim_test
