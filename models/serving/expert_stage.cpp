#include "models/serving/expert_stage.h"

#include "models/serving/expert_placement.h"

#include <algorithm>
#include <fmt/format.h>
#include <stdexcept>

namespace moesim::models {

ExpertStage::ExpertStage(const MoeModel& model, const LayerCosts& costs, const std::vector<GpuSlowdown>& slowdowns,
                         StageRecorder& recorder, ReplicaDispatch* dispatch, const ExpertProvisioner* provisioner,
                         bool grouped)
    : model_(model),
      costs_(costs),
      slowdowns_(slowdowns),
      recorder_(recorder),
      dispatch_(dispatch),
      provisioner_(provisioner),
      grouped_(grouped),
      gpus_(static_cast<int>(slowdowns.size())),
      memo_(static_cast<std::size_t>(gpus_ * kMemoTokens), -1),
      memo_slowdown_(slowdowns) {
  for (int g = 0; g < gpus_; ++g) memo_[static_cast<std::size_t>(g * kMemoTokens)] = 0;  // no tokens, no work
  if (grouped && provisioner != nullptr) {
    throw std::logic_error("grouped expert kernels with a provisioner (its experts are separate functions)");
  }
}

void ExpertStage::run_grouped(std::vector<sim::Time>& stage) {
  group_experts_.assign(stage.size(), 0);
  group_tokens_.assign(stage.size(), 0);
  for (const CopyLoad& c : copy_loads_) {
    group_experts_[c.gpu] += static_cast<std::int64_t>(c.tokens > 0);  // an expert without tokens is skipped
    group_tokens_[c.gpu] += c.tokens;
  }
  for (std::size_t g = 0; g < stage.size(); ++g) stage[g] = costs_.expert_group(slowdowns_[g], group_experts_[g], group_tokens_[g]);
}

void ExpertStage::check_memo(std::size_t g) {
  const GpuSlowdown now = slowdowns_[g];
  GpuSlowdown& at = memo_slowdown_[g];
  if (now == at) return;
  at = now;
  std::fill_n(memo_.begin() + static_cast<std::ptrdiff_t>(g) * kMemoTokens, kMemoTokens, -1);
  memo_[g * kMemoTokens] = 0;  // a copy given no tokens does no work
}

sim::Time ExpertStage::expert_time(std::size_t g, std::int64_t tokens) {
  if (tokens >= kMemoTokens) return costs_.expert(slowdowns_[g], tokens);
  sim::Time& t = memo_[static_cast<std::size_t>(static_cast<std::int64_t>(g) * kMemoTokens + tokens)];
  if (t < 0) t = costs_.expert(slowdowns_[g], tokens);
  return t;
}

void ExpertStage::assign(const std::vector<std::vector<int>>& replicas, const std::vector<std::vector<std::int64_t>>& counts,
                         std::vector<std::int64_t>& expert_tokens, const LayerHints& hints) {
  const int* owner = hints.single_owner != nullptr ? hints.single_owner->data() : nullptr;
  if (owner == nullptr && one_copy_each(replicas)) {
    owner_.resize(replicas.size());
    for (std::size_t e = 0; e < replicas.size(); ++e) owner_[e] = replicas[e].front();
    owner = owner_.data();
  }
  if (owner != nullptr) {
    if (hints.support != nullptr && hints.support->all_sparse()) {
      assign_listed_to_single_copies(owner, counts, *hints.support, hints.moe_layer, expert_tokens);
    } else {
      assign_to_single_copies(owner, counts, expert_tokens);
    }
    return;
  }
  const auto E = static_cast<std::size_t>(model_.experts);
  pair_tokens_.assign(static_cast<std::size_t>(gpus_ * gpus_), 0);
  std::vector<std::int64_t>& copy_tokens = copy_tokens_;
  copy_tokens.assign(static_cast<std::size_t>(gpus_) * E, 0);
  std::fill(expert_tokens.begin(), expert_tokens.end(), 0);
  std::vector<std::int64_t> gpu_tokens(static_cast<std::size_t>(gpus_), 0);
  std::int64_t assignments = 0;
  std::int64_t remote = 0;
  // Without branches on n: which experts a batch touches is random, and a branch
  // on it mispredicted often. Adding 0 changes nothing.
  auto send = [&](int src, int dst, std::size_t e, std::int64_t n) {
    copy_tokens[static_cast<std::size_t>(dst) * E + e] += n;
    gpu_tokens[static_cast<std::size_t>(dst)] += n;
    pair_tokens_[static_cast<std::size_t>(src * gpus_ + dst)] += n;
    remote += n * static_cast<std::int64_t>(dst != src);
  };
  for (int src = 0; src < gpus_; ++src) {
    const std::int64_t* from = counts[static_cast<std::size_t>(src)].data();
    for (std::size_t e = 0; e < E; ++e) {
      const std::int64_t n = from[e];
      expert_tokens[e] += n;
      assignments += n;
      const auto& copies = replicas[e];
      if (copies.size() == 1) {
        send(src, copies.front(), e, n);
        continue;
      }
      if (n == 0) continue;
      if (dispatch_ == nullptr) throw std::logic_error("a placement with replicas needs a dispatch rule");
      share_.assign(copies.size(), 0);
      dispatch_->split(n, src, copies, gpu_tokens, share_);
      for (std::size_t i = 0; i < copies.size(); ++i) {
        if (share_[i] > 0) send(src, copies[i], e, share_[i]);
      }
    }
  }
  copy_loads_.clear();
  for (std::size_t i = 0; i < copy_tokens.size(); ++i) {
    if (copy_tokens[i] > 0) copy_loads_.push_back(CopyLoad{i / E, i % E, copy_tokens[i]});
  }
  recorder_.metrics().record_routing(0, assignments, remote);
}

void ExpertStage::assign_to_single_copies(const int* const owner, const std::vector<std::vector<std::int64_t>>& counts,
                                          std::vector<std::int64_t>& expert_tokens) {
  const auto E = static_cast<std::size_t>(model_.experts);
  const auto G = static_cast<std::size_t>(gpus_);
  pair_tokens_.assign(G * G, 0);
  source_rows_.resize(G);
  for (std::size_t src = 0; src < G; ++src) source_rows_[src] = counts[src].data();
  // The rows were written when the iteration was routed, every layer's before the
  // first was assigned, and have left the nearer caches since; the loop below reads
  // them down the columns, a cache miss every few loads. Ask for all of them first.
  for (std::size_t src = 0; src < G; ++src) {
    for (std::size_t e = 0; e < E; e += 8) __builtin_prefetch(source_rows_[src] + e);
  }
  copy_loads_.resize(E);
  // Expert by expert: its total stays in a register, and the rows that stay local
  // are one load per expert (remote = all − local) instead of a test per count.
  // Local pointers: the compiler cannot tell that the stores below leave the vectors'
  // own fields alone, and would reload them after every one.
  const std::int64_t* const* const from = source_rows_.data();
  std::int64_t* const pairs = pair_tokens_.data();
  CopyLoad* const loads = copy_loads_.data();
  std::int64_t* const per_expert = expert_tokens.data();
  std::int64_t assignments = 0;
  std::int64_t local = 0;
  for (std::size_t e = 0; e < E; ++e) {
    const auto dst = static_cast<std::size_t>(owner[e]);
    std::int64_t total = 0;
    for (std::size_t src = 0; src < G; ++src) {
      const std::int64_t n = from[src][e];
      pairs[src * G + dst] += n;
      total += n;
    }
    per_expert[e] = total;
    loads[e] = CopyLoad{dst, e, total};
    assignments += total;
    local += from[dst][e];
  }
  const std::int64_t remote = assignments - local;
  recorder_.metrics().record_routing(0, assignments, remote);
}

void ExpertStage::assign_listed_to_single_copies(const int* const owner,
                                                 const std::vector<std::vector<std::int64_t>>& counts,
                                                 const RowSupport& support, std::size_t moe_layer,
                                                 std::vector<std::int64_t>& expert_tokens) {
  const auto G = static_cast<std::size_t>(gpus_);
  pair_tokens_.assign(G * G, 0);
  std::fill(expert_tokens.begin(), expert_tokens.end(), 0);
  // One slot more than the experts: once every expert is listed, the next (unkept)
  // write lands at index `experts`.
  touched_.resize(expert_tokens.size() + 1);
  std::int64_t* const pairs = pair_tokens_.data();
  std::int64_t* const per_expert = expert_tokens.data();
  std::uint32_t* const touched = touched_.data();
  std::size_t distinct = 0;
  std::int64_t assignments = 0;
  std::int64_t local = 0;
  for (std::size_t src = 0; src < G; ++src) {
    const std::int64_t* const from = counts[src].data();
    for (const std::uint32_t e : support.experts(moe_layer, src)) {
      const std::int64_t n = from[e];
      const auto dst = static_cast<std::size_t>(owner[e]);
      pairs[src * G + dst] += n;
      touched[distinct] = e;  // kept only the first time the expert is met
      distinct += per_expert[e] == 0 ? 1 : 0;
      per_expert[e] += n;
      assignments += n;
      local += dst == src ? n : 0;
    }
  }
  copy_loads_.resize(distinct);
  for (std::size_t i = 0; i < distinct; ++i) {
    const std::uint32_t e = touched[i];
    copy_loads_[i] = CopyLoad{static_cast<std::size_t>(owner[e]), e, per_expert[e]};
  }
  recorder_.metrics().record_routing(0, assignments, assignments - local);
}

sim::Time ExpertStage::run(int layer, sim::Time now, bool check_slowdowns, std::vector<sim::Time>& stage) {
  const auto E = static_cast<std::size_t>(model_.experts);
  if (check_slowdowns) {
    for (std::size_t g = 0; g < stage.size(); ++g) check_memo(g);
  }
  std::fill(stage.begin(), stage.end(), 0);
  // Per-copy times only for a provisioner (it bills them); a copy without tokens is 0.
  const bool per_copy = provisioner_ != nullptr;
  if (per_copy) copy_busy_.assign(static_cast<std::size_t>(gpus_) * E, 0);
  if (grouped_) {
    run_grouped(stage);
  } else {
    // Over the copies this layer has (one per expert without replicas), not every
    // (GPU, expert) slot; the memo answers 0 for 0 tokens, so no branch on them.
    for (const CopyLoad& c : copy_loads_) {
      const sim::Time t = expert_time(c.gpu, c.tokens);
      stage[c.gpu] += t;
      if (per_copy) copy_busy_[c.gpu * E + c.expert] = t;
    }
  }
  // A GPU whose copies were still loading when the dispatch landed starts late.
  const auto start_of = [&](int g) { return per_copy ? std::max(now, provisioner_->ready_at(g)) : now; };
  ServingMetrics& metrics = recorder_.metrics();
  sim::Time end = now;
  sim::Time slowest = 0;
  sim::Time fastest = stage.empty() ? 0 : stage.front();
  sim::Time total = 0;  // integer nanoseconds: the same sum in any order, and no spill of a double
  for (int g = 0; g < gpus_; ++g) {
    const sim::Time busy = stage[static_cast<std::size_t>(g)];
    recorder_.busy(g, busy);  // adding 0 for an idle GPU changes nothing
    end = std::max(end, start_of(g) + busy);
    slowest = std::max(slowest, busy);
    fastest = std::min(fastest, busy);
    total += busy;
  }
  if (recorder_.tracing()) {
    for (int g = 0; g < gpus_; ++g) {
      const sim::Time busy = stage[static_cast<std::size_t>(g)];
      if (busy == 0) continue;
      recorder_.span(static_cast<std::size_t>(g), fmt::format("experts L{}", layer), start_of(g), start_of(g) + busy);
    }
  }
  const auto sum = static_cast<double>(total);
  metrics.record_max_expert_time(slowest);
  metrics.record_expert_stage_spread(slowest - fastest, sim::to_seconds(total) / gpus_);
  if (sum > 0.0) metrics.record_layer_imbalance(layer, static_cast<double>(slowest) * gpus_ / sum);
  return end;
}

}  // namespace moesim::models
