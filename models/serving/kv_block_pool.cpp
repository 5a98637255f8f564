#include "models/serving/kv_block_pool.h"

#include <stdexcept>

namespace moesim::models {

KvBlockPool::KvBlockPool(std::int64_t blocks, std::int64_t blocks_per_hash)
    : blocks_(blocks), blocks_per_hash_(blocks_per_hash) {}

void KvBlockPool::evict_one() {
  entries_.erase(unpinned_.front());
  unpinned_.pop_front();
}

bool KvBlockPool::allocate(std::int64_t n) {
  if (n > available()) return false;
  while (blocks_ - used() < n) evict_one();
  private_ += n;
  return true;
}

void KvBlockPool::release(std::int64_t n) {
  if (n > private_) throw std::logic_error("KV block pool: released more blocks than allocated");
  private_ -= n;
}

std::int64_t KvBlockPool::match(const std::vector<std::uint64_t>& hashes, std::int64_t limit) const {
  std::int64_t n = 0;
  while (n < limit && n < static_cast<std::int64_t>(hashes.size()) && entries_.contains(hashes[static_cast<std::size_t>(n)])) ++n;
  return n;
}

void KvBlockPool::pin(std::uint64_t hash) {
  Entry& e = entries_.at(hash);
  if (e.pins++ == 0) {
    unpinned_.erase(e.lru);
    ++pinned_entries_;
  }
}

void KvBlockPool::unpin(std::uint64_t hash) {
  Entry& e = entries_.at(hash);
  if (--e.pins == 0) {
    e.lru = unpinned_.insert(unpinned_.end(), hash);
    --pinned_entries_;
  }
}

void KvBlockPool::publish(std::uint64_t hash) {
  release(blocks_per_hash_);
  if (entries_.contains(hash)) {
    pin(hash);  // computed twice concurrently: keep the cached copy, free ours
    return;
  }
  entries_.emplace(hash, Entry{1, {}});
  ++pinned_entries_;
}

}  // namespace moesim::models
