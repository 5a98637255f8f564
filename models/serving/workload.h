#pragma once
// Synthetic workloads for examples and tests until the real-trace readers land:
// Poisson arrivals with lognormal-ish token lengths, and Zipf-skewed expert
// routing. Outputs label them "synthetic".
#include <cstdint>
#include <string>
#include <vector>

#include "models/moe_model.h"
#include "models/serving/request.h"
#include "sim/json_input.h"
#include "sim/rng.h"

namespace moesim::models {

struct TokenLengths {
  double mean = 512;
  double cv = 0.0;      // coefficient of variation (0: every request has `mean`)
  std::int64_t min = 1;
  std::int64_t max = 1 << 20;
  std::int64_t draw(sim::Rng& rng) const;
};

struct ArrivalSpec {
  // Synthetic Poisson arrivals ...
  double rate_per_s = 1.0;
  std::int64_t count = 0;  // 0: until the scenario's duration
  TokenLengths input;
  TokenLengths output;
  // ... or a real arrival trace (Azure LLM 2023 CSV) replayed with its token counts,
  // its clock sped up by time_scale (2: twice the request rate).
  std::string trace_path;
  double time_scale = 1.0;
  bool from_trace() const { return !trace_path.empty(); }
};

ArrivalSpec parse_arrivals(const JsonInput& json);

// Routing of one batch: for each source GPU, how many of its tokens chose each
// expert at each MoE layer (counts[layer][src][expert]).
using RoutingCounts = std::vector<std::vector<std::vector<std::int64_t>>>;

// A run of consecutive tokens of one request in this iteration's batch: prompt
// tokens [position, position + count) of a prefill chunk, or the decode step that
// produces output token `position` (count 1).
struct TokenSpan {
  std::uint64_t request = 0;
  std::int64_t position = 0;
  std::int64_t count = 0;
  bool prefill = false;
};
using BatchSpans = std::vector<std::vector<TokenSpan>>;  // per GPU

std::vector<std::int64_t> tokens_per_gpu(const BatchSpans& spans);

class RoutingSource {
 public:
  virtual ~RoutingSource() = default;
  virtual std::string label() const = 0;
  virtual RoutingCounts route(const BatchSpans& batch) = 0;
};

// Each MoE layer has its own random ranking of experts; a token's k experts are
// drawn without replacement with probability ∝ 1/rank^skew (skew 0: uniform).
class ZipfRoutingSource final : public RoutingSource {
 public:
  ZipfRoutingSource(const MoeModel& model, double skew, sim::Rng rng);
  std::string label() const override;
  RoutingCounts route(const BatchSpans& batch) override;
  const std::vector<double>& layer_weights(int moe_layer) const { return weights_[static_cast<std::size_t>(moe_layer)]; }

 private:
  int experts_;
  int top_k_;
  int moe_layers_;
  double skew_;
  sim::Rng rng_;
  std::vector<std::vector<double>> weights_;  // per MoE layer, per expert
};

}  // namespace moesim::models
