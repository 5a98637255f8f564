// MoEless' pieces against hand computations: replica counts from the straggler cap,
// locality-first placement, forecasts (oracle exact, the error model's spread, a
// learned regression recovering a known linear map), and bad parameters.
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>

#include "policies/moeless/expert_scaling.h"
#include "policies/moeless/layer_predictors.h"
#include "policies/moeless/moeless.h"
#include "policies/registry.h"
#include "util/errors.h"

using namespace moesim;
using namespace moesim::policies;

TEST_CASE("replica counts: stragglers above mean × (1 + tau) get ceil(n / cap) replicas", "[policies][moeless]") {
  // mean 50, cap 60: 100 → 2, 130 → 3, the rest 1.
  const std::vector<double> n{100, 130, 50, 40, 30, 20, 30, 0};
  CHECK(replica_counts(n, 0.2, 8) == std::vector<int>{2, 3, 1, 1, 1, 1, 1, 1});
  CHECK(replica_counts(n, 0.2, 2) == std::vector<int>{2, 2, 1, 1, 1, 1, 1, 1});  // clamped
  // A per-replica floor above the cap: nothing is worth splitting.
  CHECK(replica_counts(n, 0.2, 8, 200.0) == std::vector<int>(8, 1));
  CHECK(replica_counts(std::vector<double>(4, 0.0), 0.2, 8) == std::vector<int>(4, 1));
}

TEST_CASE("placement: warm instances first, scale-out to the least-loaded free GPU, never two replicas on one GPU",
          "[policies][moeless]") {
  LayerPlacementInput in;
  in.predicted = {90, 30, 20, 10};
  in.replicas = {3, 1, 1, 1};
  in.free_slots = {1, 1, 0, 1};
  // Expert e is warm on GPU e only.
  in.live = [](int e, int g) { return e == g; };
  const auto placed = place_replicas(in);
  // Phase 1: every expert on its warm GPU (loads 30, 30, 20, 10). Phase 2: expert 0's
  // two further replicas (30 each) go to the least-loaded GPUs with a free slot and
  // no copy of it: GPU 3 (10), then GPU 1 (30; GPU 2 has no slot).
  CHECK(placed[0] == std::vector<int>{0, 3, 1});
  CHECK(placed[1] == std::vector<int>{1});
  CHECK(placed[2] == std::vector<int>{2});
  CHECK(placed[3] == std::vector<int>{3});
  // No free memory anywhere: replicas beyond the warm ones are dropped, not squeezed in.
  in.free_slots = {0, 0, 0, 0};
  CHECK(place_replicas(in)[0] == std::vector<int>{0});
  // An expert warm nowhere and no free slot still gets a home (the least-loaded GPU).
  in.live = [](int e, int g) { return e != 3 && e == g; };
  in.replicas = {1, 1, 1, 1};
  CHECK(place_replicas(in)[3] == std::vector<int>{3});
}

TEST_CASE("placement: an expert with one warm GPU keeps it even if a flexible heavier one could take it",
          "[policies][moeless]") {
  LayerPlacementInput in;
  in.predicted = {50, 40};
  in.replicas = {1, 1};
  in.free_slots = {0, 0};
  in.live = [](int e, int g) { return e == 0 ? true : g == 0; };  // expert 0 warm on both, expert 1 only on GPU 0
  const auto placed = place_replicas(in);
  CHECK(placed[1] == std::vector<int>{0});
  CHECK(placed[0] == std::vector<int>{1});
}

TEST_CASE("forecasts: the oracle is exact: the error model's relative error has mean |N(0, sigma_d)|", "[policies][moeless]") {
  LayerPredictorOptions o;
  o.layers = 4;
  o.experts = 8;
  o.horizon = 2;
  o.kind = "oracle";
  const ExpertCounts truth{100, 200, 300, 400, 500, 600, 700, 800};
  CHECK(make_layer_predictor(o, sim::Rng(1))->predict(0, 1, truth, truth) == std::vector<double>(truth.begin(), truth.end()));
  o.kind = "error-model";
  auto noisy = make_layer_predictor(o, sim::Rng(7));
  for (const int d : {1, 2}) {
    const double sigma = 0.10 + 0.05 * (d - 1);
    double sum = 0.0;
    int n = 0;
    for (int i = 0; i < 4000; ++i) {
      const auto p = noisy->predict(0, d, truth, truth);
      for (std::size_t e = 0; e < truth.size(); ++e, ++n) sum += std::abs(p[e] / static_cast<double>(truth[e]) - 1.0);
    }
    // E|N(0, σ)| = σ·sqrt(2/π); 32 000 samples put the mean within ~1%.
    CHECK(sum / n == Approx(sigma * std::sqrt(2.0 / M_PI)).epsilon(0.03));
  }
}

