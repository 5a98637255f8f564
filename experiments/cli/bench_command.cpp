// moesim bench engine: events per second of the engine against a naive baseline.
#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>

#include "experiments/bench/e2e_bench.h"
#include "experiments/bench/engine_bench.h"
#include "experiments/cli/command.h"
#include "util/atomic_file.h"

namespace moesim::cli {

int run_bench(const std::vector<std::string>& args) {
  CommandParser parser("bench", "<target> [options]",
                       "Targets:\n"
                       "  engine   hold model and PHOLD on the event engine, and the hold model on a naive\n"
                       "           std::priority_queue of std::function for a ratio. Single thread.\n"
                       "  e2e      one whole serving run (default: an hour of real Azure arrivals, Mixtral-8x7B on a\n"
                       "           DGX-H100, real routing marginals, per-layer events): wall time, events/s, peak RSS.\n"
                       "           --preset picks a shipped scenario and its speed target: mixtral-8, qwen3-8,\n"
                       "           deepseek-8, deepseek-64 (>= 60x real time), deepseek-1024 (>= 1x).");
  std::string target;
  std::string json_path;
  bench::EngineBenchConfig config;
  std::string scenario = std::string(MOESIM_SOURCE_DIR) + "/experiments/scenarios/mixtral-dgx-h100-real-marginals.json";
  double hours = 1.0;
  std::string preset;
  parser.add_options()("target", po::value(&target), "what to benchmark: engine")(
      "pending", po::value(&config.pending)->default_value(config.pending), "hold-model population of pending events")(
      "events", po::value(&config.events)->default_value(config.events), "events executed per measurement")(
      "phold-processes", po::value(&config.phold_processes)->default_value(config.phold_processes),
      "PHOLD logical processes")("phold-population",
                                 po::value(&config.phold_population)->default_value(config.phold_population),
                                 "PHOLD initial events per process")(
      "phold-remote", po::value(&config.phold_remote)->default_value(config.phold_remote),
      "PHOLD probability that an event targets another process")(
      "repetitions", po::value(&config.repetitions)->default_value(config.repetitions), "runs per benchmark (best kept)")(
      "seed", po::value(&config.seed)->default_value(config.seed), "master seed")(
      "json", po::value(&json_path), "also write the results as JSON to this file")(
      "scenario", po::value(&scenario)->default_value(scenario), "e2e: the scenario to run")(
      "hours", po::value(&hours)->default_value(hours), "e2e: simulated hours of arrivals")(
      "preset", po::value(&preset), "e2e: a shipped benchmark (mixtral-8, qwen3-8, deepseek-8, deepseek-64, deepseek-1024)");
  parser.add_positional("target", 1);
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (target.empty()) throw UsageError("missing target (expected: engine or e2e)");
  if (target == "e2e") {
    double target_speed = 360.0;
    if (!preset.empty()) {
      const auto& presets = bench::e2e_presets();
      const auto it = std::find_if(presets.begin(), presets.end(), [&](const bench::E2ePreset& p) { return p.name == preset; });
      if (it == presets.end()) {
        std::vector<std::string> names;
        for (const auto& p : presets) names.push_back(p.name);
        throw UsageError(fmt::format("--preset: unknown '{}' (known: {})", preset, fmt::join(names, ", ")));
      }
      if (!vm["scenario"].defaulted()) throw UsageError("--preset and --scenario: give one");
      scenario = std::string(MOESIM_SOURCE_DIR) + "/experiments/" + it->scenario;
      if (vm["hours"].defaulted()) hours = it->hours;
      target_speed = it->target_speed;
    }
    if (!(hours > 0.0 && hours <= 24.0)) throw UsageError("--hours must be in (0, 24]");
    const auto result = bench::run_e2e_bench(scenario, hours, target_speed);
    std::cout << bench::format_e2e(result);
    if (!json_path.empty()) write_file_atomic(json_path, bench::e2e_json(result));
    return 0;
  }
  if (target != "engine") throw UsageError(fmt::format("unknown target '{}' (expected: engine or e2e)", target));
  bench::check_config(config);
  const bench::EngineBenchResult result = bench::run_engine_bench(config);
  std::cout << bench::format_report(result);
  if (!json_path.empty()) {
    write_file_atomic(json_path, bench::to_json(result));
    std::cout << "JSON: " << json_path << "\n";
  }
  return 0;
}

}  // namespace moesim::cli
