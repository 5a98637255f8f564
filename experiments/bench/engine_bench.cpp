#include "experiments/bench/engine_bench.h"

#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <nlohmann/json.hpp>
#include <queue>
#include <vector>

#include "util/text_table.h"
#include "util/errors.h"
#include "sim/rng.h"
#include "sim/simulator.h"

namespace moesim::bench {
namespace {

using sim::Time;
constexpr double kMeanIncrementNs = 1e6;  // 1 ms: events spread as in a serving simulation

Time increment(sim::Rng& rng) { return static_cast<Time>(rng.exponential(1.0) * kMeanIncrementNs); }

double elapsed_seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Hold {
  sim::Simulator sim;
  sim::Rng rng;
  std::uint64_t budget;
  void fire() {
    if (--budget == 0) {
      sim.stop();
      return;
    }
    sim.schedule_in(increment(rng), [this] { fire(); });
  }
};

struct Phold {
  sim::Simulator sim;
  sim::Rng rng;
  double remote;
  std::uint64_t budget;
  std::vector<std::uint64_t> received;
  void fire(std::uint32_t lp) {
    ++received[lp];
    if (--budget == 0) {
      sim.stop();
      return;
    }
    auto dest = lp;
    if (rng.bernoulli(remote)) dest = static_cast<std::uint32_t>(rng.uniform_int(received.size()));
    sim.schedule_in(increment(rng), [this, dest] { fire(dest); });
  }
};

struct NaiveEvent {
  Time time;
  std::uint64_t sequence;
  std::function<void()> action;
  bool operator>(const NaiveEvent& o) const { return time != o.time ? time > o.time : sequence > o.sequence; }
};

struct NaiveHold {
  std::priority_queue<NaiveEvent, std::vector<NaiveEvent>, std::greater<>> queue;
  Time now = 0;
  std::uint64_t sequence = 0;
  sim::Rng rng;
  std::uint64_t budget;
  void schedule(Time at) { queue.push(NaiveEvent{at, sequence++, [this] { fire(); }}); }
  void fire() {
    if (--budget == 0) return;
    schedule(now + increment(rng));
  }
  void run() {
    while (!queue.empty() && budget > 0) {
      NaiveEvent e = queue.top();
      queue.pop();
      now = e.time;
      e.action();
    }
  }
};

template <class F>
BenchMeasurement best_of(const EngineBenchConfig& c, const char* name, F&& once) {
  BenchMeasurement best{name, c.events, 0.0};
  for (int r = 0; r < c.repetitions; ++r) {
    const double s = once();
    if (r == 0 || s < best.seconds) best.seconds = s;
  }
  return best;
}

}  // namespace

void check_config(const EngineBenchConfig& c) {
  require_input(c.pending >= 1, "--pending", "at least 1", std::to_string(c.pending));
  require_input(c.events >= 1, "--events", "at least 1", std::to_string(c.events));
  require_input(c.phold_processes >= 1, "--phold-processes", "at least 1", std::to_string(c.phold_processes));
  require_input(c.phold_population >= 1, "--phold-population", "at least 1", std::to_string(c.phold_population));
  require_input(c.phold_remote >= 0.0 && c.phold_remote <= 1.0, "--phold-remote", "a probability in [0, 1]",
                fmt::format("{}", c.phold_remote));
  require_input(c.repetitions >= 1, "--repetitions", "at least 1", std::to_string(c.repetitions));
}

BenchMeasurement run_hold(const EngineBenchConfig& c, std::int64_t* end_time) {
  return best_of(c, "hold", [&] {
    Hold h{{}, sim::RngStreams(c.seed).stream("bench/hold"), c.events};
    for (std::uint64_t i = 0; i < c.pending; ++i) h.sim.schedule_at(increment(h.rng), [&h] { h.fire(); });
    const auto start = std::chrono::steady_clock::now();
    h.sim.run();
    const double s = elapsed_seconds(start);
    if (end_time != nullptr) *end_time = h.sim.now();
    return s;
  });
}

BenchMeasurement run_phold(const EngineBenchConfig& c) {
  return best_of(c, "phold", [&] {
    Phold p{{}, sim::RngStreams(c.seed).stream("bench/phold"), c.phold_remote, c.events,
            std::vector<std::uint64_t>(c.phold_processes, 0)};
    for (std::uint32_t lp = 0; lp < c.phold_processes; ++lp) {
      for (std::uint64_t k = 0; k < c.phold_population; ++k) {
        p.sim.schedule_at(increment(p.rng), [&p, lp] { p.fire(lp); });
      }
    }
    const auto start = std::chrono::steady_clock::now();
    p.sim.run();
    return elapsed_seconds(start);
  });
}

BenchMeasurement run_naive_hold(const EngineBenchConfig& c, std::int64_t* end_time) {
  return best_of(c, "naive hold (std::priority_queue + std::function)", [&] {
    NaiveHold h{{}, 0, 0, sim::RngStreams(c.seed).stream("bench/hold"), c.events};
    for (std::uint64_t i = 0; i < c.pending; ++i) h.schedule(increment(h.rng));
    const auto start = std::chrono::steady_clock::now();
    h.run();
    const double s = elapsed_seconds(start);
    if (end_time != nullptr) *end_time = h.now;
    return s;
  });
}

EngineBenchResult run_engine_bench(const EngineBenchConfig& c) {
  check_config(c);
  EngineBenchResult r;
  r.config = c;
  r.hold = run_hold(c, &r.hold_end_time);
  r.phold = run_phold(c);
  r.naive_hold = run_naive_hold(c, &r.naive_end_time);
  return r;
}

std::string format_report(const EngineBenchResult& r) {
  util::TextTable t({"benchmark", "events", "best wall [s]", "M events/s"});
  for (const BenchMeasurement* m : {&r.hold, &r.phold, &r.naive_hold}) {
    t.add_row({m->name, std::to_string(m->events), fmt::format("{:.3f}", m->seconds),
               fmt::format("{:.2f}", m->events_per_second() * 1e-6)});
  }
  return t.render() +
         fmt::format("\nhold: {} pending events, exponential increments (mean {} ns); PHOLD: {} processes × {} events, "
                     "remote probability {}; best of {} runs, one thread.\n"
                     "engine / naive baseline on the hold model: {:.2f}×  (both end at t = {} ns: {})\n",
                     r.config.pending, kMeanIncrementNs, r.config.phold_processes, r.config.phold_population,
                     r.config.phold_remote, r.config.repetitions, r.speedup(), r.hold_end_time,
                     r.hold_end_time == r.naive_end_time ? "same event order" : "DIFFERENT event order");
}

std::string to_json(const EngineBenchResult& r) {
  nlohmann::ordered_json j;
  j["config"] = {{"pending", r.config.pending},
                 {"events", r.config.events},
                 {"phold_processes", r.config.phold_processes},
                 {"phold_population", r.config.phold_population},
                 {"phold_remote", r.config.phold_remote},
                 {"seed", r.config.seed},
                 {"repetitions", r.config.repetitions}};
  for (const BenchMeasurement* m : {&r.hold, &r.phold, &r.naive_hold}) {
    j["results"].push_back({{"name", m->name},
                            {"events", m->events},
                            {"seconds", m->seconds},
                            {"events_per_second", m->events_per_second()}});
  }
  j["speedup_vs_naive"] = r.speedup();
  j["same_event_order"] = r.hold_end_time == r.naive_end_time;
  return j.dump(2) + "\n";
}

}  // namespace moesim::bench
