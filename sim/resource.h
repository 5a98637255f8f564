#pragma once
// A multi-server FIFO station: `servers` identical units, one customer each,
// waiting customers served in arrival order. Keeps the statistics a queueing
// study needs (time-average busy servers and queue length, waiting times) and,
// when given a TraceWriter, one trace track per server with a span per service.
#include <string>
#include <vector>

#include "sim/simulator.h"
#include "sim/stats/tally.h"
#include "sim/stats/time_weighted.h"
#include "sim/trace_writer.h"
#include "sim/waiter_list.h"

namespace moesim::sim {

class Resource {
 public:
  Resource(Simulator& sim, std::string name, int servers);
  Resource(const Resource&) = delete;
  Resource& operator=(const Resource&) = delete;

  struct AcquireAwaiter : WaiterNode {
    Resource* resource;
    Time since = 0;
    int server = -1;
    bool await_ready() { return resource->try_grant(*this); }
    void await_suspend(std::coroutine_handle<> h);
    int await_resume() const noexcept { return server; }
  };
  // co_await acquire() returns the index of the server granted, to pass to release().
  AcquireAwaiter acquire() { return AcquireAwaiter{{}, this}; }
  void release(int server);

  const std::string& name() const { return name_; }
  int servers() const { return static_cast<int>(busy_since_.size()); }
  int busy() const { return busy_count_; }
  std::size_t queue_length() const { return waiting_.size(); }

  const TimeWeighted& busy_servers_stat() const { return busy_stat_; }
  const TimeWeighted& queue_length_stat() const { return queue_stat_; }
  const Tally& wait_stat() const { return wait_stat_; }  // ns, one per granted request
  // Warm-up deletion: forget what was observed before now.
  void reset_statistics();

  // Records a span named `span_name` on track "<name>/<server>" for each service.
  void trace_to(TraceWriter* writer, std::string span_name = "busy");

 private:
  bool try_grant(AcquireAwaiter& a);
  int take_free_server();
  void start_service(int server);

  Simulator& sim_;
  std::string name_;
  std::vector<Time> busy_since_;  // -1 when free
  int busy_count_ = 0;
  WaiterList<AcquireAwaiter> waiting_;
  TimeWeighted busy_stat_;
  TimeWeighted queue_stat_;
  Tally wait_stat_;
  TraceWriter* trace_ = nullptr;
  std::string span_name_;
  std::vector<TraceWriter::TrackId> tracks_;
};

// Counting semaphore with FIFO waiters; a request for n units waits until n are
// free and nobody queued before it is still waiting (no overtaking).
class Semaphore {
 public:
  Semaphore(Simulator& sim, std::int64_t initial_units);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  struct AcquireAwaiter : WaiterNode {
    Semaphore* semaphore;
    std::int64_t units;
    bool await_ready() { return semaphore->try_acquire(units); }
    void await_suspend(std::coroutine_handle<> h);
    void await_resume() const noexcept {}
  };
  AcquireAwaiter acquire(std::int64_t units = 1);
  bool try_acquire(std::int64_t units = 1);
  void release(std::int64_t units = 1);
  std::int64_t available() const { return available_; }
  std::size_t waiting() const { return waiting_.size(); }

 private:
  Simulator& sim_;
  std::int64_t available_;
  WaiterList<AcquireAwaiter> waiting_;
};

// A broadcast condition: wait() suspends until fire(); fire() wakes every waiter
// (at the current time, in the order they waited). Stays fired until reset().
class Signal {
 public:
  explicit Signal(Simulator& sim) : sim_(sim) {}
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;

  struct WaitAwaiter : WaiterNode {
    Signal* signal;
    bool await_ready() const noexcept { return signal->fired_; }
    void await_suspend(std::coroutine_handle<> h) {
      handle = h;
      signal->waiting_.push_back(this);
    }
    void await_resume() const noexcept {}
  };
  WaitAwaiter wait() { return WaitAwaiter{{}, this}; }
  void fire();
  void reset() { fired_ = false; }
  bool fired() const { return fired_; }

 private:
  Simulator& sim_;
  bool fired_ = false;
  WaiterList<WaitAwaiter> waiting_;
};

}  // namespace moesim::sim
