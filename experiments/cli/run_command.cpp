// moesim run scenario.json: one simulation, summary table + JSON/CSV (+ trace).
#include <fmt/format.h>
#include <algorithm>
#include <iostream>

#include "experiments/cli/command.h"
#include "experiments/report/progress.h"
#include "experiments/run/run_scenario.h"
#include "util/atomic_file.h"

namespace moesim::cli {

int run_run(const std::vector<std::string>& args) {
  CommandParser parser("run", "<scenario.json> [options]",
                       "Simulates one scenario: cluster (topology preset, GPU profile, variability), model,\n"
                       "workload (arrivals + routing), serving settings, expert placement, SLOs and seed.\n"
                       "Prints a summary; writes <out>/metrics.json (with the resolved scenario) and\n"
                       "<out>/requests.csv. Same scenario and seed give byte-identical files.");
  std::string path;
  std::string out_dir;
  std::string trace_path;
  std::int64_t seed = -1;
  std::size_t trace_limit = 1000000;
  parser.add_options()("scenario", po::value(&path), "scenario JSON file")(
      "out", po::value(&out_dir), "output folder (default: out/<scenario name>)")(
      "trace", po::value(&trace_path), "also write a Chrome/Perfetto trace (one track per GPU, link counters)")(
      "trace-limit", po::value(&trace_limit)->default_value(trace_limit), "maximum records kept in the trace")(
      "seed", po::value(&seed), "override the scenario's seed");
  parser.add_positional("scenario", 1);
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (path.empty()) throw UsageError("missing scenario file (e.g. experiments/scenarios/mixtral-dgx-h100-synthetic.json)");
  run::Scenario scenario = run::load_scenario(path);
  if (seed >= 0) {
    scenario.seed = static_cast<std::uint64_t>(seed);
    scenario.resolved["seed"] = scenario.seed;
  }
  if (out_dir.empty()) out_dir = "out/" + scenario.name;
  sim::TraceWriter trace(trace_limit);
  // Progress by the share of the workload submitted (drawn on a terminal, for runs past two seconds).
  report::ProgressBar bar("run: workload submitted (per mille)", report::ProgressBar::stderr_is_terminal());
  const run::RunResult result = run::run_scenario(scenario, trace_path.empty() ? nullptr : &trace, [&](double fraction) {
    bar.update(static_cast<std::size_t>(std::min(fraction, 1.0) * 1000.0), 1000);
  });
  bar.finish();
  std::cout << run::format_summary(scenario, result);
  write_file_atomic(out_dir + "/metrics.json", run::metrics_json(scenario, result));
  write_file_atomic(out_dir + "/requests.csv", run::requests_csv(result));
  std::cout << fmt::format("\nWrote {0}/metrics.json and {0}/requests.csv\n", out_dir);
  if (!trace_path.empty()) write_trace_and_report(trace_path, trace);
  return 0;
}

}  // namespace moesim::cli
