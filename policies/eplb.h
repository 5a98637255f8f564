#pragma once
// A C++ port of DeepSeek's EPLB (github.com/deepseek-ai/EPLB, eplb.py at commit
// d52c72d, MIT): redundant experts are added to the heaviest experts (load split
// evenly across replicas), then physical experts are packed onto GPUs with equal
// counts by greedy longest-processing-time; the hierarchical variant first packs
// expert groups onto nodes. Matrices are row-major vectors of rows.
//
// Tie-breaking: balanced_packing orders items by descending weight with a stable
// sort (torch.sort is not stable, so the reference is only bit-exact on distinct
// weights) and picks the first pack of minimal load; replicate_experts picks the
// first expert of maximal weight/count (torch.max's documented first index).
#include <cstdint>
#include <vector>

namespace moesim::policies::eplb {

using Matrix = std::vector<std::vector<double>>;
using IndexMatrix = std::vector<std::vector<int>>;

struct Packing {
  IndexMatrix pack_index;    // [row][item] -> pack
  IndexMatrix rank_in_pack;  // [row][item] -> position within its pack
};
// Packs the n items of each row into m packs of n/m items each.
Packing balanced_packing(const Matrix& weight, int packs);

struct Replication {
  IndexMatrix phy2log;  // [row][physical] -> logical
  IndexMatrix rank;     // [row][physical] -> replica index of its logical expert
  IndexMatrix logcnt;   // [row][logical] -> replica count
};
// Adds physical experts until there are `physical`, each to the logical expert of
// largest weight per replica.
Replication replicate_experts(const Matrix& weight, int physical);

struct Result {
  IndexMatrix phy2log;                   // [layer][physical slot] -> logical expert
  std::vector<IndexMatrix> log2phy;      // [layer][logical][replica] -> physical slot (-1 padded)
  IndexMatrix logcnt;                    // [layer][logical] -> replica count
};

// rebalance_experts: hierarchical when groups % nodes == 0, else global (one group,
// one node). Physical slot s lives on GPU s / (replicas / gpus). Throws
// std::invalid_argument naming the violated constraint.
Result rebalance_experts(const Matrix& weight, int replicas, int groups, int nodes, int gpus);

}  // namespace moesim::policies::eplb
