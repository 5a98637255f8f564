// Random streams: reproducibility, independence from creation order, and the
// distributions against their exact CDFs (Kolmogorov-Smirnov) and moments.
#include <algorithm>
#include <boost/math/distributions/gamma.hpp>
#include <boost/math/distributions/lognormal.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/pareto.hpp>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <vector>

#include "sim/alias_table.h"
#include "sim/rng.h"

using namespace moesim::sim;

namespace {

// KS statistic of n samples against a continuous CDF.
double ks_statistic(std::vector<double> xs, const std::function<double(double)>& cdf) {
  std::sort(xs.begin(), xs.end());
  const double n = static_cast<double>(xs.size());
  double d = 0.0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double f = cdf(xs[i]);
    d = std::max({d, std::abs(f - static_cast<double>(i) / n), std::abs(f - static_cast<double>(i + 1) / n)});
  }
  return d;
}

// Critical value of the KS statistic at the 0.1% level (asymptotic): 1.949 / sqrt(n).
double ks_critical(std::size_t n) { return 1.949 / std::sqrt(static_cast<double>(n)); }

template <class Draw>
std::vector<double> draw(Draw d, std::size_t n) {
  std::vector<double> xs(n);
  for (auto& x : xs) x = d();
  return xs;
}

}  // namespace

TEST_CASE("named streams are reproducible and independent of creation order", "[sim][rng]") {
  const RngStreams streams(123);
  Rng a1 = streams.stream("gpu/0");
  Rng b1 = streams.stream("gpu/1");
  // Creating more streams, in another order, changes nothing for existing names.
  Rng c = streams.stream("gpu/2");
  Rng b2 = streams.stream("gpu/1");
  Rng a2 = streams.stream("gpu/0");
  (void)c.next_u64();
  for (int i = 0; i < 100; ++i) {
    REQUIRE(a1.next_u64() == a2.next_u64());
    REQUIRE(b1.next_u64() == b2.next_u64());
  }
  CHECK(streams.stream("gpu/0").next_u64() != streams.stream("gpu/1").next_u64());
  CHECK(RngStreams(124).stream("gpu/0").next_u64() != streams.stream("gpu/0").next_u64());
  CHECK(streams.stream("rep", 0).next_u64() != streams.stream("rep", 1).next_u64());
}

TEST_CASE("SplitMix64 and FNV-1a match their published reference values", "[sim][rng]") {
  // splitmix64 from state 0 (Vigna's splitmix64.c); FNV-1a 64 test vectors (Noll).
  std::uint64_t state = 0;
  CHECK(splitmix64(state) == 0xe220a8397b1dcdafULL);
  CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
}

TEST_CASE("uniform_int is unbiased (chi-square)", "[sim][rng]") {
  Rng rng(5);
  constexpr int kBins = 7;
  constexpr int kDraws = 700000;
  std::vector<int> count(kBins, 0);
  for (int i = 0; i < kDraws; ++i) ++count[rng.uniform_int(kBins)];
  double chi2 = 0.0;
  const double expected = static_cast<double>(kDraws) / kBins;
  for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
  CHECK(chi2 < 22.46);  // chi-square 0.1% critical value, 6 degrees of freedom
  CHECK_THROWS_AS(rng.uniform_int(0), std::invalid_argument);
}

TEST_CASE("continuous distributions match their CDFs", "[sim][rng]") {
  constexpr std::size_t n = 200000;
  Rng rng(99);
  SECTION("uniform") {
    CHECK(ks_statistic(draw([&] { return rng.uniform01(); }, n), [](double x) { return x; }) < ks_critical(n));
  }
  SECTION("exponential (ziggurat, including its tail)") {
    const auto xs = draw([&] { return rng.exponential(2.0); }, n);
    CHECK(ks_statistic(xs, [](double x) { return 1.0 - std::exp(-2.0 * x); }) < ks_critical(n));
    const double beyond = static_cast<double>(std::count_if(xs.begin(), xs.end(), [](double x) { return x > 3.0; }));
    CHECK(beyond / n == Approx(std::exp(-6.0)).epsilon(0.25));  // upper-tail frequency
  }
  SECTION("normal") {
    const boost::math::normal_distribution<> d(3.0, 2.0);
    CHECK(ks_statistic(draw([&] { return rng.normal(3.0, 2.0); }, n), [&](double x) { return cdf(d, x); }) <
          ks_critical(n));
  }
  SECTION("lognormal") {
    const boost::math::lognormal_distribution<> d(0.5, 1.2);
    CHECK(ks_statistic(draw([&] { return rng.lognormal(0.5, 1.2); }, n), [&](double x) { return cdf(d, x); }) <
          ks_critical(n));
  }
  SECTION("gamma, shape above and below one") {
    for (double shape : {0.4, 2.5}) {
      const boost::math::gamma_distribution<> d(shape, 3.0);
      CHECK(ks_statistic(draw([&] { return rng.gamma(shape, 3.0); }, n), [&](double x) { return cdf(d, x); }) <
            ks_critical(n));
    }
  }
  SECTION("pareto") {
    const boost::math::pareto_distribution<> d(2.0, 1.5);
    CHECK(ks_statistic(draw([&] { return rng.pareto(2.0, 1.5); }, n), [&](double x) { return cdf(d, x); }) <
          ks_critical(n));
  }
}

