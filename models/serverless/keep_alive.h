#pragma once
// How long an idle serverless instance stays loaded (docs/serverless.md):
//   fixed     — every instance stays warm a fixed time after its last use (AWS
//               Lambda keeps 10 min, Azure Functions 20 min: Shahrad et al., ATC'20);
//   none      — reclaimed as soon as it goes idle (scale to zero at once);
//   histogram — the hybrid histogram policy of "Serverless in the Wild" (ATC'20
//               §4.2): per function, a histogram of idle times; when it is
//               representative, unload at once and pre-warm at the head percentile
//               (less a margin), then keep warm until the tail percentile (plus a
//               margin); otherwise keep warm for the histogram's whole range. The
//               paper's ARIMA fallback for idle times beyond the range is left out:
//               such functions get the range as keep-alive. Equations: docs/serverless.md.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "util/json_input.h"
#include "sim/time.h"

namespace moesim::models {

struct KeepAliveDecision {
  sim::Time prewarm = 0;     // > 0: unload now and load again this long after going idle
  sim::Time keep_alive = 0;  // then (or from now, without pre-warm) stay warm this long
};

class KeepAlivePolicy {
 public:
  virtual ~KeepAlivePolicy() = default;
  virtual std::string name() const = 0;
  // Function `fn` was idle for `idle` between two uses.
  virtual void observe_idle(int fn, sim::Time idle) = 0;
  // Function `fn` just went idle: what to do with its instance.
  virtual KeepAliveDecision decide(int fn) const = 0;
};

struct HistogramKeepAliveParams {
  sim::Time range = sim::seconds(60);    // idle times beyond it are out of bounds
  sim::Time bin = sim::milliseconds(100);
  double head_percentile = 5.0;
  double tail_percentile = 99.0;
  double margin = 0.10;                   // head shrinks, tail grows by this share
  int min_samples = 10;                   // fewer in-range idle times: not representative
  double cv_threshold = 2.0;              // bin counts' coefficient of variation below it: not representative
};

class HistogramKeepAlive final : public KeepAlivePolicy {
 public:
  explicit HistogramKeepAlive(HistogramKeepAliveParams p) : p_(p) {}
  std::string name() const override { return "histogram"; }
  void observe_idle(int fn, sim::Time idle) override;
  KeepAliveDecision decide(int fn) const override;

 private:
  struct Histogram {
    std::vector<std::int64_t> bins;
    std::int64_t in_range = 0;
    std::int64_t out_of_range = 0;
  };
  // The idle time below which `percentile` % of in-range samples fall, at bin edges.
  sim::Time percentile_edge(const Histogram& h, double percentile, bool upper) const;
  HistogramKeepAliveParams p_;
  std::unordered_map<int, Histogram> histograms_;
};

// AWS Lambda's fixed keep-alive (Shahrad et al., ATC'20 §4): the default.
constexpr sim::Time kDefaultKeepAlive = sim::seconds(600);

// {"policy": "fixed", "seconds": 600} | {"policy": "none"} |
// {"policy": "histogram", "range_s", "bin_ms", "head_percentile", "tail_percentile",
//  "margin", "min_samples", "cv_threshold"}; errors name the JSON path.
std::unique_ptr<KeepAlivePolicy> make_keep_alive(const std::optional<JsonInput>& json);
// A fixed keep-alive (0 = none).
std::unique_ptr<KeepAlivePolicy> fixed_keep_alive(sim::Time keep_alive);

}  // namespace moesim::models
