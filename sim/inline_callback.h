#pragma once
// A type-erased `void()` callable stored in a fixed inline buffer: the event list
// never touches the heap for a callback. Callables larger than the buffer fail to
// compile, which keeps the no-allocation promise checkable rather than hoped for.
// Objects are constructed in place and never moved (the event pool has stable
// addresses), so no move operation is needed.
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace moesim::sim {

class InlineCallback {
 public:
  static constexpr std::size_t kCapacity = 24;  // with two pointers: 40 bytes, so an event node is one cache line

  InlineCallback() = default;
  InlineCallback(const InlineCallback&) = delete;
  InlineCallback& operator=(const InlineCallback&) = delete;
  ~InlineCallback() { reset(); }

  template <class F>
  void emplace(F&& f) {
    using Fn = std::decay_t<F>;
    static_assert(sizeof(Fn) <= kCapacity, "event callback too large for the inline buffer: capture less (a pointer)");
    static_assert(alignof(Fn) <= alignof(void*), "over-aligned event callback");
    reset();
    ::new (static_cast<void*>(storage_)) Fn(std::forward<F>(f));
    invoke_ = [](void* p) { (*static_cast<Fn*>(p))(); };
    if constexpr (std::is_trivially_destructible_v<Fn>) {
      destroy_ = nullptr;
    } else {
      destroy_ = [](void* p) { static_cast<Fn*>(p)->~Fn(); };
    }
  }

  void operator()() { invoke_(storage_); }
  explicit operator bool() const { return invoke_ != nullptr; }

  void reset() {
    if (destroy_ != nullptr) destroy_(storage_);
    invoke_ = nullptr;
    destroy_ = nullptr;
  }

 private:
  alignas(void*) std::byte storage_[kCapacity];
  void (*invoke_)(void*) = nullptr;
  void (*destroy_)(void*) = nullptr;
};

}  // namespace moesim::sim
