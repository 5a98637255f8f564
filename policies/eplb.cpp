#include "policies/eplb.h"

#include <algorithm>
#include <fmt/format.h>
#include <numeric>
#include <stdexcept>

namespace moesim::policies::eplb {
namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("eplb: " + what);
}

std::vector<int> inverse(const std::vector<int>& perm) {
  std::vector<int> inv(perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) inv[static_cast<std::size_t>(perm[i])] = static_cast<int>(i);
  return inv;
}

// The hierarchical algorithm of eplb.py (rebalance_experts_hierarchical).
Result hierarchical(const Matrix& weight, int replicas, int groups, int nodes, int gpus) {
  const auto L = weight.size();
  const int E = static_cast<int>(weight[0].size());
  require(E % groups == 0, fmt::format("experts ({}) must be divisible by groups ({})", E, groups));
  require(groups % nodes == 0, fmt::format("groups ({}) must be divisible by nodes ({})", groups, nodes));
  require(gpus % nodes == 0, fmt::format("gpus ({}) must be divisible by nodes ({})", gpus, nodes));
  require(replicas % gpus == 0, fmt::format("replicas ({}) must be divisible by gpus ({})", replicas, gpus));
  require(replicas >= E, fmt::format("replicas ({}) must be at least the number of experts ({})", replicas, E));
  require((replicas / nodes) >= (E / nodes), "each node needs at least one slot per expert of its groups");
  const int group_size = E / groups;
  const int groups_per_node = groups / nodes;
  const int phy_per_gpu = replicas / gpus;
  const int log_per_node = E / nodes;
  const int phy_per_node = replicas / nodes;

  // Step 1: groups onto nodes; renumber experts node-major ("meta-logical").
  Matrix tokens_per_group(L, std::vector<double>(static_cast<std::size_t>(groups), 0.0));
  for (std::size_t l = 0; l < L; ++l) {
    for (int e = 0; e < E; ++e) tokens_per_group[l][static_cast<std::size_t>(e / group_size)] += weight[l][static_cast<std::size_t>(e)];
  }
  const Packing group_packing = balanced_packing(tokens_per_group, nodes);
  IndexMatrix log2mlog(L, std::vector<int>(static_cast<std::size_t>(E)));
  IndexMatrix mlog2log(L);
  for (std::size_t l = 0; l < L; ++l) {
    for (int e = 0; e < E; ++e) {
      const auto g = static_cast<std::size_t>(e / group_size);
      log2mlog[l][static_cast<std::size_t>(e)] =
          (group_packing.pack_index[l][g] * groups_per_node + group_packing.rank_in_pack[l][g]) * group_size + e % group_size;
    }
    mlog2log[l] = inverse(log2mlog[l]);
  }

  // Step 2: replicate within each node (rows = layer × node).
  Matrix tokens_per_mlog(L * static_cast<std::size_t>(nodes), std::vector<double>(static_cast<std::size_t>(log_per_node)));
  for (std::size_t l = 0; l < L; ++l) {
    for (int m = 0; m < E; ++m) {
      tokens_per_mlog[l * static_cast<std::size_t>(nodes) + static_cast<std::size_t>(m / log_per_node)]
                     [static_cast<std::size_t>(m % log_per_node)] = weight[l][static_cast<std::size_t>(mlog2log[l][static_cast<std::size_t>(m)])];
    }
  }
  const Replication rep = replicate_experts(tokens_per_mlog, phy_per_node);

  // Step 3: physical experts onto the node's GPUs, equal counts.
  Matrix tokens_per_phy(tokens_per_mlog.size(), std::vector<double>(static_cast<std::size_t>(phy_per_node)));
  for (std::size_t row = 0; row < tokens_per_mlog.size(); ++row) {
    for (int p = 0; p < phy_per_node; ++p) {
      const auto m = static_cast<std::size_t>(rep.phy2log[row][static_cast<std::size_t>(p)]);
      tokens_per_phy[row][static_cast<std::size_t>(p)] = tokens_per_mlog[row][m] / rep.logcnt[row][m];
    }
  }
  const Packing gpu_packing = balanced_packing(tokens_per_phy, gpus / nodes);

  Result result;
  result.phy2log.assign(L, std::vector<int>(static_cast<std::size_t>(replicas)));
  IndexMatrix phy_rank(L, std::vector<int>(static_cast<std::size_t>(replicas)));
  result.logcnt.assign(L, std::vector<int>(static_cast<std::size_t>(E)));
  for (std::size_t l = 0; l < L; ++l) {
    std::vector<int> mlogcnt(static_cast<std::size_t>(E));
    for (int node = 0; node < nodes; ++node) {
      const std::size_t row = l * static_cast<std::size_t>(nodes) + static_cast<std::size_t>(node);
      std::vector<int> phy2pphy(static_cast<std::size_t>(phy_per_node));
      for (int p = 0; p < phy_per_node; ++p) {
        phy2pphy[static_cast<std::size_t>(p)] =
            gpu_packing.pack_index[row][static_cast<std::size_t>(p)] * phy_per_gpu + gpu_packing.rank_in_pack[row][static_cast<std::size_t>(p)];
      }
      const std::vector<int> pphy2phy = inverse(phy2pphy);
      for (int pp = 0; pp < phy_per_node; ++pp) {
        const auto phy = static_cast<std::size_t>(pphy2phy[static_cast<std::size_t>(pp)]);
        const int mlog = rep.phy2log[row][phy] + node * log_per_node;
        const auto slot = static_cast<std::size_t>(node * phy_per_node + pp);
        result.phy2log[l][slot] = mlog2log[l][static_cast<std::size_t>(mlog)];
        phy_rank[l][slot] = rep.rank[row][phy];
      }
      for (int m = 0; m < log_per_node; ++m) {
        mlogcnt[static_cast<std::size_t>(node * log_per_node + m)] = rep.logcnt[row][static_cast<std::size_t>(m)];
      }
    }
    for (int e = 0; e < E; ++e) result.logcnt[l][static_cast<std::size_t>(e)] = mlogcnt[static_cast<std::size_t>(log2mlog[l][static_cast<std::size_t>(e)])];
  }

  // log2phy[l][e][rank] = physical slot, -1 padded to the largest replica count.
  result.log2phy.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    const int most = *std::max_element(result.logcnt[l].begin(), result.logcnt[l].end());
    result.log2phy[l].assign(static_cast<std::size_t>(E), std::vector<int>(static_cast<std::size_t>(most), -1));
    for (int s = 0; s < replicas; ++s) {
      result.log2phy[l][static_cast<std::size_t>(result.phy2log[l][static_cast<std::size_t>(s)])]
                    [static_cast<std::size_t>(phy_rank[l][static_cast<std::size_t>(s)])] = s;
    }
  }
  return result;
}

}  // namespace

