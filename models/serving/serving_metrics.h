#pragma once
// What a serving run measures (docs/models.md, "Serving engine"): per request TTFT, TPOT
// and end-to-end latency; their P50/P90/P99; SLO attainment; throughput; per GPU
// busy time; per MoE layer imbalance (max / mean expert-stage time over GPUs);
// tokens routed and dispatched; GPU-seconds.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "models/serving/request.h"
#include "sim/stats/quantile_sketch.h"
#include "sim/stats/tally.h"
#include "sim/stats/time_weighted.h"
#include "sim/time.h"

namespace moesim::models {

struct Slo {
  double ttft_s = 0.5;
  double tpot_s = 0.05;
};

struct RequestRecord {
  std::uint64_t id;
  int gpu;
  sim::Time arrival;
  std::int64_t input_tokens;
  std::int64_t output_tokens;
  sim::Time first_token;
  sim::Time last_token;
  double ttft_s() const { return sim::to_seconds(first_token - arrival); }
  double tpot_s() const {
    return output_tokens > 1 ? sim::to_seconds(last_token - first_token) / static_cast<double>(output_tokens - 1) : 0.0;
  }
  double e2e_s() const { return sim::to_seconds(last_token - arrival); }
  bool meets(const Slo& slo) const { return ttft_s() <= slo.ttft_s && tpot_s() <= slo.tpot_s; }
};

class ServingMetrics {
 public:
  ServingMetrics(int gpus, Slo slo) : slo_(slo), gpu_busy_(static_cast<std::size_t>(gpus), 0) {}

  // `gpu`: the cluster's number of the (first) GPU that served it (r.gpu is the engine's rank).
  void record_request(const Request& r, int gpu);
  void record_dropped(const Request& r, const std::string& reason);
  void record_iteration(std::int64_t tokens) {
    ++iterations_;
    batch_tokens_.add(static_cast<double>(tokens));
  }
  // Gap between consecutive output tokens of one request (inter-token latency).
  void record_inter_token(sim::Time gap) { itl_.add(sim::to_seconds(gap)); }
  void record_gpu_busy(int gpu, sim::Time t) { gpu_busy_[static_cast<std::size_t>(gpu)] += t; }
  void record_layer_imbalance(int layer, double max_over_mean) {
    imbalance_.add(max_over_mean);
    if (static_cast<std::size_t>(layer) >= imbalance_by_layer_.size()) imbalance_by_layer_.resize(static_cast<std::size_t>(layer) + 1);
    imbalance_by_layer_[static_cast<std::size_t>(layer)].add(max_over_mean);
  }
  void record_routing(std::int64_t tokens_routed, std::int64_t expert_assignments, std::int64_t remote_rows) {
    tokens_routed_ += tokens_routed;
    expert_assignments_ += expert_assignments;
    remote_rows_ += remote_rows;
  }

  // One completed re-placement: expert copies moved, bytes, and how long the moves took.
  void record_migration(std::int64_t experts_moved, double bytes, sim::Time duration, int swaps) {
    ++migrations_;
    experts_moved_ += experts_moved;
    bytes_migrated_ += bytes;
    migration_time_ += duration;
    swaps_ += swaps;
  }
  // The slowest GPU's expert time of one MoE layer (the straggler the policies fight).
  void record_max_expert_time(sim::Time t) { max_expert_time_.add(sim::to_seconds(t)); }
  // ViBE's kernel-level view of one MoE layer: the slowest minus the fastest GPU's
  // expert-stage time, and the GPUs' mean expert-stage time (docs/models.md).
  void record_expert_stage_spread(sim::Time slowest_minus_fastest, double mean_s) {
    expert_gap_.add(sim::to_seconds(slowest_minus_fastest));
    expert_mean_.add(mean_s);
  }
  // One MoE layer from its gate to the end of its combine (dispatch, cold starts, experts, combine).
  void record_moe_layer(sim::Time t) {
    moe_layer_.add(sim::to_seconds(t));
    moe_layer_mean_.add(sim::to_seconds(t));
  }

