#pragma once
// Walker's alias method (Vose's construction): O(n) set-up, then O(1) draws of an
// index with probability proportional to its weight — one uniform index and one
// biased coin per draw. Deterministic for a given Rng state.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "sim/rng.h"

namespace moesim::sim {

// One column of a table in 32-bit fixed point: a coin below `keep` keeps the column,
// otherwise `alias` is drawn. A full column (probability 1) names itself as its
// alias, so `keep` fits 32 bits; a zero-weight column has keep 0.
struct AliasColumn {
  std::uint32_t keep;
  std::uint32_t alias;
};

// One draw from 32 random bits among `n` columns: the column is the high half of
// bits · n, the coin the low half, uniform on a grid of step n / 2^32 — probabilities
// are exact to within n · 2^-32. Branch-free, because the coin is random and a
// branch on it would mispredict half the time.
// `alias` when `take_alias`, else `column`, without a branch.
inline std::size_t select_alias(std::size_t column, std::size_t alias, bool take_alias) {
  return column ^ ((column ^ alias) & (0 - static_cast<std::size_t>(take_alias)));
}

inline std::size_t draw_alias(const AliasColumn* columns, std::size_t n, std::uint32_t bits) {
  const std::uint64_t m = static_cast<std::uint64_t>(bits) * n;
  const auto column = static_cast<std::size_t>(m >> 32);
  const AliasColumn& c = columns[column];
  return select_alias(column, c.alias, static_cast<std::uint32_t>(m) >= c.keep);
}

// One column for draws that consume the stream exactly as AliasTable::draw(Rng&)
// does, with the coin compared in integers: uniform01() < p is (bits >> 11) < keep
// for keep = ceil(p · 2^53), exactly (uniform01 is (bits >> 11) · 2^-53).
struct ExactColumn {
  std::uint64_t keep;
  std::uint64_t alias;
};

// The same draw as AliasTable::draw(Rng&) from its exact_columns(): the same two
// values of the stream, the same index.
inline std::size_t draw_exact(const ExactColumn* columns, std::size_t n, Rng& rng) {
  const auto column = static_cast<std::size_t>(rng.uniform_int(n));
  const ExactColumn& c = columns[column];
  return select_alias(column, c.alias, (rng.next_u64() >> 11) >= c.keep);
}

class AliasTable {
 public:
  AliasTable() = default;
  explicit AliasTable(const std::vector<double>& weights);
  // One index column and one double coin from `rng` (two draws of the stream). The
  // select is branch-free: the coin is random, a branch on it mispredicts half the time.
  std::size_t draw(Rng& rng) const {
    const auto column = static_cast<std::size_t>(rng.uniform_int(prob_.size()));
    return select_alias(column, alias_[column], !(rng.uniform01() < prob_[column]));
  }
  // One draw from 32 random bits, so that one next_u64() serves two draws.
  std::size_t draw(std::uint32_t bits) const { return draw_alias(columns_.data(), columns_.size(), bits); }
  std::size_t size() const { return prob_.size(); }
  const std::vector<AliasColumn>& columns() const { return columns_; }
  std::vector<ExactColumn> exact_columns() const;

 private:
  std::vector<double> prob_;          // probability of keeping column i
  std::vector<std::uint32_t> alias_;  // the other index in column i
  std::vector<AliasColumn> columns_;  // the same in 32-bit fixed point
};

// Many tables of one width in one contiguous array, for hot loops that pick a
// table per draw (a table index is arithmetic, not a pointer to follow).
class AliasBank {
 public:
  // The bank's storage as plain values: a hot loop that holds a View in locals does
  // not reload the width after each store through an integer pointer (which, to the
  // compiler, might have changed it).
  struct View {
    const AliasColumn* columns;
    std::size_t width;
    std::size_t draw(std::uint32_t table, std::uint32_t bits) const {
      return draw_alias(columns + static_cast<std::size_t>(table) * width, width, bits);
    }
  };

  explicit AliasBank(std::size_t width = 0) : width_(width) {}
  // Appends `table` (of this bank's width) and returns its index.
  std::uint32_t add(const AliasTable& table);
  std::size_t tables() const { return width_ == 0 ? 0 : columns_.size() / width_; }
  std::size_t draw(std::uint32_t table, std::uint32_t bits) const { return view().draw(table, bits); }
  View view() const { return View{columns_.data(), width_}; }

 private:
  std::size_t width_;
  std::vector<AliasColumn> columns_;
};

}  // namespace moesim::sim
