#pragma once
// The serverless expert runtime (docs/serverless.md). Every (MoE layer, expert) is a
// function; an instance of it on a GPU goes
//
//   cold → loading (weights over the real path as a flow, then runtime init)
//        → warm (busy while pinned by a running layer, idle otherwise)
//        → reclaimed when its keep-alive runs out (or evicted, LRU among idle
//          ones, when its GPU's pool needs the room)
//
// A layer that needs a cold instance waits for the load: the cold start is on the
// critical path unless a policy prepared the instance ahead of use. The runtime
// keeps the bill: GPU-seconds of loading and execution, GB-seconds of instance
// memory over each instance's lifetime (keep-alive included), and cold starts.
#include <cstdint>
#include <memory>
#include <vector>

#include "models/moe_model.h"
#include "models/serverless/keep_alive.h"
#include "models/serverless/serverless_config.h"
#include "models/topology.h"
#include "sim/resource.h"
#include "sim/simulator.h"
#include "sim/trace_writer.h"

namespace moesim::models {

struct ServerlessBill {
  std::int64_t loads = 0;        // instances brought up (each a cold start), pre-warms included
  std::int64_t prewarms = 0;     // loads the keep-alive policy started ahead of a predicted use
  std::int64_t cold_waits = 0;   // instances a layer needed that were not warm yet
  std::int64_t layers_waited = 0;
  sim::Time wait_time = 0;       // Σ over layers that waited: gate → last needed instance ready
  sim::Time load_time = 0;       // Σ load durations (transfer + init)
  sim::Time busy_time = 0;       // Σ instance execution time
  sim::Time billed = 0;          // Σ per invocation (load, or one layer's execution), rounded as configured
  double bytes_loaded = 0.0;
  double instance_seconds = 0.0;  // Σ instance lifetimes, load start → reclaim (or end of run)
  double gb_seconds = 0.0;        // Σ instance bytes / 1e9 × lifetime
  std::int64_t reclaims = 0;      // keep-alive expiries
  std::int64_t evictions = 0;     // idle instances dropped early to make room
  // GPU time spent loading and executing, exactly.
  double gpu_seconds() const { return sim::to_seconds(load_time + busy_time); }
  // What pay-per-use billing charges for it: every invocation rounded up.
  double billed_gpu_seconds() const { return sim::to_seconds(billed); }
  double cost(const ServerlessConfig& c) const {
    return billed_gpu_seconds() / 3600.0 * c.gpu_hour_price + gb_seconds / 3600.0 * c.gb_hour_price;
  }
};

class ServerlessRuntime {
 public:
  ServerlessRuntime(sim::Simulator& sim, const MoeModel& model, Topology& topology, const ServerlessConfig& config,
                    std::unique_ptr<KeepAlivePolicy> keep_alive, sim::TraceWriter* trace = nullptr);
  ServerlessRuntime(const ServerlessRuntime&) = delete;
  ServerlessRuntime& operator=(const ServerlessRuntime&) = delete;

  int gpus() const { return gpus_; }
  int slots() const { return slots_; }  // instances one GPU's pool holds
  std::int64_t pool_bytes() const { return static_cast<std::int64_t>(slots_) * model_.expert_bytes(); }
  bool warm(int layer, int expert, int gpu) const;
  bool live(int layer, int expert, int gpu) const;  // loading or warm
  // Slots that are free or held by an idle instance (which can be evicted).
  int free_slots(int gpu) const;
  // Slots no instance holds.
  int unused_slots(int gpu) const { return slots_ - used_[static_cast<std::size_t>(gpu)]; }

