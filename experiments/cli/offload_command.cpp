// moesim offload scenario.json: expert offloading policies × cache sizes on one GPU.
#include <fmt/format.h>
#include <iostream>

#include "experiments/cli/command.h"
#include "experiments/report/plot.h"
#include "experiments/report/progress.h"
#include "experiments/run/offload_run.h"
#include "policies/registry.h"
#include "experiments/run/policy_spec.h"
#include "util/atomic_file.h"

namespace moesim::cli {

int run_offload(const std::vector<std::string>& args) {
  CommandParser parser("offload", "<offload-scenario.json> [options]",
                       "Serves one model on one GPU at batch size 1 with its experts offloaded to host memory,\n"
                       "under each cache policy (same routing and seed; policies profile the training requests\n"
                       "and are measured on the others) and each cache size. Prints per-token decode latency,\n"
                       "hit rate, prefetch accuracy and host→GPU bytes; writes <out>/offload.json and .csv.\n"
                       "Cache policies: `moesim policies` (kind cache).");
  std::string path;
  std::string out_dir;
  std::string list;
  std::string fractions;
  std::string png;
  std::string trace_path;
  std::int64_t seed = -1;
  parser.add_options()("scenario", po::value(&path), "offload scenario JSON file")(
      "policies", po::value(&list), "comma-separated cache policies (default: the scenario's)")(
      "cache-fractions", po::value(&fractions), "comma-separated cache sizes as fractions of all experts, or "
                                                "'fit' for the scenario's cache (default: fit)")(
      "out", po::value(&out_dir), "output folder (default: out/<scenario name>)")(
      "png", po::value(&png), "latency vs cache size plot (PNG)")(
      "trace", po::value(&trace_path), "Perfetto trace of the first policy at the first cache size")(
      "seed", po::value(&seed), "override the scenario's seed");
  parser.add_positional("scenario", 1);
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (path.empty()) throw UsageError("missing scenario file");
  run::OffloadScenario s = run::load_offload_scenario(path);
  if (seed >= 0) {
    s.seed = static_cast<std::uint64_t>(seed);
    s.resolved["seed"] = s.seed;
  }
  if (vm.count("policies")) {
    s.policies = parse_name_list("policies", list, "policy");
    for (const std::string& p : s.policies) {
      const run::PolicySpec spec = run::parse_policy_spec(p);
      policies::make_cache_policy(spec.name, spec.params);  // unknown names fail before any run
    }
    s.resolved["policies"] = s.policies;
  }
  const std::vector<int> sizes =
      fractions.empty() ? std::vector<int>{s.offload.cache_experts}
                        : run::cache_sizes(s, parse_name_list("cache-fractions", fractions, "size"));
  if (out_dir.empty()) out_dir = "out/" + s.name;
  std::vector<run::OffloadRow> rows;
  report::ProgressBar progress("offload", report::ProgressBar::stderr_is_terminal());
  const std::size_t total = sizes.size() * s.policies.size();
  sim::TraceWriter trace(1000000);
  for (const int size : sizes) {
    for (const std::string& policy : s.policies) {
      rows.push_back(run::run_offload(s, policy, size, rows.empty() && !trace_path.empty() ? &trace : nullptr));
      progress.update(rows.size(), total);
    }
  }
  progress.finish();
  std::cout << run::format_offload(s, rows);
  const std::string json = run::offload_json(s, rows);
  write_file_atomic(out_dir + "/offload.json", json);
  write_file_atomic(out_dir + "/offload.csv", run::offload_csv(rows));
  std::cout << fmt::format("\nWrote {0}/offload.json and {0}/offload.csv\n", out_dir);
  if (!png.empty()) {
    report::render_plot("offload-latency", json, png);
    std::cout << fmt::format("Wrote {}\n", png);
  }
  if (!trace_path.empty()) write_trace_and_report(trace_path, trace);
  return 0;
}

}  // namespace moesim::cli
