// moesim regress suite.json: placement-quality metrics against a stored baseline.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "experiments/cli/command.h"
#include "experiments/workflows/regress.h"
#include "util/atomic_file.h"

namespace moesim::cli {

int run_regress(const std::vector<std::string>& args) {
  CommandParser parser("regress", "<suite.json> [options]",
                       "Runs a suite of placement-quality cases and compares each metric with the stored\n"
                       "baseline within its tolerance. Prints what moved, writes JUnit XML, and exits 1 when a\n"
                       "metric got worse beyond its tolerance (or has no baseline). --update-baseline rewrites\n"
                       "the baseline from this run instead. Suite format: docs/workflows.md.");
  std::string path;
  std::string junit_path;
  int threads = 0;
  bool update = false;
  parser.add_options()("suite", po::value(&path), "suite JSON file")(
      "junit", po::value(&junit_path), "JUnit XML report (default: out/regress/<suite name>.junit.xml)")(
      "threads", po::value(&threads)->default_value(0), "worker threads (0: one per core)")(
      "update-baseline", po::bool_switch(&update), "write this run's metrics as the new baseline");
  parser.add_positional("suite", 1);
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (path.empty()) throw UsageError("missing suite file");
  const auto suite = workflows::load_regress_suite(path);
  const bool have_baseline = std::filesystem::exists(suite.baseline_path);
  // A missing or corrupt baseline fails before anything runs (unless it is being created).
  const workflows::RegressValues baseline =
      update && !have_baseline ? workflows::RegressValues{} : workflows::load_baseline(suite.baseline_path);
  const auto start = std::chrono::steady_clock::now();
  const auto now = workflows::run_regress_suite(
      suite, worker_threads(threads));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto checks = workflows::compare_to_baseline(suite, baseline, now);
  if (!update || have_baseline) std::cout << workflows::format_checks(checks);
  if (update) {
    write_file_atomic(suite.baseline_path, workflows::baseline_json(now));
    std::cout << fmt::format("Baseline rewritten: {} ({} runs)\n", suite.baseline_path, now.size());
    return 0;
  }
  if (junit_path.empty()) junit_path = "out/regress/" + std::filesystem::path(path).stem().string() + ".junit.xml";
  write_file_atomic(junit_path, workflows::junit_xml(checks, seconds));
  std::cout << fmt::format("JUnit XML: {}\n", junit_path);
  for (const auto& c : checks) {
    if (c.verdict == workflows::Verdict::kRegressed || c.verdict == workflows::Verdict::kMissing) {
      std::cout << "regress: FAILED (placement quality moved beyond tolerance; see the table above)\n";
      return 1;
    }
  }
  std::cout << "regress: passed\n";
  return 0;
}

}  // namespace moesim::cli