  // An instance deployed before the run starts: warm now, with no load to pay.
  void start_warm(int layer, int expert, int gpu);
  // Brings an instance up ahead of use (a no-op when it is live). False when its
  // GPU has no unused slot and (if `may_evict`) no idle instance to evict.
  bool prepare(int layer, int expert, int gpu, bool may_evict = true);
  // The layer about to run needs, for each expert with tokens, its instances on
  // replicas[e]; cold ones start loading now. Throws std::runtime_error if a GPU's
  // pool has no room (every slot loading or in use).
  void acquire(int layer, const std::vector<std::vector<int>>& replicas, const std::vector<std::int64_t>& expert_tokens);
  sim::Signal* pending() { return waiting_ > 0 ? &ready_ : nullptr; }
  sim::Time ready_at(int gpu) const { return ready_at_[static_cast<std::size_t>(gpu)]; }
  // The acquired layer ran; busy[g * experts + e] is each instance's execution time.
  void release(const std::vector<sim::Time>& busy);
  // End of run: instances still alive are billed up to `end`; the runtime then stops.
  void finish(sim::Time end);

  const ServerlessBill& bill() const { return bill_; }
  const ServerlessConfig& config() const { return config_; }
  const KeepAlivePolicy& keep_alive() const { return *keep_alive_; }

 private:
  enum class State : std::uint8_t { kCold, kLoading, kWarm };
  struct Instance {
    State state = State::kCold;
    bool reserved = false;       // prepared ahead of use and not used yet
    int pins = 0;
    std::uint32_t generation = 0;  // bumped to void scheduled reclaims and pre-warms
    sim::Time born = 0;            // load start
    sim::Time idle_since = -1;     // last release (-1: never released, or in use)
  };
  std::size_t index(int layer, int expert, int gpu) const {
    return (static_cast<std::size_t>(layer) * static_cast<std::size_t>(model_.experts) + static_cast<std::size_t>(expert)) *
               static_cast<std::size_t>(gpus_) + static_cast<std::size_t>(gpu);
  }
  int gpu_of(std::size_t i) const { return static_cast<int>(i % static_cast<std::size_t>(gpus_)); }
  int function_of(std::size_t i) const { return static_cast<int>(i / static_cast<std::size_t>(gpus_)); }
  static bool held(const Instance& x) { return x.state == State::kLoading || x.pins > 0 || x.reserved; }
  // Applies `change` to instance i, keeping the per-GPU counts right.
  template <class F>
  void update(std::size_t i, F&& change) {
    Instance& x = instances_[i];
    const auto g = static_cast<std::size_t>(gpu_of(i));
    const bool was_held = held(x);
    const bool was_live = x.state != State::kCold;
    change(x);
    held_[g] += static_cast<int>(held(x)) - static_cast<int>(was_held);
    used_[g] += static_cast<int>(x.state != State::kCold) - static_cast<int>(was_live);
  }
  bool make_room(int gpu);
  void start_load(std::size_t i, bool prewarm);
  void loaded(std::size_t i, sim::Time load_start);
  void arm_reclaim(std::size_t i, sim::Time after);
  void bill_lifetime(const Instance& x, sim::Time end);
  void reclaim(std::size_t i);  // unloads and bills the lifetime
  void expire(std::size_t i);   // reclaim when keep-alive says so (counted in the bill)
  void schedule_prewarm(std::size_t i, sim::Time after, sim::Time keep_alive);

  sim::Simulator& sim_;
  const MoeModel& model_;
  Topology& topology_;
  ServerlessConfig config_;
  std::unique_ptr<KeepAlivePolicy> keep_alive_;
  sim::TraceWriter* trace_;
  int gpus_;
  int slots_;
  std::vector<sim::LinkId> remote_link_;
  std::vector<Instance> instances_;
  std::vector<int> used_;  // per GPU: loading + warm instances
  std::vector<int> held_;  // per GPU: loading, pinned or reserved instances (not evictable)
  std::vector<std::size_t> acquired_;
  int waiting_ = 0;
  sim::Signal ready_;
  sim::Time acquired_at_ = 0;
  std::vector<sim::Time> ready_at_;
  std::vector<sim::Time> pending_keep_alive_;  // per instance with a pre-warm scheduled
  std::vector<sim::TraceWriter::TrackId> tracks_;
  ServerlessBill bill_;
  bool finished_ = false;
};

}  // namespace moesim::models
