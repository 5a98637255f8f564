#pragma once
// What an offloading run measured: per-token decode latency (decode time / decode
// steps, prefill excluded, as MoE-Infinity reports it), cache hit rate, prefetch
// accuracy, and the bytes copied over the host link.
#include <cstdint>
#include <vector>

#include "sim/time.h"

namespace moesim::models {

struct OffloadMetrics {
  std::int64_t requests = 0;
  std::int64_t decode_steps = 0;
  sim::Time decode_time = 0;
  sim::Time prefill_time = 0;
  std::vector<sim::Time> step_times;  // one per decode step, in order

  std::int64_t expert_uses = 0;        // (layer, expert) activations served
  std::int64_t hits = 0;               // resident when the router chose it
  std::int64_t prefetch_in_flight = 0; // being prefetched when chosen (partly hidden)
  std::int64_t misses = 0;             // on the host when chosen: on-demand copy
  std::int64_t prefetches = 0;         // copies ahead of need that completed
  std::int64_t prefetches_cancelled = 0;  // stopped between tensors: no longer wanted
  std::int64_t prefetches_used = 0;    // of those, used before being evicted
  std::int64_t evictions = 0;
  double host_to_gpu_bytes = 0.0;
  double gpu_to_host_bytes = 0.0;      // write-backs of swapping policies
  sim::Time stall_time = 0;            // layers waiting for copies (and, single-stream, for any copy)
  sim::Time compute_time = 0;

  double per_token_latency_s() const;
  double hit_rate() const;             // hits / uses
  double prefetch_accuracy() const;    // used / completed (NaN when none completed)
  double step_quantile_s(double q) const;
};

}  // namespace moesim::models
