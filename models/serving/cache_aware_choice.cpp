#include "models/serving/cache_aware_choice.h"

#include <algorithm>

namespace moesim::models {

std::size_t cache_aware_choice(const std::vector<std::int64_t>& cached_tokens, const std::vector<double>& loads,
                               std::int64_t prompt_tokens, const CacheAwareRule& rule) {
  const auto least = static_cast<std::size_t>(std::min_element(loads.begin(), loads.end()) - loads.begin());
  const double low = loads[least];
  const double high = *std::max_element(loads.begin(), loads.end());
  if (high - low > rule.balance_abs && high > rule.balance_rel * low) return least;
  std::size_t best = 0;
  for (std::size_t i = 1; i < cached_tokens.size(); ++i) {
    const bool longer = cached_tokens[i] > cached_tokens[best];
    if (longer || (cached_tokens[i] == cached_tokens[best] && loads[i] < loads[best])) best = i;
  }
  const bool worth_it = prompt_tokens > 0 && cached_tokens[best] > 0 &&
                        static_cast<double>(cached_tokens[best]) >= rule.cache_threshold * static_cast<double>(prompt_tokens);
  return worth_it ? best : least;
}

}  // namespace moesim::models
