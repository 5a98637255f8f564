#pragma once
// The offloading engine's timeline as Perfetto tracks: each request's prefill and
// decode, the GPU's compute and its stalls on copies, every host→GPU copy (on
// demand or prefetch, with its outcome) and the number of resident experts.
// Does nothing without a writer, so the engine calls it unconditionally.
// Labels: "L<n>" is the model's layer n (attention, stalls), "MoE<m>" its m-th MoE
// layer (the expert cache's numbering: copies and expert compute).
#include <cstdint>
#include <string_view>
#include <vector>

#include "sim/time.h"
#include "sim/trace_writer.h"

namespace moesim::models {

class OffloadTrace {
 public:
  // `experts`: experts per MoE layer (cache ids are layer · experts + expert).
  OffloadTrace(sim::TraceWriter* writer, int experts, int cache_ids);
  bool enabled() const { return writer_ != nullptr; }

  void request(std::uint64_t id, std::int64_t prompt_tokens, sim::Time arrival, sim::Time first_token, sim::Time end);
  void compute(std::string_view what, sim::Time start, sim::Time end);
  void stall(int layer, sim::Time start, sim::Time end);
  // A copy of cache id `id` starts; it ends landed or, for a prefetch, cancelled.
  void copy_started(int id, bool prefetch, sim::Time at);
  void copy_ended(int id, bool cancelled, sim::Time at);
  void resident(std::size_t experts, sim::Time at);

 private:
  sim::TraceWriter* writer_;
  int experts_;
  sim::TraceWriter::TrackId compute_track_ = 0;
  sim::TraceWriter::TrackId stall_track_ = 0;
  // Copies overlap (several in flight share the link); each gets the first free lane,
  // a track of its own, so that spans on one track never overlap.
  std::vector<sim::TraceWriter::TrackId> lanes_;
  std::vector<bool> lane_busy_;
  std::vector<int> lane_of_;          // per cache id, while copying
  std::vector<sim::Time> started_;    // per cache id
  std::vector<bool> prefetching_;     // per cache id
};

}  // namespace moesim::models
