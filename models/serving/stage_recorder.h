#pragma once
// Where the engine's compute stages report: per-GPU busy time into the metrics and,
// when a trace is written, one span per GPU and stage.
#include <vector>

#include <fmt/format.h>

#include "models/serving/serving_metrics.h"
#include "sim/time.h"
#include "sim/trace_writer.h"

namespace moesim::models {

class StageRecorder {
 public:
  StageRecorder(ServingMetrics& metrics, sim::TraceWriter* trace, int gpus) : metrics_(metrics), trace_(trace) {
    if (trace_ == nullptr) return;
    for (int g = 0; g < gpus; ++g) tracks_.push_back(trace_->add_track("GPUs", fmt::format("gpu{}", g)));
  }
  ServingMetrics& metrics() { return metrics_; }
  bool tracing() const { return trace_ != nullptr; }
  // A stage that started on every GPU at `start` and kept GPU g busy per_gpu[g].
  void stage(const char* what, int layer, sim::Time start, const std::vector<sim::Time>& per_gpu) {
    for (std::size_t g = 0; g < per_gpu.size(); ++g) {
      const sim::Time t = per_gpu[g];
      metrics_.record_gpu_busy(static_cast<int>(g), t);
      if (trace_ != nullptr && t > 0) span(g, fmt::format("{} L{}", what, layer), start, start + t);
    }
  }
  void span(std::size_t gpu, const std::string& name, sim::Time start, sim::Time end) {
    trace_->span(tracks_[gpu], name, start, end);
  }

 private:
  ServingMetrics& metrics_;
  sim::TraceWriter* trace_;
  std::vector<sim::TraceWriter::TrackId> tracks_;
};

}  // namespace moesim::models
