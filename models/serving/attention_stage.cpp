#include "models/serving/attention_stage.h"

#include <algorithm>

namespace moesim::models {

AttentionStage::AttentionStage(const MoeModel& model, const LayerCosts& costs, const std::vector<GpuSlowdown>& slowdowns,
                               StageRecorder& recorder, int attention_tp)
    : model_(model),
      costs_(costs),
      slowdowns_(slowdowns),
      recorder_(recorder),
      tp_(static_cast<std::size_t>(attention_tp)),
      memo_slowdown_(slowdowns) {}

void AttentionStage::prepare(const Batch& b) {
  loads_.assign(b.prefill.size(), AttentionLoad{});
  for (std::size_t rank = 0; rank < loads_.size(); ++rank) {
    for (const auto& [r, chunk] : b.prefill[rank]) loads_[rank].add_prefill(r->context(), chunk, r->prefilled + chunk >= r->prefill_target());
    for (const Request* r : b.decode[rank]) loads_[rank].add_decode(r->context());
  }
  memo_.assign(slowdowns_.size() * 4, -1);
  slowest_.fill(-1);
}

std::size_t AttentionStage::layer_kind(int layer) const {
  return (model_.is_moe_layer(layer) ? 1 : 0) + (layer == model_.layers - 1 ? 2 : 0);
}

sim::Time AttentionStage::time(std::size_t g, int layer) {
  const GpuSlowdown now = slowdowns_[g];
  GpuSlowdown& at = memo_slowdown_[g];
  if (now != at) {
    at = now;
    std::fill_n(memo_.begin() + static_cast<std::ptrdiff_t>(g * 4), 4, -1);
  }
  sim::Time& t = memo_[g * 4 + layer_kind(layer)];
  if (t < 0) t = costs_.non_expert(slowdowns_[g], layer, loads_[g / tp_]);
  return t;
}

sim::Time AttentionStage::run(int layer, sim::Time start, bool closed_form, std::vector<sim::Time>& stage) {
  // Later layers of a kind already timed in closed form only add the memoised
  // per-GPU times to the busy totals (closed form runs without a trace: no spans).
  const std::size_t kind = layer_kind(layer);
  sim::Time* slowest = closed_form ? &slowest_[kind] : nullptr;
  if (slowest != nullptr && *slowest >= 0) {
    for (std::size_t g = 0; g < slowdowns_.size(); ++g) recorder_.busy(static_cast<int>(g), memo_[g * 4 + kind]);
    return *slowest;
  }
  for (std::size_t g = 0; g < stage.size(); ++g) stage[g] = time(g, layer);
  recorder_.stage("attention", layer, start, stage);
  const sim::Time attention = *std::max_element(stage.begin(), stage.end());
  if (slowest != nullptr) *slowest = attention;
  return attention;
}

}  // namespace moesim::models