  // Paged KV cache (docs/models.md "Paged KV cache"): a preemption (swap: `bytes`
  // copied out to host memory), and an admission's prefix lookup: tokens it must
  // prefill and how many of them the prefix cache already held.
  void record_preemption(bool swap, std::int64_t bytes) {
    ++(swap ? kv_.swap_preemptions : kv_.recompute_preemptions);
    kv_.swapped_out_bytes += bytes;
  }
  void record_prefix_lookup(std::int64_t prefill_tokens, std::int64_t hit_tokens) {
    kv_.prefill_lookup_tokens += prefill_tokens;
    kv_.prefix_hit_tokens += hit_tokens;
  }
  struct KvCacheCounts {
    std::int64_t recompute_preemptions = 0;
    std::int64_t swap_preemptions = 0;
    std::int64_t swapped_out_bytes = 0;
    std::int64_t prefill_lookup_tokens = 0;
    std::int64_t prefix_hit_tokens = 0;
    double prefix_hit_share() const {
      return prefill_lookup_tokens > 0 ? static_cast<double>(prefix_hit_tokens) / static_cast<double>(prefill_lookup_tokens) : 0.0;
    }
  };
  const KvCacheCounts& kv_cache() const { return kv_; }
  // Disaggregated serving: one request's KV moved from its prefill to its decode
  // GPUs, `wait` from its first token to the KV's arrival.
  void record_kv_transfer(double bytes, sim::Time wait) {
    kv_transfer_bytes_ += bytes;
    kv_transfer_wait_.add(sim::to_seconds(wait));
  }
  double kv_transfer_bytes() const { return kv_transfer_bytes_; }
  const sim::Tally& kv_transfer_wait() const { return kv_transfer_wait_; }
  // Requests waiting for admission (arrived or preempted, not running), all GPUs:
  // the queue an overloaded cluster builds. Mean over [0, the last completion].
  void record_waiting(sim::Time now, int delta) {
    waiting_.add(now, delta);
    max_waiting_ = std::max(max_waiting_, waiting_.current());
  }
  double mean_waiting() const { return waiting_.mean(last_completion_); }
  double max_waiting() const { return max_waiting_; }

  const std::vector<RequestRecord>& requests() const { return records_; }
  int migrations() const { return migrations_; }
  std::int64_t experts_moved() const { return experts_moved_; }
  double bytes_migrated() const { return bytes_migrated_; }
  sim::Time migration_time() const { return migration_time_; }
  int swaps() const { return swaps_; }
  const sim::Tally& max_expert_time() const { return max_expert_time_; }
  const sim::Tally& expert_gap() const { return expert_gap_; }
  const sim::Tally& expert_mean() const { return expert_mean_; }
  const sim::QuantileSketch& moe_layer() const { return moe_layer_; }
  const sim::Tally& moe_layer_mean() const { return moe_layer_mean_; }
  const std::vector<std::pair<std::uint64_t, std::string>>& dropped() const { return dropped_; }
  const sim::QuantileSketch& ttft() const { return ttft_; }
  const sim::QuantileSketch& tpot() const { return tpot_; }
  const sim::QuantileSketch& e2e() const { return e2e_; }
  const sim::QuantileSketch& inter_token() const { return itl_; }
  double slo_attainment() const;
  const Slo& slo() const { return slo_; }
  const std::vector<sim::Time>& gpu_busy() const { return gpu_busy_; }
  const sim::Tally& layer_imbalance() const { return imbalance_; }
  // Per model layer (index = layer; dense layers stay empty), for heatmaps.
  const std::vector<sim::Tally>& imbalance_by_layer() const { return imbalance_by_layer_; }
  const sim::Tally& batch_tokens() const { return batch_tokens_; }
  std::uint64_t iterations() const { return iterations_; }
  std::int64_t tokens_routed() const { return tokens_routed_; }
  std::int64_t expert_assignments() const { return expert_assignments_; }
  std::int64_t remote_rows() const { return remote_rows_; }
  std::int64_t output_tokens() const { return output_tokens_; }
  sim::Time last_completion() const { return last_completion_; }

 private:
  Slo slo_;
  KvCacheCounts kv_;
  double kv_transfer_bytes_ = 0.0;
  sim::Tally kv_transfer_wait_;  // [s]
  sim::TimeWeighted waiting_;
  double max_waiting_ = 0.0;
  std::vector<RequestRecord> records_;
  std::vector<std::pair<std::uint64_t, std::string>> dropped_;
  sim::QuantileSketch ttft_;
  sim::QuantileSketch tpot_;
  sim::QuantileSketch e2e_;
  sim::QuantileSketch itl_;
  std::uint64_t met_slo_ = 0;
  std::vector<sim::Time> gpu_busy_;
  sim::Tally imbalance_;
  std::vector<sim::Tally> imbalance_by_layer_;
  sim::Tally batch_tokens_;
  std::uint64_t iterations_ = 0;
  std::int64_t tokens_routed_ = 0;
  std::int64_t expert_assignments_ = 0;
  std::int64_t remote_rows_ = 0;
  std::int64_t output_tokens_ = 0;
  sim::Time last_completion_ = 0;
  int migrations_ = 0;
  std::int64_t experts_moved_ = 0;
  double bytes_migrated_ = 0.0;
  sim::Time migration_time_ = 0;
  int swaps_ = 0;
  sim::Tally max_expert_time_;
  sim::Tally expert_gap_;   // per MoE layer: slowest − fastest GPU expert-stage time [s]
  sim::Tally expert_mean_;  // per MoE layer: mean GPU expert-stage time [s]
  sim::QuantileSketch moe_layer_;
  sim::Tally moe_layer_mean_;
};

}  // namespace moesim::models
