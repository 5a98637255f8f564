#pragma once
// The discrete-event kernel: a clock, a future-event list and a pool of inline
// callbacks. Everything else in sim/ (processes, resources, flows) is built on
// schedule_at/cancel. The simulator knows nothing about MoE serving.
#include <coroutine>
#include <cstdint>
#include <exception>
#include <utility>
#include <vector>

#include "sim/event_queue.h"
#include "sim/inline_callback.h"
#include "sim/time.h"

namespace moesim::sim {

// Identifies one scheduled event. Stale handles (event ran or was cancelled) are
// recognised through the generation counter and are harmless to cancel.
struct EventHandle {
  std::uint32_t node = 0;
  std::uint32_t generation = 0;
  bool valid() const { return generation != 0; }
};

class ProcessPromiseBase;
class Process;

class Simulator {
 public:
  Simulator();
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  Time now() const { return now_; }

  // Schedules f() at absolute time t (>= now()). Lower priority values run first
  // among events at the same nanosecond; equal priorities run in scheduling order.
  template <class F>
  EventHandle schedule_at(Time t, F&& f, int priority = 0) {
    const std::uint32_t node = queue_.push(check_not_past(t), priority);
    queue_.callback(node).emplace(std::forward<F>(f));
    ++live_events_;
    return EventHandle{node, queue_.generation(node)};
  }
  template <class F>
  EventHandle schedule_in(Time dt, F&& f, int priority = 0) {
    return schedule_at(now_ + dt, std::forward<F>(f), priority);
  }

  // Returns true if the event was pending and is now cancelled.
  bool cancel(EventHandle h);
  bool is_pending(EventHandle h) const;

  // Runs until no event is left or stop() is called.
  void run();
  // Runs every event at time <= t (those at exactly t with priority 32767 that are
  // scheduled during the run excepted), then sets now() to t if not stopped.
  void run_until(Time t);
  // Makes run()/run_until() return after the current event.
  void stop() { stopped_ = true; }

  std::uint64_t events_executed() const { return executed_; }
  // A run whose clock stops advancing (zero-duration work rescheduling itself, gaps
  // that round to 0 ns) would never end: after this many events at one instant the
  // run stops with an InputError saying so (docs/limits.md). Tests lower it.
  static constexpr std::uint64_t kDefaultStuckLimit = std::uint64_t{1} << 27;
  void set_stuck_limit(std::uint64_t events) { stuck_limit_ = events; }
  std::size_t events_pending() const { return live_events_; }

  // Processes (C++20 coroutines). spawn() starts p at the current time, after
  // events already scheduled for now. The simulator owns the frame from then on.
  void spawn(Process p);
  std::size_t live_processes() const { return live_processes_; }

  // Resumes a suspended coroutine at time t through an ordinary event.
  EventHandle resume_at(Time t, std::coroutine_handle<> h, int priority = 0) {
    return schedule_at(t, [h] { h.resume(); }, priority);
  }

  // co_await sim.sleep(dt): suspends the calling process for dt nanoseconds.
  struct SleepAwaiter {
    Simulator& sim;
    Time dt;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) { sim.resume_at(sim.now() + dt, h); }
    void await_resume() const noexcept {}
  };
  SleepAwaiter sleep(Time dt);

  // Called by a process whose body threw: run() rethrows it after stopping.
  void report_process_failure(std::exception_ptr e);
  void link_process(ProcessPromiseBase* p);
  void unlink_process(ProcessPromiseBase* p);

 private:
  Time check_not_past(Time t) const {
    if (t < now_) throw_past(t);
    return t;
  }
  [[noreturn]] void throw_past(Time t) const;
  void execute_next();
  void rethrow_process_failure();

  EventQueue queue_;
  std::size_t live_events_ = 0;
  [[noreturn]] void throw_stuck() const;
  std::uint64_t executed_ = 0;
  std::uint64_t events_at_now_ = 0;
  std::uint64_t stuck_limit_ = kDefaultStuckLimit;
  Time now_ = 0;
  bool stopped_ = false;
  ProcessPromiseBase* processes_ = nullptr;  // intrusive list of live process frames
  std::size_t live_processes_ = 0;
  std::exception_ptr process_failure_;
};

}  // namespace moesim::sim
