#pragma once
// Cache-aware choice among places that could serve a request (docs/models.md,
// "Prefix-aware placement"): the rule of SGLang's cache-aware router (SMG's
// cache_aware policy). While loads are balanced, the place holding the longest
// cached prefix of the prompt wins if that prefix is at least `cache_threshold` of
// the prompt; otherwise, or when the loads are out of balance (max − min above
// `balance_abs` and max above `balance_rel` × min), the least loaded place wins.
// Used for a GPU within an instance (data-parallel attention ranks) and for an
// instance behind the request router.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace moesim::models {

struct CacheAwareRule {
  double cache_threshold = 0.3;  // SMG's --cache-threshold default
  double balance_abs = 64;       // SMG's documented example (--balance-abs-threshold 64)
  double balance_rel = 1.5;      // and --balance-rel-threshold 1.5
};

// `cached_tokens[i]`: prompt tokens place i holds in its prefix cache; `loads[i]`:
// its requests in hand. Ties go to the lower index. Both vectors have one entry
// per place (at least one).
std::size_t cache_aware_choice(const std::vector<std::int64_t>& cached_tokens, const std::vector<double>& loads,
                               std::int64_t prompt_tokens, const CacheAwareRule& rule = {});

}  // namespace moesim::models
