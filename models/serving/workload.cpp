#include "models/serving/workload.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

namespace moesim::models {

std::int64_t TokenLengths::draw(sim::Rng& rng) const {
  double x = mean;
  if (cv > 0.0) {
    // Lognormal with the requested mean and coefficient of variation.
    const double sigma2 = std::log1p(cv * cv);
    x = rng.lognormal(std::log(mean) - sigma2 / 2.0, std::sqrt(sigma2));
  }
  return std::clamp(static_cast<std::int64_t>(std::llround(x)), min, max);
}

namespace {

TokenLengths parse_lengths(const JsonInput& json) {
  TokenLengths t;
  t.mean = json.at("mean").positive_number();
  t.cv = json.number_or("cv", 0.0);
  json.check(t.cv >= 0.0, "cv >= 0");
  t.min = json.integer_or("min", 1);
  t.max = json.integer_or("max", 1 << 20);
  json.check(t.min >= 1 && t.max >= t.min, "1 <= min <= max");
  return t;
}

}  // namespace

ArrivalSpec parse_arrivals(const JsonInput& json) {
  ArrivalSpec a;
  const std::string kind = json.string_or("kind", "poisson");
  if (kind == "trace") {
    const std::string format = json.string_or("format", "azure-llm-2023");
    if (format != "azure-llm-2023") json.at("format").fail(fmt::format("unknown arrival trace format '{}' (known: azure-llm-2023)", format));
    a.trace_path = json.at("path").path_relative_to_source();
    if (const auto scale = json.find("time_scale")) a.time_scale = scale->positive_number();
    a.count = json.integer_or("count", 0);
    json.check(a.count >= 0, "count >= 0");
    return a;
  }
  if (kind != "poisson") json.at("kind").fail(fmt::format("unknown arrival kind '{}' (known: poisson, trace)", kind));
  a.rate_per_s = json.at("rate_per_s").positive_number();
  a.count = json.integer_or("count", 0);
  json.check(a.count >= 0, "count >= 0");
  a.input = parse_lengths(json.at("input_tokens"));
  a.output = parse_lengths(json.at("output_tokens"));
  return a;
}

ZipfRoutingSource::ZipfRoutingSource(const MoeModel& model, double skew, sim::Rng rng)
    : experts_(model.experts), top_k_(model.top_k), moe_layers_(model.moe_layer_count()), skew_(skew), rng_(rng) {
  for (int l = 0; l < moe_layers_; ++l) {
    std::vector<int> order(static_cast<std::size_t>(experts_));
    std::iota(order.begin(), order.end(), 0);
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng_.uniform_int(i)]);
    std::vector<double> w(static_cast<std::size_t>(experts_));
    for (int rank = 0; rank < experts_; ++rank) w[static_cast<std::size_t>(order[static_cast<std::size_t>(rank)])] = 1.0 / std::pow(rank + 1.0, skew_);
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
  std::vector<double> w;
  for (int l = 0; l < moe_layers_; ++l) {
    const auto& base = weights_[static_cast<std::size_t>(l)];
    const double total = std::accumulate(base.begin(), base.end(), 0.0);
    for (std::size_t g = 0; g < tokens_per_gpu.size(); ++g) {
      auto& row = counts[static_cast<std::size_t>(l)][g];
      for (std::int64_t t = 0; t < tokens_per_gpu[g]; ++t) {
        // k distinct experts: sample, remove, renormalise.
        w = base;
        double remaining = total;
        for (int k = 0; k < top_k_; ++k) {
          double u = rng_.uniform01() * remaining;
          std::size_t e = 0;
          while (e + 1 < w.size() && u >= w[e]) u -= w[e++];
          while (w[e] == 0.0) e = (e + 1) % w.size();  // rounding landed on a taken expert
          ++row[e];
          remaining -= w[e];
          w[e] = 0.0;
        }
      }
    }
  }
  return counts;
}

}  // namespace moesim::models
