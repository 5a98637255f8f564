#pragma once
// Intrusive FIFO of suspended coroutines. Each waiter node lives inside the
// awaiter object, i.e. in the waiting coroutine's frame, so queueing a process on
// a resource allocates nothing.
#include <coroutine>
#include <cstddef>

namespace moesim::sim {

struct WaiterNode {
  std::coroutine_handle<> handle;
  WaiterNode* next = nullptr;
};

template <class Node>
class WaiterList {
 public:
  bool empty() const { return head_ == nullptr; }
  std::size_t size() const { return size_; }
  Node* front() const { return head_; }
  void push_back(Node* n) {
    n->next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = n;
    } else {
      head_ = n;
    }
    tail_ = n;
    ++size_;
  }
  Node* pop_front() {
    Node* n = head_;
    head_ = static_cast<Node*>(n->next);
    if (head_ == nullptr) tail_ = nullptr;
    --size_;
    return n;
  }

 private:
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace moesim::sim
