// The benchmark's workloads (not its speed, which belongs to `moesim bench`).
#include <catch2/catch.hpp>

#include "experiments/bench/engine_bench.h"
#include "sim/errors.h"

using namespace moesim::bench;

TEST_CASE("engine and naive baseline execute the hold model in the same order", "[experiments][bench]") {
  EngineBenchConfig c;
  c.pending = 1000;
  c.events = 50000;
  c.repetitions = 1;
  c.phold_processes = 16;
  c.phold_population = 4;
  const EngineBenchResult r = run_engine_bench(c);
  CHECK(r.hold.events == 50000);
  CHECK(r.hold_end_time == r.naive_end_time);
  CHECK(r.hold_end_time > 0);
  CHECK(r.speedup() > 0.0);
  CHECK(to_json(r).find("\"same_event_order\": true") != std::string::npos);
}

TEST_CASE("benchmark options are validated", "[experiments][bench]") {
  EngineBenchConfig c;
  c.pending = 0;
  CHECK_THROWS_WITH(check_config(c), Catch::Contains("--pending"));
  c.pending = 1;
  c.phold_remote = 1.5;
  CHECK_THROWS_AS(check_config(c), moesim::InputError);
}
