#pragma once
// Which experts a batch's routing touched, row by row: a decode step of one or two
// tokens on a GPU touches ~10 of Qwen3's 128 experts, and the engine's assignment,
// expert stage and clearing then walk those instead of every expert of every row
// (docs/performance.md, "Sparse rows").
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace moesim::models {

// Rows are (MoE layer, source GPU) pairs of a RoutingCounts. A sparse row lists its
// experts with a non-zero count, each once, in the order first drawn; a dense row
// (tokens enough to touch most experts) lists nothing and is read whole.
class RowSupport {
 public:
  // Shapes for `layers` layers of one batch with tokens[g] tokens on GPU g, each
  // choosing `top_k` of `experts`: a row is dense when its tokens' choices could
  // number `experts` or more. Storage is kept between batches.
  void shape(std::size_t layers, const std::vector<std::int64_t>& tokens, int top_k, int experts);
  std::size_t layers() const { return layers_; }
  std::size_t gpus() const { return gpus_; }
  bool dense(std::size_t gpu) const { return dense_[gpu] != 0; }
  // Whether every row of the layers is sparse (the same for every layer of a batch).
  bool all_sparse() const { return all_sparse_; }
  std::span<const std::uint32_t> experts(std::size_t layer, std::size_t gpu) const {
    const std::size_t r = layer * gpus_ + gpu;
    return {experts_.data() + begin_[r], sizes_[r]};
  }
  // Where a sparse row's experts are written, and how many were.
  std::uint32_t* slots(std::size_t layer, std::size_t gpu) { return experts_.data() + begin_[layer * gpus_ + gpu]; }
  void set_size(std::size_t layer, std::size_t gpu, std::size_t n) { sizes_[layer * gpus_ + gpu] = static_cast<std::uint32_t>(n); }
  // Whether these lists describe the non-zero counts of `counts` (as a source left them).
  bool describes(const void* counts) const { return counts != nullptr && counts == describes_; }
  void describe(const void* counts) { describes_ = counts; }
  void forget() { describes_ = nullptr; }

 private:
  const void* describes_ = nullptr;
  std::size_t layers_ = 0;
  std::size_t gpus_ = 0;
  bool all_sparse_ = false;
  std::vector<std::uint8_t> dense_;       // per GPU
  std::vector<std::size_t> capacity_;     // per GPU: experts a sparse row may list
  std::vector<std::size_t> begin_;     // per row
  std::vector<std::uint32_t> sizes_;   // per row
  std::vector<std::uint32_t> experts_;
};

}  // namespace moesim::models
