#pragma once
// The serving engine's batch scheduler (docs/models.md, "Serving engine"): requests
// wait for a GPU (the one with the fewest, or prefix-aware), are admitted while its KV cache and
// request limit allow, and each iteration takes every running request's decode
// token and then prefill chunks in arrival order up to the token budget (continuous
// batching, Sarathi-style chunked prefill), or, with static buckets, only requests
// that arrived by the last bucket boundary, on GPUs whose previous batch has
// finished. The KV cache is either reserved for a request's whole life (no
// preemption) or paged (docs/models.md, "Paged KV cache"): blocks are taken as
// tokens are computed, and a GPU out of blocks preempts its latest admitted
// request, by recompute or swap, as vLLM does.
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "models/moe_model.h"
#include "models/serving/kv_block_pool.h"
#include "models/serving/request.h"
#include "models/serving/serving_config.h"
#include "models/serving/serving_metrics.h"
#include "models/workload/routing_source.h"
#include "sim/resource.h"
#include "sim/simulator.h"
#include "sim/trace_writer.h"

namespace moesim::models {

struct Batch {
  std::vector<std::vector<std::pair<Request*, std::int64_t>>> prefill;  // per GPU: request, chunk tokens
  std::vector<std::vector<Request*>> decode;                           // per GPU
  std::vector<std::int64_t> tokens;                                    // per GPU
  std::vector<std::int64_t> swap_bytes;  // per GPU: KV copied to or from host memory before the pass
  std::int64_t total() const;
};

class BatchScheduler {
 public:
  // `gpus`: attention ranks, each `gpu_stride` GPUs (a tensor-parallel group) with
  // `kv_capacity` bytes of KV cache spread over `kv_shards` of them (each with its
  // own swap space). `first_gpu`: the cluster's number of rank 0's first GPU (an
  // instance's slice), used for what reaches the metrics and the trace.
  BatchScheduler(sim::Simulator& sim, const MoeModel& model, const ServingConfig& config, int gpus,
                 std::int64_t kv_capacity, ServingMetrics& metrics, sim::TraceWriter* trace, int first_gpu = 0,
                 int gpu_stride = 1, int kv_shards = 1);

  // A request arrives now; it goes to the GPU serving.gpu_assignment picks, or is
  // recorded as dropped when its KV cache could never fit.
  void submit(Request r);
  // The same on rank `rank` (chosen earlier with choose_rank()).
  void submit(Request r, int rank);
  // The rank serving.gpu_assignment would give `r` now.
  int choose_rank(const Request& r) const;
  // Disaggregated prefill (docs/models.md "Disaggregated prefill and decode"): once a
  // request's prompt is done and it has output left, it leaves this scheduler (its
  // KV freed here) and goes to `handoff` with the cluster number of its rank's
  // first GPU, instead of decoding here.
  using Handoff = std::function<void(Request, int)>;
  void set_handoff(Handoff handoff) { handoff_ = std::move(handoff); }
  // No more requests will arrive.
  void close();
  bool closed() const { return closed_; }
  // Requests waiting or running.
  bool busy() const;
  // What a request router sees (docs/models.md "Instances"): requests admitted here
  // and not finished, and the prompt and output tokens they still have to process.
  std::int64_t outstanding_requests() const { return outstanding_requests_; }
  std::int64_t outstanding_tokens() const { return outstanding_tokens_; }
  // The share of the KV cache that admitted requests do not hold (paged: blocks an
  // allocation could get).
  double kv_free_share() const;
  // Prompt tokens of `r` the prefix cache of `gpu` (or of the best GPU) holds now.
  std::int64_t cached_prefix_tokens(const Request& r, int gpu) const;
  std::int64_t cached_prefix_tokens(const Request& r) const;
  // Fires when a request arrives or the scheduler closes.
  sim::Signal& work() { return work_; }

  Batch form();
  BatchSpans spans(const Batch& b) const;
  // The batch's pass ended now: tokens produced, finished requests recorded and freed.
  void complete(Batch& b);
  // Static buckets: when the current bucket closes.
  sim::Time next_bucket() const;

 private:
  bool admit(int gpu, const Request& r);
  bool paged() const { return config_.kv_cache == ServingConfig::KvCache::kPaged; }
  Batch empty_batch() const;
  std::int64_t kv_block_bytes() const;
  // Tokens the request would run in this batch: 1 in decode, else its next chunk.
  std::int64_t next_tokens(const Request& r, std::int64_t budget) const;
  void schedule(Batch& b, std::size_t g, Request& r, std::int64_t& budget) const;
  // Paged KV cache: the running requests' next tokens, preempting the latest
  // admitted when blocks run out; then waiting requests in order while blocks last.
  void form_paged(Batch& b, std::size_t g);
  bool grow(Request& r, std::int64_t tokens);
  bool admit_paged(Request& r, std::int64_t budget, Batch& b);
  // Prefix entries a lookup may use: whole prompt blocks, never the last prompt token.
  std::int64_t prefix_limit(const Request& r) const;
  void preempt(Request& r, Batch& b);
  void free_kv(Request& r);
  void publish_prefix(Request& r);
  // Static buckets: whether a request that arrived at `arrival` may join a batch now.
  bool in_closed_bucket(sim::Time arrival) const;
  // KV-cache bytes held for a request from admission to completion (input + output tokens).
  std::int64_t kv_reservation(const Request& r) const {
    return (r.input_tokens + r.output_tokens) * model_.kv_cache_bytes_per_token();
  }
  void trace_request(const Request& r);
  int cluster_gpu(int rank) const { return first_gpu_ + rank * gpu_stride_; }

  sim::Simulator& sim_;
  const MoeModel& model_;
  const ServingConfig& config_;
  int gpus_;
  std::int64_t kv_capacity_;
  ServingMetrics& metrics_;
  sim::TraceWriter* trace_;
  std::vector<std::deque<std::unique_ptr<Request>>> waiting_;  // per GPU, in arrival order
  std::vector<std::vector<std::unique_ptr<Request>>> running_;  // per GPU
  std::vector<std::int64_t> kv_used_;                           // bytes per GPU (reserve)
  std::vector<KvBlockPool> pools_;                              // per GPU (paged)
  std::vector<std::int64_t> swap_used_;                         // host bytes per GPU (paged, swap)
  std::vector<int> assigned_;                                   // requests per GPU, for placement of new ones
  sim::Signal work_;
  bool closed_ = false;
  int first_gpu_;
  int gpu_stride_;
  int kv_shards_;
  Handoff handoff_;
  std::int64_t outstanding_requests_ = 0;
  std::int64_t outstanding_tokens_ = 0;
};

}  // namespace moesim::models
