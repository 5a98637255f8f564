#include "sim/simulator.h"

#include <stdexcept>
#include <string>

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

std::uint32_t Simulator::allocate_slot() {
  if (free_head_ == kNoSlot) {
    if ((slot_count_ & (kChunkSize - 1)) == 0) {
      if (slot_count_ == kNoSlot - (kChunkSize - 1)) throw std::length_error("too many pending events");
      chunks_.push_back(std::make_unique<Slot[]>(kChunkSize));
    }
    const std::uint32_t index = slot_count_++;
    slot(index).state = SlotState::kPending;
    return index;
  }
  const std::uint32_t index = free_head_;
  Slot& s = slot(index);
  free_head_ = s.next_free;
  s.state = SlotState::kPending;
  return index;
}

void Simulator::free_slot(std::uint32_t i) {
  Slot& s = slot(i);
  s.callback.reset();
  s.state = SlotState::kFree;
  if (++s.generation == 0) s.generation = 1;  // 0 marks an invalid handle
  s.next_free = free_head_;
  free_head_ = i;
}

Time Simulator::check_not_past(Time t) const {
  if (t < now_) {
    throw std::logic_error("event scheduled in the past: t=" + std::to_string(t) + " ns < now=" + std::to_string(now_) +
                           " ns");
  }
  return t;
}

bool Simulator::cancel(EventHandle h) {
  if (!is_pending(h)) return false;
  Slot& s = slot(h.slot);
  s.state = SlotState::kCancelled;  // its queue entry is dropped when popped
  s.callback.reset();
  --live_events_;
  return true;
}

bool Simulator::is_pending(EventHandle h) const {
  if (!h.valid() || h.slot >= slot_count_) return false;
  const Slot& s = slot(h.slot);
  return s.generation == h.generation && s.state == SlotState::kPending;
}

void Simulator::execute_next() {
  const QueuedEvent e = queue_.pop();
  Slot& s = slot(e.slot);
  if (s.state == SlotState::kCancelled) {
    free_slot(e.slot);
    return;
  }
  now_ = e.time;
  s.state = SlotState::kRunning;
  --live_events_;
  ++executed_;
  struct Release {
    Simulator* sim;
    std::uint32_t index;
    ~Release() { sim->free_slot(index); }
  } release{this, e.slot};
  s.callback();
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
