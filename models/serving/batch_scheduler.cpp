#include "models/serving/batch_scheduler.h"

#include <algorithm>
#include <fmt/format.h>

namespace moesim::models {

std::int64_t Batch::total() const {
  std::int64_t n = 0;
  for (std::int64_t t : tokens) n += t;
  return n;
}

BatchScheduler::BatchScheduler(sim::Simulator& sim, const MoeModel& model, const ServingConfig& config, int gpus,
                               std::int64_t kv_capacity, ServingMetrics& metrics, sim::TraceWriter* trace,
                               int first_gpu)
    : sim_(sim),
      model_(model),
      config_(config),
      gpus_(gpus),
      kv_capacity_(kv_capacity),
      metrics_(metrics),
      trace_(trace),
      running_(static_cast<std::size_t>(gpus)),
      kv_used_(static_cast<std::size_t>(gpus), 0),
      assigned_(static_cast<std::size_t>(gpus), 0),
      work_(sim),
      first_gpu_(first_gpu) {}

void BatchScheduler::submit(Request r) {
  const auto least = std::min_element(assigned_.begin(), assigned_.end());
  r.gpu = static_cast<int>(least - assigned_.begin());
  const std::int64_t need = kv_reservation(r);
  if (need > kv_capacity_) {
    metrics_.record_dropped(r, fmt::format("KV cache for {} tokens ({} bytes) exceeds a GPU's capacity ({} bytes)",
                                           r.input_tokens + r.output_tokens, need, kv_capacity_));
    return;
  }
  ++*least;
  ++outstanding_requests_;
  outstanding_tokens_ += r.input_tokens + r.output_tokens;
  waiting_.push_back(std::make_unique<Request>(r));
  work_.fire();
}

void BatchScheduler::close() {
  closed_ = true;
  work_.fire();
}

std::int64_t BatchScheduler::kv_reserved() const {
  std::int64_t used = 0;
  for (const std::int64_t u : kv_used_) used += u;
  return used;
}

bool BatchScheduler::busy() const {
  bool busy = !waiting_.empty();
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

Batch BatchScheduler::form() {
  // Static buckets: a GPU with a batch still running admits nothing.
  std::vector<bool> open(running_.size(), true);
  if (config_.batching == ServingConfig::Batching::kStaticBuckets) {
    for (std::size_t g = 0; g < running_.size(); ++g) open[g] = running_[g].empty();
  }
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const int g = (*it)->gpu;
    if (open[static_cast<std::size_t>(g)] && admit(g, **it)) {
      running_[static_cast<std::size_t>(g)].push_back(std::move(*it));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  Batch b;
  b.prefill.resize(static_cast<std::size_t>(gpus_));
  b.decode.resize(static_cast<std::size_t>(gpus_));
  b.tokens.assign(static_cast<std::size_t>(gpus_), 0);
  for (std::size_t g = 0; g < running_.size(); ++g) {
    std::int64_t budget = config_.max_batched_tokens;
    // Decodes first, then prefill chunks in arrival order (Sarathi-style chunked prefill).
    for (const auto& r : running_[g]) {
      if (r->prefill_done() && budget > 0) {
        b.decode[g].push_back(r.get());
        --budget;
      }
    }
    for (const auto& r : running_[g]) {
      if (r->prefill_done() || budget == 0) continue;
      const std::int64_t chunk = std::min({config_.prefill_chunk, r->input_tokens - r->prefilled, budget});
      b.prefill[g].emplace_back(r.get(), chunk);
      budget -= chunk;
    }
    b.tokens[g] = config_.max_batched_tokens - budget;
  }
  return b;
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
      outstanding_tokens_ -= chunk;
      if (r->prefill_done()) {
        outstanding_tokens_ -= std::min<std::int64_t>(1, r->output_tokens);  // the pass over the last prompt token yields the first output token
        r->generated = 1;
        r->first_token = now;
        r->last_token = now;
      }
    }
    for (Request* r : b.decode[g]) {
      ++r->generated;
      --outstanding_tokens_;
      metrics_.record_inter_token(now - r->last_token);
      r->last_token = now;
    }
    auto& list = running_[g];
    for (auto it = list.begin(); it != list.end();) {
      if ((*it)->prefill_done() && (*it)->finished()) {
        metrics_.record_request(**it, first_gpu_);
        --outstanding_requests_;
        trace_request(**it);
        kv_used_[g] -= kv_reservation(**it);
        --assigned_[g];
        it = list.erase(it);
      } else {
        ++it;
      }
    }
  }
}

void BatchScheduler::trace_request(const Request& r) {
  if (trace_ == nullptr) return;
  const auto track = trace_->add_track("requests", fmt::format("req {}", r.id));
  trace_->span(track, fmt::format("prefill ({} tokens, gpu {})", r.input_tokens, first_gpu_ + r.gpu), r.arrival, r.first_token);
  if (r.last_token > r.first_token) {
    trace_->span(track, fmt::format("decode ({} tokens)", r.output_tokens), r.first_token, r.last_token);
  }
}

}  // namespace moesim::models
