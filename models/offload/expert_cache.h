#pragma once
// The GPU's expert cache: which experts are resident, which are being copied in,
// which are pinned by the layer computing with them, and the use statistics the
// cache policies rank by (last use, uses since insertion, uses in the whole run).
// Experts are numbered moe_layer · experts + expert. Capacity counts experts (all
// routed experts of a model have the same size); a copy in flight holds its slot.
#include <cstdint>
#include <span>
#include <vector>

namespace moesim::models {

enum class Residency : std::uint8_t { kHost, kFetching, kResident };

class ExpertCache {
 public:
  ExpertCache(int moe_layers, int experts, int capacity);

  int capacity() const { return capacity_; }
  int used() const { return used_; }  // resident + fetching
  bool full() const { return used_ >= capacity_; }
  int experts_per_layer() const { return experts_; }
  int moe_layers() const { return layers_; }
  int id(int layer, int expert) const { return layer * experts_ + expert; }
  int layer_of(int id) const { return id / experts_; }

  Residency state(int id) const { return entries_[static_cast<std::size_t>(id)].state; }
  bool pinned(int id) const { return entries_[static_cast<std::size_t>(id)].pins > 0; }
  std::uint64_t last_use(int id) const { return entries_[static_cast<std::size_t>(id)].last_use; }
  std::uint64_t uses_in_cache(int id) const { return entries_[static_cast<std::size_t>(id)].uses_in_cache; }
  std::uint64_t uses_total(int id) const { return entries_[static_cast<std::size_t>(id)].uses_total; }
  bool prefetched_unused(int id) const { return entries_[static_cast<std::size_t>(id)].prefetched_unused; }
  // Resident experts (fetching ones excluded), in no particular order.
  std::span<const int> residents() const { return residents_; }

  void begin_fetch(int id, bool prefetch);  // takes a slot; logic_error when full or not on the host
  void complete_fetch(int id);
  void abort_fetch(int id);                 // a cancelled copy: back to the host, slot freed
  void insert_resident(int id);             // warm start: resident without a copy
  void evict(int id);                       // resident and unpinned only
  void pin(int id);
  void unpin(int id);
  // Records a use by the layer computing now; returns true when it was a prefetch's first use.
  bool mark_used(int id);

 private:
  struct Entry {
    Residency state = Residency::kHost;
    bool prefetched_unused = false;
    int pins = 0;
    int slot = -1;  // index in residents_
    std::uint64_t last_use = 0;
    std::uint64_t uses_in_cache = 0;
    std::uint64_t uses_total = 0;
  };
  void add_resident(int id);
  int layers_;
  int experts_;
  int capacity_;
  int used_ = 0;
  std::uint64_t clock_ = 0;
  std::vector<Entry> entries_;
  std::vector<int> residents_;
};

}  // namespace moesim::models
