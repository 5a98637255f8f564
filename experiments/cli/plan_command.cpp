// moesim plan plan.json: the cheapest cluster meeting latency SLOs, and the frontier.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "experiments/cli/command.h"
#include "experiments/report/plot.h"
#include "experiments/workflows/plan.h"
#include "util/atomic_file.h"

namespace moesim::cli {

int run_plan(const std::vector<std::string>& args) {
  CommandParser parser("plan", "<plan.json> [options]",
                       "Finds the cheapest cluster (GPU type × machine count × placement policy) whose P90 TTFT\n"
                       "and P90 TPOT meet the SLOs on the scenario's workload. For each GPU type and policy it\n"
                       "bisects over the machine count (assuming more machines never hurt), then prints every\n"
                       "evaluated cluster with the cost-vs-attainment frontier. Writes <out>/plan.json,\n"
                       "<out>/plan.csv and <out>/plan-frontier.png. Exits 1 when no candidate meets the SLOs.\n"
                       "Plan format: docs/workflows.md.");
  std::string path;
  std::string out_dir;
  int threads = 0;
  bool plot = true;
  parser.add_options()("plan", po::value(&path), "plan JSON file")(
      "out", po::value(&out_dir), "output folder (default: out/<plan file name>)")(
      "threads", po::value(&threads)->default_value(0), "worker threads (0: one per core)")(
      "plot", po::value(&plot)->default_value(true), "draw plan-frontier.png (needs /usr/bin/python3 with matplotlib)");
  parser.add_positional("plan", 1);
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (path.empty()) throw UsageError("missing plan file");
  const auto spec = workflows::load_plan_spec(path);
  if (out_dir.empty()) out_dir = "out/" + std::filesystem::path(path).stem().string();
  const auto result = workflows::run_plan(
      spec, worker_threads(threads));
  std::cout << workflows::format_plan(spec, result);
  const std::string json = workflows::plan_json(spec, result);
  write_file_atomic(out_dir + "/plan.json", json);
  write_file_atomic(out_dir + "/plan.csv", workflows::plan_csv(result));
  std::cout << fmt::format("\nWrote {0}/plan.json and {0}/plan.csv\n", out_dir);
  if (plot) {
    report::render_plot("plan-frontier", json, out_dir + "/plan-frontier.png");
    std::cout << fmt::format("Wrote {}/plan-frontier.png\n", out_dir);
  }
  return result.cheapest ? 0 : 1;
}

}  // namespace moesim::cli
