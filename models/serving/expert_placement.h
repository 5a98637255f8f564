#pragma once
// Which GPU holds which expert, per MoE layer. The built-in default is static
// contiguous expert parallelism: expert e of every layer on GPU floor(e·P/E).
// (The policy issue adds replicas and other policies behind this representation.)
#include <cstdint>
#include <string>
#include <vector>

#include "models/moe_model.h"

namespace moesim::models {

struct ExpertPlacement {
  std::string policy;
  std::vector<std::vector<int>> gpu_of;  // [moe layer][expert] -> GPU

  static ExpertPlacement contiguous(const MoeModel& m, int gpus);
  std::vector<std::int64_t> experts_per_gpu(int gpus) const;  // summed over layers
};

struct MemoryBudget {
  std::int64_t gpu_memory = 0;
  std::int64_t non_expert_weights = 0;  // replicated on every GPU (data-parallel attention)
  std::int64_t activation_reserve = 0;
  std::int64_t expert_weights_max = 0;  // on the fullest GPU
  int fullest_gpu = 0;
  std::int64_t kv_capacity() const { return gpu_memory - non_expert_weights - activation_reserve - expert_weights_max; }
};

// Throws InputError with the numbers (needed vs available bytes on the fullest
// GPU) when the placement does not fit.
MemoryBudget check_memory(const MoeModel& m, const ExpertPlacement& p, int gpus, std::int64_t gpu_memory,
                          std::int64_t activation_reserve);

}  // namespace moesim::models
