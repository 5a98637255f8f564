#pragma once
// A MoE layer's expert stage: the layer's routed tokens are assigned to expert
// copies (an expert with several copies has its tokens split by the dispatch
// rule), which gives the rows each GPU pair exchanges in the all-to-all; then every
// GPU runs its copies back to back (or, `grouped`, as one grouped-GEMM kernel), and
// the stage ends when the slowest GPU is done (with a provisioner, each GPU starts
// once its copies are ready).
#include <cstdint>
#include <vector>

#include "models/gpu_variability.h"
#include "models/layer_costs.h"
#include "models/moe_model.h"
#include "models/serving/expert_provisioner.h"
#include "models/serving/replica_dispatch.h"
#include "models/serving/stage_recorder.h"
#include "models/workload/row_support.h"

namespace moesim::models {

// What the engine knows about a layer besides its counts, so that assign() can skip
// work: each expert's GPU when every expert has one copy (kept between iterations),
// and the experts each row of MoE layer `moe_layer` touched.
struct LayerHints {
  const std::vector<int>* single_owner = nullptr;
  const RowSupport* support = nullptr;
  std::size_t moe_layer = 0;
};

class ExpertStage {
 public:
  // `dispatch` splits tokens among replicas (may be null when no expert has two
  // copies); with `provisioner`, per-copy times are kept for its bill and GPUs
  // start when their copies are ready (a provisioner's copies are separate functions,
  // so not with `grouped`).
  ExpertStage(const MoeModel& model, const LayerCosts& costs, const std::vector<GpuSlowdown>& slowdowns,
              StageRecorder& recorder, ReplicaDispatch* dispatch, const ExpertProvisioner* provisioner,
              bool grouped = false);

  // Assigns a layer's routed tokens (counts[src][expert]) to the copies in
  // `replicas`; fills pair_tokens() and the tokens per expert. `hints` give the same
  // result with less work.
  void assign(const std::vector<std::vector<int>>& replicas, const std::vector<std::vector<std::int64_t>>& counts,
              std::vector<std::int64_t>& expert_tokens, const LayerHints& hints = {});
  // Rows sent from GPU src to GPU dst by the last assign(): [src * gpus + dst].
  const std::vector<std::int64_t>& pair_tokens() const { return pair_tokens_; }

  // When the layer's experts, whose tokens landed at `dispatched`, are done on the
  // slowest GPU. `check_slowdowns`: whether the GPUs' slowdowns may have changed
  // since the last layer (the memoised times are then checked first).
  sim::Time run(int layer, sim::Time dispatched, bool check_slowdowns, std::vector<sim::Time>& stage);
  // With a provisioner: per (GPU, expert) compute of the last layer run.
  const std::vector<sim::Time>& copy_busy() const { return copy_busy_; }

 private:
  // assign() when every expert has one copy (the common static case): no split to
  // make, so the sums run over plain integer arrays.
  void assign_to_single_copies(const int* owner, const std::vector<std::vector<std::int64_t>>& counts,
                               std::vector<std::int64_t>& expert_tokens);
  // The same over the experts the rows list, when every row is sparse: a decode
  // step touches ~10 of 128 experts per GPU. Copies without tokens are left out of
  // copy_loads_ (their time is 0 either way).
  void assign_listed_to_single_copies(const int* owner, const std::vector<std::vector<std::int64_t>>& counts,
                                      const RowSupport& support, std::size_t moe_layer,
                                      std::vector<std::int64_t>& expert_tokens);
  void check_memo(std::size_t gpu);
  sim::Time expert_time(std::size_t gpu, std::int64_t tokens);
  // Per GPU: its copies with tokens as one grouped kernel (grouped_).
  void run_grouped(std::vector<sim::Time>& stage);

  const MoeModel& model_;
  const LayerCosts& costs_;
  const std::vector<GpuSlowdown>& slowdowns_;
  StageRecorder& recorder_;
  ReplicaDispatch* dispatch_;
  const ExpertProvisioner* provisioner_;
  bool grouped_;
  int gpus_;
  std::vector<std::int64_t> pair_tokens_;        // rows sent [src * gpus + dst]
  std::vector<std::int64_t> share_;              // dispatch scratch
  std::vector<int> owner_;                       // single copies: expert -> GPU
  std::vector<const std::int64_t*> source_rows_;  // single copies: counts[src].data()
  std::vector<std::uint32_t> touched_;            // listed rows: the layer's experts with tokens
  // The current layer's expert copies and the tokens each received: every copy
  // without replicas, else those given tokens (GPU-major).
  struct CopyLoad {
    std::size_t gpu = 0;
    std::size_t expert = 0;
    std::int64_t tokens = 0;
  };
  std::vector<CopyLoad> copy_loads_;
  std::vector<std::int64_t> copy_tokens_;  // with replicas: [gpu * experts + expert]
  std::vector<sim::Time> copy_busy_;       // with a provisioner: [gpu * experts + expert]
  std::vector<std::int64_t> group_experts_, group_tokens_;  // grouped: per GPU
  // Expert FFN time per (GPU, token count) below kMemoTokens: decode batches ask for
  // the same small counts thousands of times. The memo holds for the GPU's slowdown
  // it was computed at (throttling episodes change it mid-run).
  static constexpr std::int64_t kMemoTokens = 256;
  std::vector<sim::Time> memo_;  // [gpu * kMemoTokens + tokens], -1 = not yet
  std::vector<GpuSlowdown> memo_slowdown_;
};

}  // namespace moesim::models
