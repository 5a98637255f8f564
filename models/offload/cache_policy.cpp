#include "models/offload/cache_policy.h"

namespace moesim::models {

std::vector<int> CachePolicy::warm_start(const ExpertCache& cache) {
  std::vector<int> ids;
  for (int e = 0; e < cache.experts_per_layer(); ++e) {
    for (int l = 0; l < cache.moe_layers(); ++l) {
      if (static_cast<int>(ids.size()) == cache.capacity()) return ids;
      ids.push_back(cache.id(l, e));
    }
  }
  return ids;
}

}  // namespace moesim::models
