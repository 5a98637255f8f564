#include <catch2/catch.hpp>
#include <functional>
#include <vector>

#include "sim/simulator.h"

using namespace moesim::sim;
using namespace moesim::sim::literals;

TEST_CASE("time helpers convert exactly", "[sim][time]") {
  CHECK(3_us == 3000);
  CHECK(2_ms == 2000000);
  CHECK(1_s == 1000000000);
  CHECK(from_seconds(1.5e-6) == 1500);
  CHECK(to_milliseconds(2500000) == Approx(2.5));
  CHECK_THROWS_AS(from_seconds(1e300), std::out_of_range);
}

TEST_CASE("cancelled events do not run and handles go stale", "[sim][simulator]") {
  Simulator sim;
  std::vector<int> ran;
  const EventHandle a = sim.schedule_at(10, [&] { ran.push_back(1); });
  const EventHandle b = sim.schedule_at(20, [&] { ran.push_back(2); });
  REQUIRE(sim.is_pending(a));
  REQUIRE(sim.events_pending() == 2);
  REQUIRE(sim.cancel(a));
  REQUIRE_FALSE(sim.cancel(a));  // already cancelled
  REQUIRE_FALSE(sim.is_pending(a));
  REQUIRE(sim.events_pending() == 1);
  sim.run();
  CHECK(ran == std::vector<int>{2});
  CHECK_FALSE(sim.is_pending(b));  // ran
  CHECK_FALSE(sim.cancel(b));
  CHECK(sim.events_executed() == 1);
  // A node reused by a new event must not be cancellable through the old handle.
  const EventHandle c = sim.schedule_at(30, [&] { ran.push_back(3); });
  CHECK_FALSE(sim.cancel(a));
  CHECK_FALSE(sim.cancel(b));
  CHECK(sim.is_pending(c));
  sim.run();
  CHECK(ran == std::vector<int>{2, 3});
  CHECK_FALSE(EventHandle{}.valid());
}

TEST_CASE("an event can cancel another event of the same instant", "[sim][simulator]") {
  Simulator sim;
  std::vector<int> ran;
  EventHandle second;
  sim.schedule_at(5, [&] {
    ran.push_back(1);
    sim.cancel(second);
  });
  second = sim.schedule_at(5, [&] { ran.push_back(2); });
  sim.run();
  CHECK(ran == std::vector<int>{1});
}

TEST_CASE("run_until stops at the limit and sets the clock to it", "[sim][simulator]") {
  Simulator sim;
  std::vector<Time> at;
  for (Time t : {10, 20, 30, 40}) sim.schedule_at(t, [&] { at.push_back(sim.now()); });
  sim.run_until(30);
  CHECK(at == std::vector<Time>{10, 20, 30});
  CHECK(sim.now() == 30);
  sim.run_until(35);
  CHECK(sim.now() == 35);
  // Events may still be scheduled between the clock and the next pending event.
  sim.schedule_at(36, [&] { at.push_back(sim.now()); });
  sim.run();
  CHECK(at == std::vector<Time>{10, 20, 30, 36, 40});
  CHECK(sim.events_pending() == 0);
}

TEST_CASE("stop() ends run() after the current event", "[sim][simulator]") {
  Simulator sim;
  int count = 0;
  for (int i = 1; i <= 5; ++i) {
    sim.schedule_at(i, [&] {
      if (++count == 3) sim.stop();
    });
  }
  sim.run();
  CHECK(count == 3);
  CHECK(sim.now() == 3);
  sim.run();
  CHECK(count == 5);
}

TEST_CASE("an exception thrown by an event propagates out of run() and the engine stays usable", "[sim][simulator]") {
  Simulator sim;
  sim.schedule_at(1, [] { throw std::runtime_error("boom"); });
  int later = 0;
  sim.schedule_at(2, [&] { ++later; });
  REQUIRE_THROWS_WITH(sim.run(), "boom");
  sim.run();
  CHECK(later == 1);
}

namespace {

// Reschedules itself `step` ns later, up to `limit` times (forever if limit is 0).
struct Repeat {  // 24 bytes: the event list's inline callback size
  Simulator* sim;
  std::uint64_t* count;
  std::uint32_t step;
  std::uint32_t limit;
  void operator()() const {
    if (++*count != limit) sim->schedule_in(step, *this);
  }
};

}  // namespace

TEST_CASE("a run whose clock stops advancing ends with an error instead of hanging", "[sim][simulator][reliability]") {
  // Work that takes 1 ns passes the limit many times over: the clock moves.
  Simulator sim;
  sim.set_stuck_limit(1000);
  std::uint64_t ran = 0;
  sim.schedule_in(0, Repeat{&sim, &ran, 1, 5000});
  sim.run();
  CHECK(ran == 5000);
  // Zero-duration work rescheduling itself: stopped at the limit, naming the instant.
  Simulator stuck;
  stuck.set_stuck_limit(1000);
  std::uint64_t spins = 0;
  stuck.schedule_in(7, Repeat{&stuck, &spins, 0, 0});
  CHECK_THROWS_WITH(stuck.run(), Catch::Contains("stuck: more than 1000 events at t = 7 ns"));
  CHECK(spins == 1001);
}