Packing balanced_packing(const Matrix& weight, int packs) {
  Packing out;
  for (const auto& row : weight) {
    const int n = static_cast<int>(row.size());
    require(packs > 0 && n % packs == 0, fmt::format("{} items cannot be packed into {} equal packs", n, packs));
    const int cap = n / packs;
    std::vector<int> pack(static_cast<std::size_t>(n));
    std::vector<int> rank(static_cast<std::size_t>(n), 0);
    if (cap == 1) {
      std::iota(pack.begin(), pack.end(), 0);
    } else {
      std::vector<int> order(static_cast<std::size_t>(n));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return row[static_cast<std::size_t>(a)] > row[static_cast<std::size_t>(b)]; });
      std::vector<double> load(static_cast<std::size_t>(packs), 0.0);
      std::vector<int> count(static_cast<std::size_t>(packs), 0);
      for (int item : order) {
        int best = -1;
        for (int p = 0; p < packs; ++p) {
          if (count[static_cast<std::size_t>(p)] < cap && (best < 0 || load[static_cast<std::size_t>(p)] < load[static_cast<std::size_t>(best)])) best = p;
        }
        pack[static_cast<std::size_t>(item)] = best;
        rank[static_cast<std::size_t>(item)] = count[static_cast<std::size_t>(best)]++;
        load[static_cast<std::size_t>(best)] += row[static_cast<std::size_t>(item)];
      }
    }
    out.pack_index.push_back(std::move(pack));
    out.rank_in_pack.push_back(std::move(rank));
  }
  return out;
}

Replication replicate_experts(const Matrix& weight, int physical) {
  Replication out;
  for (const auto& row : weight) {
    const int logical = static_cast<int>(row.size());
    require(physical >= logical, fmt::format("{} physical experts cannot hold {} logical ones", physical, logical));
    std::vector<int> phy2log(static_cast<std::size_t>(physical));
    std::vector<int> rank(static_cast<std::size_t>(physical), 0);
    std::vector<int> count(static_cast<std::size_t>(logical), 1);
    std::iota(phy2log.begin(), phy2log.begin() + logical, 0);
    for (int i = logical; i < physical; ++i) {
      int best = 0;
      for (int e = 1; e < logical; ++e) {
        if (row[static_cast<std::size_t>(e)] / count[static_cast<std::size_t>(e)] >
            row[static_cast<std::size_t>(best)] / count[static_cast<std::size_t>(best)]) {
          best = e;
        }
      }
      phy2log[static_cast<std::size_t>(i)] = best;
      rank[static_cast<std::size_t>(i)] = count[static_cast<std::size_t>(best)]++;
    }
    out.phy2log.push_back(std::move(phy2log));
    out.rank.push_back(std::move(rank));
    out.logcnt.push_back(std::move(count));
  }
  return out;
}

Result rebalance_experts(const Matrix& weight, int replicas, int groups, int nodes, int gpus) {
  require(!weight.empty() && !weight[0].empty(), "the weight matrix is empty");
  for (const auto& row : weight) {
    require(row.size() == weight[0].size(), "every layer needs the same number of experts");
    for (double w : row) require(w >= 0.0, "expert loads must be non-negative");
  }
  require(groups > 0 && nodes > 0 && gpus > 0, "groups, nodes and gpus must be positive");
  if (groups % nodes == 0) return hierarchical(weight, replicas, groups, nodes, gpus);
  return hierarchical(weight, replicas, 1, 1, gpus);
}

}  // namespace moesim::policies::eplb
