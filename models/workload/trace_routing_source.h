#pragma once
// Replays real per-token routing (a compact routing trace) into the serving engine.
// Request i of the run is bound to trace request (i mod N) (round-robin, so
// every trace request is replayed equally often); its prompt token p uses the trace's prefill routing of
// token (p mod prefill tokens); its decode step j uses trace decode step
// 1 + ((j − 1) mod decode steps). The whole trace is held in memory (1.3 MB for the
// shipped Llama-4 trace). The trace must match the model: same MoE layer count,
// experts and top-k, else an InputError with both sets of numbers.
#include <string>
#include <vector>

#include "models/moe_model.h"
#include "models/workload/routing_source.h"
#include "traces/routing_trace.h"

namespace moesim::models {

class TraceRoutingSource final : public RoutingSource {
 public:
  TraceRoutingSource(const MoeModel& model, const std::string& path);
  std::string label() const override { return label_; }
  using RoutingSource::route;
  void route(const BatchSpans& batch, RoutingCounts& counts) override;
  // Selections per token over the whole trace (prefill and decode tokens alike).
  std::vector<std::vector<double>> expected_selections() const override;
  std::size_t trace_requests() const { return requests_.size(); }
  // The trace request that run request `id` replays (id mod N).
  const traces::RequestRouting& trace_request(std::uint64_t id) const { return requests_[id % requests_.size()]; }

 private:
  const traces::RoutingStep& step_for(const traces::RequestRouting& r, bool prefill, std::int64_t position,
                                      std::int64_t* token) const;
  int moe_layers_;
  int experts_;
  int top_k_;
  std::string label_;
  std::vector<traces::RequestRouting> requests_;
};

}  // namespace moesim::models
