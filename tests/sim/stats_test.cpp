#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <vector>

#include "sim/rng.h"
#include "sim/stats/confidence.h"
#include "sim/stats/quantile_sketch.h"
#include "sim/stats/tally.h"
#include "sim/stats/time_weighted.h"

using namespace moesim::sim;

TEST_CASE("tally equals the two-pass mean and sample variance", "[sim][stats]") {
  const std::vector<double> xs{2, 4, 4, 4, 5, 5, 7, 9};
  Tally t;
  for (double x : xs) t.add(x);
  CHECK(t.count() == 8);
  CHECK(t.mean() == Approx(5.0));
  CHECK(t.variance() == Approx(32.0 / 7.0));
  CHECK(t.min() == 2);
  CHECK(t.max() == 9);
}

TEST_CASE("time-weighted average of a step function", "[sim][stats]") {
  TimeWeighted q(0, 0.0);
  q.set(10, 2.0);  // 0 on [0,10)
  q.set(30, 1.0);  // 2 on [10,30)
  q.set(40, 0.0);  // 1 on [30,40)
  CHECK(q.integral(50) == Approx(50.0));
  CHECK(q.mean(50) == Approx(1.0));
  q.reset(40);  // warm-up deletion keeps the current value
  q.set(60, 4.0);
  CHECK(q.mean(80) == Approx(2.0));  // 0 on [40,60), 4 on [60,80)
}

TEST_CASE("streaming quantiles stay within 1% of exact ones on 10^6 heavy-tailed samples", "[sim][stats]") {
  Rng rng(2024);
  struct Case {
    const char* name;
    std::function<double()> draw;
  };
  const std::vector<Case> cases{
      {"pareto(1, 1.1)", [&] { return rng.pareto(1.0, 1.1); }},
      {"lognormal(0, 2.5)", [&] { return rng.lognormal(0.0, 2.5); }},
      {"exponential ns latencies", [&] { return std::round(rng.exponential(1.0 / 2e6)); }},
  };
  for (const Case& c : cases) {
    QuantileSketch sketch;
    std::vector<double> exact(1000000);
    for (double& x : exact) {
      x = c.draw();
      sketch.add(x);
    }
    std::sort(exact.begin(), exact.end());
    for (double q : {0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0}) {
      const double truth = exact[static_cast<std::size_t>(std::floor(q * (exact.size() - 1)))];
      INFO(c.name << " q=" << q << " exact " << truth << " sketch " << sketch.quantile(q));
      if (truth == 0.0) {
        CHECK(sketch.quantile(q) == 0.0);
      } else {
        CHECK(std::abs(sketch.quantile(q) - truth) / truth <= 0.01);
      }
    }
    CHECK(sketch.bucket_count() <= 4096);
    CHECK_FALSE(sketch.collapsed());
  }
}

TEST_CASE("quantile sketch merges, bounds memory and rejects bad values", "[sim][stats]") {
  QuantileSketch a;
  QuantileSketch b;
  QuantileSketch all;
  for (int i = 1; i <= 1000; ++i) {
    (i % 2 == 0 ? a : b).add(i);
    all.add(i);
  }
  a.merge(b);
  CHECK(a.count() == 1000);
  for (double q : {0.1, 0.5, 0.9}) CHECK(a.quantile(q) == all.quantile(q));
  QuantileSketch small(0.01, 16);
  double largest = 0.0;
  for (double x = 1; x < 1e9; x *= 1.5) {
    small.add(x);
    largest = x;
  }
  CHECK(small.bucket_count() <= 16);
  CHECK(small.collapsed());
  CHECK(std::abs(small.quantile(1.0) - largest) / largest <= 0.01);  // the top keeps its accuracy
  CHECK_THROWS_AS(a.add(-1.0), std::invalid_argument);
  CHECK_THROWS_AS(a.add(std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS(a.quantile(1.5), std::invalid_argument);
  CHECK(QuantileSketch().quantile(0.5) == 0.0);
}

TEST_CASE("quantile sketch buckets repeated values as it buckets them once each", "[sim][stats]") {
  // Integer-nanosecond durations, many repeated and many sharing a cache slot: a
  // sketch fed them in one stream (its key cache hit and overwritten) against one
  // built from single-value sketches (every key computed afresh), merged.
  Rng rng(9);
  std::vector<double> pool;
  for (int i = 0; i < 200; ++i) pool.push_back(std::floor(1e3 + rng.uniform01() * 1e7));
  QuantileSketch streamed;
  QuantileSketch merged;
  for (int i = 0; i < 20000; ++i) {
    const double v = pool[static_cast<std::size_t>(rng.uniform_int(pool.size()))];
    streamed.add(v);
    QuantileSketch one;
    one.add(v);
    merged.merge(one);
  }
  for (int q = 0; q <= 100; ++q) CHECK(streamed.quantile(q / 100.0) == merged.quantile(q / 100.0));
  CHECK(streamed.bucket_count() == merged.bucket_count());
}

TEST_CASE("Student-t intervals use the exact t quantile", "[sim][stats]") {
  // Tabulated: t(0.975, 9) = 2.262157, t(0.995, 4) = 4.604095.
  CHECK(student_t_critical(0.95, 9) == Approx(2.262157).epsilon(1e-6));
  CHECK(student_t_critical(0.99, 4) == Approx(4.604095).epsilon(1e-6));
  const std::vector<double> xs{10, 12, 11, 13, 9, 10, 12, 11, 10, 12};
  const ConfidenceInterval ci = student_t_interval(xs, 0.95);
  // mean 11, sample sd 1.2472191, half width = 2.262157 * sd / sqrt(10)
  CHECK(ci.mean == Approx(11.0));
  CHECK(ci.half_width == Approx(2.262157 * 1.2472191 / std::sqrt(10.0)).epsilon(1e-6));
  CHECK(ci.contains(11.5));
  CHECK_FALSE(ci.contains(13.0));
  CHECK_THROWS_AS(student_t_interval({1.0}), std::invalid_argument);
}

TEST_CASE("batch means cover the mean of an AR(1) process", "[sim][stats]") {
  // x_t = 0.9 x_{t-1} + e_t has mean 0 but strong correlation: naive i.i.d.
  // intervals are far too narrow, batch means are not.
  Rng rng(3);
  std::vector<double> xs(200000);
  double x = 0.0;
  for (double& v : xs) v = x = 0.9 * x + rng.normal();
  const ConfidenceInterval ci = batch_means_interval(xs, 20, 0.99);
  CHECK(ci.contains(0.0));
  CHECK_THROWS_AS(batch_means_interval(xs, 1), std::invalid_argument);
}

TEST_CASE("MSER-5 deletes the initial transient", "[sim][stats]") {
  // 1000 observations decaying from 50 to steady noise around 10, then 9000 steady.
  Rng rng(4);
  std::vector<double> xs;
  for (int i = 0; i < 10000; ++i) xs.push_back(10.0 + 40.0 * std::exp(-i / 150.0) + rng.normal(0.0, 1.0));
  const std::size_t cut = mser5_truncation(xs);
  CHECK(cut >= 400);
  CHECK(cut <= 2000);
  std::vector<double> steady(10000);
  for (double& v : steady) v = rng.normal(10.0, 1.0);
  CHECK(mser5_truncation(steady) < 1000);
}
