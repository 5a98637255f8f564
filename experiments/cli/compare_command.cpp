// moesim compare scenario.json --policies a,b,c: one table, JSON and CSV.
#include <fmt/format.h>
#include <iostream>

#include "experiments/cli/command.h"
#include "experiments/report/plot.h"
#include "experiments/run/compare.h"
#include "util/atomic_file.h"

namespace moesim::cli {

int run_compare(const std::vector<std::string>& args) {
  CommandParser parser("compare", "<scenario.json> [options]",
                       "Runs one scenario under several placement policies with the same seed, routing and\n"
                       "arrivals, and prints one table (latency percentiles, SLO attainment, throughput,\n"
                       "per-layer imbalance, slowest GPU's expert time, GPU-seconds, bytes migrated).\n"
                       "Writes <out>/compare.json and <out>/compare.csv. Policies: `moesim policies`.");
  std::string path;
  std::string out_dir;
  std::string list = "static-contiguous,eplb,vibe";
  std::string trace_path;
  std::int64_t seed = -1;
  bool plots = true;
  parser.add_options()("scenario", po::value(&path), "scenario JSON file")(
      "policies", po::value(&list)->default_value(list), "comma-separated placement policies")(
      "out", po::value(&out_dir), "output folder (default: out/<scenario name>)")(
      "trace", po::value(&trace_path), "Perfetto trace of the first policy's run")(
      "seed", po::value(&seed), "override the scenario's seed")(
      "plots", po::value(&plots)->default_value(true),
      "draw latency-cdf.png and imbalance-heatmap.png (needs /usr/bin/python3 with matplotlib)");
  parser.add_positional("scenario", 1);
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (path.empty()) throw UsageError("missing scenario file");
  const std::vector<std::string> policies = parse_name_list("policies", list, "policy");
  run::Scenario scenario = run::load_scenario(path);
  if (seed >= 0) {
    scenario.seed = static_cast<std::uint64_t>(seed);
    scenario.resolved["seed"] = scenario.seed;
  }
  for (const auto& p : policies) scenario.with_placement(p);  // unknown names fail before any run
  if (out_dir.empty()) out_dir = "out/" + scenario.name;
  sim::TraceWriter trace(1000000);
  const auto rows = run::compare_policies(scenario, policies, trace_path.empty() ? nullptr : &trace);
  std::cout << run::format_comparison(scenario, rows);
  const std::string json = run::comparison_json(scenario, rows);
  write_file_atomic(out_dir + "/compare.json", json);
  write_file_atomic(out_dir + "/compare.csv", run::comparison_csv(rows));
  std::cout << fmt::format("\nWrote {0}/compare.json and {0}/compare.csv\n", out_dir);
  if (plots) {
    for (const char* kind : {"latency-cdf", "imbalance-heatmap"}) {
      report::render_plot(kind, json, fmt::format("{}/{}.png", out_dir, kind));
      std::cout << fmt::format("Wrote {}/{}.png\n", out_dir, kind);
    }
  }
  if (!trace_path.empty()) write_trace_and_report(trace_path, trace);
  return 0;
}

}  // namespace moesim::cli
