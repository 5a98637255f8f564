#include "sim/alias_table.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace moesim::sim {

AliasTable::AliasTable(const std::vector<double>& weights) {
  const std::size_t n = weights.size();
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  if (n == 0 || !(total > 0.0)) throw std::invalid_argument("alias table needs a positive total weight");
  prob_.assign(n, 0.0);
  alias_.assign(n, 0);
  std::vector<double> scaled(n);
  std::vector<std::size_t> small, large;
  for (std::size_t i = 0; i < n; ++i) {
    if (weights[i] < 0.0) throw std::invalid_argument("alias table weights must be non-negative");
    scaled[i] = weights[i] * static_cast<double>(n) / total;
    (scaled[i] < 1.0 ? small : large).push_back(i);
  }
  while (!small.empty() && !large.empty()) {
    const std::size_t s = small.back();
    small.pop_back();
    const std::size_t l = large.back();
    prob_[s] = scaled[s];
    alias_[s] = static_cast<std::uint32_t>(l);
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // What is left is 1 up to rounding; a zero weight must never be drawn.
  const auto heaviest = static_cast<std::uint32_t>(std::max_element(weights.begin(), weights.end()) - weights.begin());
  for (std::size_t i : large) prob_[i] = 1.0;
  for (std::size_t i : small) {
    prob_[i] = weights[i] > 0.0 ? 1.0 : 0.0;
    alias_[i] = heaviest;
  }
  columns_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    // A zero-weight column (prob 0) must never be kept, a full one always.
    const bool full = prob_[i] >= 1.0;
    columns_[i] = AliasColumn{full ? 0u : static_cast<std::uint32_t>(std::ldexp(prob_[i], 32)),
                              full ? static_cast<std::uint32_t>(i) : alias_[i]};
  }
}

std::vector<ExactColumn> AliasTable::exact_columns() const {
  std::vector<ExactColumn> out(prob_.size());
  for (std::size_t i = 0; i < prob_.size(); ++i) {
    // p · 2^53 is exact (a power-of-two scale) and at most 2^53: its ceiling fits.
    out[i] = ExactColumn{static_cast<std::uint64_t>(std::ceil(std::ldexp(prob_[i], 53))), alias_[i]};
  }
  return out;
}

std::uint32_t AliasBank::add(const AliasTable& table) {
  if (table.size() != width_) throw std::invalid_argument("alias bank: every table must have the bank's width");
  const auto index = static_cast<std::uint32_t>(tables());
  columns_.insert(columns_.end(), table.columns().begin(), table.columns().end());
  return index;
}


}  // namespace moesim::sim
