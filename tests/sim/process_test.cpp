#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sim/process.h"

using namespace moesim::sim;

namespace {

Process ticker(Simulator& sim, std::vector<std::pair<Time, std::string>>& log, std::string name, Time period,
               int ticks) {
  for (int i = 0; i < ticks; ++i) {
    co_await sim.sleep(period);
    log.emplace_back(sim.now(), name);
  }
}

Process failing(Simulator& sim) {
  co_await sim.sleep(5);
  throw std::runtime_error("process failed");
}

struct Flag {
  bool* destroyed;
  ~Flag() { *destroyed = true; }
};

Process waits_forever(Simulator& sim, bool* destroyed) {
  Flag flag{destroyed};
  co_await sim.sleep(kTimeMax - 1);
}

}  // namespace

TEST_CASE("processes interleave by simulated time: ties run in scheduling order", "[sim][process]") {
  Simulator sim;
  std::vector<std::pair<Time, std::string>> log;
  sim.spawn(ticker(sim, log, "a", 10, 3));
  sim.spawn(ticker(sim, log, "b", 15, 2));
  sim.run();
  // At t=30 both wake; b's wake-up was scheduled at t=15, a's at t=20, so b runs first.
  const std::vector<std::pair<Time, std::string>> expected{{10, "a"}, {15, "b"}, {20, "a"}, {30, "b"}, {30, "a"}};
  CHECK(log == expected);
  CHECK(sim.live_processes() == 0);
}

TEST_CASE("an exception inside a process surfaces from run()", "[sim][process]") {
  Simulator sim;
  sim.spawn(failing(sim));
  REQUIRE_THROWS_WITH(sim.run(), "process failed");
  CHECK(sim.now() == 5);
  CHECK(sim.live_processes() == 0);
}

TEST_CASE("unfinished processes are destroyed with the simulator", "[sim][process]") {
  bool destroyed = false;
  {
    Simulator sim;
    sim.spawn(waits_forever(sim, &destroyed));
    sim.run_until(1000);
    CHECK(sim.live_processes() == 1);
    CHECK_FALSE(destroyed);
  }
  CHECK(destroyed);
}

TEST_CASE("a process that is never spawned is freed", "[sim][process]") {
  bool destroyed = false;
  {
    Simulator sim;
    Process p = waits_forever(sim, &destroyed);
    CHECK(sim.live_processes() == 0);
  }
  // The body never started, so the local was never constructed.
  CHECK_FALSE(destroyed);
}
