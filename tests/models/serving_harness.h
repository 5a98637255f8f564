#pragma once
// A serving engine on a DGX-H100 (or one workstation GPU) with fixed test routing,
// for hand-computed timelines (serving_engine_test, tp_attention_test).
#include <algorithm>
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


}  // namespace moesim_test
