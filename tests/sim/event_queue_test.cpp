// The future-event list against an independent reference: a stable sort of the
// same events by (time, priority), which is the order the engine promises.
#include <algorithm>
#include <catch2/catch.hpp>
#include <tuple>
#include <vector>

#include "sim/rng.h"
#include "sim/simulator.h"

using namespace moesim::sim;

namespace {

struct Scheduled {
  Time time;
  int priority;
  int id;
};

// Schedules `plan` up front, runs, and returns the ids in execution order.
std::vector<int> run_plan(const std::vector<Scheduled>& plan) {
  Simulator sim;
  std::vector<int> order;
  for (const Scheduled& s : plan) sim.schedule_at(s.time, [&order, id = s.id] { order.push_back(id); }, s.priority);
  sim.run();
  return order;
}

std::vector<int> reference_order(std::vector<Scheduled> plan) {
  std::stable_sort(plan.begin(), plan.end(), [](const Scheduled& a, const Scheduled& b) {
    return std::tie(a.time, a.priority) < std::tie(b.time, b.priority);
  });
  std::vector<int> ids;
  for (const Scheduled& s : plan) ids.push_back(s.id);
  return ids;
}

}  // namespace

TEST_CASE("events run in (time, priority, scheduling order)", "[sim][event_queue]") {
  const std::vector<Scheduled> plan{{30, 0, 0}, {10, 0, 1}, {10, -1, 2}, {10, 0, 3}, {0, 5, 4}, {30, 0, 5}, {20, 2, 6}};
  CHECK(run_plan(plan) == std::vector<int>{4, 2, 1, 3, 6, 0, 5});
}

TEST_CASE("random workloads with ties and far outliers match a stable sort", "[sim][event_queue]") {
  Rng rng(42);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<Scheduled> plan;
    const int n = 1 + static_cast<int>(rng.uniform_int(5000));
    for (int i = 0; i < n; ++i) {
      Time t = static_cast<Time>(rng.uniform_int(trial % 2 == 0 ? 50 : 1000000));  // many ties / few ties
      if (rng.bernoulli(0.01)) t += seconds(3600);                                   // far-future outliers
      plan.push_back({t, static_cast<int>(rng.uniform_int(3)) - 1, i});
    }
    INFO("trial " << trial << " with " << n << " events");
    REQUIRE(run_plan(plan) == reference_order(plan));
  }
}

TEST_CASE("events scheduled while running keep the global order (hold model)", "[sim][event_queue]") {
  // Each executed event schedules a successor at now + Exp; record the times and
  // check they never decrease and that same-time events keep scheduling order.
  Simulator sim;
  Rng rng(7);
  std::vector<std::pair<Time, std::uint64_t>> executed;
  std::uint64_t next_id = 0;
  std::uint64_t budget = 200000;
  struct Ctx {
    Simulator& sim;
    Rng& rng;
    std::vector<std::pair<Time, std::uint64_t>>& executed;
    std::uint64_t& next_id;
    std::uint64_t& budget;
    void schedule() {
      const std::uint64_t id = next_id++;
      // Coarse increments create ties on purpose.
      const Time dt = static_cast<Time>(rng.uniform_int(4)) * 1000;
      sim.schedule_in(dt, [this, id] { fire(id); });
    }
    void fire(std::uint64_t id) {
      executed.emplace_back(sim.now(), id);
      if (budget > 0) {
        --budget;
        schedule();
      }
    }
  } ctx{sim, rng, executed, next_id, budget};
  for (int i = 0; i < 1000; ++i) ctx.schedule();
  sim.run();
  REQUIRE(executed.size() == 1000 + 200000);
  for (std::size_t i = 1; i < executed.size(); ++i) {
    REQUIRE(executed[i - 1].first <= executed[i].first);
    if (executed[i - 1].first == executed[i].first) REQUIRE(executed[i - 1].second < executed[i].second);
  }
}

TEST_CASE("scheduling in the past or with an out-of-range priority is rejected", "[sim][event_queue]") {
  Simulator sim;
  sim.schedule_at(100, [] {});
  sim.run();
  REQUIRE(sim.now() == 100);
  REQUIRE_THROWS_AS(sim.schedule_at(99, [] {}), std::logic_error);
  REQUIRE_THROWS_AS(sim.schedule_at(100, [] {}, 40000), std::out_of_range);
  REQUIRE_NOTHROW(sim.schedule_at(100, [] {}));
}
