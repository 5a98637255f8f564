#include "sim/resource.h"

#include <stdexcept>

namespace moesim::sim {

Resource::Resource(Simulator& sim, std::string name, int servers)
    : sim_(sim), name_(std::move(name)), busy_stat_(sim.now()), queue_stat_(sim.now()) {
  if (servers < 1) throw std::invalid_argument("resource '" + name_ + "' needs at least one server");
  busy_since_.assign(static_cast<std::size_t>(servers), -1);
}

int Resource::take_free_server() {
  for (std::size_t s = 0; s < busy_since_.size(); ++s) {
    if (busy_since_[s] < 0) return static_cast<int>(s);
  }
  return -1;
}

void Resource::start_service(int server) {
  busy_since_[static_cast<std::size_t>(server)] = sim_.now();
}

bool Resource::try_grant(AcquireAwaiter& a) {
  if (!waiting_.empty() || busy_count_ == servers()) return false;
  a.server = take_free_server();
  start_service(a.server);
  ++busy_count_;
  busy_stat_.set(sim_.now(), busy_count_);
  wait_stat_.add(0.0);
  return true;
}

void Resource::AcquireAwaiter::await_suspend(std::coroutine_handle<> h) {
  handle = h;
  since = resource->sim_.now();
  resource->waiting_.push_back(this);
  resource->queue_stat_.set(since, static_cast<double>(resource->waiting_.size()));
}

void Resource::release(int server) {
  if (server < 0 || server >= servers() || busy_since_[static_cast<std::size_t>(server)] < 0) {
    throw std::logic_error("resource '" + name_ + "': release of a server that is not busy");
  }
  const Time now = sim_.now();
  if (trace_ != nullptr) {
    trace_->span(tracks_[static_cast<std::size_t>(server)], span_name_, busy_since_[static_cast<std::size_t>(server)],
                 now);
  }
  if (waiting_.empty()) {
    busy_since_[static_cast<std::size_t>(server)] = -1;
    --busy_count_;
    busy_stat_.set(now, busy_count_);
    return;
  }
  // Hand the server straight to the head of the queue: no idle gap.
  AcquireAwaiter* next = waiting_.pop_front();
  queue_stat_.set(now, static_cast<double>(waiting_.size()));
  wait_stat_.add(static_cast<double>(now - next->since));
  next->server = server;
  start_service(server);
  sim_.resume_at(now, next->handle);
}

void Resource::reset_statistics() {
  busy_stat_.reset(sim_.now());
  queue_stat_.reset(sim_.now());
  wait_stat_.reset();
}

void Resource::trace_to(TraceWriter* writer, std::string span_name) {
  trace_ = writer;
  span_name_ = std::move(span_name);
  tracks_.clear();
  if (writer == nullptr) return;
  for (int s = 0; s < servers(); ++s) tracks_.push_back(writer->add_track(name_, name_ + "/" + std::to_string(s)));
}

Semaphore::Semaphore(Simulator& sim, std::int64_t initial_units) : sim_(sim), available_(initial_units) {
  if (initial_units < 0) throw std::invalid_argument("semaphore needs a non-negative initial count");
}

Semaphore::AcquireAwaiter Semaphore::acquire(std::int64_t units) {
  if (units < 1) throw std::invalid_argument("semaphore acquire needs at least one unit");
  return AcquireAwaiter{{}, this, units};
}

bool Semaphore::try_acquire(std::int64_t units) {
  if (!waiting_.empty() || available_ < units) return false;
  available_ -= units;
  return true;
}

void Semaphore::AcquireAwaiter::await_suspend(std::coroutine_handle<> h) {
  handle = h;
  semaphore->waiting_.push_back(this);
}

void Semaphore::release(std::int64_t units) {
  if (units < 1) throw std::invalid_argument("semaphore release needs at least one unit");
  available_ += units;
  while (!waiting_.empty() && waiting_.front()->units <= available_) {
    AcquireAwaiter* a = waiting_.pop_front();
    available_ -= a->units;
    sim_.resume_at(sim_.now(), a->handle);
  }
}

void Signal::fire() {
  fired_ = true;
  while (!waiting_.empty()) sim_.resume_at(sim_.now(), waiting_.pop_front()->handle);
}

}  // namespace moesim::sim
