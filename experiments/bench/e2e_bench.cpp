#include "experiments/bench/e2e_bench.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "experiments/run/run_scenario.h"
#include "experiments/run/scenario.h"

namespace moesim::bench {

namespace {

constexpr double kTargetRssMib = 1024.0;

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

}  // namespace

const std::vector<E2ePreset>& e2e_presets() {
  // Hours: the Azure conversation trace spans ~58 minutes at its own rate; a preset that
  // compresses it (time_scale) runs it once.
  static const std::vector<E2ePreset> presets{
      {"mixtral-8", "scenarios/mixtral-dgx-h100-real-marginals.json", 1.0, 360.0},
      {"qwen3-8", "bench/scenarios/qwen3-30b-a100-azure.json", 1.0, 360.0},
      {"deepseek-8", "bench/scenarios/deepseek-v3-8gpu-azure.json", 1.0, 360.0},
      {"deepseek-64", "bench/scenarios/deepseek-v3-64gpu-azure.json", 1.0 / 8.0, 60.0},
      {"deepseek-1024", "bench/scenarios/deepseek-v3-1024gpu-azure.json", 1.0 / 128.0, 1.0},
  };
  return presets;
}

E2eBenchResult run_e2e_bench(const std::string& scenario_path, double hours, double target_speed) {
  run::Scenario s = run::load_scenario(scenario_path);
  s.duration_s = hours * 3600.0;
  s.resolved["workload"]["duration_s"] = s.duration_s;
  const run::RunResult r = run::run_scenario(s);
  E2eBenchResult out;
  out.scenario = s.name;
  out.target_speed = target_speed;
  out.simulated_seconds = sim::to_seconds(r.makespan);
  out.wall_seconds = r.wall_seconds;
  out.events = static_cast<double>(r.events);
  out.requests = static_cast<double>(r.metrics.requests().size());
  out.iterations = static_cast<double>(r.metrics.iterations());
  out.peak_rss_mib = peak_rss_mib();
  return out;
}

std::string format_e2e(const E2eBenchResult& r) {
  const double hours = r.simulated_seconds / 3600.0;
  const double wall_per_hour = hours > 0 ? r.wall_seconds / hours : 0.0;
  return fmt::format(
      "e2e: {} — {:.0f} simulated s, {:.0f} requests, {:.0f} iterations\n"
      "  wall time            {:.2f} s ({:.1f} s per simulated hour; target <= {:.4g})\n"
      "  simulated / wall     {:.3g}x real time (target >= {:g}x)\n"
      "  events               {:.3g} ({:.3g} events/s)\n"
      "  peak RSS             {:.0f} MiB (target <= {:.0f})\n",
      r.scenario, r.simulated_seconds, r.requests, r.iterations, r.wall_seconds, wall_per_hour, 3600.0 / r.target_speed,
      r.wall_seconds > 0 ? r.simulated_seconds / r.wall_seconds : 0.0, r.target_speed, r.events,
      r.wall_seconds > 0 ? r.events / r.wall_seconds : 0.0, r.peak_rss_mib, kTargetRssMib);
}

std::string e2e_json(const E2eBenchResult& r) {
  nlohmann::ordered_json j{{"scenario", r.scenario},         {"target_speed", r.target_speed},
                           {"simulated_seconds", r.simulated_seconds},
                           {"wall_seconds", r.wall_seconds}, {"events", r.events},
                           {"requests", r.requests},         {"iterations", r.iterations},
                           {"peak_rss_mib", r.peak_rss_mib}};
  return j.dump(2) + "\n";
}

}  // namespace moesim::bench
