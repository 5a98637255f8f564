#include "models/serverless/keep_alive.h"

#include <cmath>
#include <fmt/format.h>

namespace moesim::models {

namespace {

class FixedKeepAlive final : public KeepAlivePolicy {
 public:
  explicit FixedKeepAlive(sim::Time keep_alive) : keep_alive_(keep_alive) {}
  std::string name() const override { return keep_alive_ == 0 ? "none" : fmt::format("fixed {:g} s", sim::to_seconds(keep_alive_)); }
  void observe_idle(int, sim::Time) override {}
  KeepAliveDecision decide(int) const override { return {0, keep_alive_}; }

 private:
  sim::Time keep_alive_;
};

sim::Time seconds_field(const JsonInput& json, std::string_view key, sim::Time fallback) {
  const auto v = json.find(key);
  if (!v) return fallback;
  return sim::from_seconds(v->duration(1.0));
}

}  // namespace

void HistogramKeepAlive::observe_idle(int fn, sim::Time idle) {
  Histogram& h = histograms_[fn];
  if (idle >= p_.range) {
    ++h.out_of_range;
    return;
  }
  if (h.bins.empty()) h.bins.assign(static_cast<std::size_t>((p_.range + p_.bin - 1) / p_.bin), 0);
  ++h.bins[static_cast<std::size_t>(idle / p_.bin)];
  ++h.in_range;
}

sim::Time HistogramKeepAlive::percentile_edge(const Histogram& h, double percentile, bool upper) const {
  const double want = percentile / 100.0 * static_cast<double>(h.in_range);
  std::int64_t seen = 0;
  for (std::size_t b = 0; b < h.bins.size(); ++b) {
    seen += h.bins[b];
    if (static_cast<double>(seen) >= want && h.bins[b] > 0) return static_cast<sim::Time>(upper ? b + 1 : b) * p_.bin;
  }
  return p_.range;
}

KeepAliveDecision HistogramKeepAlive::decide(int fn) const {
  const KeepAliveDecision conservative{0, p_.range};  // standard keep-alive over the whole range
  const auto it = histograms_.find(fn);
  if (it == histograms_.end()) return conservative;
  const Histogram& h = it->second;
  if (h.in_range < p_.min_samples || h.out_of_range > h.in_range) return conservative;
  // Representative only if idle times cluster: coefficient of variation of the bin counts.
  const double n = static_cast<double>(h.bins.size());
  const double mean = static_cast<double>(h.in_range) / n;
  double var = 0.0;
  for (std::int64_t c : h.bins) var += (static_cast<double>(c) - mean) * (static_cast<double>(c) - mean);
  const double cv = std::sqrt(var / n) / mean;
  if (cv < p_.cv_threshold) return conservative;
  const auto head = static_cast<sim::Time>(static_cast<double>(percentile_edge(h, p_.head_percentile, false)) * (1.0 - p_.margin));
  const auto tail = static_cast<sim::Time>(static_cast<double>(percentile_edge(h, p_.tail_percentile, true)) * (1.0 + p_.margin));
  return {head, std::max<sim::Time>(tail - head, 0)};
}

std::unique_ptr<KeepAlivePolicy> fixed_keep_alive(sim::Time keep_alive) { return std::make_unique<FixedKeepAlive>(keep_alive); }

std::unique_ptr<KeepAlivePolicy> make_keep_alive(const std::optional<JsonInput>& json) {
  if (!json) return fixed_keep_alive(kDefaultKeepAlive);
  const std::string policy = json->has("policy") ? json->at("policy").choice({"fixed", "none", "histogram"}) : "fixed";
  if (policy == "none") return fixed_keep_alive(0);
  if (policy == "fixed") return fixed_keep_alive(seconds_field(*json, "seconds", kDefaultKeepAlive));
  HistogramKeepAliveParams p;
  p.range = seconds_field(*json, "range_s", p.range);
  if (const auto v = json->find("bin_ms")) p.bin = sim::from_seconds(v->duration(1e-3) * 1e-3);
  if (p.bin <= 0 || p.bin > p.range) json->fail("expected 0 < bin_ms ≤ range_s");
  if (const auto v = json->find("head_percentile")) p.head_percentile = v->number_in(0.0, 100.0);
  if (const auto v = json->find("tail_percentile")) p.tail_percentile = v->number_in(p.head_percentile, 100.0);
  if (const auto v = json->find("margin")) p.margin = v->number_in(0.0, 1.0);
  if (const auto v = json->find("min_samples")) p.min_samples = static_cast<int>(v->integer_at_least(1));
  if (const auto v = json->find("cv_threshold")) p.cv_threshold = v->non_negative_number();
  return std::make_unique<HistogramKeepAlive>(p);
}

}  // namespace moesim::models
