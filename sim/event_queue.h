#pragma once
// Future-event list: a monotone multi-level radix heap keyed by time, with
// deterministic tie-breaking by (priority, insertion sequence).
//
// Why: simulated time never goes backwards, so every key inserted is >= the last
// key popped ("monotone"). A radix heap exploits that (Ahuja, Mehlhorn, Orlin &
// Tarjan 1990). This one uses 256-way digits (Cherkassky, Goldberg & Silverstein's
// multi-level buckets): a key sits at the level of the highest byte in which it
// differs from the last popped key, in the bucket of its digit there. A key moves
// down at most 8 times in its life (typically 2-3 for the millisecond horizons of
// a serving simulation), insertion is O(1), and finding the next bucket is a
// couple of bit scans. On these machines a binary radix heap did 12.8 M hold
// operations/s and this one does more than twice that (docs/performance.md).
//
// Ties: keys equal to the last popped time live in a small binary heap ordered by
// the packed (priority, sequence) word, so events at the same nanosecond run in
// priority order, then in the order they were scheduled.
#include <array>
#include <cstdint>
#include <vector>

#include "sim/time.h"

namespace moesim::sim {

struct QueuedEvent {
  Time time;
  std::uint64_t order;  // (priority + 2^15) << 48 | sequence: smaller runs first
  std::uint32_t slot;   // index of the event's callback in the simulator's pool
};

class EventQueue {
 public:
  static constexpr int kMinPriority = -32768;
  static constexpr int kMaxPriority = 32767;

  // Precondition: time >= the time of the last event popped.
  void push(Time time, int priority, std::uint32_t slot);
  // Precondition: !empty().
  QueuedEvent pop();
  // Smallest time present, without disturbing monotonicity (keys between the last
  // popped time and this one may still be pushed). Precondition: !empty().
  Time min_time() const;

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  Time last_popped_time() const { return static_cast<Time>(last_); }

 private:
  static constexpr int kLevels = 8;
  static constexpr int kDigits = 256;

  struct Level {
    std::array<std::uint64_t, 4> nonempty{};  // bit d set <=> buckets[d] not empty
    std::array<std::vector<QueuedEvent>, kDigits> buckets;
  };

  void place(const QueuedEvent& e);
  void push_tie(const QueuedEvent& e);
  // Index of the lowest non-empty (level, digit) bucket; requires ties_ empty.
  void lowest_bucket(int& level, int& digit) const;
  void refill_ties();

  std::vector<QueuedEvent> ties_;  // binary min-heap on `order`, all at time last_
  std::array<Level, kLevels> levels_{};
  std::uint32_t nonempty_levels_ = 0;  // bit l set <=> some bucket of level l not empty
  std::uint64_t last_ = 0;
  std::uint64_t sequence_ = 0;
  std::size_t size_ = 0;
};

}  // namespace moesim::sim
