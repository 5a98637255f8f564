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
  // The engine's GPU g is the cluster's GPU first_gpu + g (an instance's slice,
  // docs/models.md "Instances"): metrics and trace tracks use the cluster's numbers.
  StageRecorder(ServingMetrics& metrics, sim::TraceWriter* trace, int gpus, int first_gpu = 0)
      : metrics_(metrics), trace_(trace), first_gpu_(first_gpu) {
    if (trace_ == nullptr) return;
    for (int g = 0; g < gpus; ++g) tracks_.push_back(trace_->add_track("GPUs", fmt::format("gpu{}", first_gpu + g)));
  }
  // GPU g (the engine's numbering) was busy for t.
  void busy(int gpu, sim::Time t) { metrics_.record_gpu_busy(first_gpu_ + gpu, t); }
  ServingMetrics& metrics() { return metrics_; }
  bool tracing() const { return trace_ != nullptr; }
  // A stage that started on every GPU at `start` and kept GPU g busy per_gpu[g].
  void stage(const char* what, int layer, sim::Time start, const std::vector<sim::Time>& per_gpu) {
    for (std::size_t g = 0; g < per_gpu.size(); ++g) {
      const sim::Time t = per_gpu[g];
      busy(static_cast<int>(g), t);
      if (trace_ != nullptr && t > 0) span(g, fmt::format("{} L{}", what, layer), start, start + t);
    }
  }
  void span(std::size_t gpu, const std::string& name, sim::Time start, sim::Time end) {
    trace_->span(tracks_[gpu], name, start, end);
  }

 private:
  ServingMetrics& metrics_;
  sim::TraceWriter* trace_;
  int first_gpu_;
  std::vector<sim::TraceWriter::TrackId> tracks_;
};

}  // namespace moesim::models
