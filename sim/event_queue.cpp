#include "sim/event_queue.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <stdexcept>

namespace moesim::sim {
namespace {

struct Later {
  bool operator()(const auto& a, const auto& b) const {
    return a.time != b.time ? a.time > b.time : a.order > b.order;
  }
};

constexpr std::uint64_t kSequenceBits = 48;
constexpr std::uint64_t kSequenceMask = (std::uint64_t{1} << kSequenceBits) - 1;
constexpr std::uint64_t kNoBucket = ~std::uint64_t{0};
constexpr std::uint64_t kMinBuckets = 64;
constexpr std::uint64_t kMaxBuckets = std::uint64_t{1} << 20;
constexpr std::size_t kQuantileThreshold = 64;
constexpr std::size_t kQuantileSample = 1024;
// About one event per bucket: a bucket list longer than one is a chain of
// dependent cache misses that prefetching the head cannot hide.
constexpr std::uint64_t kEventsPerBucket = 1;

}  // namespace

std::uint32_t EventQueue::allocate() {
  if (free_head_ != kNone) {
    const std::uint32_t i = free_head_;
    free_head_ = at(i).next;
    return i;
  }
  if ((allocated_ & (kChunkSize - 1)) == 0) {
    if (allocated_ >= kNone - kChunkSize) throw std::length_error("too many pending events");
    chunks_.push_back(std::make_unique<Node[]>(kChunkSize));
  }
  return allocated_++;
}

void EventQueue::release(std::uint32_t node) {
  Node& n = at(node);
  n.callback.reset();
  n.next = free_head_;
  free_head_ = node;
}

void EventQueue::link_into_bucket(std::uint64_t bucket, std::uint32_t node) {
  at(node).next = heads_[bucket];
  heads_[bucket] = node;
  occupied_[bucket >> 6] |= std::uint64_t{1} << (bucket & 63);
}

std::uint32_t EventQueue::push(Time time, int priority) {
  if (time < last_) throw std::logic_error("event scheduled before the current simulated time");
  if (priority < kMinPriority || priority > kMaxPriority) {
    throw std::out_of_range("event priority outside [-32768, 32767]");
  }
  const std::uint32_t i = allocate();
  Node& n = at(i);
  n.time = time;
  n.order = (static_cast<std::uint64_t>(priority - kMinPriority) << kSequenceBits) | (sequence_++ & kSequenceMask);
  ++size_;
  const auto t = static_cast<std::uint64_t>(time);
  if (t < epoch_end_) {
    const std::uint64_t bucket = (t - epoch_start_) >> shift_;
    if (bucket == cursor_) {
      current_.push_back(Entry{n.time, n.order, i});
      std::push_heap(current_.begin(), current_.end(), Later{});
    } else {
      link_into_bucket(bucket, i);
    }
  } else {
    overflow_.push_back(Entry{n.time, n.order, i});
  }
  return i;
}

std::uint64_t EventQueue::next_occupied(std::uint64_t from) const {
  const std::uint64_t buckets = heads_.size();
  if (from >= buckets) return kNoBucket;
  std::uint64_t w = from >> 6;
  std::uint64_t bits = occupied_[w] & (~std::uint64_t{0} << (from & 63));
  while (bits == 0) {
    if (++w == occupied_.size()) return kNoBucket;
    bits = occupied_[w];
  }
  return (w << 6) + static_cast<std::uint64_t>(std::countr_zero(bits));
}

std::uint32_t EventQueue::take_bucket(std::uint64_t bucket) {
  cursor_ = bucket;
  const std::uint32_t head = heads_[bucket];
  heads_[bucket] = kNone;
  occupied_[bucket >> 6] &= ~(std::uint64_t{1} << (bucket & 63));
  prefetch_ahead(bucket);
  const Node& first = at(head);
  if (first.next == kNone) return head;  // the common case: one event, no heap needed
  for (std::uint32_t i = head; i != kNone; i = at(i).next) current_.push_back(Entry{at(i).time, at(i).order, i});
  std::make_heap(current_.begin(), current_.end(), Later{});
  std::pop_heap(current_.begin(), current_.end(), Later{});
  const std::uint32_t earliest = current_.back().node;
  current_.pop_back();
  return earliest;
}

void EventQueue::prefetch_ahead(std::uint64_t loaded) {
  // A node is written when its event is scheduled and read again only when it
  // reaches the front, long after it left the cache: that read is the one miss
  // per event. Keep the first nodes of the next few occupied buckets in flight.
  if (prefetch_bucket_ == kNoBucket || prefetch_bucket_ < loaded) {
    prefetch_bucket_ = loaded;
    prefetched_ = 0;
  } else if (prefetched_ > 0) {
    --prefetched_;
  }
  while (prefetched_ < kPrefetchDistance) {
    const std::uint64_t b = next_occupied(prefetch_bucket_ + 1);
    if (b == kNoBucket) break;
    __builtin_prefetch(&at(heads_[b]));
    prefetch_bucket_ = b;
    ++prefetched_;
  }
}

void EventQueue::start_epoch() {
  assert(!overflow_.empty());
  const std::size_t n = overflow_.size();
  Time lo = overflow_.front().time;
  Time hi = lo;
  for (const Entry& e : overflow_) {
    lo = std::min(lo, e.time);
    hi = std::max(hi, e.time);
  }
  if (n > kQuantileThreshold) {
    // Span the earliest 7/8 of the events, so far-future outliers stay in the
    // overflow instead of stretching every bucket. The quantile is estimated from
    // an evenly strided sample: it only sizes the buckets, exactness is not needed.
    scratch_.clear();
    const std::size_t stride = std::max<std::size_t>(1, n / kQuantileSample);
    for (std::size_t j = 0; j < n; j += stride) scratch_.push_back(overflow_[j].time);
    const std::size_t k = scratch_.size() - 1 - scratch_.size() / 8;
    std::nth_element(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(k), scratch_.end());
    hi = std::max(scratch_[k], lo);
  }
  const std::uint64_t buckets = std::clamp<std::uint64_t>(std::bit_ceil(static_cast<std::uint64_t>(n)) / kEventsPerBucket, kMinBuckets,
                                                          kMaxBuckets);
  const std::uint64_t span = static_cast<std::uint64_t>(hi - lo) + 1;
  const std::uint64_t width = (span + buckets - 1) / buckets;
  shift_ = static_cast<int>(std::bit_width(width - 1));
  epoch_start_ = static_cast<std::uint64_t>(lo);
  const std::uint64_t reach = buckets << shift_;
  epoch_end_ = reach > ~std::uint64_t{0} - epoch_start_ ? ~std::uint64_t{0} : epoch_start_ + reach;
  if (heads_.size() != buckets) {
    heads_.assign(buckets, kNone);
    occupied_.assign(buckets / 64, 0);
  }
  cursor_ = 0;
  prefetch_bucket_ = kNoBucket;
  std::size_t kept = 0;
  for (const Entry& e : overflow_) {
    const auto t = static_cast<std::uint64_t>(e.time);
    if (t < epoch_end_) {
      link_into_bucket((t - epoch_start_) >> shift_, e.node);
    } else {
      overflow_[kept++] = e;
    }
  }
  overflow_.resize(kept);
}

std::uint32_t EventQueue::pop() {
  assert(size_ > 0);
  std::uint32_t i = kNone;
  if (!current_.empty()) {
    std::pop_heap(current_.begin(), current_.end(), Later{});
    i = current_.back().node;
    current_.pop_back();
  } else {
    std::uint64_t b = next_occupied(cursor_);
    while (b == kNoBucket) {
      start_epoch();
      b = next_occupied(0);
    }
    i = take_bucket(b);
  }
  --size_;
  Node& n = at(i);
  last_ = n.time;
  if (++n.generation == 0) n.generation = 1;  // 0 marks an invalid handle
  return i;
}

Time EventQueue::min_time() const {
  assert(size_ > 0);
  if (!current_.empty()) return current_.front().time;
  const std::uint64_t b = next_occupied(cursor_);
  Time t = 0;
  bool found = false;
  auto consider = [&](Time x) {
    if (!found || x < t) t = x;
    found = true;
  };
  if (b != kNoBucket) {
    for (std::uint32_t i = heads_[b]; i != kNone; i = at(i).next) consider(at(i).time);
    return t;
  }
  for (const Entry& e : overflow_) consider(e.time);
  return t;
}

}  // namespace moesim::sim
