#include "models/workload/row_support.h"

#include <algorithm>

namespace moesim::models {

void RowSupport::shape(std::size_t layers, const std::vector<std::int64_t>& tokens, int top_k, int experts) {
  layers_ = layers;
  gpus_ = tokens.size();
  dense_.resize(gpus_);
  capacity_.resize(gpus_);
  for (std::size_t g = 0; g < gpus_; ++g) {
    const std::int64_t choices = tokens[g] * top_k;
    dense_[g] = choices >= experts ? 1 : 0;
    capacity_[g] = dense_[g] != 0 ? 0 : static_cast<std::size_t>(choices);
  }
  all_sparse_ = std::none_of(dense_.begin(), dense_.end(), [](std::uint8_t d) { return d != 0; });
  begin_.resize(layers_ * gpus_);
  sizes_.assign(layers_ * gpus_, 0);
  std::size_t at = 0;
  for (std::size_t r = 0; r < begin_.size(); ++r) {
    begin_[r] = at;
    at += capacity_[r % gpus_];
  }
  experts_.resize(at);
}

}  // namespace moesim::models
