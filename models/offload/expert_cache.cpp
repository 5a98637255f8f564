#include "models/offload/expert_cache.h"

#include <stdexcept>
#include <string>

namespace moesim::models {

ExpertCache::ExpertCache(int moe_layers, int experts, int capacity)
    : layers_(moe_layers), experts_(experts), capacity_(capacity),
      entries_(static_cast<std::size_t>(moe_layers) * static_cast<std::size_t>(experts)) {
  if (capacity < 1) throw std::logic_error("expert cache capacity must be at least one expert");
}

void ExpertCache::begin_fetch(int id, bool prefetch) {
  Entry& e = entries_.at(static_cast<std::size_t>(id));
  if (e.state != Residency::kHost || full()) throw std::logic_error("begin_fetch of expert " + std::to_string(id));
  e.state = Residency::kFetching;
  e.prefetched_unused = prefetch;
  ++used_;
}

void ExpertCache::complete_fetch(int id) {
  Entry& e = entries_.at(static_cast<std::size_t>(id));
  if (e.state != Residency::kFetching) throw std::logic_error("complete_fetch of expert " + std::to_string(id));
  add_resident(id);
}

void ExpertCache::abort_fetch(int id) {
  Entry& e = entries_.at(static_cast<std::size_t>(id));
  if (e.state != Residency::kFetching || e.pins > 0) throw std::logic_error("abort_fetch of expert " + std::to_string(id));
  e.state = Residency::kHost;
  e.prefetched_unused = false;
  --used_;
}

void ExpertCache::insert_resident(int id) {
  Entry& e = entries_.at(static_cast<std::size_t>(id));
  if (e.state != Residency::kHost || full()) throw std::logic_error("insert_resident of expert " + std::to_string(id));
  ++used_;
  add_resident(id);
}

void ExpertCache::add_resident(int id) {
  Entry& e = entries_[static_cast<std::size_t>(id)];
  e.state = Residency::kResident;
  e.uses_in_cache = 0;
  e.slot = static_cast<int>(residents_.size());
  residents_.push_back(id);
}

void ExpertCache::evict(int id) {
  Entry& e = entries_.at(static_cast<std::size_t>(id));
  if (e.state != Residency::kResident || e.pins > 0) throw std::logic_error("evict of expert " + std::to_string(id));
  // Swap-remove from the resident list.
  const int moved = residents_.back();
  residents_[static_cast<std::size_t>(e.slot)] = moved;
  entries_[static_cast<std::size_t>(moved)].slot = e.slot;
  residents_.pop_back();
  e.slot = -1;
  e.state = Residency::kHost;
  e.prefetched_unused = false;
  --used_;
}

void ExpertCache::pin(int id) { ++entries_.at(static_cast<std::size_t>(id)).pins; }

void ExpertCache::unpin(int id) {
  Entry& e = entries_.at(static_cast<std::size_t>(id));
  if (e.pins == 0) throw std::logic_error("unpin of unpinned expert " + std::to_string(id));
  --e.pins;
}

bool ExpertCache::mark_used(int id) {
  Entry& e = entries_.at(static_cast<std::size_t>(id));
  e.last_use = ++clock_;
  ++e.uses_total;
  if (e.state == Residency::kResident) ++e.uses_in_cache;
  const bool first_prefetch_use = e.prefetched_unused;
  e.prefetched_unused = false;
  return first_prefetch_use;
}

}  // namespace moesim::models
