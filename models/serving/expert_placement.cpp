#include "models/serving/expert_placement.h"

#include <fmt/format.h>

#include "sim/errors.h"

namespace moesim::models {

ExpertPlacement ExpertPlacement::contiguous(const MoeModel& m, int gpus) {
  ExpertPlacement p;
  p.policy = "static-contiguous";
  for (int l = 0; l < m.moe_layer_count(); ++l) {
    std::vector<int> row(static_cast<std::size_t>(m.experts));
    for (int e = 0; e < m.experts; ++e) row[static_cast<std::size_t>(e)] = static_cast<int>(static_cast<std::int64_t>(e) * gpus / m.experts);
    p.gpu_of.push_back(std::move(row));
  }
  return p;
}

std::vector<std::int64_t> ExpertPlacement::experts_per_gpu(int gpus) const {
  std::vector<std::int64_t> n(static_cast<std::size_t>(gpus), 0);
  for (const auto& layer : gpu_of) {
    for (int g : layer) ++n[static_cast<std::size_t>(g)];
  }
  return n;
}

MemoryBudget check_memory(const MoeModel& m, const ExpertPlacement& p, int gpus, std::int64_t gpu_memory,
                          std::int64_t activation_reserve) {
  MemoryBudget b;
  b.gpu_memory = gpu_memory;
  b.activation_reserve = activation_reserve;
  const double non_expert = m.total_params() - static_cast<double>(m.expert_params()) * m.experts * m.moe_layer_count();
  b.non_expert_weights = static_cast<std::int64_t>(non_expert) * m.dtype_bytes;
  const auto counts = p.experts_per_gpu(gpus);
  for (int g = 0; g < gpus; ++g) {
    const std::int64_t bytes = counts[static_cast<std::size_t>(g)] * m.expert_bytes();
    if (bytes > b.expert_weights_max) {
      b.expert_weights_max = bytes;
      b.fullest_gpu = g;
    }
  }
  if (b.kv_capacity() <= 0) {
    const double gib = 1024.0 * 1024.0 * 1024.0;
    throw InputError(fmt::format(
        "placement '{}' of {} does not fit: GPU {} needs {:.1f} GiB of expert weights + {:.1f} GiB of replicated "
        "non-expert weights + {:.1f} GiB activation reserve = {:.1f} GiB, but has {:.1f} GiB (and the KV cache needs room "
        "too); use more GPUs, a larger GPU, or an offloading policy",
        p.policy, m.name, b.fullest_gpu, b.expert_weights_max / gib, b.non_expert_weights / gib,
        b.activation_reserve / gib, (b.expert_weights_max + b.non_expert_weights + b.activation_reserve) / gib,
        gpu_memory / gib));
  }
  return b;
}

}  // namespace moesim::models