TEST_CASE("the learned forecast recovers a linear layer-to-layer map that history cannot", "[policies][moeless]") {
  // Layer 1's load is layer 0's shifted by one expert; layer 0's shares vary per iteration.
  LayerPredictorOptions o;
  o.layers = 2;
  o.experts = 4;
  o.horizon = 1;
  o.train_iterations = 50;
  o.kind = "learned";
  auto learned = make_layer_predictor(o, sim::Rng(1));
  o.kind = "last-value";
  auto last = make_layer_predictor(o, sim::Rng(1));
  sim::Rng rng(3);
  ForecastScore learned_score(1), last_score(1);
  for (int it = 0; it < 120; ++it) {
    ExpertCounts l0(4), l1(4);
    for (std::size_t e = 0; e < 4; ++e) l0[e] = 10 + static_cast<std::int64_t>(rng.uniform_int(90));
    for (std::size_t e = 0; e < 4; ++e) l1[(e + 1) % 4] = l0[e];
    if (it >= 60) {  // scored after training
      learned_score.add(learned->predict(0, 1, l0, l1), l1);
      last_score.add(last->predict(0, 1, l0, l1), l1);
    }
    for (auto* p : {learned.get(), last.get()}) {
      p->observe(0, l0);
      p->observe(1, l1);
    }
  }
  CHECK(learned_score.accuracy().share_mae < 0.005);
  CHECK(learned_score.accuracy().top_recall > 0.95);  // ties among random counts aside
  CHECK(last_score.accuracy().share_mae > 0.05);
}

TEST_CASE("ridge fit recovers known weights", "[policies][moeless]") {
  RidgeFit fit(3, 2);
  sim::Rng rng(5);
  for (int i = 0; i < 200; ++i) {
    Eigen::VectorXd x(3);
    x << rng.uniform01(), rng.uniform01(), 1.0;
    Eigen::VectorXd y(2);
    y << 2 * x[0] - x[1] + 0.5, 3 * x[1];
    fit.add(x, y);
  }
  REQUIRE(fit.solve(1e-9));
  Eigen::VectorXd x(3);
  x << 0.3, 0.7, 1.0;
  const Eigen::VectorXd y = fit.apply(x);
  CHECK(y[0] == Approx(2 * 0.3 - 0.7 + 0.5).margin(1e-6));
  CHECK(y[1] == Approx(2.1).margin(1e-6));
}

TEST_CASE("moeless parameters are checked by name", "[policies][moeless]") {
  auto params = [](const char* text) { return std::optional<JsonInput>(JsonInput::parse(text, "scenario.json")); };
  CHECK(is_provisioner("moeless"));
  CHECK_FALSE(is_provisioner("eplb"));
  PolicyParams learned("moeless", params(R"({"policy": "moeless", "predictor": "learned", "horizon": 3})"));
  CHECK(moeless_options(learned).predictor.horizon == 3);
  CHECK_THROWS_WITH(check_provisioner("moeless", params(R"({"policy": "moeless", "predictor": "crystal-ball"})")),
                    Catch::Contains("predictor") && Catch::Contains("error-model"));
  CHECK_THROWS_WITH(check_provisioner("moeless", params(R"({"policy": "moeless", "horizon": 0})")), Catch::Contains("horizon"));
  CHECK_THROWS_WITH(check_provisioner("moeless", params(R"({"policy": "moeless", "tau": -1})")), Catch::Contains("tau"));
  CHECK_THROWS_WITH(check_provisioner("moeless", params(R"({"policy": "moeless", "taux": 1})")), Catch::Contains("taux"));
}
