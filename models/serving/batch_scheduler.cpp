#include "models/serving/batch_scheduler.h"

#include <algorithm>
#include <fmt/format.h>

#include "models/serving/cache_aware_choice.h"

namespace moesim::models {

std::int64_t Batch::total() const {
  std::int64_t n = 0;
  for (std::int64_t t : tokens) n += t;
  return n;
}

namespace {
std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
}  // namespace

BatchScheduler::BatchScheduler(sim::Simulator& sim, const MoeModel& model, const ServingConfig& config, int gpus,
                               std::int64_t kv_capacity, ServingMetrics& metrics, sim::TraceWriter* trace,
                               int first_gpu, int gpu_stride, int kv_shards)
    : sim_(sim),
      model_(model),
      config_(config),
      gpus_(gpus),
      kv_capacity_(kv_capacity),
      metrics_(metrics),
      trace_(trace),
      waiting_(static_cast<std::size_t>(gpus)),
      running_(static_cast<std::size_t>(gpus)),
      kv_used_(static_cast<std::size_t>(gpus), 0),
      assigned_(static_cast<std::size_t>(gpus), 0),
      work_(sim),
      first_gpu_(first_gpu),
      gpu_stride_(gpu_stride),
      kv_shards_(kv_shards) {
  // A what-if capacity in blocks replaces what the memory budget leaves, in either mode.
  if (config_.kv_blocks > 0) kv_capacity_ = config_.kv_blocks * kv_block_bytes();
  if (paged()) {
    const std::int64_t blocks = std::max<std::int64_t>(0, kv_capacity_) / kv_block_bytes();
    const std::int64_t per_hash = config_.prefix_cache ? config_.prefix_block_tokens / config_.kv_block_tokens : 0;
    pools_.assign(static_cast<std::size_t>(gpus), KvBlockPool(blocks, per_hash));
    swap_used_.assign(static_cast<std::size_t>(gpus), 0);
  }
}

std::int64_t BatchScheduler::kv_block_bytes() const { return config_.kv_block_tokens * model_.kv_cache_bytes_per_token(); }

int BatchScheduler::choose_rank(const Request& r) const {
  if (config_.gpu_assignment == ServingConfig::GpuAssignment::kPrefixAware) {
    std::vector<std::int64_t> cached(assigned_.size());
    std::vector<double> loads(assigned_.size());
    for (std::size_t g = 0; g < cached.size(); ++g) {
      cached[g] = cached_prefix_tokens(r, static_cast<int>(g));
      loads[g] = assigned_[g];
    }
    return static_cast<int>(cache_aware_choice(cached, loads, r.input_tokens));
  }
  return static_cast<int>(std::min_element(assigned_.begin(), assigned_.end()) - assigned_.begin());
}

std::int64_t BatchScheduler::prefix_limit(const Request& r) const {
  // Whole prompt blocks only, and never the last prompt token: its pass yields the
  // next output token (vLLM recomputes it on a full hit).
  return std::min({static_cast<std::int64_t>(r.prefix_hashes.size()), r.input_tokens / config_.prefix_block_tokens,
                   (r.prefill_target() - 1) / config_.prefix_block_tokens});
}

std::int64_t BatchScheduler::cached_prefix_tokens(const Request& r, int gpu) const {
  if (!config_.prefix_cache) return 0;
  return pools_[static_cast<std::size_t>(gpu)].match(r.prefix_hashes, prefix_limit(r)) * config_.prefix_block_tokens;
}

std::int64_t BatchScheduler::cached_prefix_tokens(const Request& r) const {
  std::int64_t best = 0;
  for (int g = 0; g < gpus_; ++g) best = std::max(best, cached_prefix_tokens(r, g));
  return best;
}

void BatchScheduler::submit(Request r) {
  const int rank = choose_rank(r);
  submit(std::move(r), rank);
}

void BatchScheduler::submit(Request r, int rank) {
  r.gpu = rank;
  auto& assigned = assigned_[static_cast<std::size_t>(r.gpu)];
  const std::int64_t tokens = r.input_tokens + r.output_tokens;
  if (paged()) {
    // At most every token but the last output's holds KV (the last is never fed back).
    const std::int64_t kv = tokens - 1;
    const std::int64_t blocks = pools_.front().blocks();
    if (ceil_div(kv, config_.kv_block_tokens) > blocks) {
      metrics_.record_dropped(r, fmt::format("KV cache for {} tokens ({} blocks of {}) exceeds a GPU's {} blocks", kv,
                                             ceil_div(kv, config_.kv_block_tokens), config_.kv_block_tokens, blocks));
      return;
    }
  } else if (const std::int64_t need = kv_reservation(r); need > kv_capacity_) {
    metrics_.record_dropped(r, fmt::format("KV cache for {} tokens ({} bytes) exceeds a GPU's capacity ({} bytes)",
                                           tokens, need, kv_capacity_));
    return;
  }
  ++assigned;
  ++outstanding_requests_;
  // A request handed over from a prefill pool brings its prompt's KV and first token.
  outstanding_tokens_ += (r.prefill_target() - r.prefilled) + (r.output_tokens - r.generated);
  waiting_[static_cast<std::size_t>(r.gpu)].push_back(std::make_unique<Request>(std::move(r)));
  metrics_.record_waiting(sim_.now(), +1);
  work_.fire();
}

void BatchScheduler::close() {
  closed_ = true;
  work_.fire();
}

double BatchScheduler::kv_free_share() const {
  if (paged()) {
    std::int64_t available = 0;
    std::int64_t blocks = 0;
    for (const KvBlockPool& p : pools_) {
      available += p.available();
      blocks += p.blocks();
    }
    return blocks > 0 ? static_cast<double>(available) / static_cast<double>(blocks) : 0.0;
  }
  std::int64_t used = 0;
  for (const std::int64_t u : kv_used_) used += u;
  const auto capacity = static_cast<double>(kv_capacity_) * gpus_;
  return capacity > 0 ? 1.0 - static_cast<double>(used) / capacity : 0.0;
}

bool BatchScheduler::busy() const {
  bool busy = false;
  for (const auto& w : waiting_) busy = busy || !w.empty();
  for (const auto& r : running_) busy = busy || !r.empty();
  return busy;
}

bool BatchScheduler::in_closed_bucket(sim::Time arrival) const {
  return config_.batching == ServingConfig::Batching::kContinuous || arrival <= sim_.now() / config_.bucket * config_.bucket;
}

sim::Time BatchScheduler::next_bucket() const { return (sim_.now() / config_.bucket + 1) * config_.bucket; }

bool BatchScheduler::admit(int gpu, const Request& r) {
  const auto g = static_cast<std::size_t>(gpu);
  const std::int64_t need = kv_reservation(r);
  if (!in_closed_bucket(r.arrival)) return false;
  if (static_cast<int>(running_[g].size()) >= config_.max_running_requests) return false;
  if (kv_used_[g] + need > kv_capacity_) return false;
  kv_used_[g] += need;  // reserved for the request's whole life (no preemption)
  return true;
}

Batch BatchScheduler::empty_batch() const {
  Batch b;
  b.prefill.resize(static_cast<std::size_t>(gpus_));
  b.decode.resize(static_cast<std::size_t>(gpus_));
  b.tokens.assign(static_cast<std::size_t>(gpus_), 0);
  b.swap_bytes.assign(static_cast<std::size_t>(gpus_), 0);
  return b;
}

std::int64_t BatchScheduler::next_tokens(const Request& r, std::int64_t budget) const {
  return r.prefill_done() ? 1 : std::min({config_.prefill_chunk, r.prefill_target() - r.prefilled, budget});
}

void BatchScheduler::schedule(Batch& b, std::size_t g, Request& r, std::int64_t& budget) const {
  const std::int64_t n = next_tokens(r, budget);
  if (r.prefill_done()) {
    b.decode[g].push_back(&r);
  } else {
    b.prefill[g].emplace_back(&r, n);
  }
  r.in_batch = true;
  budget -= n;
  b.tokens[g] += n;
}

Batch BatchScheduler::form() {
  Batch b = empty_batch();
  if (paged()) {
    for (std::size_t g = 0; g < running_.size(); ++g) form_paged(b, g);
    return b;
  }
  for (std::size_t g = 0; g < running_.size(); ++g) {
    // Static buckets: a GPU with a batch still running admits nothing.
    const bool open = config_.batching != ServingConfig::Batching::kStaticBuckets || running_[g].empty();
    auto& queue = waiting_[g];
    for (auto it = queue.begin(); open && it != queue.end();) {
      if (admit(static_cast<int>(g), **it)) {
        running_[g].push_back(std::move(*it));
        it = queue.erase(it);
        metrics_.record_waiting(sim_.now(), -1);
      } else {
        ++it;
      }
    }
    std::int64_t budget = config_.max_batched_tokens;
    // Decodes first, then prefill chunks in arrival order (Sarathi-style chunked prefill).
    for (const auto& r : running_[g]) {
      if (r->prefill_done() && budget > 0) schedule(b, g, *r, budget);
    }
    for (const auto& r : running_[g]) {
      if (!r->prefill_done() && budget > 0) schedule(b, g, *r, budget);
    }
  }
  return b;
}

void BatchScheduler::form_paged(Batch& b, std::size_t g) {
  std::int64_t budget = config_.max_batched_tokens;
  std::vector<Request*> order;  // decodes first, then prefill chunks, each in admission order
  for (const auto& r : running_[g]) {
    if (r->prefill_done()) order.push_back(r.get());
  }
  for (const auto& r : running_[g]) {
    if (!r->prefill_done()) order.push_back(r.get());
  }
  std::vector<const Request*> preempted;
  for (Request* r : order) {
    if (budget == 0) break;
    if (std::find(preempted.begin(), preempted.end(), r) != preempted.end()) continue;
    // Out of blocks: preempt the latest admitted request not yet in this batch,
    // which may be this one (vLLM's scheduler pops its running queue's tail).
    while (!grow(*r, r->kv_tokens_after(next_tokens(*r, budget)))) {
      auto victim = std::find_if(running_[g].rbegin(), running_[g].rend(), [](const auto& q) { return !q->in_batch; });
      preempted.push_back(victim->get());
      preempt(*victim->get(), b);
      if (preempted.back() == r) break;
    }
    if (!preempted.empty() && preempted.back() == r) break;
    schedule(b, g, *r, budget);
  }
  if (!preempted.empty()) return;  // as vLLM: no admissions in a step that preempted
  auto& queue = waiting_[g];
  while (!queue.empty() && budget > 0 && static_cast<int>(running_[g].size()) < config_.max_running_requests &&
         admit_paged(*queue.front(), budget, b)) {
    running_[g].push_back(std::move(queue.front()));
    queue.pop_front();
    metrics_.record_waiting(sim_.now(), -1);
    schedule(b, g, *running_[g].back(), budget);
  }
}

bool BatchScheduler::grow(Request& r, std::int64_t tokens) {
  const std::int64_t private_tokens = std::max<std::int64_t>(0, tokens - r.pinned_prefix * config_.prefix_block_tokens);
  const std::int64_t need = ceil_div(private_tokens, config_.kv_block_tokens) - r.kv_blocks;
  if (need <= 0) return true;
  if (!pools_[static_cast<std::size_t>(r.gpu)].allocate(need)) return false;
  r.kv_blocks += need;
  return true;
}

bool BatchScheduler::admit_paged(Request& r, std::int64_t budget, Batch& b) {
  const auto g = static_cast<std::size_t>(r.gpu);
  KvBlockPool& pool = pools_[g];
  if (r.swapped) {
    if (!grow(r, r.kv_tokens_after(next_tokens(r, budget)))) return false;
    const std::int64_t bytes = r.kv_tokens() * model_.kv_cache_bytes_per_token();
    swap_used_[g] -= bytes;
    b.swap_bytes[g] += bytes;
    r.swapped = false;
    return true;
  }
  if (r.prefill_done()) return grow(r, r.kv_tokens_after(1));  // handed over with its prompt's KV
  if (config_.prefix_cache) {
    r.pinned_prefix = pool.match(r.prefix_hashes, prefix_limit(r));
    for (std::int64_t j = 0; j < r.pinned_prefix; ++j) pool.pin(r.prefix_hashes[static_cast<std::size_t>(j)]);
    r.prefilled = r.pinned_prefix * config_.prefix_block_tokens;
  }
  if (!grow(r, r.prefilled + next_tokens(r, budget))) {
    free_kv(r);
    r.prefilled = 0;
    return false;
  }
  metrics_.record_prefix_lookup(r.prefill_target(), r.prefilled);
  outstanding_tokens_ -= r.prefilled;
  return true;
}

void BatchScheduler::free_kv(Request& r) {
  KvBlockPool& pool = pools_[static_cast<std::size_t>(r.gpu)];
  pool.release(r.kv_blocks);
  r.kv_blocks = 0;
  for (std::int64_t j = 0; j < r.pinned_prefix; ++j) pool.unpin(r.prefix_hashes[static_cast<std::size_t>(j)]);
  r.pinned_prefix = 0;
}

void BatchScheduler::preempt(Request& r, Batch& b) {
  const auto g = static_cast<std::size_t>(r.gpu);
  const std::int64_t bytes = r.kv_tokens() * model_.kv_cache_bytes_per_token();
  const bool swap = config_.preemption == ServingConfig::Preemption::kSwap &&
                    swap_used_[g] + bytes <= config_.swap_space_bytes * kv_shards_;
  metrics_.record_preemption(swap, swap ? bytes : 0);
  if (swap) {
    r.swapped = true;
    swap_used_[g] += bytes;
    b.swap_bytes[g] += bytes;
  } else {
    outstanding_tokens_ += r.context();  // computed again
    r.resumed_at = r.generated;
    r.prefilled = 0;
  }
  free_kv(r);
  auto& list = running_[g];
  const auto it = std::find_if(list.begin(), list.end(), [&](const auto& q) { return q.get() == &r; });
  waiting_[g].push_front(std::move(*it));  // first in line again, as vLLM requeues it
  metrics_.record_waiting(sim_.now(), +1);
  list.erase(it);
}

void BatchScheduler::publish_prefix(Request& r) {
  const std::int64_t full = std::min(static_cast<std::int64_t>(r.prefix_hashes.size()),
                                     r.input_tokens / config_.prefix_block_tokens);
  while (r.pinned_prefix < full && (r.pinned_prefix + 1) * config_.prefix_block_tokens <= r.prefilled) {
    pools_[static_cast<std::size_t>(r.gpu)].publish(r.prefix_hashes[static_cast<std::size_t>(r.pinned_prefix)]);
    r.kv_blocks -= config_.prefix_block_tokens / config_.kv_block_tokens;
    ++r.pinned_prefix;
  }
}

BatchSpans BatchScheduler::spans(const Batch& b) const {
  BatchSpans spans(static_cast<std::size_t>(gpus_));
  for (std::size_t g = 0; g < spans.size(); ++g) {
    for (const Request* r : b.decode[g]) spans[g].push_back(TokenSpan{r->id, r->generated, 1, false});
    for (const auto& [r, chunk] : b.prefill[g]) spans[g].push_back(TokenSpan{r->id, r->prefilled, chunk, true});
  }
  return spans;
}

void BatchScheduler::complete(Batch& b) {
  const sim::Time now = sim_.now();
  for (std::size_t g = 0; g < running_.size(); ++g) {
    for (auto& [r, chunk] : b.prefill[g]) {
      r->prefilled += chunk;
      r->in_batch = false;
      outstanding_tokens_ -= chunk;
      if (config_.prefix_cache) publish_prefix(*r);
      if (!r->prefill_done()) continue;
      // The pass over the last prompt token yields the next output token: the first,
      // or, after a recompute, the one the preemption delayed.
      outstanding_tokens_ -= std::min<std::int64_t>(1, r->output_tokens);
      r->generated = r->resumed_at + 1;
      if (r->resumed_at == 0) {
        r->first_token = now;
      } else {
        metrics_.record_inter_token(now - r->last_token);
      }
      r->last_token = now;
    }
    for (Request* r : b.decode[g]) {
      r->in_batch = false;
      ++r->generated;
      --outstanding_tokens_;
      metrics_.record_inter_token(now - r->last_token);
      r->last_token = now;
    }
    auto& list = running_[g];
    for (auto it = list.begin(); it != list.end();) {
      Request& r = **it;
      // A prefill pool hands a request on once its prompt is done and output remains.
      const bool hand_over = handoff_ && r.prefill_done() && !r.finished();
      if (!(r.prefill_done() && r.finished()) && !hand_over) {
        ++it;
        continue;
      }
      if (hand_over) {
        outstanding_tokens_ -= r.output_tokens - r.generated;
      } else {
        metrics_.record_request(r, cluster_gpu(r.gpu));
        trace_request(r);
      }
      --outstanding_requests_;
      if (paged()) {
        free_kv(r);
      } else {
        kv_used_[g] -= kv_reservation(r);
      }
      --assigned_[g];
      std::unique_ptr<Request> done = std::move(*it);
      it = list.erase(it);
      if (hand_over) handoff_(std::move(*done), cluster_gpu(static_cast<int>(g)));
    }
  }
}

void BatchScheduler::trace_request(const Request& r) {
  if (trace_ == nullptr) return;
  const auto track = trace_->add_track("requests", fmt::format("req {}", r.id));
  trace_->span(track, fmt::format("prefill ({} tokens, gpu {})", r.input_tokens, cluster_gpu(r.gpu)), r.arrival, r.first_token);
  if (r.last_token > r.first_token) {
    trace_->span(track, fmt::format("decode ({} tokens)", r.output_tokens), r.first_token, r.last_token);
  }
}

}  // namespace moesim::models
