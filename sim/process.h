#pragma once
// Simulation processes are C++20 coroutines: the one process style of moesim.
//
//   sim::Process customer(sim::Simulator& sim, sim::Resource& server) {
//     const int unit = co_await server.acquire();
//     co_await sim.sleep(5_us);
//     server.release(unit);
//   }
//   sim.spawn(customer(sim, server));
//
// Frames come from a size-class free list (frame_pool.h), so spawning a process
// in steady state does not touch the system allocator. A frame is destroyed when
// its body finishes, or by the simulator's destructor if it never finishes.
#include <coroutine>
#include <cstddef>
#include <exception>

#include "sim/frame_pool.h"
#include "sim/simulator.h"

namespace moesim::sim {

class ProcessPromiseBase {
 public:
  ProcessPromiseBase() = default;
  ProcessPromiseBase(const ProcessPromiseBase&) = delete;
  ProcessPromiseBase& operator=(const ProcessPromiseBase&) = delete;

 protected:
  ~ProcessPromiseBase() {
    if (sim_ != nullptr) sim_->unlink_process(this);
  }
  Simulator* attached_simulator() const { return sim_; }

 private:
  friend class Simulator;
  Simulator* sim_ = nullptr;
  ProcessPromiseBase* prev_ = nullptr;
  ProcessPromiseBase* next_ = nullptr;
  std::coroutine_handle<> frame_;
};

class Process {
 public:
  struct promise_type : ProcessPromiseBase {
    Process get_return_object() { return Process(std::coroutine_handle<promise_type>::from_promise(*this)); }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() { failure = std::current_exception(); }
    static void* operator new(std::size_t bytes) { return frame_pool_allocate(bytes); }
    static void operator delete(void* p, std::size_t bytes) { frame_pool_free(p, bytes); }

    std::exception_ptr failure;
    ~promise_type() {
      if (failure && attached_simulator() != nullptr) attached_simulator()->report_process_failure(failure);
    }
  };

  Process(Process&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  Process& operator=(Process&&) = delete;
  Process(const Process&) = delete;
  ~Process() {
    if (handle_) handle_.destroy();  // never spawned
  }

 private:
  friend class Simulator;
  explicit Process(std::coroutine_handle<promise_type> h) : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

}  // namespace moesim::sim
