#include "sim/event_queue.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <stdexcept>

namespace moesim::sim {
namespace {

// Min-heap on `order` (std heap algorithms build max-heaps, so invert).
struct LaterOrder {
  bool operator()(const QueuedEvent& a, const QueuedEvent& b) const { return a.order > b.order; }
};

constexpr std::uint64_t kSequenceBits = 48;
constexpr std::uint64_t kSequenceMask = (std::uint64_t{1} << kSequenceBits) - 1;

}  // namespace

void EventQueue::push_tie(const QueuedEvent& e) {
  ties_.push_back(e);
  std::push_heap(ties_.begin(), ties_.end(), LaterOrder{});
}

void EventQueue::place(const QueuedEvent& e) {
  const auto key = static_cast<std::uint64_t>(e.time);
  const std::uint64_t diff = key ^ last_;
  if (diff == 0) {
    push_tie(e);
    return;
  }
  const int level = (63 - std::countl_zero(diff)) >> 3;
  const auto digit = static_cast<int>((key >> (level * 8)) & 0xff);
  Level& l = levels_[static_cast<std::size_t>(level)];
  l.buckets[static_cast<std::size_t>(digit)].push_back(e);
  l.nonempty[static_cast<std::size_t>(digit >> 6)] |= std::uint64_t{1} << (digit & 63);
  nonempty_levels_ |= 1u << level;
}

void EventQueue::push(Time time, int priority, std::uint32_t slot) {
  if (time < 0 || static_cast<std::uint64_t>(time) < last_) {
    throw std::logic_error("event scheduled before the current simulated time");
  }
  if (priority < kMinPriority || priority > kMaxPriority) {
    throw std::out_of_range("event priority outside [-32768, 32767]");
  }
  const std::uint64_t order =
      (static_cast<std::uint64_t>(priority - kMinPriority) << kSequenceBits) | (sequence_++ & kSequenceMask);
  place(QueuedEvent{time, order, slot});
  ++size_;
}

void EventQueue::lowest_bucket(int& level, int& digit) const {
  level = std::countr_zero(nonempty_levels_);
  const Level& l = levels_[static_cast<std::size_t>(level)];
  for (int w = 0; w < 4; ++w) {
    if (l.nonempty[static_cast<std::size_t>(w)] != 0) {
      digit = w * 64 + std::countr_zero(l.nonempty[static_cast<std::size_t>(w)]);
      return;
    }
  }
  assert(false && "level marked non-empty has no bucket");
}

void EventQueue::refill_ties() {
  int level = 0;
  int digit = 0;
  lowest_bucket(level, digit);
  Level& l = levels_[static_cast<std::size_t>(level)];
  std::vector<QueuedEvent> moving;
  moving.swap(l.buckets[static_cast<std::size_t>(digit)]);
  l.nonempty[static_cast<std::size_t>(digit >> 6)] &= ~(std::uint64_t{1} << (digit & 63));
  if ((l.nonempty[0] | l.nonempty[1] | l.nonempty[2] | l.nonempty[3]) == 0) nonempty_levels_ &= ~(1u << level);

  std::uint64_t new_last = static_cast<std::uint64_t>(moving.front().time);
  for (const QueuedEvent& e : moving) new_last = std::min(new_last, static_cast<std::uint64_t>(e.time));
  last_ = new_last;
  // Each key shares every byte above `level` with the new last key and so lands
  // strictly below `level` (or among the ties).
  for (const QueuedEvent& e : moving) place(e);
  // Hand the emptied vector's capacity back to its bucket for reuse.
  moving.clear();
  l.buckets[static_cast<std::size_t>(digit)].swap(moving);
}

QueuedEvent EventQueue::pop() {
  assert(size_ > 0);
  if (ties_.empty()) refill_ties();
  std::pop_heap(ties_.begin(), ties_.end(), LaterOrder{});
  const QueuedEvent e = ties_.back();
  ties_.pop_back();
  --size_;
  return e;
}

Time EventQueue::min_time() const {
  assert(size_ > 0);
  if (!ties_.empty()) return static_cast<Time>(last_);
  int level = 0;
  int digit = 0;
  lowest_bucket(level, digit);
  const auto& bucket = levels_[static_cast<std::size_t>(level)].buckets[static_cast<std::size_t>(digit)];
  Time t = bucket.front().time;
  for (const QueuedEvent& e : bucket) t = std::min(t, e.time);
  return t;
}

}  // namespace moesim::sim
