#include "models/serving/tensor_parallel.h"

#include <algorithm>

namespace moesim::models {

void split_spans(const BatchSpans& ranks, int tp, BatchSpans& gpus) {
  gpus.resize(ranks.size() * static_cast<std::size_t>(tp));
  for (auto& g : gpus) g.clear();
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    std::int64_t n = 0;
    for (const TokenSpan& s : ranks[r]) n += s.count;
    std::int64_t taken = 0;  // tokens of the rank given out so far
    int j = 0;
    for (TokenSpan s : ranks[r]) {
      while (s.count > 0) {
        const std::int64_t share_end = (j + 1) * n / tp;  // this GPU's share ends before it
        const std::int64_t piece = std::min(s.count, share_end - taken);
        if (piece > 0) {
          gpus[r * static_cast<std::size_t>(tp) + static_cast<std::size_t>(j)].push_back(
              TokenSpan{s.request, s.position, piece, s.prefill});
          s.position += piece;
          s.count -= piece;
          taken += piece;
        }
        if (taken == share_end) ++j;
      }
    }
  }
}

TpCollectives::TpCollectives(Topology& topology, const MoeModel& model, int tp, sim::Time overhead)
    : topology_(topology),
      tp_(tp),
      row_bytes_(all_to_all_row_bytes(model)),
      overhead_(overhead),
      collective_(topology.network()) {
  const int gpus = topology.gpu_count();
  std::vector<sim::Coflow::Route> ring;
  for (int g = 0; g < gpus; ++g) {
    const int group = g / tp * tp;
    ring.push_back(collective_.route(topology.gpu_to_gpu(g, group + (g - group + 1) % tp)));
    hop_latency_ = std::max(hop_latency_, ring.back().latency);
  }
  ring_ = sim::Coflow::Pattern(std::move(ring));
  bytes_.resize(static_cast<std::size_t>(gpus));
}

bool TpCollectives::prepare(TpStep step, const std::vector<std::int64_t>& rank_tokens) {
  // A ring all-reduce is a reduce-scatter then an all-gather: twice the steps and bytes.
  const int rounds = step == TpStep::kAllReduce ? 2 : 1;
  const double share = static_cast<double>(rounds * (tp_ - 1)) / tp_;
  for (std::size_t g = 0; g < bytes_.size(); ++g) {
    bytes_[g] = share * static_cast<double>(rank_tokens[g / static_cast<std::size_t>(tp_)]) * row_bytes_;
  }
  // The coflow pays one hop's latency itself; the ring's other steps wait for theirs.
  const sim::Time steps = static_cast<sim::Time>(rounds) * (tp_ - 1);
  collective_.assign(ring_, bytes_, overhead_ + (steps - 1) * hop_latency_);
  return collective_.parts() != 0;
}

namespace {
constexpr TpStep kReduce[] = {TpStep::kAllReduce};
constexpr TpStep kScatter[] = {TpStep::kReduceScatter};
constexpr TpStep kScatterGather[] = {TpStep::kReduceScatter, TpStep::kAllGather};
constexpr TpStep kGather[] = {TpStep::kAllGather};
}  // namespace

std::span<const TpStep> TpCollectives::after_attention(ServingConfig::TpCollective kind, bool moe_layer) {
  if (kind == ServingConfig::TpCollective::kAllReduce) return kReduce;
  // Reduce-scattered rows of a dense layer are gathered again at once; a MoE layer's
  // are dispatched from their shares and gathered after the experts.
  return moe_layer ? std::span<const TpStep>(kScatter) : std::span<const TpStep>(kScatterGather);
}

std::span<const TpStep> TpCollectives::after_experts() { return kGather; }

}  // namespace moesim::models
