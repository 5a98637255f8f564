#pragma once
// Tensor-parallel attention groups (docs/models.md, "Tensor-parallel attention"):
// t consecutive GPUs form one attention rank. Each computes a 1/t share of the
// group's non-expert work, the group's partial activations are combined by ring
// collectives, and each GPU dispatches a 1/t share of the group's token rows to
// the experts, so expert parallelism sees one token source per GPU as it does with
// data-parallel attention.
#include <cstdint>
#include <span>
#include <vector>

#include "models/moe_model.h"
#include "models/serving/all_to_all.h"
#include "models/serving/serving_config.h"
#include "models/topology.h"
#include "models/workload/routing_source.h"
#include "sim/coflow.h"

namespace moesim::models {

// Splits each rank's tokens over its `tp` GPUs: GPU j of rank r gets the rank's
// tokens [⌊j·n/tp⌋, ⌊(j+1)·n/tp⌋) in batch order, spans cut where a share ends.
void split_spans(const BatchSpans& ranks, int tp, BatchSpans& gpus);

enum class TpStep { kAllReduce, kReduceScatter, kAllGather };

// The ring collectives of every TP group at once, as one coflow: in a ring of t
// GPUs each sends its successor (t − 1)/t of the group's activation bytes per
// reduce-scatter or all-gather (twice that per all-reduce) in that many steps, each
// paying the hop's latency; the software overhead is paid once.
class TpCollectives {
 public:
  TpCollectives(Topology& topology, const MoeModel& model, int tp, sim::Time overhead);
  // Sizes `step` from the token rows of each rank; false when no rank has any.
  bool prepare(TpStep step, const std::vector<std::int64_t>& rank_tokens);
  // The prepared collective's end when started at `start` on an otherwise idle network.
  sim::Time run_alone(sim::Time start) { return topology_.network().run_alone(collective_, start); }
  void start(Exchange& exchange) { exchange.start(topology_.network(), collective_); }
  // What the layout runs after a layer's non-expert work and after its experts.
  static std::span<const TpStep> after_attention(ServingConfig::TpCollective kind, bool moe_layer);
  static std::span<const TpStep> after_experts();

 private:
  Topology& topology_;
  int tp_;
  double row_bytes_;
  sim::Time overhead_;
  sim::Time hop_latency_ = 0;  // the slowest ring hop's path latency
  sim::Coflow collective_;
  sim::Coflow::Pattern ring_;  // part g: GPU g to its ring successor in its group
  std::vector<double> bytes_;
};

}  // namespace moesim::models
