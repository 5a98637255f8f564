#pragma once
// Single-GPU serving with experts offloaded to host memory (docs/offload.md), at
// batch size 1 as MoE-Infinity and Mixtral-Offloading evaluate it: requests run
// one after another, a prefill step then one decode step per output token, and
// every step walks the layers in order:
//
//   attention + gate (+ shared experts) on the GPU
//   -> the router's choice is revealed to the cache policy (on_routed), which may
//      replace the prefetch queue
//   -> experts already resident run at once; a chosen expert still on the host is
//      copied in on demand (evicting the policy's victim when the cache is full),
//      one being prefetched is waited for; each runs as soon as it is resident.
//
// Copies are flows over the topology's host→GPU path (so they share the PCIe link
// with each other and with write-backs), after a fixed per-copy overhead. On-demand
// copies go first: a prefetch starts only while none is outstanding (at most
// `prefetch_in_flight` at a time), copies its expert tensor by tensor, and at each
// tensor boundary yields to on-demand copies or is cancelled when the expert is no
// longer on the prefetch list nor needed (MoE-Infinity's task queue works at tensor
// granularity). Without overlap the GPU has one stream, so a layer starts only
// when every copy in flight has landed.
#include <cstdint>
#include <vector>

#include "models/gpu_profile.h"
#include "models/layer_costs.h"
#include "models/moe_model.h"
#include "models/offload/cache_policy.h"
#include "models/offload/expert_cache.h"
#include "models/offload/offload_config.h"
#include "models/offload/offload_metrics.h"
#include "models/offload/offload_trace.h"
#include "models/workload/routing_source.h"
#include "models/topology.h"
#include "sim/process.h"
#include "sim/resource.h"

namespace moesim::models {

struct OffloadRequest {
  std::uint64_t id = 0;  // the routing source's request id
  std::int64_t prompt_tokens = 1;
  std::int64_t decode_steps = 1;
};

// Replays the routing of `requests` without timing and returns each one's
// activation matrix (for a policy's offline training on a split not served later).
ActivationMatrix request_activations(const MoeModel& model, RoutingSource& routing, const OffloadRequest& request);

class OffloadEngine {
 public:
  OffloadEngine(sim::Simulator& sim, const MoeModel& model, const GpuProfile& gpu, Topology& topology,
                const OffloadConfig& config, CachePolicy& policy, RoutingSource& routing, OffloadMetrics& metrics,
                sim::TraceWriter* trace = nullptr);
  // Loads the policy's warm-start experts (not timed), then serves the requests in order.
  sim::Process serve(std::vector<OffloadRequest> requests);
  const ExpertCache& cache() const { return cache_; }
  sim::Time copy_latency() const;  // per copy on an idle path: overhead + link latencies (the SSD's included)

 private:
  // Starts the copy of `id` into a free slot: one copy on demand, tensor by tensor ahead of need.
  void start_copy(int id, bool prefetch);
  // After the per-copy overhead, a flow of `bytes`; then on_chunk(id) (a prefetch tensor) or on_copied(id).
  void copy_bytes(double bytes, int id, bool chunk);
  void next_chunk(int id);
  void on_chunk(int id);  // a prefetch tensor landed: finish, cancel, yield or go on
  void cancel_prefetch(int id);
  bool wanted(int id) const;  // needed by the running layer or still on the prefetch list
  void on_copied(int id, bool prefetch);
  void evict(int id);
  // Evicts the policy's choice; logic_error when it is not among `candidates`.
  void evict_chosen(const std::vector<int>& candidates, int victim);
  // The layer is done with `id`: unpin it, and drop it when the policy keeps nothing.
  void release(int id);
  // Evicts the policy's victim for an on-demand copy of `incoming`; false if nothing is evictable.
  bool make_room(int incoming, int layer);
  void pump_prefetches(int layer);
  std::vector<int> evictable() const;

  sim::Simulator& sim_;
  const MoeModel& model_;
  const GpuProfile& gpu_;
  LayerCosts costs_;
  Topology& topology_;
  OffloadConfig config_;
  CachePolicy& policy_;
  RoutingSource& routing_;
  OffloadMetrics& metrics_;
  ExpertCache cache_;
  std::vector<sim::LinkId> fetch_path_;
  std::vector<sim::LinkId> writeback_path_;
  sim::Time copy_overhead_ = 0;  // the config's, else the fetch path's fitted start-up
  double fetch_rate_cap_;
  double expert_bytes_;
  std::vector<int> prefetch_queue_;  // best first; consumed from prefetch_next_
  std::size_t prefetch_next_ = 0;
  int prefetch_layer_ = 0;
  int on_demand_in_flight_ = 0;
  int prefetches_in_flight_ = 0;
  std::vector<int> chunks_left_;  // per expert: prefetch tensors still to copy
  std::vector<int> parked_;       // prefetches waiting for on-demand copies to finish
  sim::Signal changed_;  // fired whenever a copy lands
  OffloadTrace trace_;
};

}  // namespace moesim::models
