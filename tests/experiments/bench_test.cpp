// The benchmark's workloads (not its speed, which belongs to `moesim bench`).
#include <catch2/catch.hpp>

#include "experiments/bench/e2e_bench.h"
#include "experiments/bench/engine_bench.h"
#include "experiments/run/scenario.h"
#include "util/errors.h"

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

TEST_CASE("bench e2e runs the whole serving model for the asked time and reports its cost", "[experiments][bench]") {
  // 0.002 h = 7.2 s of real Azure arrivals on Mixtral / DGX-H100 (the default scenario).
  const E2eBenchResult r =
      run_e2e_bench(std::string(MOESIM_SOURCE_DIR) + "/experiments/scenarios/mixtral-dgx-h100-real-marginals.json", 0.002);
  CHECK(r.simulated_seconds > 5.0);  // arrivals stop at 7.2 s (the last one may come earlier)
  CHECK(r.simulated_seconds < 7.2 + 30.0);
  CHECK(r.requests > 0);
  CHECK(r.iterations > r.requests);
  CHECK(r.events >= r.iterations);  // closed-form iterations: at least the one wake-up each
  CHECK(r.peak_rss_mib > 0);
  const std::string text = format_e2e(r);
  CHECK_THAT(text, Catch::Contains("x real time") && Catch::Contains("peak RSS"));
}

TEST_CASE("bench e2e presets: every shipped scenario loads, at the GPU count its name gives", "[experiments][bench]") {
  for (const E2ePreset& p : e2e_presets()) {
    INFO(p.name);
    const moesim::run::Scenario s = moesim::run::load_scenario(std::string(MOESIM_SOURCE_DIR) + "/experiments/" + p.scenario);
    const int gpus = s.topology.machines * 8;  // every preset is built of 8-GPU machines
    CHECK(p.name.ends_with("-" + std::to_string(gpus)));
    CHECK(p.target_speed > 0.0);
    CHECK(p.hours > 0.0);
  }
}
