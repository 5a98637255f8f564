// The request routers against queueing theory: N single-server FCFS stations with
// exponential service behind one router fed by a Poisson stream. Random routing
// splits the stream into N Poisson streams (N independent M/M/1 queues);
// round-robin gives each station every N-th arrival (Erlang-N gaps: an E_N/M/1
// queue); join-the-shortest-queue can do no better than the pooled M/M/N queue and
// no worse than round-robin (Winston 1977: JSQ is optimal among rules that see
// queue lengths only). The power of two choices lies between JSQ and random.
#include <catch2/catch.hpp>
#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "policies/registry.h"
#include "util/errors.h"

using namespace moesim;

namespace {

constexpr int kStations = 4;
constexpr double kArrivalRate = 3.2;  // per unit time, all stations together
constexpr double kServiceRate = 1.0;  // per station: utilisation 0.8

struct Estimate {
  double mean = 0.0;
  double standard_error = 0.0;
};

// Mean wait in queue of one replication: `customers` arrivals after `warmup`.
double replication(const std::string& router_name, std::uint64_t seed, int warmup, int customers) {
  sim::Rng rng(seed);
  const auto router = policies::make_router(router_name, std::nullopt, sim::Rng(seed * 7919 + 1));
  std::vector<std::deque<double>> departures(kStations);  // per station, in FCFS order
  std::vector<models::InstanceLoad> loads(kStations);
  double t = 0.0, waited = 0.0;
  for (int n = 0; n < warmup + customers; ++n) {
    t += rng.exponential(kArrivalRate);
    for (int i = 0; i < kStations; ++i) {
      auto& d = departures[static_cast<std::size_t>(i)];
      while (!d.empty() && d.front() <= t) d.pop_front();
      loads[static_cast<std::size_t>(i)] = {static_cast<std::int64_t>(d.size()), 0, 1};
    }
    const std::size_t i = router->route(models::Request{}, loads);
    auto& d = departures[i];
    const double start = d.empty() ? t : std::max(t, d.back());
    d.push_back(start + rng.exponential(kServiceRate));
    if (n >= warmup) waited += start - t;
  }
  return waited / customers;
}

Estimate mean_wait(const std::string& router_name) {
  constexpr int kReplications = 8;
  std::vector<double> means;
  for (int r = 0; r < kReplications; ++r) means.push_back(replication(router_name, 100 + r, 20000, 200000));
  Estimate e;
  for (double m : means) e.mean += m / kReplications;
  double var = 0.0;
  for (double m : means) var += (m - e.mean) * (m - e.mean) / (kReplications - 1);
  e.standard_error = std::sqrt(var / kReplications);
  return e;
}

// E_N/M/1: sigma solves sigma = A*(mu (1 - sigma)), A*(s) = (lambda / (lambda + s))^N
// the Laplace transform of an Erlang-N gap of N exponential(lambda) stages; Wq =
// sigma / (mu (1 - sigma)) (Kleinrock, Queueing Systems Vol. 1, §6.4).
double erlang_arrivals_wait() {
  double sigma = 0.5;
  for (int i = 0; i < 500; ++i) sigma = std::pow(kArrivalRate / (kArrivalRate + kServiceRate * (1.0 - sigma)), kStations);
  return sigma / (kServiceRate * (1.0 - sigma));
}

double mm1_wait() {
  const double lambda = kArrivalRate / kStations;
  return lambda / (kServiceRate * (kServiceRate - lambda));
}

// M/M/c: Erlang C over (c mu - lambda).
double mmc_wait() {
  const double a = kArrivalRate / kServiceRate;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < kStations; ++k) sum += (term *= a / k);
  const double last = term * a / kStations / (1.0 - a / kStations);
  return last / (sum + last) / (kStations * kServiceRate - kArrivalRate);
}

}  // namespace

