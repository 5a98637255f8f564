// The rebalancer's first placement: made for the oracle's distribution when the
// predictor has one before anything ran, else for uniform loads.
#include <catch2/catch.hpp>

#include "models/catalog.h"
#include "policies/registry.h"
#include "policies/rebalancer.h"

using namespace moesim;
using namespace moesim::policies;

namespace {

struct Setup {
  models::MoeModel model = models::load_moe_model("mixtral-8x7b");
  models::ZipfRoutingSource routing{model, 1.5, sim::Rng(3)};
  std::unique_ptr<PlacementPolicy> eplb = make_placement("eplb", std::nullopt);  // one redundant slot per GPU
  PlacementContext context() const {
    PlacementContext c;
    c.model = &model;
    c.gpus = 8;
    return c;
  }
};

// The expert with the most copies in a layer (the first one on ties).
int most_replicated(const models::ExpertPlacement& p, int layer) {
  const auto& row = p.replicas[static_cast<std::size_t>(layer)];
  int best = 0;
  for (std::size_t e = 1; e < row.size(); ++e) {
    if (row[e].size() > row[static_cast<std::size_t>(best)].size()) best = static_cast<int>(e);
  }
  return best;
}

}  // namespace

TEST_CASE("with the oracle, the first placement is made for the routing's true distribution", "[policies][rebalancer]") {
  Setup s;
  auto oracle = make_predictor("oracle", std::nullopt, &s.routing);
  Rebalancer rebalancer(*s.eplb, *oracle, s.context(), {}, nullptr, nullptr);
  const models::ExpertPlacement first = rebalancer.initial();
  const auto truth = s.routing.expected_selections();
  for (int l = 0; l < s.model.moe_layer_count(); ++l) {
    // EPLB gives its 8 redundant slots to the hottest experts: the hottest of all gets one.
    const auto& row = truth[static_cast<std::size_t>(l)];
    const auto hottest = static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
    INFO("layer " << l);
    CHECK(first.replicas[static_cast<std::size_t>(l)][static_cast<std::size_t>(hottest)].size() >= 2);
    CHECK(most_replicated(first, l) == hottest);
  }
  PlacementContext expected = s.context();
  expected.loads = truth;
  CHECK(first == s.eplb->place(expected));
}

TEST_CASE("without a forecast, the first placement is made for uniform loads", "[policies][rebalancer]") {
  Setup s;
  auto last = make_predictor("last-value", std::nullopt, &s.routing);
  Rebalancer rebalancer(*s.eplb, *last, s.context(), {}, nullptr, nullptr);
  PlacementContext uniform = s.context();
  uniform.loads.assign(static_cast<std::size_t>(s.model.moe_layer_count()), std::vector<double>(8, 1.0));
  CHECK(rebalancer.initial() == s.eplb->place(uniform));
}
