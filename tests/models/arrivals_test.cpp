// Synthetic arrival processes against their closed forms: renewal mean and CV,
// and the MMPP's long-run rate and asymptotic index of dispersion.
#include <catch2/catch.hpp>
#include <cmath>

#include "models/workload/arrivals.h"
#include "sim/stats/tally.h"

using namespace moesim;
using namespace moesim::models;

namespace {

ArrivalSpec synthetic(std::string kind) {
  ArrivalSpec a;
  a.kind = std::move(kind);
  a.input.mean = 100;
  a.output.mean = 10;
  return a;
}

// Gaps (seconds) of n arrivals.
std::vector<double> gaps(const ArrivalSpec& a, int n, std::uint64_t seed) {
  auto stream = open_arrivals(a, sim::Rng(seed));
  std::vector<double> out;
  double last = 0.0;
  for (int i = 0; i < n; ++i) {
    const double t = sim::to_seconds(stream->next()->at);
    out.push_back(t - last);
    last = t;
  }
  return out;
}

std::pair<double, double> mean_cv(const std::vector<double>& x) {
  sim::Tally t;
  for (double v : x) t.add(v);
  return {t.mean(), std::sqrt(t.variance()) / t.mean()};
}

}  // namespace

TEST_CASE("Poisson and Gamma renewal arrivals have the requested mean gap and CV", "[models][arrivals]") {
  ArrivalSpec poisson = synthetic("poisson");
  poisson.rate_per_s = 4.0;
  const auto [pm, pcv] = mean_cv(gaps(poisson, 200000, 1));
  CHECK(pm == Approx(0.25).epsilon(0.01));
  CHECK(pcv == Approx(1.0).epsilon(0.01));
  for (double cv : {0.5, 2.0, 4.0}) {
    ArrivalSpec gamma = synthetic("gamma");
    gamma.rate_per_s = 4.0;
    gamma.cv = cv;
    const auto [m, c] = mean_cv(gaps(gamma, 400000, 2));
    CHECK(m == Approx(0.25).epsilon(0.02));
    CHECK(c == Approx(cv).epsilon(0.03));
  }
}

TEST_CASE("a synthetic process ends where its next arrival would leave the clock, not before", "[models][arrivals][reliability]") {
  // At 1e-6 per second the process crosses 2.8e9 s after ~2,800 arrivals. A gap of
  // more than 20 mean gaps (2e7 s) has probability e^-20, so the last arrival kept
  // lies within 2e7 s of the limit unless the stream ends early.
  for (const char* kind : {"poisson", "gamma"}) {
    ArrivalSpec a = synthetic(kind);
    a.rate_per_s = 1e-6;
    a.cv = 0.5;  // gamma: a lighter tail than the exponential's
    auto stream = open_arrivals(a, sim::Rng(7));
    double last = 0.0;
    int arrivals = 0;
    while (const auto next = stream->next()) {
      const double t = sim::to_seconds(next->at);
      REQUIRE(t >= last);
      last = t;
      REQUIRE(++arrivals < 100000);
    }
    CHECK(last <= 2.8e9);
    CHECK(last >= 2.8e9 - 2e7);
    CHECK_FALSE(stream->next().has_value());
  }
  // MMPP states that all but never arrive: an arrival in the 1-ns visits to the
  // 1e-8-per-second state has probability ~1e-17 per visit, so without the stop at
  // the clock's end the stream switched states without end.
  ArrivalSpec rare = synthetic("mmpp");
  rare.states = {{1e-8, 1e-9}, {0.0, 1e8}};
  CHECK_FALSE(open_arrivals(rare, sim::Rng(3))->next().has_value());
}

TEST_CASE("MMPP: long-run rate and index of dispersion match the closed forms", "[models][arrivals]") {
  ArrivalSpec a = synthetic("mmpp");
  a.states = {{20.0, 2.0}, {2.0, 8.0}};  // bursts of 20 req/s for ~2 s, lulls of 2 req/s for ~8 s
  CHECK(a.mean_rate_per_s() == Approx((20.0 * 2 + 2.0 * 8) / 10.0));
  // Counts in windows much longer than the dwell times.
  const double window = 500.0;
  const int windows = 400;
  auto stream = open_arrivals(a, sim::Rng(3));
  std::vector<double> counts(windows, 0.0);
  while (true) {
    const double t = sim::to_seconds(stream->next()->at);
    if (t >= window * windows) break;
    counts[static_cast<std::size_t>(t / window)] += 1.0;
  }
  sim::Tally c;
  for (double n : counts) c.add(n);
  CHECK(c.mean() / window == Approx(a.mean_rate_per_s()).epsilon(0.02));
  // Asymptotic IDC of a 2-state MMPP (Fischer & Meier-Hellstern, "The MMPP cookbook", 1993):
  // 1 + 2 r1 r2 (λ1 − λ2)² / ((r1 + r2)² (λ1 r2 + λ2 r1)), r_i = 1 / dwell_i.
  const double r1 = 0.5, r2 = 0.125, l1 = 20.0, l2 = 2.0;
  const double idc = 1.0 + 2.0 * r1 * r2 * (l1 - l2) * (l1 - l2) / ((r1 + r2) * (r1 + r2) * (l1 * r2 + l2 * r1));
  CHECK(c.variance() / c.mean() == Approx(idc).epsilon(0.15));  // 400 windows: ~7% standard error
  CHECK(idc > 10.0);  // the check above is far from Poisson's 1
}

TEST_CASE("arrivals JSON: kinds, required fields and errors with their path", "[models][arrivals]") {
  auto parse = [](const std::string& text) { return parse_arrivals(JsonInput::parse(text, "s.json")); };
  const std::string lengths = R"("input_tokens": {"mean": 10}, "output_tokens": {"mean": 5})";
  CHECK(parse(R"({"kind": "gamma", "rate_per_s": 2, "cv": 3, )" + lengths + "}").cv == 3.0);
  CHECK_THROWS_WITH(parse(R"({"kind": "gamma", "rate_per_s": 2, )" + lengths + "}"), Catch::Contains("cv"));
  CHECK_THROWS_WITH(parse(R"({"kind": "mmpp", "states": [{"rate_per_s": 1, "mean_dwell_s": 1}], )" + lengths + "}"),
                    Catch::Contains("at least 2 states"));
  CHECK_THROWS_WITH(parse(R"({"kind": "mmpp", "states": [{"rate_per_s": 1, "mean_dwell_s": 0}, {"rate_per_s": 1, "mean_dwell_s": 1}], )" +
                          lengths + "}"),
                    Catch::Contains("$.states[0].mean_dwell_s"));
  CHECK_THROWS_WITH(parse(R"({"kind": "weibull", "rate_per_s": 2, )" + lengths + "}"),
                    Catch::Contains("$.kind: unknown value 'weibull' (known: poisson, gamma, mmpp, trace)"));
  CHECK_THROWS_WITH(parse(R"({"kind": "trace", "path": "a.csv", "format": "parquet"})"),
                    Catch::Contains("$.format: unknown value 'parquet' (known: auto, azure-llm-2023, mooncake)"));
  CHECK(parse(R"({"kind": "mmpp", "states": [{"rate_per_s": 0, "mean_dwell_s": 1}, {"rate_per_s": 4, "mean_dwell_s": 3}], )" +
              lengths + "}")
            .mean_rate_per_s() == Approx(3.0));
}
