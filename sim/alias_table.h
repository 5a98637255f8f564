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
  // One draw from 32 random bits, so that one next_u64() serves two draws: the
  // column is the high half of bits · size(), the coin the low half, uniform on a
  // grid of step size() / 2^32 — probabilities are exact to within size() · 2^-32.
  std::size_t draw(std::uint32_t bits) const {
    const std::uint64_t m = static_cast<std::uint64_t>(bits) * columns_.size();
    const Column& c = columns_[static_cast<std::size_t>(m >> 32)];
    return (m & 0xffffffffu) < c.keep ? static_cast<std::size_t>(m >> 32) : c.alias;
  }
  std::size_t size() const { return prob_.size(); }

 private:
  struct Column {
    std::uint64_t keep;  // prob_ · 2^32: the coin below it keeps the column
    std::uint32_t alias;
  };
  std::vector<double> prob_;        // probability of keeping column i
  std::vector<std::uint32_t> alias_;  // the other index in column i
  std::vector<Column> columns_;     // the same in 32-bit fixed point, side by side
};

}  // namespace moesim::sim
