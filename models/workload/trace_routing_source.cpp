#include "models/workload/trace_routing_source.h"

#include <fmt/format.h>

#include "util/errors.h"
#include "traces/compact_routing.h"

namespace moesim::models {

TraceRoutingSource::TraceRoutingSource(const MoeModel& model, const std::string& path)
    : moe_layers_(model.moe_layer_count()), experts_(model.experts), top_k_(model.top_k) {
  traces::CompactRoutingReader reader(path);
  const auto& h = reader.header();
  if (static_cast<int>(h.moe_layers) != moe_layers_ || static_cast<int>(h.experts) != experts_ ||
      static_cast<int>(h.top_k) != top_k_) {
    throw InputError(fmt::format(
        "{}: routing trace of {} has {} MoE layers × {} experts, top-{}, but model {} has {} MoE layers × {} experts, top-{}",
        path, h.model, h.moe_layers, h.experts, h.top_k, model.name, moe_layers_, experts_, top_k_));
  }
  while (auto r = reader.next()) {
    if (r->steps.empty() || r->steps[0].tokens == 0) {
      throw InputError(fmt::format("{}: request {} has no prefill routing", path, r->id));
    }
    requests_.push_back(std::move(*r));
  }
  if (requests_.empty()) throw InputError(fmt::format("{}: the routing trace holds no requests", path));
  label_ = fmt::format("real routing replayed from {} ({} requests)", path, requests_.size());
}

const traces::RoutingStep& TraceRoutingSource::step_for(const traces::RequestRouting& r, bool prefill,
                                                        std::int64_t position, std::int64_t* token) const {
  if (prefill || r.steps.size() == 1) {
    *token = position % static_cast<std::int64_t>(r.steps[0].tokens);
    return r.steps[0];
  }
  const auto decode_steps = static_cast<std::int64_t>(r.steps.size()) - 1;
  *token = 0;
  return r.steps[static_cast<std::size_t>(1 + (position - 1) % decode_steps)];
}

void TraceRoutingSource::route(const BatchSpans& batch, RoutingCounts& counts) {
  reset_counts(counts, static_cast<std::size_t>(moe_layers_), batch.size(), static_cast<std::size_t>(experts_));
  for (std::size_t g = 0; g < batch.size(); ++g) {
    for (const TokenSpan& span : batch[g]) {
      const traces::RequestRouting& r = requests_[span.request % requests_.size()];
      for (std::int64_t i = 0; i < span.count; ++i) {
        std::int64_t token = 0;
        const traces::RoutingStep& step = step_for(r, span.prefill, span.position + i, &token);
        for (int l = 0; l < moe_layers_; ++l) {
          const auto& ids = step.experts[static_cast<std::size_t>(l)];
          for (int k = 0; k < top_k_; ++k) {
            ++counts[static_cast<std::size_t>(l)][g][ids[static_cast<std::size_t>(token * top_k_ + k)]];
          }
        }
      }
    }
  }
}

std::vector<std::vector<double>> TraceRoutingSource::expected_selections() const {
  std::vector<std::vector<double>> out(static_cast<std::size_t>(moe_layers_), std::vector<double>(static_cast<std::size_t>(experts_), 0.0));
  double tokens = 0.0;
  for (const traces::RequestRouting& r : requests_) {
    for (const traces::RoutingStep& step : r.steps) {
      tokens += step.tokens;
      for (std::size_t l = 0; l < out.size(); ++l) {
        for (std::uint16_t e : step.experts[l]) out[l][e] += 1.0;
      }
    }
  }
  for (auto& row : out) {
    for (double& x : row) x /= tokens;
  }
  return out;
}

}  // namespace moesim::models
