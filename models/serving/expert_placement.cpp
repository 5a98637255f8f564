#include "models/serving/expert_placement.h"

#include <algorithm>
#include <fmt/format.h>

#include "util/errors.h"

namespace moesim::models {

namespace {

ExpertPlacement one_copy_each(std::string policy, const MoeModel& m, int gpus, int (*gpu_of)(int expert, int experts, int gpus)) {
  ExpertPlacement p;
  p.policy = std::move(policy);
  p.gpus = gpus;
  for (int l = 0; l < m.moe_layer_count(); ++l) {
    std::vector<std::vector<int>> row(static_cast<std::size_t>(m.experts));
    for (int e = 0; e < m.experts; ++e) row[static_cast<std::size_t>(e)] = {gpu_of(e, m.experts, gpus)};
    p.replicas.push_back(std::move(row));
  }
  return p;
}

}  // namespace

ExpertPlacement ExpertPlacement::contiguous(const MoeModel& m, int gpus) {
  return one_copy_each("static-contiguous", m, gpus,
                       [](int e, int experts, int g) { return static_cast<int>(static_cast<std::int64_t>(e) * g / experts); });
}

ExpertPlacement ExpertPlacement::round_robin(const MoeModel& m, int gpus) {
  return one_copy_each("static-round-robin", m, gpus, [](int e, int, int g) { return e % g; });
}

ExpertPlacement ExpertPlacement::from_slots(std::string policy, const std::vector<std::vector<int>>& phy2log, int experts,
                                            int gpus) {
  ExpertPlacement p;
  p.policy = std::move(policy);
  p.gpus = gpus;
  p.slots = phy2log;
  for (const auto& slots : phy2log) {
    const std::size_t per_gpu = slots.size() / static_cast<std::size_t>(gpus);
    std::vector<std::vector<int>> row(static_cast<std::size_t>(experts));
    for (std::size_t s = 0; s < slots.size(); ++s) row[static_cast<std::size_t>(slots[s])].push_back(static_cast<int>(s / per_gpu));
    p.replicas.push_back(std::move(row));
  }
  return p;
}

std::vector<std::int64_t> ExpertPlacement::experts_per_gpu() const {
  std::vector<std::int64_t> n(static_cast<std::size_t>(gpus), 0);
  for (const auto& layer : replicas) {
    for (const auto& copies : layer) {
      for (int g : copies) ++n[static_cast<std::size_t>(g)];
    }
  }
  return n;
}

std::vector<int> ExpertPlacement::primary_gpus(int layer) const {
  std::vector<int> g;
  for (const auto& copies : replicas[static_cast<std::size_t>(layer)]) g.push_back(copies.front());
  return g;
}

std::int64_t ExpertPlacement::copies() const {
  std::int64_t n = 0;
  for (const auto& layer : replicas) {
    for (const auto& c : layer) n += static_cast<std::int64_t>(c.size());
  }
  return n;
}

std::vector<std::array<int, 3>> ExpertPlacement::missing_in(const ExpertPlacement& next) const {
  std::vector<std::array<int, 3>> moves;
  for (std::size_t l = 0; l < next.replicas.size(); ++l) {
    for (std::size_t e = 0; e < next.replicas[l].size(); ++e) {
      const auto& have = replicas[l][e];
      for (int g : next.replicas[l][e]) {
        if (std::find(have.begin(), have.end(), g) == have.end()) moves.push_back({static_cast<int>(l), static_cast<int>(e), g});
      }
    }
  }
  return moves;
}

void ExpertPlacement::validate(const MoeModel& m) const {
  if (static_cast<int>(replicas.size()) != m.moe_layer_count()) {
    throw InputError(fmt::format("placement '{}' has {} layers, model {} has {} MoE layers", policy, replicas.size(), m.name,
                                 m.moe_layer_count()));
  }
  for (std::size_t l = 0; l < replicas.size(); ++l) {
    if (static_cast<int>(replicas[l].size()) != m.experts) {
      throw InputError(fmt::format("placement '{}' layer {} has {} experts, model has {}", policy, l, replicas[l].size(), m.experts));
    }
    for (std::size_t e = 0; e < replicas[l].size(); ++e) {
      if (replicas[l][e].empty()) throw InputError(fmt::format("placement '{}' leaves expert {} of layer {} on no GPU", policy, e, l));
      for (int g : replicas[l][e]) {
        if (g < 0 || g >= gpus) {
          throw InputError(fmt::format("placement '{}' puts expert {} of layer {} on GPU {} (have {})", policy, e, l, g, gpus));
        }
      }
    }
  }
}

MemoryBudget check_memory(const MoeModel& m, const ExpertPlacement& p, int gpus, std::int64_t gpu_memory,
                          std::int64_t activation_reserve, int attention_tp) {
  if (p.gpus != gpus) throw InputError(fmt::format("placement '{}' is for {} GPUs, the cluster has {}", p.policy, p.gpus, gpus));
  p.validate(m);
  const auto counts = p.experts_per_gpu();
  const auto fullest = std::max_element(counts.begin(), counts.end());
  return memory_budget(m, fmt::format("placement '{}'", p.policy), *fullest * m.expert_bytes(),
                       static_cast<int>(fullest - counts.begin()), gpu_memory, activation_reserve, attention_tp);
}

MemoryBudget memory_budget(const MoeModel& m, const std::string& what, std::int64_t expert_bytes, int fullest_gpu,
                           std::int64_t gpu_memory, std::int64_t activation_reserve, int attention_tp) {
  MemoryBudget b;
  b.gpu_memory = gpu_memory;
  b.activation_reserve = activation_reserve;
  const double non_expert = m.total_params() - static_cast<double>(m.expert_params()) * m.experts * m.moe_layer_count();
  // Tensor-parallel attention splits the non-expert weights over its group.
  b.non_expert_weights = (static_cast<std::int64_t>(non_expert) * m.dtype_bytes + attention_tp - 1) / attention_tp;
  b.expert_weights_max = expert_bytes;
  b.fullest_gpu = fullest_gpu;
  if (b.kv_capacity() <= 0) {
    const double gib = 1024.0 * 1024.0 * 1024.0;
    throw InputError(fmt::format(
        "{} of {} does not fit: GPU {} needs {:.1f} GiB of expert weights + {:.1f} GiB of {} "
        "non-expert weights + {:.1f} GiB activation reserve = {:.1f} GiB, but has {:.1f} GiB (and the KV cache needs room "
        "too); use more GPUs, a larger GPU, or an offloading policy",
        what, m.name, b.fullest_gpu, b.expert_weights_max / gib, b.non_expert_weights / gib,
        attention_tp == 1 ? std::string("replicated") : fmt::format("its 1/{} share of the", attention_tp),
        b.activation_reserve / gib, (b.expert_weights_max + b.non_expert_weights + b.activation_reserve) / gib,
        gpu_memory / gib));
  }
  return b;
}

}  // namespace moesim::models
