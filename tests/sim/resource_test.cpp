// Resources against hand-computed timelines.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "sim/process.h"
#include "sim/resource.h"
#include "sim/store.h"

using namespace moesim::sim;

namespace {

struct Visit {
  std::string who;
  Time start;
  Time end;
  int server;
  bool operator==(const Visit&) const = default;
};

Process job(Simulator& sim, Resource& r, std::vector<Visit>& log, std::string who, Time arrive, Time service) {
  co_await sim.sleep(arrive);
  const int s = co_await r.acquire();
  const Time start = sim.now();
  co_await sim.sleep(service);
  r.release(s);
  log.push_back({who, start, sim.now(), s});
}

}  // namespace

TEST_CASE("single-server FIFO: hand-computed timeline and statistics", "[sim][resource]") {
  Simulator sim;
  Resource r(sim, "cpu", 1);
  std::vector<Visit> log;
  // arrivals 0, 1, 2 with services 4, 3, 1  ->  served [0,4) [4,7) [7,8)
  sim.spawn(job(sim, r, log, "a", 0, 4));
  sim.spawn(job(sim, r, log, "b", 1, 3));
  sim.spawn(job(sim, r, log, "c", 2, 1));
  sim.run();
  const std::vector<Visit> expected{{"a", 0, 4, 0}, {"b", 4, 7, 0}, {"c", 7, 8, 0}};
  CHECK(log == expected);
  // Waits 0, 3, 5 -> mean 8/3. Queue length: 1 on [1,2), 2 on [2,4), 1 on [4,7) -> area 8 over 8.
  CHECK(r.wait_stat().mean() == Approx(8.0 / 3.0));
  CHECK(r.queue_length_stat().mean(8) == Approx(1.0));
  CHECK(r.busy_servers_stat().mean(8) == Approx(1.0));
}

TEST_CASE("multi-server resource hands out the lowest free server", "[sim][resource]") {
  Simulator sim;
  Resource r(sim, "pool", 2);
  std::vector<Visit> log;
  sim.spawn(job(sim, r, log, "a", 0, 10));
  sim.spawn(job(sim, r, log, "b", 0, 4));
  sim.spawn(job(sim, r, log, "c", 1, 2));  // waits for b's server at 4
  sim.spawn(job(sim, r, log, "d", 5, 1));  // server 1 busy until 6 (c), server 0 until 10 -> waits to 6
  sim.run();
  const std::vector<Visit> expected{{"b", 0, 4, 1}, {"c", 4, 6, 1}, {"d", 6, 7, 1}, {"a", 0, 10, 0}};
  CHECK(log == expected);
  CHECK(r.busy() == 0);
  CHECK(r.busy_servers_stat().mean(10) == Approx((10.0 + 7.0) / 10.0));
}

TEST_CASE("resource rejects bad configuration and double release", "[sim][resource]") {
  Simulator sim;
  CHECK_THROWS_AS(Resource(sim, "none", 0), std::invalid_argument);
  Resource r(sim, "one", 1);
  CHECK_THROWS_AS(r.release(0), std::logic_error);
}

TEST_CASE("resource traces one track per server", "[sim][resource]") {
  Simulator sim;
  TraceWriter trace;
  Resource r(sim, "gpu", 2);
  r.trace_to(&trace, "kernel");
  std::vector<Visit> log;
  sim.spawn(job(sim, r, log, "a", 0, 3));
  sim.spawn(job(sim, r, log, "b", 0, 5));
  sim.run();
  CHECK(trace.record_count() == 2);
  const std::string json = trace.to_json();
  CHECK(json.find("\"gpu/0\"") != std::string::npos);
  CHECK(json.find("\"gpu/1\"") != std::string::npos);
}

namespace {

Process take(Simulator& sim, Semaphore& s, std::int64_t units, Time hold, std::vector<std::pair<Time, int>>& log,
             int id) {
  co_await s.acquire(units);
  log.emplace_back(sim.now(), id);
  co_await sim.sleep(hold);
  s.release(units);
}

}  // namespace

TEST_CASE("semaphore grants units in FIFO order without overtaking", "[sim][resource]") {
  Simulator sim;
  Semaphore s(sim, 3);
  std::vector<std::pair<Time, int>> log;
  sim.spawn(take(sim, s, 2, 10, log, 1));  // t=0, 1 unit left
  sim.spawn(take(sim, s, 2, 5, log, 2));   // waits for 2 units: t=10
  sim.spawn(take(sim, s, 1, 1, log, 3));   // 1 unit is free but 2 is ahead: no overtaking -> t=10
  sim.run();
  const std::vector<std::pair<Time, int>> expected{{0, 1}, {10, 2}, {10, 3}};
  CHECK(log == expected);
  CHECK(s.available() == 3);
  CHECK_THROWS_AS(s.acquire(0), std::invalid_argument);
  CHECK_THROWS_AS(Semaphore(sim, -1), std::invalid_argument);
}

namespace {

Process producer(Simulator& sim, Store<int>& store, std::vector<std::pair<Time, int>>& puts) {
  for (int i = 0; i < 4; ++i) {
    co_await store.put(i);
    puts.emplace_back(sim.now(), i);
  }
}

Process consumer(Simulator& sim, Store<int>& store, std::vector<std::pair<Time, int>>& gets) {
  co_await sim.sleep(10);
  for (int i = 0; i < 4; ++i) {
    const int v = co_await store.get();
    gets.emplace_back(sim.now(), v);
    co_await sim.sleep(10);
  }
}

Process waiter(Simulator& sim, Signal& signal, std::vector<Time>& woke) {
  co_await signal.wait();
  woke.push_back(sim.now());
}

}  // namespace

TEST_CASE("bounded store blocks the producer when full and the consumer when empty", "[sim][resource]") {
  Simulator sim;
  Store<int> store(sim, 2);
  std::vector<std::pair<Time, int>> puts;
  std::vector<std::pair<Time, int>> gets;
  sim.spawn(producer(sim, store, puts));
  sim.spawn(consumer(sim, store, gets));
  sim.run();
  // Items 0,1 fit at t=0; item 2 waits for the get at 10; item 3 for the get at 20.
  const std::vector<std::pair<Time, int>> expected_puts{{0, 0}, {0, 1}, {10, 2}, {20, 3}};
  const std::vector<std::pair<Time, int>> expected_gets{{10, 0}, {20, 1}, {30, 2}, {40, 3}};
  CHECK(puts == expected_puts);
  CHECK(gets == expected_gets);
  CHECK(store.size() == 0);
  CHECK_THROWS_AS(Store<int>(sim, 0), std::invalid_argument);
}

TEST_CASE("signal wakes every waiter at the firing time and stays fired", "[sim][resource]") {
  Simulator sim;
  Signal signal(sim);
  std::vector<Time> woke;
  sim.spawn(waiter(sim, signal, woke));
  sim.spawn(waiter(sim, signal, woke));
  sim.schedule_at(25, [&] { signal.fire(); });
  sim.run();
  CHECK(woke == std::vector<Time>{25, 25});
  sim.spawn(waiter(sim, signal, woke));  // already fired: no wait
  sim.run();
  CHECK(woke == std::vector<Time>{25, 25, 25});
}
