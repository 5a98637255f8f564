#pragma once
// One GPU's paged KV cache (docs/models.md, "Paged KV cache"): a fixed number of
// equal blocks (vLLM's PagedAttention), counted here, not sized. A request holds
// private blocks for the tokens it computed, and, with prefix caching, pins shared
// prefix entries: one per hashed prompt block of the trace, `blocks_per_hash` KV
// blocks each. An entry nobody pins stays cached until a block
// allocation needs its space; the least recently released goes first (LRU, as
// vLLM's free-block queue evicts).
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

namespace moesim::models {

class KvBlockPool {
 public:
  // `blocks_per_hash`: KV blocks one prefix entry holds (0 when prefix caching is off).
  KvBlockPool(std::int64_t blocks, std::int64_t blocks_per_hash);

  std::int64_t blocks() const { return blocks_; }
  // Blocks an allocation can get now: free ones plus cached entries nobody pins.
  std::int64_t available() const { return blocks_ - private_ - pinned_entries_ * blocks_per_hash_; }
  // Blocks held by requests or cached entries (pinned or not).
  std::int64_t used() const { return private_ + cached_entries() * blocks_per_hash_; }
  std::int64_t cached_entries() const { return static_cast<std::int64_t>(entries_.size()); }

  // Takes `n` private blocks, evicting unpinned entries as needed; false (and
  // nothing taken) when fewer than `n` are available.
  bool allocate(std::int64_t n);
  void release(std::int64_t n);

  // How many of `hashes`, from the first, are cached here (at most `limit`).
  std::int64_t match(const std::vector<std::uint64_t>& hashes, std::int64_t limit) const;
  // Pins a cached entry (a prefix hit); it cannot be evicted until unpinned.
  void pin(std::uint64_t hash);
  void unpin(std::uint64_t hash);
  // A request finished computing prompt block `hash`: its private blocks for it
  // become the cached entry (or are freed when another request cached it first),
  // pinned by the request.
  void publish(std::uint64_t hash);

 private:
  struct Entry {
    int pins = 0;
    std::list<std::uint64_t>::iterator lru;  // valid while pins == 0
  };
  void evict_one();

  std::int64_t blocks_;
  std::int64_t blocks_per_hash_;
  std::int64_t private_ = 0;
  std::int64_t pinned_entries_ = 0;
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::list<std::uint64_t> unpinned_;  // least recently released first
};

}  // namespace moesim::models
