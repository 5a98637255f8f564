#pragma once
// Engine speed benchmarks (ns-3's scheduler benchmark idea):
//  * hold model (Vaucher & Duval 1975; Jones 1986): a fixed population of pending
//    events; each executed event schedules one successor at now + Exp(mean);
//  * PHOLD (Fujimoto 1990), run sequentially: logical processes exchange events,
//    each event picks a random destination and schedules it there;
//  * the naive baseline: the hold model on std::priority_queue of std::function.
#include <cstdint>
#include <string>

namespace moesim::bench {

struct EngineBenchConfig {
  std::uint64_t pending = 100000;   // hold population
  std::uint64_t events = 10000000;  // events executed per measurement
  std::uint64_t phold_processes = 1024;
  std::uint64_t phold_population = 16;  // initial events per logical process
  double phold_remote = 0.9;            // probability an event goes to another process
  std::uint64_t seed = 1;
  int repetitions = 5;  // best of: this VM's wall-clock speed varies between runs
};

void check_config(const EngineBenchConfig& c);

struct BenchMeasurement {
  std::string name;
  std::uint64_t events = 0;
  double seconds = 0.0;
  double events_per_second() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0.0; }
};

struct EngineBenchResult {
  EngineBenchConfig config;
  BenchMeasurement hold;
  BenchMeasurement phold;
  BenchMeasurement naive_hold;
  // Checksums of the simulated end times: equal across runs for one seed, so a
  // faster queue that executes events in a different order is caught.
  std::int64_t hold_end_time = 0;
  std::int64_t naive_end_time = 0;
  double speedup() const { return hold.events_per_second() / naive_hold.events_per_second(); }
};

BenchMeasurement run_hold(const EngineBenchConfig& c, std::int64_t* end_time = nullptr);
BenchMeasurement run_phold(const EngineBenchConfig& c);
BenchMeasurement run_naive_hold(const EngineBenchConfig& c, std::int64_t* end_time = nullptr);
EngineBenchResult run_engine_bench(const EngineBenchConfig& c);

std::string format_report(const EngineBenchResult& r);
std::string to_json(const EngineBenchResult& r);

}  // namespace moesim::bench
