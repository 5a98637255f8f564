#include "models/offload/offload_engine.h"

#include <algorithm>
#include <utility>
#include <stdexcept>

#include <fmt/format.h>

#include "models/layer_costs.h"

namespace moesim::models {

namespace {

BatchSpans one_step(const OffloadRequest& r, std::int64_t step) {
  // Step 0 is the prefill of the whole prompt; decode step j produces output token j.
  return {{step == 0 ? TokenSpan{r.id, 0, r.prompt_tokens, true} : TokenSpan{r.id, step, 1, false}}};
}

}  // namespace

ActivationMatrix request_activations(const MoeModel& model, RoutingSource& routing, const OffloadRequest& request) {
  ActivationMatrix eam(model.moe_layer_count(), model.experts);
  for (std::int64_t step = 0; step <= request.decode_steps; ++step) {
    const RoutingCounts counts = routing.route(one_step(request, step));
    for (int l = 0; l < eam.layers; ++l) {
      for (int e = 0; e < eam.experts; ++e) {
        eam.at(l, e) += static_cast<double>(counts[static_cast<std::size_t>(l)][0][static_cast<std::size_t>(e)]);
      }
    }
  }
  return eam;
}

OffloadEngine::OffloadEngine(sim::Simulator& sim, const MoeModel& model, const GpuProfile& gpu, Topology& topology,
                             const OffloadConfig& config, CachePolicy& policy, RoutingSource& routing,
                             OffloadMetrics& metrics, sim::TraceWriter* trace)
    : sim_(sim), model_(model), gpu_(gpu), costs_(model, gpu), topology_(topology), config_(config), policy_(policy), routing_(routing),
      metrics_(metrics), cache_(model.moe_layer_count(), model.experts, config.cache_experts),
      fetch_rate_cap_(sim::FlowNetwork::kUncapped),
      expert_bytes_(static_cast<double>(model.expert_bytes())),
      chunks_left_(static_cast<std::size_t>(model.moe_layer_count()) * static_cast<std::size_t>(model.experts), 0),
      changed_(sim),
      trace_(trace, model.experts, model.moe_layer_count() * model.experts) {
  fetch_path_ = topology.host_to_gpu(0);
  writeback_path_ = topology.route(topology.gpu_node(0), topology.host_node(topology.node(topology.gpu_node(0)).machine));
  switch (config.home) {
    case ExpertHome::kHostPinned: break;
    case ExpertHome::kHostPageable: fetch_rate_cap_ = config.pageable_bytes_per_s; break;
    case ExpertHome::kSsd:
      // The NVMe drive hangs off the host: its read rate in series with the host link.
      fetch_path_.push_back(topology.network().add_link("ssd", config.ssd_bytes_per_s, config.ssd_latency));
      break;
  }
  copy_overhead_ = config.copy_overhead ? *config.copy_overhead : topology.transfer_startup(fetch_path_);
}

sim::Time OffloadEngine::copy_latency() const {
  return copy_overhead_ + topology_.network().path_latency(fetch_path_);
}

std::vector<int> OffloadEngine::evictable() const {
  std::vector<int> ids;
  for (const int id : cache_.residents()) {
    if (!cache_.pinned(id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());  // independent of the cache's internal order
  return ids;
}

void OffloadEngine::evict(int id) {
  cache_.evict(id);
  trace_.resident(cache_.residents().size(), sim_.now());
  ++metrics_.evictions;
  if (policy_.writes_back()) {
    metrics_.gpu_to_host_bytes += expert_bytes_;
    topology_.network().start(writeback_path_, expert_bytes_, [] {});
  }
}

bool OffloadEngine::make_room(int incoming, int layer) {
  if (!cache_.full()) return true;
  const std::vector<int> candidates = evictable();
  if (candidates.empty()) return false;
  evict_chosen(candidates, policy_.victim(cache_, candidates, incoming, layer));
  return true;
}

void OffloadEngine::evict_chosen(const std::vector<int>& candidates, int victim) {
  if (std::find(candidates.begin(), candidates.end(), victim) == candidates.end()) {
    throw std::logic_error(policy_.name() + " chose a victim that is not evictable");
  }
  evict(victim);
}

void OffloadEngine::start_copy(int id, bool prefetch) {
  cache_.begin_fetch(id, prefetch);
  trace_.copy_started(id, prefetch, sim_.now());
  if (!prefetch) {
    ++on_demand_in_flight_;
    copy_bytes(expert_bytes_, id, false);
    return;
  }
  ++prefetches_in_flight_;
  chunks_left_[static_cast<std::size_t>(id)] = config_.prefetch_chunks;
  next_chunk(id);
}

void OffloadEngine::next_chunk(int id) {
  --chunks_left_[static_cast<std::size_t>(id)];
  copy_bytes(expert_bytes_ / config_.prefetch_chunks, id, true);
}

void OffloadEngine::copy_bytes(double bytes, int id, bool chunk) {
  metrics_.host_to_gpu_bytes += bytes;
  sim_.schedule_in(copy_overhead_, [this, bytes, id, chunk] {
    if (chunk) {
      topology_.network().start(fetch_path_, bytes, [this, id] { on_chunk(id); }, fetch_rate_cap_);
    } else {
      topology_.network().start(fetch_path_, bytes, [this, id] { on_copied(id, false); }, fetch_rate_cap_);
    }
  });
}

bool OffloadEngine::wanted(int id) const {
  return cache_.pinned(id) || std::find(prefetch_queue_.begin(), prefetch_queue_.end(), id) != prefetch_queue_.end();
}

void OffloadEngine::on_chunk(int id) {
  if (chunks_left_[static_cast<std::size_t>(id)] == 0) {
    ++metrics_.prefetches;
    on_copied(id, true);
  } else if (!wanted(id)) {
    cancel_prefetch(id);
  } else if (on_demand_in_flight_ > 0) {
    parked_.push_back(id);  // yields the link; resumes when the on-demand copies are done
  } else {
    next_chunk(id);
  }
}

void OffloadEngine::cancel_prefetch(int id) {
  cache_.abort_fetch(id);
  trace_.copy_ended(id, true, sim_.now());
  --prefetches_in_flight_;
  ++metrics_.prefetches_cancelled;
  changed_.fire();
  pump_prefetches(prefetch_layer_);
}

void OffloadEngine::on_copied(int id, bool prefetch) {
  cache_.complete_fetch(id);
  trace_.copy_ended(id, false, sim_.now());
  trace_.resident(cache_.residents().size(), sim_.now());
  --(prefetch ? prefetches_in_flight_ : on_demand_in_flight_);
  changed_.fire();
  if (on_demand_in_flight_ == 0 && !parked_.empty()) {
    const std::vector<int> resume = std::exchange(parked_, {});
    for (const int p : resume) on_chunk(p);
  }
  pump_prefetches(prefetch_layer_);
}

void OffloadEngine::pump_prefetches(int layer) {
  while (on_demand_in_flight_ == 0 && prefetches_in_flight_ < config_.prefetch_in_flight &&
         prefetch_next_ < prefetch_queue_.size()) {
    const int id = prefetch_queue_[prefetch_next_++];
    if (cache_.state(id) != Residency::kHost) continue;
    if (cache_.full()) {
      const std::vector<int> candidates = evictable();
      const int v = candidates.empty() ? -1 : policy_.prefetch_victim(cache_, candidates, id, layer);
      if (v < 0) {
        // Nothing resident is worth less than the best remaining candidate: stop here.
        prefetch_next_ = prefetch_queue_.size();
        return;
      }
      evict_chosen(candidates, v);
    }
    start_copy(id, true);
  }
}

void OffloadEngine::release(int id) {
  cache_.unpin(id);
  if (!policy_.keep_after_use() && !cache_.pinned(id)) evict(id);
}

sim::Process OffloadEngine::serve(std::vector<OffloadRequest> requests) {
  for (const int id : policy_.warm_start(cache_)) cache_.insert_resident(id);
  trace_.resident(cache_.residents().size(), sim_.now());
  const GpuSlowdown nominal{};
  std::vector<int> pending;  // experts of the layer not yet resident
  std::vector<int> ready;    // ids of the layer's experts resident when chosen
  for (const OffloadRequest& r : requests) {
    policy_.begin_request(r.id);
    const sim::Time request_start = sim_.now();
    sim::Time first_token = request_start;
    for (std::int64_t step = 0; step <= r.decode_steps; ++step) {
      const bool prefill = step == 0;
      const RoutingCounts counts = routing_.route(one_step(r, step));
      const sim::Time step_start = sim_.now();
      AttentionLoad load;
      if (prefill) {
        load.add_prefill(0, r.prompt_tokens, true);
      } else {
        load.add_decode(r.prompt_tokens + step - 1);
      }
      int moe_layer = 0;
      for (int layer = 0; layer < model_.layers; ++layer) {
        if (!config_.overlap) {
          const sim::Time wait_start = sim_.now();
          while (on_demand_in_flight_ + prefetches_in_flight_ > 0) {  // one stream: copies first
            changed_.reset();
            co_await changed_.wait();
          }
          metrics_.stall_time += sim_.now() - wait_start;
          trace_.stall(layer, wait_start, sim_.now());
        }
        const sim::Time dense = costs_.non_expert(nominal, layer, load);
        metrics_.compute_time += dense;
        if (trace_.enabled()) trace_.compute(fmt::format("L{} attention", layer), sim_.now(), sim_.now() + dense);
        co_await sim_.sleep(dense);
        if (!model_.is_moe_layer(layer)) continue;
        const int ml = moe_layer++;
        const std::vector<std::int64_t>& chosen = counts[static_cast<std::size_t>(ml)][0];
        policy_.on_routed(ml, chosen);
        // Classify and pin what this layer needs before anything can evict it.
        pending.clear();
        ready.clear();
        sim::Time ready_compute = 0;
        for (int e = 0; e < model_.experts; ++e) {
          if (chosen[static_cast<std::size_t>(e)] == 0) continue;
          const int id = cache_.id(ml, e);
          ++metrics_.expert_uses;
          cache_.pin(id);
          switch (cache_.state(id)) {
            case Residency::kResident:
              ++metrics_.hits;
              if (cache_.mark_used(id)) ++metrics_.prefetches_used;
              ready.push_back(id);
              ready_compute += costs_.expert(nominal, chosen[static_cast<std::size_t>(e)]);
              break;
            case Residency::kFetching: ++metrics_.prefetch_in_flight; pending.push_back(e); break;
            case Residency::kHost: ++metrics_.misses; pending.push_back(e); break;
          }
        }
        prefetch_queue_ = policy_.prefetch(cache_, ml);
        prefetch_next_ = 0;
        prefetch_layer_ = ml;
        metrics_.compute_time += ready_compute;
        // Copy in what is missing (on demand: ahead of any prefetch).
        auto issue_misses = [&] {
          for (const int e : pending) {
            const int id = cache_.id(ml, e);
            if (cache_.state(id) == Residency::kHost && make_room(id, ml)) start_copy(id, false);
          }
        };
        issue_misses();
        pump_prefetches(ml);
        if (trace_.enabled()) {
          trace_.compute(fmt::format("MoE{}: {} resident experts", ml, ready.size()), sim_.now(), sim_.now() + ready_compute);
        }
        co_await sim_.sleep(ready_compute);
        // Resident experts ran first (their weights were there); the rest run as they land.
        for (const int id : ready) release(id);
        while (!pending.empty()) {
          issue_misses();
          const auto landed = std::find_if(pending.begin(), pending.end(), [&](int e) {
            return cache_.state(cache_.id(ml, e)) == Residency::kResident;
          });
          if (landed == pending.end()) {
            if (on_demand_in_flight_ + prefetches_in_flight_ == 0) {
              throw std::logic_error("offload engine: a needed expert cannot be copied in (cache of " +
                                     std::to_string(cache_.capacity()) + " experts)");
            }
            const sim::Time wait_start = sim_.now();
            changed_.reset();
            co_await changed_.wait();
            metrics_.stall_time += sim_.now() - wait_start;
            trace_.stall(layer, wait_start, sim_.now());
            continue;
          }
          const int e = *landed;
          pending.erase(landed);
          const int id = cache_.id(ml, e);
          if (cache_.mark_used(id)) ++metrics_.prefetches_used;
          const sim::Time t = costs_.expert(nominal, chosen[static_cast<std::size_t>(e)]);
          metrics_.compute_time += t;
          if (trace_.enabled()) trace_.compute(fmt::format("MoE{} E{} (copied in)", ml, e), sim_.now(), sim_.now() + t);
          co_await sim_.sleep(t);
          release(id);
        }
      }
      const sim::Time took = sim_.now() - step_start;
      if (prefill) {
        first_token = sim_.now();
        metrics_.prefill_time += took;
      } else {
        metrics_.decode_time += took;
        ++metrics_.decode_steps;
        metrics_.step_times.push_back(took);
      }
    }
    policy_.end_request();
    ++metrics_.requests;
    trace_.request(r.id, r.prompt_tokens, request_start, first_token, sim_.now());
  }
}

}  // namespace moesim::models
