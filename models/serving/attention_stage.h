#pragma once
// A layer's attention stage (+ router, shared experts or dense FFN) on every GPU for
// its own tokens (data-parallel attention), or for its share of its tensor-parallel
// group's tokens: it ends when the slowest GPU is done.
// A layer's time depends on the layer only through its kind (MoE or dense, last or
// not), so each kind is computed once per GPU and iteration, and again only when
// the GPU's slowdown changes (throttling).
#include <array>
#include <cstddef>
#include <vector>

#include "models/gpu_variability.h"
#include "models/layer_costs.h"
#include "models/moe_model.h"
#include "models/serving/batch_scheduler.h"
#include "models/serving/stage_recorder.h"

namespace moesim::models {

class AttentionStage {
 public:
  // `attention_tp`: GPUs per attention rank (the batch has one entry per rank); `costs`
  // must be for that group size.
  AttentionStage(const MoeModel& model, const LayerCosts& costs, const std::vector<GpuSlowdown>& slowdowns,
                 StageRecorder& recorder, int attention_tp = 1);
  // The batch's attention load per rank, for this iteration's layers.
  void prepare(const Batch& b);
  // The layer's stage starting at `start`: the slowest GPU's time; per-GPU times in
  // `stage` unless a closed-form iteration already knows the layer kind's slowest
  // (its layers run at one simulated instant, so slowdowns cannot change between them).
  sim::Time run(int layer, sim::Time start, bool closed_form, std::vector<sim::Time>& stage);

 private:
  std::size_t layer_kind(int layer) const;  // 0..3: MoE or dense, last layer or not
  sim::Time time(std::size_t gpu, int layer);

  const MoeModel& model_;
  const LayerCosts& costs_;
  const std::vector<GpuSlowdown>& slowdowns_;
  StageRecorder& recorder_;
  std::size_t tp_;
  std::vector<AttentionLoad> loads_;        // per attention rank, this iteration
  std::vector<sim::Time> memo_;             // [gpu * 4 + kind], -1 = not yet
  std::vector<GpuSlowdown> memo_slowdown_;  // the slowdown memo_ holds for, per GPU
  std::array<sim::Time, 4> slowest_{};      // closed form: per kind, -1 = not yet
};

}  // namespace moesim::models
