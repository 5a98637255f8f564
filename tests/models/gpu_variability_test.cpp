#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "models/gpu_variability.h"
#include "sim/stats/tally.h"

using namespace moesim;
using namespace moesim::models;

TEST_CASE("GPU slowdowns are reproducible and independent of cluster size", "[models][variability]") {
  const GpuVariability v;
  const sim::RngStreams streams(7);
  const auto eight = v.draw_all(streams, 8);
  const auto sixty_four = v.draw_all(streams, 64);
  for (std::size_t g = 0; g < 8; ++g) {
    CHECK(eight[g].compute == sixty_four[g].compute);
    CHECK(eight[g].memory == sixty_four[g].memory);
  }
  CHECK(v.draw_all(sim::RngStreams(8), 8)[0].compute != eight[0].compute);
}

TEST_CASE("the default distribution has mean ~1, ~8% spread and ~3% slow outliers", "[models][variability]") {
  const GpuVariability v;
  const sim::RngStreams streams(1);
  const auto all = v.draw_all(streams, 20000);
  sim::Tally body;
  int outliers = 0;
  for (const GpuSlowdown& s : all) {
    // Memory slowdown follows compute at a quarter of the deviation.
    REQUIRE(s.memory == Approx(1.0 + 0.25 * (s.compute - 1.0)));
    if (s.compute >= 1.2 && s.compute <= 1.5 && std::abs(std::log(s.compute)) > 0.14) {
      ++outliers;  // beyond ~1.75 sigma of the lognormal body, inside the outlier band
    } else {
      body.add(s.compute);
    }
  }
  CHECK(body.mean() == Approx(1.0).margin(0.005));
  CHECK(std::sqrt(body.variance()) == Approx(0.08).epsilon(0.1));
  // Outlier draws land in [1.2, 1.5]; some lognormal draws do too (~1%), so allow for them.
  CHECK(static_cast<double>(outliers) / all.size() == Approx(0.03).margin(0.012));
}

TEST_CASE("per-GPU overrides win and 'none' gives nominal GPUs", "[models][variability]") {
  const auto v = parse_gpu_variability(JsonInput::parse(R"({"per_gpu": {"3": {"compute": 1.5, "memory": 1.1}}})", "v.json"));
  const sim::RngStreams streams(1);
  CHECK(v.draw(streams, 3).compute == 1.5);
  CHECK(v.draw(streams, 3).memory == 1.1);
  const auto none = parse_gpu_variability(JsonInput::parse(R"("none")", "v.json"));
  for (const GpuSlowdown& s : none.draw_all(streams, 16)) {
    CHECK(s.compute == 1.0);
    CHECK(s.memory == 1.0);
  }
  CHECK_THROWS_WITH(parse_gpu_variability(JsonInput::parse(R"({"spread": -0.1})", "v.json")),
                    Catch::Contains("v.json: $.spread"));
  CHECK_THROWS_WITH(parse_gpu_variability(JsonInput::parse(R"({"per_gpu": {"x": {"compute": 1}}})", "v.json")),
                    Catch::Contains("$.per_gpu.x"));
  CHECK_THROWS_WITH(parse_gpu_variability(JsonInput::parse(R"({"outlier_range": [1.5, 1.2]})", "v.json")),
                    Catch::Contains("$.outlier_range[1]"));
}

TEST_CASE("throttling drift spends the expected share of time throttled", "[models][variability]") {
  // Alternating renewal process: throttled share = D / (1/r + D).
  sim::Simulator sim;
  ThrottleDrift drift{60.0, 20.0, 1.5};  // one episode a minute on average, 20 s each
  ThrottleProcess throttle(sim, drift, std::vector<GpuSlowdown>(4), sim::RngStreams(3));
  double throttled = 0.0;
  double samples = 0.0;
  for (sim::Time t = sim::seconds(1); t <= sim::seconds(20000); t += sim::seconds(1)) {
    sim.run_until(t);
    for (const GpuSlowdown& s : throttle.current()) {
      throttled += s.compute == 1.5 ? 1.0 : 0.0;
      samples += 1.0;
    }
  }
  CHECK(throttled / samples == Approx(20.0 / (60.0 + 20.0)).margin(0.03));
  CHECK(throttle.episodes_started() == Approx(4 * 20000.0 / 80.0).epsilon(0.1));  // 1000 expected
}

TEST_CASE("power model: budgets from the efficiency draw, overrides relative to the nominal chip, echo reads back",
          "[models][variability][power]") {
  const auto v = parse_gpu_variability(JsonInput::parse(
      R"({"model": "power", "outlier_probability": 0, "per_gpu": {"1": {"power_budget": 0.6}}})", "v.json"));
  const sim::RngStreams streams(3);
  const auto all = v.draw_all(streams, 4000);
  CHECK(all[1].power_budget == Approx(0.6 / 1.14));
  CHECK(all[1].compute_bound() == Approx(std::cbrt(1.0 / 0.6)));
  sim::Tally log_slowdown;
  int throttled_more = 0;
  for (std::size_t g = 0; g < all.size(); ++g) {
    const GpuSlowdown& s = all[g];
    REQUIRE(s.compute == 1.0);
    REQUIRE(s.memory == 1.0);
    REQUIRE(s.reference_budget == Approx(1.0 / 1.14));
    // No chip runs compute-bound work faster than at the maximum clock.
    REQUIRE(s.compute_bound() >= 1.0 / std::cbrt(1.14) - 1e-12);
    if (g == 1) continue;
    // Throttled chips: time ∝ η^(1/3), so log time has sd σ_η / 3 = 0.08 where it is not clipped.
    if (s.power_budget < s.reference_budget) ++throttled_more;
    log_slowdown.add(std::log(s.compute_bound()));
  }
  // P(η > 1) = P(Z > σ_η / 2) = 0.452.
  CHECK(static_cast<double>(throttled_more) / 3999.0 == Approx(0.452).margin(0.025));
  // log time = max(ln η, −ln 1.14) / 3: sd 0.0576 (a 200,000-draw Monte Carlo of the
  // clipped normal); unclipped it would be σ_η / 3 = 0.08.
  CHECK(std::sqrt(log_slowdown.variance()) == Approx(0.0576).epsilon(0.06));
  // The echo is the same model.
  const auto back = parse_gpu_variability(JsonInput::parse(to_json(v).dump(), "echo.json"));
  const auto again = back.draw_all(streams, 8);
  for (std::size_t g = 0; g < 8; ++g) CHECK(again[g] == all[g]);
  // Keys of the other model are named, not ignored.
  CHECK_THROWS_WITH(parse_gpu_variability(JsonInput::parse(R"({"model": "power", "spread": 0.1})", "v.json")),
                    Catch::Contains("$.spread") && Catch::Contains("static variability model"));
  CHECK_THROWS_WITH(parse_gpu_variability(JsonInput::parse(R"({"compute_demand": 1.2})", "v.json")),
                    Catch::Contains("$.compute_demand") && Catch::Contains("power variability model"));
  CHECK_THROWS_WITH(parse_gpu_variability(JsonInput::parse(R"({"model": "power", "per_gpu": {"0": {"compute": 1.2}}})", "v.json")),
                    Catch::Contains("$.per_gpu.0") && Catch::Contains("power_budget"));
  CHECK_THROWS_WITH(parse_gpu_variability(JsonInput::parse(R"({"model": "thermal"})", "v.json")),
                    Catch::Contains("$.model"));
}
