#pragma once
// Walker's alias method (Vose's construction): O(n) set-up, then O(1) draws of an
// index with probability proportional to its weight — one uniform index and one
// biased coin per draw. Deterministic for a given Rng state.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/rng.h"

namespace moesim::sim {

class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights);
  std::size_t draw(Rng& rng) const;
  std::size_t size() const { return prob_.size(); }

 private:
  std::vector<double> prob_;        // probability of keeping column i
  std::vector<std::uint32_t> alias_;  // the other index in column i
};

}  // namespace moesim::sim
