// The EPLB port against the published reference outputs (docs/policies.md): the README
// example (2 nodes) and vectors produced by the published eplb.py for one node.
#include <catch2/catch.hpp>

#include "policies/eplb.h"

using namespace moesim::policies::eplb;

namespace {
const Matrix kWeight = {{90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
                        {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
}

TEST_CASE("EPLB reproduces the README example exactly (16 replicas, 4 groups, 2 nodes, 8 GPUs)", "[policies][eplb]") {
  const Result r = rebalance_experts(kWeight, 16, 4, 2, 8);
  CHECK(r.phy2log[0] == std::vector<int>{5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1});
  CHECK(r.phy2log[1] == std::vector<int>{7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1});
  CHECK(r.logcnt[0] == std::vector<int>{1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 2, 1});
  CHECK(r.logcnt[1] == std::vector<int>{1, 2, 1, 1, 1, 2, 2, 1, 2, 1, 1, 1});
  // log2phy inverts phy2log: every replica of every expert points at a slot holding it.
  for (std::size_t l = 0; l < 2; ++l) {
    for (std::size_t e = 0; e < 12; ++e) {
      for (int rank = 0; rank < r.logcnt[l][e]; ++rank) {
        const int slot = r.log2phy[l][e][static_cast<std::size_t>(rank)];
        REQUIRE(slot >= 0);
        CHECK(r.phy2log[l][static_cast<std::size_t>(slot)] == static_cast<int>(e));
      }
    }
  }
}

TEST_CASE("EPLB single-node vectors from the published eplb.py (groups 4 or 1)", "[policies][eplb]") {
  for (int groups : {4, 1}) {
    const Result r = rebalance_experts(kWeight, 16, groups, 1, 8);
    CHECK(r.phy2log[0] == std::vector<int>{10, 6, 10, 7, 0, 2, 11, 4, 5, 9, 5, 4, 8, 3, 1, 1});
    CHECK(r.phy2log[1] == std::vector<int>{1, 10, 2, 4, 5, 11, 5, 0, 6, 7, 6, 3, 8, 8, 9, 7});
    CHECK(r.logcnt[0] == std::vector<int>{1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 2, 1});
    CHECK(r.logcnt[1] == std::vector<int>{1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1});
    // GPU loads max/mean as the spec reports them: 1.073 and 1.190.
    for (std::size_t l = 0; l < 2; ++l) {
      std::vector<double> gpu(8, 0.0);
      for (std::size_t s = 0; s < 16; ++s) {
        const auto e = static_cast<std::size_t>(r.phy2log[l][s]);
        gpu[s / 2] += kWeight[l][e] / r.logcnt[l][e];
      }
      double sum = 0, most = 0;
      for (double g : gpu) {
        sum += g;
        most = std::max(most, g);
      }
      CHECK(most / (sum / 8) == Approx(l == 0 ? 1.073 : 1.190).margin(0.0005));
    }
  }
}

TEST_CASE("EPLB building blocks: equal-count packing and replication by load per replica", "[policies][eplb]") {
  const Packing p = balanced_packing({{10, 9, 8, 1}}, 2);
  // 10 -> pack 0, 9 -> pack 1, 8 -> pack 1 (9 < 10), 1 -> pack 0 (the only one with room).
  CHECK(p.pack_index[0] == std::vector<int>{0, 1, 1, 0});
  CHECK(p.rank_in_pack[0] == std::vector<int>{0, 0, 1, 1});
  const Replication r = replicate_experts({{10, 4, 3}}, 5);
  // Slot 3: max(10/1, 4, 3) -> expert 0; slot 4: max(10/2=5, 4, 3) -> expert 0 again.
  CHECK(r.phy2log[0] == std::vector<int>{0, 1, 2, 0, 0});
  CHECK(r.rank[0] == std::vector<int>{0, 0, 0, 1, 2});
  CHECK(r.logcnt[0] == std::vector<int>{3, 1, 1});
}

TEST_CASE("EPLB rejects shapes its algorithm cannot handle, naming the constraint", "[policies][eplb]") {
  CHECK_THROWS_WITH(rebalance_experts(kWeight, 15, 4, 2, 8), Catch::Contains("replicas (15) must be divisible by gpus (8)"));
  CHECK_THROWS_WITH(rebalance_experts(kWeight, 8, 1, 1, 8), Catch::Contains("at least the number of experts"));
  CHECK_THROWS_WITH(rebalance_experts(kWeight, 16, 5, 1, 8), Catch::Contains("experts (12) must be divisible by groups (5)"));
  CHECK_THROWS_WITH(rebalance_experts({{1, -2}}, 2, 1, 1, 2), Catch::Contains("non-negative"));
}

TEST_CASE("EPLB breaks ties in index order, as eplb.py's sort and max do", "[policies][eplb]") {
  // Loads [4, 4, 2, 2] into 6 slots on 2 GPUs (one node, one group), by hand:
  //  replication: per-replica loads [4, 4, 2, 2] tie at experts 0 and 1 → the first, 0
  //    (torch's max returns the first maximum); then [2, 4, 2, 2] → 1:
  //    phy2log [0, 1, 2, 3, 0, 1], ranks [0, 0, 0, 0, 1, 1];
  //  packing: all six physical loads are 2, so the stable descending order is 0..5 and
  //    each goes to the least-loaded GPU with room, lower index first on ties:
  //    GPUs [0, 1, 0, 1, 0, 1], ranks in GPU [0, 0, 1, 1, 2, 2];
  //  slots = GPU × 3 + rank: GPU 0 holds physical 0, 2, 4 (experts 0, 2, 0), GPU 1
  //    physical 1, 3, 5 (experts 1, 3, 1).
  const Result r = rebalance_experts({{4, 4, 2, 2}}, 6, 1, 1, 2);
  CHECK(r.phy2log[0] == std::vector<int>{0, 2, 0, 1, 3, 1});
  CHECK(r.logcnt[0] == std::vector<int>{2, 2, 1, 1});
  CHECK(r.log2phy[0] == std::vector<std::vector<int>>{{0, 2}, {3, 5}, {1, -1}, {4, -1}});
}