TEST_CASE("routers over M/M/1-like instances: random and round-robin meet their closed forms, JSQ beats both",
          "[policies][router][validation]") {
  const double random_closed = mm1_wait(), rr_closed = erlang_arrivals_wait(), pooled = mmc_wait();
  // The closed forms themselves: M/M/1 at rho 0.8 waits 4; M/M/4 (Erlang C 0.596) 0.745.
  CHECK(random_closed == Approx(4.0));
  CHECK(pooled == Approx(0.7449).epsilon(1e-3));
  const Estimate random = mean_wait("random");
  const Estimate rr = mean_wait("round-robin");
  const Estimate jsq = mean_wait("least-requests");
  const Estimate two = mean_wait("power-of-two");
  INFO("random " << random.mean << " ± " << random.standard_error << " (closed " << random_closed << "); round-robin "
                 << rr.mean << " ± " << rr.standard_error << " (closed " << rr_closed << "); JSQ " << jsq.mean
                 << "; power-of-two " << two.mean << "; M/M/4 " << pooled);
  // Standard errors below 3% of the value, and each estimate within 4 of them.
  CHECK(random.standard_error < 0.03 * random_closed);
  CHECK(rr.standard_error < 0.03 * rr_closed);
  CHECK(std::abs(random.mean - random_closed) < 4 * random.standard_error);
  CHECK(std::abs(rr.mean - rr_closed) < 4 * rr.standard_error);
  // Ordering: pooled M/M/4 <= JSQ < power of two < round-robin < random (at rho 0.8 the
  // power of two, sampling two of four, sits below round-robin).
  CHECK(jsq.mean > pooled);
  CHECK(jsq.mean + 4 * jsq.standard_error < two.mean);
  CHECK(two.mean + 4 * two.standard_error < rr.mean);
  CHECK(rr.mean + 4 * rr.standard_error < random.mean);
}

TEST_CASE("least-tokens weighs outstanding work per GPU: unknown routers are refused with the registered names",
          "[policies][router]") {
  const auto by_tokens = policies::make_router("least-tokens", std::nullopt);
  // Instance 0 has fewer requests but more tokens per GPU; instance 1 twice the GPUs.
  const std::vector<models::InstanceLoad> loads{{1, 900, 4}, {3, 1000, 8}};
  CHECK(by_tokens->route(models::Request{}, loads) == 1);
  CHECK(policies::make_router("least-requests", std::nullopt)->route(models::Request{}, loads) == 0);
  const auto rr = policies::make_router("round-robin", std::nullopt);
  CHECK(rr->route(models::Request{}, loads) == 0);
  CHECK(rr->route(models::Request{}, loads) == 1);
  CHECK(rr->route(models::Request{}, loads) == 0);
  // KV-aware: the most free KV share wins over fewer requests; equal shares fall back to them.
  const auto kv = policies::make_router("most-free-kv", std::nullopt);
  CHECK(kv->route(models::Request{}, {{1, 10, 4, 0.2}, {5, 900, 4, 0.6}}) == 1);
  CHECK(kv->route(models::Request{}, {{3, 10, 4, 0.5}, {1, 900, 4, 0.5}}) == 1);
  CHECK(kv->route(models::Request{}, {{1, 10, 4, 0.5}, {3, 900, 4, 0.5}}) == 0);
  CHECK_THROWS_WITH(policies::make_router("fastest", std::nullopt),
                    Catch::Contains("unknown router policy 'fastest'") && Catch::Contains("least-requests"));
}

TEST_CASE("prefix-aware routing follows SGLang's cache-aware rule: the longest cached prefix while loads are balanced",
          "[policies][router]") {
  const auto router = policies::make_router("prefix-aware", std::nullopt);
  models::Request r;
  r.input_tokens = 2048;
  // Instance 1 caches 1024 of the 2048 prompt tokens (50% ≥ the 0.3 threshold): it wins though busier.
  CHECK(router->route(r, {{2, 0, 8, 1.0, 0}, {9, 0, 8, 1.0, 1024}}) == 1);
  // 512 cached is 25% < 30%: the least loaded instance instead.
  CHECK(router->route(r, {{2, 0, 8, 1.0, 0}, {9, 0, 8, 1.0, 512}}) == 0);
  // Out of balance (100 − 20 > 64 and 100 > 1.5 × 20): load decides whatever is cached.
  CHECK(router->route(r, {{20, 0, 8, 1.0, 0}, {100, 0, 8, 1.0, 2047}}) == 0);
  // Equal matches: the less loaded; nothing cached anywhere: the least loaded.
  CHECK(router->route(r, {{5, 0, 8, 1.0, 1024}, {4, 0, 8, 1.0, 1024}}) == 1);
  CHECK(router->route(r, {{5, 0, 8, 1.0, 0}, {4, 0, 8, 1.0, 0}}) == 1);
  // The thresholds are parameters.
  const auto strict = policies::make_router(
      "prefix-aware", JsonInput::parse(R"({"policy": "prefix-aware", "cache_threshold": 0.6})", "router.json"));
  CHECK(strict->route(r, {{2, 0, 8, 1.0, 0}, {9, 0, 8, 1.0, 1024}}) == 0);
  CHECK_THROWS_WITH(policies::make_router("prefix-aware", JsonInput::parse(R"({"policy": "prefix-aware", "cache_threshold": 2})",
                                                                            "router.json")),
                    Catch::Contains("cache_threshold"));
}
