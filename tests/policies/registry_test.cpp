// Policies by name: listing, unknown names, parameter errors; dispatch rules and
// load predictors against hand-computed values.
#include <catch2/catch.hpp>

#include "policies/registry.h"
#include "util/errors.h"

using namespace moesim;
using namespace moesim::policies;

TEST_CASE("the registry lists every kind and rejects unknown names with the registered ones", "[policies][registry]") {
  CHECK(policy_names("placement") == std::vector<std::string>{"static-contiguous", "static-round-robin", "eplb", "vibe"});
  CHECK(policy_names("predictor") == std::vector<std::string>{"last-value", "ewma", "window-mean", "oracle"});
  CHECK(policy_names("dispatch").size() == 3);
  CHECK_THROWS_WITH(make_placement("lina", std::nullopt),
                    Catch::Contains("unknown placement policy 'lina'") && Catch::Contains("eplb, vibe"));
  const auto json = JsonInput::parse(R"({"policy": "lstm"})", "s.json");
  CHECK_THROWS_WITH(make_predictor("lstm", json), Catch::Contains("s.json: $.policy") && Catch::Contains("last-value, ewma"));
}

TEST_CASE("policy parameters are range-checked and unknown ones named", "[policies][registry]") {
  const auto bad_window = JsonInput::parse(R"({"policy": "window-mean", "window": 0})", "s.json");
  CHECK_THROWS_WITH(make_predictor("window-mean", bad_window),
                    Catch::Contains("$.window") && Catch::Contains("policy 'window-mean': parameter window must be at least 1"));
  const auto bad_alpha = JsonInput::parse(R"({"policy": "ewma", "alpha": 1.5})", "s.json");
  CHECK_THROWS_WITH(make_predictor("ewma", bad_alpha), Catch::Contains("alpha must be in"));
  const auto typo = JsonInput::parse(R"({"policy": "eplb", "redundant": 2})", "s.json");
  CHECK_THROWS_WITH(make_placement("eplb", typo),
                    Catch::Contains("policy 'eplb' has no parameter 'redundant'") && Catch::Contains("redundant_per_gpu"));
}

TEST_CASE("dispatch rules split tokens exactly", "[policies][dispatch]") {
  const std::vector<double> speed{1.0, 2.0, 1.0, 1.0};
  auto split = [&](const std::string& rule, std::int64_t tokens, int src, std::vector<std::int64_t> gpu_tokens) {
    auto d = make_dispatch(rule, std::nullopt, speed);
    std::vector<std::int64_t> out(2, 0);
    d->split(tokens, src, {0, 1}, gpu_tokens, out);
    return out;
  };
  CHECK(split("even", 10, 0, {0, 0, 0, 0}) == std::vector<std::int64_t>{5, 5});
  CHECK(split("even", 11, 0, {0, 0, 0, 0}) == std::vector<std::int64_t>{6, 5});  // the remainder rotates with the source
  CHECK(split("even", 11, 1, {0, 0, 0, 0}) == std::vector<std::int64_t>{5, 6});
  CHECK(split("least-loaded", 10, 0, {8, 2, 0, 0}) == std::vector<std::int64_t>{2, 8});  // both end at 10
  CHECK(split("speed-weighted", 9, 0, {0, 0, 0, 0}) == std::vector<std::int64_t>{3, 6});
  CHECK(split("speed-weighted", 10, 0, {0, 0, 0, 0}) == std::vector<std::int64_t>{3, 7});  // 3.33 / 6.67: the larger remainder
}

TEST_CASE("load predictors forecast and score themselves by hand", "[policies][predictors]") {
  const Loads a{{30, 10}};
  const Loads b{{10, 30}};
  auto last = make_predictor("last-value", std::nullopt);
  auto ewma = make_predictor("ewma", JsonInput::parse(R"({"policy": "ewma", "alpha": 0.5})", "s"));
  auto window = make_predictor("window-mean", JsonInput::parse(R"({"policy": "window-mean", "window": 2})", "s"));
  for (auto* p : {last.get(), ewma.get(), window.get()}) {
    p->set_top_h(1);
    CHECK(p->predict().empty());
    p->observe(a);
    p->observe(b);
  }
  CHECK(last->predict() == Loads{{10, 30}});
  CHECK(ewma->predict() == Loads{{20, 20}});
  CHECK(window->predict() == Loads{{20, 20}});
  // Scored once (b against the forecast a): shares 0.75/0.25 vs 0.25/0.75 -> MAE 0.5; top-1 missed.
  CHECK(last->accuracy().scored == 1);
  CHECK(last->accuracy().share_mae == Approx(0.5));
  CHECK(last->accuracy().top_recall == 0.0);
}

namespace {
// A routing source that states a fixed distribution (or none).
class StatedRouting final : public models::RoutingSource {
 public:
  explicit StatedRouting(Loads truth) : truth_(std::move(truth)) {}
  std::string label() const override { return "stated"; }
  void route(const models::BatchSpans&, models::RoutingCounts& counts) override { counts.clear(); }
  Loads expected_selections() const override { return truth_; }

 private:
  Loads truth_;
};
}  // namespace

TEST_CASE("the oracle predictor forecasts the source's distribution from the start and scores its noise", "[policies][predictors]") {
  StatedRouting source({{0.75, 0.25}});
  auto oracle = make_predictor("oracle", std::nullopt, &source);
  oracle->set_top_h(1);
  CHECK(oracle->predict() == Loads{{0.75, 0.25}});  // before anything is observed
  oracle->observe({{60, 40}});                      // shares 0.6 / 0.4: MAE 0.15, top-1 hit
  CHECK(oracle->predict() == Loads{{0.75, 0.25}});  // observing does not move it
  CHECK(oracle->accuracy().scored == 1);
  CHECK(oracle->accuracy().share_mae == Approx(0.15));
  CHECK(oracle->accuracy().top_recall == 1.0);
  StatedRouting silent({});
  CHECK_THROWS_WITH(make_predictor("oracle", std::nullopt, &silent)->predict(),
                    Catch::Contains("predictor 'oracle'") && Catch::Contains("stated"));
  const auto extra = JsonInput::parse(R"({"policy": "oracle", "window": 3})", "s.json");
  CHECK_THROWS_WITH(make_predictor("oracle", extra, &source), Catch::Contains("policy 'oracle' has no parameter 'window'"));
}
