#include "models/serving/workload.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

namespace moesim::models {

ZipfRoutingSource::ZipfRoutingSource(const MoeModel& model, double skew, sim::Rng rng)
    : experts_(model.experts), top_k_(model.top_k), moe_layers_(model.moe_layer_count()), skew_(skew), rng_(rng) {
  for (int l = 0; l < moe_layers_; ++l) {
    std::vector<int> order(static_cast<std::size_t>(experts_));
    std::iota(order.begin(), order.end(), 0);
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng_.uniform_int(i)]);
    std::vector<double> w(static_cast<std::size_t>(experts_));
    for (int rank = 0; rank < experts_; ++rank) w[static_cast<std::size_t>(order[static_cast<std::size_t>(rank)])] = 1.0 / std::pow(rank + 1.0, skew_);
    alias_.emplace_back(w);
    weights_.push_back(std::move(w));
  }
}

std::string ZipfRoutingSource::label() const { return fmt::format("synthetic Zipf routing (skew {})", skew_); }

std::vector<std::int64_t> tokens_per_gpu(const BatchSpans& spans) {
  std::vector<std::int64_t> n(spans.size(), 0);
  for (std::size_t g = 0; g < spans.size(); ++g) {
    for (const TokenSpan& s : spans[g]) n[g] += s.count;
  }
  return n;
}

RoutingCounts ZipfRoutingSource::route(const BatchSpans& batch) {
  const std::vector<std::int64_t> tokens_per_gpu = models::tokens_per_gpu(batch);
  RoutingCounts counts(static_cast<std::size_t>(moe_layers_),
                       std::vector<std::vector<std::int64_t>>(tokens_per_gpu.size(),
                                                              std::vector<std::int64_t>(static_cast<std::size_t>(experts_), 0)));
  std::vector<std::size_t> chosen(static_cast<std::size_t>(top_k_));
  for (int l = 0; l < moe_layers_; ++l) {
    const auto& table = alias_[static_cast<std::size_t>(l)];
    for (std::size_t g = 0; g < tokens_per_gpu.size(); ++g) {
      auto& row = counts[static_cast<std::size_t>(l)][g];
      for (std::int64_t t = 0; t < tokens_per_gpu[g]; ++t) {
        // k distinct experts by rejection: redrawing a taken expert gives exactly
        // sequential sampling without replacement (P(e | taken S) = w_e / (W − w_S)).
        for (int k = 0; k < top_k_; ++k) {
          std::size_t e = 0;
          do {
            e = table.draw(rng_);
          } while (std::find(chosen.begin(), chosen.begin() + k, e) != chosen.begin() + k);
          chosen[static_cast<std::size_t>(k)] = e;
          ++row[e];
        }
      }
    }
  }
  return counts;
}

}  // namespace moesim::models