TEST_CASE("distribution parameters are validated", "[sim][rng]") {
  Rng rng(1);
  CHECK_THROWS_AS(rng.exponential(0.0), std::invalid_argument);
  CHECK_THROWS_AS(rng.exponential(-1.0), std::invalid_argument);
  CHECK_THROWS_AS(rng.gamma(0.0, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(rng.pareto(1.0, -2.0), std::invalid_argument);
}

TEST_CASE("alias table draws indices in proportion to their weights, never a zero weight", "[sim][rng]") {
  const std::vector<double> weights{5, 0, 1, 3, 0, 1};
  const moesim::sim::AliasTable table(weights);
  moesim::sim::Rng rng(3);
  const bool from_32_bits = GENERATE(false, true);  // two generator calls per draw, or half of one
  std::vector<double> seen(weights.size(), 0.0);
  const int n = 1000000;
  for (int i = 0; i < n; ++i) {
    seen[from_32_bits ? table.draw(static_cast<std::uint32_t>(rng.next_u64() >> 32)) : table.draw(rng)] += 1.0;
  }
  CHECK(seen[1] == 0.0);
  CHECK(seen[4] == 0.0);
  double chi2 = 0.0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] == 0.0) continue;
    const double expected = n * weights[i] / 10.0;
    chi2 += (seen[i] - expected) * (seen[i] - expected) / expected;
  }
  CHECK(chi2 < 16.27);  // chi-square, 3 degrees of freedom, 0.1% level
  CHECK_THROWS(moesim::sim::AliasTable(std::vector<double>{0, 0}));
}

TEST_CASE("alias bank draws what each of its tables draws from the same bits", "[sim][rng]") {
  // Equal weights make every column full (its own alias): the bank must keep that too.
  const std::vector<std::vector<double>> weights{{5, 0, 1, 3}, {1, 1, 1, 1}, {0, 0, 2, 0}};
  moesim::sim::AliasBank bank(4);
  std::vector<moesim::sim::AliasTable> tables;
  for (const auto& w : weights) {
    tables.emplace_back(w);
    CHECK(bank.add(tables.back()) == tables.size() - 1);
  }
  CHECK(bank.tables() == 3);
  moesim::sim::Rng rng(11);
  std::vector<double> seen(4, 0.0);
  for (int i = 0; i < 100000; ++i) {
    const auto bits = static_cast<std::uint32_t>(rng.next_u64());
    for (std::uint32_t t = 0; t < tables.size(); ++t) REQUIRE(bank.draw(t, bits) == tables[t].draw(bits));
    seen[bank.draw(1, bits)] += 1.0;
    CHECK(bank.draw(2, bits) == 2);
  }
  for (double s : seen) CHECK(std::abs(s / 100000.0 - 0.25) < 0.01);
  CHECK_THROWS(bank.add(moesim::sim::AliasTable(std::vector<double>{1, 2})));
}

namespace {
std::vector<double> zipf_weights(int n, double skew) {
  std::vector<double> w;
  for (int r = 1; r <= n; ++r) w.push_back(1.0 / std::pow(r, skew));
  return w;
}
}  // namespace

TEST_CASE("exact alias columns draw what the table draws from the same stream, to the last value", "[sim][rng]") {
  // Zero weights, full columns, a width that is not a power of two, and a skew whose
  // keep probabilities are not dyadic: every coin must fall the same way.
  for (const std::vector<double>& weights :
       {std::vector<double>{1, 0, 3, 0.5, 2, 0, 7}, std::vector<double>{1, 1, 1, 1}, zipf_weights(128, 0.8)}) {
    const moesim::sim::AliasTable table(weights);
    const std::vector<moesim::sim::ExactColumn> exact = table.exact_columns();
    moesim::sim::Rng a(77), b(77);
    for (int i = 0; i < 200000; ++i) {
      const std::size_t want = table.draw(a);
      const std::size_t got = moesim::sim::draw_exact(exact.data(), exact.size(), b);
      if (got != want) FAIL("draw " << i << ": " << got << " != " << want);
    }
    CHECK(a.next_u64() == b.next_u64());  // the same number of values consumed
  }
}
