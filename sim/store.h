#pragma once
// A bounded FIFO store of items between processes (producer/consumer): put()
// waits while the store is full, get() waits while it is empty; both serve their
// waiters in FIFO order, and an item put while a getter waits goes straight to it.
#include <cstddef>
#include <deque>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

#include "sim/simulator.h"
#include "sim/waiter_list.h"

namespace moesim::sim {

template <class T>
class Store {
 public:
  explicit Store(Simulator& sim, std::size_t capacity = std::numeric_limits<std::size_t>::max())
      : sim_(sim), capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("store capacity must be at least 1");
  }
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  struct GetAwaiter : WaiterNode {
    Store* store;
    std::optional<T> item;
    bool await_ready() {
      if (!store->getters_.empty() || store->items_.empty()) return false;
      item.emplace(store->take_front());
      return true;
    }
    void await_suspend(std::coroutine_handle<> h) {
      handle = h;
      store->getters_.push_back(this);
    }
    T await_resume() { return std::move(*item); }
  };

  struct PutAwaiter : WaiterNode {
    Store* store;
    std::optional<T> item;
    bool await_ready() { return store->try_put_item(item); }
    void await_suspend(std::coroutine_handle<> h) {
      handle = h;
      store->putters_.push_back(this);
    }
    void await_resume() const noexcept {}
  };

  GetAwaiter get() { return GetAwaiter{{}, this, std::nullopt}; }
  PutAwaiter put(T value) { return PutAwaiter{{}, this, std::optional<T>(std::move(value))}; }

  bool try_put(T value) {
    std::optional<T> v(std::move(value));
    return try_put_item(v);
  }
  std::optional<T> try_get() {
    if (!getters_.empty() || items_.empty()) return std::nullopt;
    return take_front();
  }

  std::size_t size() const { return items_.size(); }
  std::size_t capacity() const { return capacity_; }
  std::size_t waiting_getters() const { return getters_.size(); }
  std::size_t waiting_putters() const { return putters_.size(); }

 private:
  // Hands the item to a waiting getter, or stores it if there is room.
  bool try_put_item(std::optional<T>& value) {
    if (!getters_.empty()) {
      GetAwaiter* g = getters_.pop_front();
      g->item.emplace(std::move(*value));
      sim_.resume_at(sim_.now(), g->handle);
      return true;
    }
    if (!putters_.empty() || items_.size() >= capacity_) return false;
    items_.push_back(std::move(*value));
    return true;
  }

  // Removes the front item and lets the first blocked putter refill the space.
  T take_front() {
    T front = std::move(items_.front());
    items_.pop_front();
    if (!putters_.empty()) {
      PutAwaiter* p = putters_.pop_front();
      items_.push_back(std::move(*p->item));
      sim_.resume_at(sim_.now(), p->handle);
    }
    return front;
  }

  Simulator& sim_;
  std::size_t capacity_;
  std::deque<T> items_;
  WaiterList<GetAwaiter> getters_;
  WaiterList<PutAwaiter> putters_;
};

}  // namespace moesim::sim
