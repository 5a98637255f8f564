#pragma once
// The candidate with the smallest key (the lowest id among equals, so choices do
// not depend on the cache's internal order); -1 for an empty list or when `allowed`
// rejects every candidate.
#include <span>

namespace moesim::policies {

template <class Key, class Allowed>
int argmin_victim(std::span<const int> candidates, Key key, Allowed allowed) {
  int best = -1;
  for (const int id : candidates) {
    if (!allowed(id)) continue;
    if (best < 0 || key(id) < key(best) || (!(key(best) < key(id)) && id < best)) best = id;
  }
  return best;
}

template <class Key>
int argmin_victim(std::span<const int> candidates, Key key) {
  return argmin_victim(candidates, key, [](int) { return true; });
}

}  // namespace moesim::policies
