#include "sim/simulator.h"

#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "util/errors.h"
#include "sim/process.h"

namespace moesim::sim {

Simulator::Simulator() = default;

Simulator::~Simulator() {
  // Frames of processes that never finished (e.g. waiting on a resource when the
  // run ended). Destroying a frame unlinks it, so always take the head.
  while (processes_ != nullptr) {
    ProcessPromiseBase* p = processes_;
    std::coroutine_handle<> frame = p->frame_;
    frame.destroy();
  }
}

void Simulator::throw_past(Time t) const {
  throw std::logic_error("event scheduled in the past: t=" + std::to_string(t) + " ns < now=" + std::to_string(now_) +
                         " ns");
}

void Simulator::throw_stuck() const {
  throw InputError(fmt::format("the simulation is stuck: more than {} events at t = {} ns without the clock advancing "
                               "(zero-duration work repeating itself); check the scenario's rates, durations and sizes "
                               "against docs/limits.md",
                               stuck_limit_, now_));
}

bool Simulator::cancel(EventHandle h) {
  if (!is_pending(h)) return false;
  queue_.callback(h.node).reset();  // the node is dropped when it reaches the front
  --live_events_;
  return true;
}

bool Simulator::is_pending(EventHandle h) const {
  // A node's generation moves on when it is popped, so a matching generation means
  // "still queued"; an empty callback means "cancelled".
  return h.valid() && queue_.valid_node(h.node) && queue_.generation(h.node) == h.generation &&
         queue_.has_callback(h.node);
}

void Simulator::execute_next() {
  const std::uint32_t node = queue_.pop();
  InlineCallback& callback = queue_.callback(node);
  if (!callback) {  // cancelled
    queue_.release(node);
    return;
  }
  const Time t = queue_.time_of(node);
  if (t != now_) {
    events_at_now_ = 0;
  } else if (++events_at_now_ > stuck_limit_) {
    throw_stuck();
  }
  now_ = t;
  --live_events_;
  ++executed_;
  struct Release {
    EventQueue& queue;
    std::uint32_t node;
    ~Release() { queue.release(node); }
  } release{queue_, node};
  callback();
}

void Simulator::run() {
  stopped_ = false;
  while (!stopped_ && !queue_.empty()) execute_next();
  rethrow_process_failure();
}

void Simulator::run_until(Time t) {
  check_not_past(t);
  stopped_ = false;
  bool reached = false;
  const EventHandle marker = schedule_at(
      t,
      [this, &reached] {
        reached = true;
        stopped_ = true;
      },
      EventQueue::kMaxPriority);
  while (!stopped_ && !queue_.empty()) execute_next();
  if (!reached) cancel(marker);
  rethrow_process_failure();
}

void Simulator::rethrow_process_failure() {
  if (process_failure_) {
    std::exception_ptr e = std::exchange(process_failure_, nullptr);
    std::rethrow_exception(e);
  }
}

Simulator::SleepAwaiter Simulator::sleep(Time dt) {
  if (dt < 0) throw std::logic_error("sleep with a negative duration");
  return SleepAwaiter{*this, dt};
}

void Simulator::spawn(Process p) {
  auto h = std::exchange(p.handle_, nullptr);
  if (!h) throw std::logic_error("spawn of an empty process");
  link_process(&h.promise());
  h.promise().frame_ = h;
  resume_at(now_, h);
}

void Simulator::report_process_failure(std::exception_ptr e) {
  if (!process_failure_) process_failure_ = e;
  stopped_ = true;
}

void Simulator::link_process(ProcessPromiseBase* p) {
  p->sim_ = this;
  p->prev_ = nullptr;
  p->next_ = processes_;
  if (processes_ != nullptr) processes_->prev_ = p;
  processes_ = p;
  ++live_processes_;
}

void Simulator::unlink_process(ProcessPromiseBase* p) {
  if (p->prev_ != nullptr) {
    p->prev_->next_ = p->next_;
  } else {
    processes_ = p->next_;
  }
  if (p->next_ != nullptr) p->next_->prev_ = p->prev_;
  p->sim_ = nullptr;
  --live_processes_;
}

}  // namespace moesim::sim
