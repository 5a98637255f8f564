#pragma once
// Future-event list: a lazy timing wheel over intrusive 64-byte event nodes, with
// deterministic ordering by (time, priority, insertion sequence).
//
// Structure (a two-tier simplification of Tang, Goh & Thng's ladder queue, 2005):
//  * an epoch of 2^k buckets of width 2^s ns covering [epoch_start, epoch_end),
//    each bucket an unsorted singly linked list of nodes (about one event each);
//  * an unsorted overflow vector for events at or beyond epoch_end;
//  * a small binary heap holding the bucket under the cursor, ordered exactly.
// Insertion is O(1); popping walks to the next occupied bucket with a bitmap scan
// and heapifies it (typically 1-3 events). When the wheel is exhausted, a new
// epoch is sized from the overflow: as many buckets as events, spanning from the
// earliest to the 7/8 quantile, so one far-future outlier cannot make every
// bucket wide. Skewed or tied times degrade gracefully to the binary heap.
//
// Why not a heap: simulated time never goes backwards, so a monotone structure
// avoids O(log n) cache-missing sifts; on these machines the hold model ran at
// 6.8 M ev/s on a binary heap of PODs, 12.8 M on a binary radix heap and 16 M on a
// 256-way radix heap (bare queues), all below the lazy wheel (docs/performance.md).
//
// Each node is one cache line holding the key, the list link, a generation
// counter for stale-handle detection and the event's inline callback, so popping
// an event and running it touch the same line. A node is written when scheduled
// and read again only when it nears the front, long after it left the cache, so
// the nodes of the next few buckets are prefetched while the current one runs.
#include <cstdint>
#include <memory>
#include <vector>

#include "sim/inline_callback.h"
#include "sim/time.h"

namespace moesim::sim {

class EventQueue {
 public:
  static constexpr int kMinPriority = -32768;
  static constexpr int kMaxPriority = 32767;
  static constexpr std::uint32_t kNone = 0xffffffffu;

  EventQueue() = default;
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Reserves a node for an event at `time` (>= the last popped time) and queues
  // it; the caller then emplaces the callback into callback(node).
  std::uint32_t push(Time time, int priority);
  // Removes the earliest node from the queue and returns it (its generation is
  // bumped, so handles to it go stale). The caller runs it, then release()s it.
  // Precondition: !empty().
  std::uint32_t pop();
  void release(std::uint32_t node);

  InlineCallback& callback(std::uint32_t node) { return at(node).callback; }
  bool has_callback(std::uint32_t node) const { return static_cast<bool>(at(node).callback); }
  Time time_of(std::uint32_t node) const { return at(node).time; }
  std::uint32_t generation(std::uint32_t node) const { return at(node).generation; }
  bool valid_node(std::uint32_t node) const { return node < allocated_; }

  // Smallest queued time without popping. Precondition: !empty().
  Time min_time() const;
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  Time last_popped_time() const { return last_; }

 private:
  struct alignas(64) Node {
    Time time = 0;
    std::uint64_t order = 0;  // (priority + 2^15) << 48 | sequence: smaller first
    std::uint32_t next = kNone;
    std::uint32_t generation = 1;
    InlineCallback callback;
  };
  static_assert(sizeof(Node) == 64, "an event node should fill exactly one cache line");
  struct Entry {  // key copy, so ordering work does not touch nodes
    Time time;
    std::uint64_t order;
    std::uint32_t node;
  };
  static constexpr std::uint32_t kChunkBits = 12;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;

  Node& at(std::uint32_t i) { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }
  const Node& at(std::uint32_t i) const { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }
  std::uint32_t allocate();
  void link_into_bucket(std::uint64_t bucket, std::uint32_t node);
  std::uint64_t next_occupied(std::uint64_t from) const;  // kNoBucket if none
  // Empties `bucket` (the new cursor) and returns its earliest node; any other
  // nodes of the bucket go to the heap.
  std::uint32_t take_bucket(std::uint64_t bucket);
  void start_epoch();
  void prefetch_ahead(std::uint64_t loaded);
  static constexpr std::uint32_t kPrefetchDistance = 8;

  std::vector<std::unique_ptr<Node[]>> chunks_;
  std::uint32_t allocated_ = 0;
  std::uint32_t free_head_ = kNone;

  std::vector<Entry> current_;   // binary min-heap: the bucket under the cursor
  std::vector<Entry> overflow_;  // events at or beyond epoch_end_, unsorted
  std::vector<std::uint32_t> heads_;     // bucket -> first node (linked through Node::next)
  std::vector<std::uint64_t> occupied_;  // bitmap of non-empty buckets
  std::uint64_t cursor_ = 0;
  std::uint64_t epoch_start_ = 0;
  std::uint64_t epoch_end_ = 0;  // == epoch_start_: no epoch yet
  int shift_ = 0;
  std::uint64_t prefetch_bucket_ = ~std::uint64_t{0};  // last bucket whose head was prefetched
  std::uint32_t prefetched_ = 0;                       // occupied buckets prefetched beyond the cursor
  std::vector<Time> scratch_;

  Time last_ = 0;
  std::uint64_t sequence_ = 0;
  std::size_t size_ = 0;
};

}  // namespace moesim::sim
