#include "sim/frame_pool.h"

#include <array>
#include <new>
#include <vector>

namespace moesim::sim {
namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 64;  // frames up to 4 KiB are pooled

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kPooling = false;
#else
constexpr bool kPooling = true;
#endif

struct FreeLists {
  std::array<std::vector<void*>, kClasses> lists;
  ~FreeLists() {
    for (auto& l : lists) {
      for (void* p : l) ::operator delete(p);
    }
  }
};

FreeLists& free_lists() {
  thread_local FreeLists lists;
  return lists;
}

std::size_t class_of(std::size_t bytes) { return (bytes + kGranule - 1) / kGranule; }

}  // namespace

void* frame_pool_allocate(std::size_t bytes) {
  const std::size_t c = class_of(bytes);
  if (!kPooling || c >= kClasses) return ::operator new(bytes);
  auto& list = free_lists().lists[c];
  if (list.empty()) return ::operator new(c * kGranule);
  void* p = list.back();
  list.pop_back();
  return p;
}

void frame_pool_free(void* p, std::size_t bytes) noexcept {
  const std::size_t c = class_of(bytes);
  if (!kPooling || c >= kClasses) {
    ::operator delete(p);
    return;
  }
  try {
    free_lists().lists[c].push_back(p);
  } catch (...) {
    ::operator delete(p);
  }
}

}  // namespace moesim::sim
