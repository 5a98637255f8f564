#include "models/serverless/serverless_runtime.h"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>

namespace moesim::models {

ServerlessRuntime::ServerlessRuntime(sim::Simulator& sim, const MoeModel& model, Topology& topology,
                                     const ServerlessConfig& config, std::unique_ptr<KeepAlivePolicy> keep_alive,
                                     sim::TraceWriter* trace)
    : sim_(sim),
      model_(model),
      topology_(topology),
      config_(config),
      keep_alive_(std::move(keep_alive)),
      trace_(trace),
      gpus_(topology.gpu_count()),
      ready_(sim) {
  const std::int64_t pool = config_.pool_bytes > 0 ? config_.pool_bytes : default_pool_bytes(model_, gpus_);
  slots_ = static_cast<int>(pool / model_.expert_bytes());
  if (slots_ < 1) {
    throw InputError(fmt::format("serverless.pool_gib: the pool ({} bytes) is smaller than one expert of {} ({} bytes)",
                                 pool, model_.name, model_.expert_bytes()));
  }
  if (config_.source == WeightSource::kRemote) {
    remote_link_.push_back(topology_.network().add_link("remote-storage", config_.remote_bytes_per_s, config_.remote_latency));
  }
  instances_.resize(static_cast<std::size_t>(model_.moe_layer_count()) * static_cast<std::size_t>(model_.experts) *
                    static_cast<std::size_t>(gpus_));
  pending_keep_alive_.assign(instances_.size(), 0);
  used_.assign(static_cast<std::size_t>(gpus_), 0);
  held_.assign(static_cast<std::size_t>(gpus_), 0);
  ready_at_.assign(static_cast<std::size_t>(gpus_), 0);
  if (trace_ != nullptr) {
    for (int g = 0; g < gpus_; ++g) tracks_.push_back(trace_->add_track("serverless", fmt::format("gpu{} loads", g)));
  }
}

bool ServerlessRuntime::warm(int layer, int expert, int gpu) const {
  return instances_[index(layer, expert, gpu)].state == State::kWarm;
}

bool ServerlessRuntime::live(int layer, int expert, int gpu) const {
  return instances_[index(layer, expert, gpu)].state != State::kCold;
}

int ServerlessRuntime::free_slots(int gpu) const { return slots_ - held_[static_cast<std::size_t>(gpu)]; }

bool ServerlessRuntime::make_room(int gpu) {
  const auto g = static_cast<std::size_t>(gpu);
  if (used_[g] < slots_) return true;
  if (held_[g] >= slots_) return false;
  // Evict the instance idle the longest (LRU among idle ones).
  std::size_t victim = instances_.size();
  for (std::size_t i = g; i < instances_.size(); i += static_cast<std::size_t>(gpus_)) {
    const Instance& x = instances_[i];
    if (x.state != State::kWarm || held(x)) continue;
    if (victim == instances_.size() || x.idle_since < instances_[victim].idle_since) victim = i;
  }
  ++bill_.evictions;
  reclaim(victim);
  return true;
}

void ServerlessRuntime::start_warm(int layer, int expert, int gpu) {
  const std::size_t i = index(layer, expert, gpu);
  if (instances_[i].state != State::kCold || unused_slots(gpu) <= 0) return;
  update(i, [&](Instance& x) {
    x.state = State::kWarm;
    x.born = sim_.now();
    x.idle_since = sim_.now();
  });
  arm_reclaim(i, keep_alive_->decide(function_of(i)).keep_alive);
}

bool ServerlessRuntime::prepare(int layer, int expert, int gpu, bool may_evict) {
  const std::size_t i = index(layer, expert, gpu);
  if (instances_[i].state == State::kCold && (may_evict ? !make_room(gpu) : unused_slots(gpu) <= 0)) return false;
  if (instances_[i].pins > 0) return true;
  update(i, [](Instance& x) { x.reserved = true; });
  // The reservation lapses after a while: a plan that changed must not hold the slot.
  sim_.schedule_in(config_.reservation, [this, i] {
    if (!finished_ && instances_[i].reserved) update(i, [](Instance& x) { x.reserved = false; });
  });
  if (instances_[i].state == State::kCold) start_load(i, false);
  return true;
}

void ServerlessRuntime::start_load(std::size_t i, bool prewarm) {
  const int g = gpu_of(i);
  const sim::Time start = sim_.now();
  update(i, [&](Instance& x) {
    x.state = State::kLoading;
    x.born = start;
    ++x.generation;
  });
  ++bill_.loads;
  if (prewarm) ++bill_.prewarms;
  const auto bytes = static_cast<double>(model_.expert_bytes());
  bill_.bytes_loaded += bytes;
  std::vector<sim::LinkId> path;
  if (config_.source == WeightSource::kPeer) {
    const std::size_t first = i - static_cast<std::size_t>(g);
    for (int peer = 0; peer < gpus_ && path.empty(); ++peer) {
      if (peer != g && instances_[first + static_cast<std::size_t>(peer)].state == State::kWarm) {
        path = topology_.gpu_to_gpu(peer, g);
      }
    }
  }
  if (path.empty()) {
    path = remote_link_;
    const auto& host = topology_.host_to_gpu(g);
    path.insert(path.end(), host.begin(), host.end());
  }
  topology_.network().start(path, bytes, [this, i, start] {
    if (config_.init_time == 0) {
      loaded(i, start);
    } else {
      sim_.schedule_in(config_.init_time, [this, i, start] { loaded(i, start); });
    }
  });
}

void ServerlessRuntime::loaded(std::size_t i, sim::Time load_start) {
  if (finished_) return;
  const sim::Time now = sim_.now();
  bill_.load_time += now - load_start;
  bill_.billed += billed_time(now - load_start, config_);
  if (trace_ != nullptr) {
    const auto f = static_cast<std::size_t>(function_of(i));
    trace_->span(tracks_[static_cast<std::size_t>(gpu_of(i))],
                 fmt::format("load L{} E{}", f / static_cast<std::size_t>(model_.experts), f % static_cast<std::size_t>(model_.experts)),
                 load_start, now);
  }
  update(i, [](Instance& x) { x.state = State::kWarm; });
  Instance& x = instances_[i];
  if (x.pins > 0) {  // the running layer waits for it
    auto& ready = ready_at_[static_cast<std::size_t>(gpu_of(i))];
    ready = std::max(ready, now);
    if (--waiting_ == 0) {
      bill_.wait_time += now - acquired_at_;
      ready_.fire();
    }
    return;
  }
  x.idle_since = now;
  // Loaded ahead of use (prepared or pre-warmed): kept for the policy's keep-alive
  // (a reserved one is not reclaimed while its reservation lasts, see arm_reclaim).
  const sim::Time after = pending_keep_alive_[i] > 0 ? pending_keep_alive_[i] : keep_alive_->decide(function_of(i)).keep_alive;
  pending_keep_alive_[i] = 0;
  arm_reclaim(i, after);
}

void ServerlessRuntime::arm_reclaim(std::size_t i, sim::Time after) {
  const std::uint32_t generation = ++instances_[i].generation;
  if (after == 0 && !instances_[i].reserved) {
    expire(i);
    return;
  }
  sim_.schedule_in(std::max(after, sim::Time{1}), [this, i, generation] {
    if (finished_ || instances_[i].generation != generation || instances_[i].pins > 0) return;
    if (instances_[i].reserved) {  // prepared for a coming layer: look again when the reservation has lapsed
      arm_reclaim(i, config_.reservation);
      return;
    }
    expire(i);
  });
}

void ServerlessRuntime::bill_lifetime(const Instance& x, sim::Time end) {
  const double life = sim::to_seconds(end - x.born);
  bill_.instance_seconds += life;
  bill_.gb_seconds += static_cast<double>(model_.expert_bytes()) / 1e9 * life;
}

void ServerlessRuntime::expire(std::size_t i) {
  ++bill_.reclaims;
  reclaim(i);
}

void ServerlessRuntime::reclaim(std::size_t i) {
  bill_lifetime(instances_[i], sim_.now());
  update(i, [](Instance& x) {
    x.state = State::kCold;
    x.reserved = false;
    ++x.generation;
  });
}

void ServerlessRuntime::schedule_prewarm(std::size_t i, sim::Time after, sim::Time keep_alive) {
  const std::uint32_t generation = instances_[i].generation;
  pending_keep_alive_[i] = std::max(keep_alive, sim::Time{1});
  sim_.schedule_in(after, [this, i, generation] {
    // Still cold and not brought up by anyone else since it was unloaded.
    if (finished_ || instances_[i].generation != generation || instances_[i].state != State::kCold) return;
    if (!make_room(gpu_of(i))) return;
    start_load(i, true);
  });
}

void ServerlessRuntime::acquire(int layer, const std::vector<std::vector<int>>& replicas,
                                const std::vector<std::int64_t>& expert_tokens) {
  if (!acquired_.empty()) throw std::logic_error("serverless runtime: a layer acquired before the previous one was released");
  const sim::Time now = sim_.now();
  acquired_at_ = now;
  std::fill(ready_at_.begin(), ready_at_.end(), now);
  ready_.reset();
  waiting_ = 0;
  for (std::size_t e = 0; e < replicas.size(); ++e) {
    if (expert_tokens[e] == 0) continue;
    for (const int g : replicas[e]) {
      const std::size_t i = index(layer, static_cast<int>(e), g);
      Instance& x = instances_[i];
      if (x.idle_since >= 0) {
        keep_alive_->observe_idle(function_of(i), now - x.idle_since);
        x.idle_since = -1;
      }
      if (x.state == State::kCold) {
        if (!make_room(g)) {
          throw std::runtime_error(fmt::format(
              "serverless pool of GPU {} is full ({} instances loading or in use) when layer {} needs expert {}; "
              "raise serverless.pool_gib",
              g, slots_, layer, e));
        }
        start_load(i, false);
      }
      update(i, [](Instance& y) {
        ++y.pins;
        y.reserved = false;
        ++y.generation;  // voids a pending reclaim or pre-warm
      });
      pending_keep_alive_[i] = 0;
      if (x.state != State::kWarm) {
        ++waiting_;
        ++bill_.cold_waits;
      }
      acquired_.push_back(i);
    }
  }
  if (waiting_ > 0) ++bill_.layers_waited;
}

void ServerlessRuntime::release(const std::vector<sim::Time>& busy) {
  const sim::Time now = sim_.now();
  for (const std::size_t i : acquired_) {
    const auto f = static_cast<std::size_t>(function_of(i));
    const std::size_t e = f % static_cast<std::size_t>(model_.experts);
    const sim::Time ran = busy[static_cast<std::size_t>(gpu_of(i)) * static_cast<std::size_t>(model_.experts) + e];
    bill_.busy_time += ran;
    bill_.billed += billed_time(ran, config_);
    update(i, [](Instance& x) { --x.pins; });
    Instance& x = instances_[i];
    if (x.pins > 0) continue;
    x.idle_since = now;
    const KeepAliveDecision d = keep_alive_->decide(function_of(i));
    if (d.prewarm > 0) {  // unload now, load again just before the predicted next use
      expire(i);
      schedule_prewarm(i, d.prewarm, d.keep_alive);
    } else {
      arm_reclaim(i, d.keep_alive);
    }
  }
  acquired_.clear();
}

void ServerlessRuntime::finish(sim::Time end) {
  finished_ = true;  // timers still pending find nothing to do
  for (const Instance& x : instances_) {
    if (x.state != State::kCold) bill_lifetime(x, end);
  }
}

}  // namespace moesim::models
