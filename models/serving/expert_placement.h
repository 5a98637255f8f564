#pragma once
// Which GPUs hold copies of which expert, per MoE layer. Every expert has at least
// one copy; replicated experts (EPLB) have several, and the engine splits their
// tokens by a ReplicaDispatch rule. A GPU may hold two copies of one expert (EPLB
// allows it): both count for memory, and their shares add up on that GPU.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "models/moe_model.h"

namespace moesim::models {

struct ExpertPlacement {
  std::string policy;
  int gpus = 0;
  std::vector<std::vector<std::vector<int>>> replicas;  // [moe layer][expert] -> GPUs holding a copy
  int swaps = 0;  // expert swaps an incremental update made (reporting)
  // Slot-based policies (EPLB): [moe layer] -> the expert in each physical slot, GPU
  // by GPU, in the policy's own order (its phy2log); empty for the others.
  std::vector<std::vector<int>> slots;

  static ExpertPlacement contiguous(const MoeModel& m, int gpus);   // expert e on GPU floor(e·P/E)
  static ExpertPlacement round_robin(const MoeModel& m, int gpus);  // expert e on GPU e mod P
  // From physical slots (EPLB's phy2log[layer][slot] = expert): slot s on GPU s / (slots / gpus).
  static ExpertPlacement from_slots(std::string policy, const std::vector<std::vector<int>>& phy2log, int experts, int gpus);

  std::vector<std::int64_t> experts_per_gpu() const;  // copies, summed over layers
  std::vector<int> primary_gpus(int layer) const;     // first copy of each expert
  std::int64_t copies() const;                        // all layers
  // Copies of (layer, expert) that `next` has on a GPU where this placement has none
  // — the expert weights a switch to `next` must move: (layer, expert, GPU).
  std::vector<std::array<int, 3>> missing_in(const ExpertPlacement& next) const;
  // Throws InputError unless every expert of every layer has a copy on a valid GPU.
  void validate(const MoeModel& m) const;
  bool operator==(const ExpertPlacement& o) const { return replicas == o.replicas; }
};

// Whether every expert of one layer's copies ([expert] -> GPUs) has exactly one copy.
inline bool one_copy_each(const std::vector<std::vector<int>>& layer_copies) {
  for (const auto& copies : layer_copies) {
    if (copies.size() != 1) return false;
  }
  return true;
}

struct MemoryBudget {
  std::int64_t gpu_memory = 0;
  std::int64_t non_expert_weights = 0;  // per GPU: all of them, or a 1/t share under TP attention
  std::int64_t activation_reserve = 0;
  std::int64_t expert_weights_max = 0;  // on the fullest GPU
  int fullest_gpu = 0;
  std::int64_t kv_capacity() const { return gpu_memory - non_expert_weights - activation_reserve - expert_weights_max; }
};

// Throws InputError with the numbers (needed vs available bytes on the fullest
// GPU) when the placement does not fit.
// `attention_tp`: GPUs sharing the non-expert weights (tensor-parallel attention).
MemoryBudget check_memory(const MoeModel& m, const ExpertPlacement& p, int gpus, std::int64_t gpu_memory,
                          std::int64_t activation_reserve, int attention_tp = 1);
// The same check for `expert_bytes` of expert weights on the fullest GPU (`what`
// names the layout in the error).
MemoryBudget memory_budget(const MoeModel& m, const std::string& what, std::int64_t expert_bytes, int fullest_gpu,
                           std::int64_t gpu_memory, std::int64_t activation_reserve, int attention_tp = 1);

}  // namespace moesim::models
