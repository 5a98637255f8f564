#pragma once
// MoE-Infinity's request-level expert activation tracing (docs/offload.md, "MoE-Infinity"; arXiv 2401.14361):
// a bounded collection of finished requests' activation matrices (EAMs) with LFU
// replacement, and the matching of a live request's partial EAM against it.
#include <cstdint>
#include <span>
#include <vector>

#include "models/offload/cache_policy.h"

namespace moesim::policies {

using models::ActivationMatrix;

class TraceCollection {
 public:
  TraceCollection(int capacity, int layers, int experts);
  // finish_entry: the first empty row while there is one, else the row with the
  // fewest accesses (the first such) is replaced; the new row's access count is 1.
  void add(const ActivationMatrix& eam);
  std::size_t size() const { return traces_.size(); }
  int capacity() const { return capacity_; }
  const ActivationMatrix& trace(std::size_t c) const { return traces_[c]; }
  std::uint64_t access(std::size_t c) const { return access_[c]; }
  void touch(std::size_t c) { ++access_[c]; }
  // Row `layer` of trace c scaled to unit length (all zeros for an empty row).
  std::span<const double> unit_row(std::size_t c, int layer) const;
  int layers() const { return layers_; }
  int experts() const { return experts_; }

 private:
  void store(std::size_t c, const ActivationMatrix& eam);
  int capacity_;
  int layers_;
  int experts_;
  std::vector<ActivationMatrix> traces_;
  std::vector<std::uint64_t> access_;
  std::vector<std::vector<double>> unit_;  // per trace, layers × experts
};

// paper: mean cosine similarity over the layers executed so far (0..l), the
// paper's intent; code-faithful: as MoE-Infinity's find_most_similar computes it,
// the executed layers of every trace masked to uniform rows and the mean taken
// over all layers (the spec notes this looks like a bug).
enum class MatchMode { kPaper, kCodeFaithful };

// A live request's EAM and its cosine similarity to every trace, kept up to date
// row by row: adding a layer's routing costs O(traces · experts routed).
class ActivationMatcher {
 public:
  explicit ActivationMatcher(const TraceCollection& collection);
  void reset();  // a new request; the collection may have changed since the last one
  void add(int layer, std::span<const std::int64_t> counts);
  const ActivationMatrix& request() const { return eam_; }
  // cosine(request row, trace row), 0 when either row is empty.
  double cosine(std::size_t c, int layer) const;
  double distance(std::size_t c, int layer, MatchMode mode) const;  // 1 − mean cosine
  // The trace nearest after the router of `layer` (first on ties); -1 if the collection is empty.
  int best(int layer, MatchMode mode) const;

 private:
  // Σ over executed layers of cosine(request row, uniform row): the code-faithful mask.
  double masked_similarity(int layer) const;
  double distance_given(std::size_t c, int layer, MatchMode mode, double masked) const;
  const TraceCollection& collection_;
  ActivationMatrix eam_;
  std::vector<double> dot_;    // [trace · layers + layer]: request row · unit trace row
  std::vector<double> norm_;   // per layer: |request row|
};

// Prefetch weight of a layer `ahead` layers past the current one: 1 − ahead/(L+1)
// (1, L/(L+1), ... : nearer layers first).
inline double layer_decay(int ahead, int layers) {
  return 1.0 - static_cast<double>(ahead) / static_cast<double>(layers + 1);
}

}  // namespace moesim::policies
