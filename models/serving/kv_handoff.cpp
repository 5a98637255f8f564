#include "models/serving/kv_handoff.h"

#include <algorithm>

#include "models/serving/all_to_all.h"

namespace moesim::models {

KvHandoff::KvHandoff(sim::Simulator& sim, const MoeModel& model, Topology& cluster, std::vector<DecodeInstance> decode,
                     RequestRouter& router, ServingMetrics& metrics)
    : sim_(sim), model_(model), cluster_(cluster), decode_(std::move(decode)), router_(router), metrics_(metrics),
      loads_(decode_.size()) {}

void KvHandoff::hand_over(Request r, int src) {
  std::size_t instance = 0;
  if (decode_.size() > 1) {
    for (std::size_t i = 0; i < decode_.size(); ++i) loads_[i] = decode_[i].engine->load(r, router_);
    instance = router_.route(r, loads_);
  }
  // The decode rank is chosen now, when the transfer needs its destination.
  const int rank = decode_[instance].engine->choose_rank(r);
  ++in_flight_;
  sim_.spawn(transfer(std::move(r), src, instance, rank));
}

sim::Process KvHandoff::transfer(Request r, int src, std::size_t instance, int rank) {
  const DecodeInstance& to = decode_[instance];
  const int tp = to.engine->attention_tp();
  const int shards = model_.kv_shards(tp);
  const int dst = to.first_gpu + rank * tp;
  // The prompt's KV: every GPU of the decode rank receives the shard it will hold
  // (1/shards of the bytes: replicated KV heads, and MLA's latent, go to each GPU
  // holding them) from the GPU in the same place of the prefill rank. The first
  // output token's KV is written by its first decode pass.
  const double bytes = static_cast<double>(r.input_tokens * model_.kv_cache_bytes_per_token()) / shards;
  sim::Time startup = 0;
  for (int j = 0; j < tp; ++j) startup = std::max(startup, cluster_.transfer_startup(cluster_.gpu_to_gpu(src + j, dst + j)));
  co_await sim_.sleep(startup);
  Exchange exchange(sim_);
  for (int j = 0; j < tp; ++j) exchange.start(cluster_.network(), cluster_.gpu_to_gpu(src + j, dst + j), bytes);
  co_await exchange.done.wait();
  metrics_.record_kv_transfer(bytes * tp, sim_.now() - r.first_token);
  to.engine->submit(std::move(r), rank);
  --in_flight_;
  maybe_close_decode();
}

void KvHandoff::prefill_finished() {
  --prefill_running_;
  maybe_close_decode();
}

void KvHandoff::maybe_close_decode() {
  if (prefill_running_ > 0 || in_flight_ > 0) return;
  for (const DecodeInstance& d : decode_) d.engine->close();
}

}  // namespace moesim::models
