// moesim sweep grid.json: a scenario grid on a thread pool and across MPI ranks,
// resumable, with the same results whatever the thread or rank count.
#include <fmt/format.h>

#include <iostream>

#include "experiments/cli/command.h"
#include "experiments/report/progress.h"
#include "experiments/run/run_metrics.h"
#include "experiments/workflows/ranks.h"
#include "experiments/workflows/sweep.h"
#include "experiments/workflows/sweep_store.h"
#include "util/atomic_file.h"
#include "util/errors.h"

namespace moesim::cli {
namespace {

struct SweepOptions {
  std::string path;
  std::string out_dir;
  int threads = 0;
  bool fresh = false;
  std::string metrics = "ttft_p90_ms,tpot_p90_ms,slo_attainment,imbalance_mean,gpu_seconds";
};

int sweep(const SweepOptions& o, const workflows::Ranks& ranks) {
  const workflows::SweepSpec spec = workflows::load_sweep_spec(o.path);
  const auto points = workflows::sweep_points(spec);
  workflows::check_points(spec, points);  // bad values fail here, before any output exists
  const std::vector<std::string> metrics = parse_name_list("metrics", o.metrics, "metric");
  for (const auto& m : metrics) {
    if (const std::string unknown = run::unknown_metric(m); !unknown.empty()) throw UsageError("--metrics: " + unknown);
  }
  const std::string out_dir =
      o.out_dir.empty() ? "out/" + std::filesystem::path(o.path).stem().string() : o.out_dir;

  // Rank 0 first: it may discard old results (--fresh) or write the spec the others check.
  std::unique_ptr<workflows::SweepStore> store;
  if (ranks.rank() == 0) store = std::make_unique<workflows::SweepStore>(out_dir, spec.identity(), 0, o.fresh);
  ranks.barrier();
  if (ranks.rank() != 0) store = std::make_unique<workflows::SweepStore>(out_dir, spec.identity(), ranks.rank(), false);

  // Point i belongs to rank i mod size: a fixed split, so every rank knows its share.
  std::vector<nlohmann::ordered_json> mine;
  std::vector<workflows::SweepPoint> to_run;
  for (const auto& p : points) {
    if (static_cast<int>(p.index % static_cast<std::size_t>(ranks.size())) != ranks.rank()) continue;
    const auto done = store->finished().find(p.key);
    if (done != store->finished().end()) {
      auto resumed = done->second;
      resumed["index"] = p.index;
      mine.push_back(std::move(resumed));
    } else {
      to_run.push_back(p);
    }
  }
  const int threads = o.threads == 0 && ranks.size() > 1 ? 1 : worker_threads(o.threads);
  report::ProgressBar progress(fmt::format("sweep (rank {}/{})", ranks.rank(), ranks.size()),
                               ranks.rank() == 0 && report::ProgressBar::stderr_is_terminal());
  std::size_t finished = 0;
  workflows::run_points(spec, to_run, threads, [&](const nlohmann::ordered_json& result) {
    store->append(result);
    mine.push_back(result);
    progress.update(++finished, to_run.size());
  });
  progress.finish();

  std::string lines;
  for (const auto& r : mine) lines += r.dump() + "\n";
  const auto gathered = ranks.gather(lines);
  if (ranks.rank() != 0) return 0;
  std::vector<nlohmann::ordered_json> results;
  for (const auto& text : gathered) {
    std::size_t start = 0;
    while (start < text.size()) {
      const std::size_t end = text.find('\n', start);
      results.push_back(nlohmann::ordered_json::parse(text.substr(start, end - start)));
      start = end + 1;
    }
  }
  std::size_t failed = 0;
  std::size_t resumed = 0;
  for (const auto& r : results) failed += r.contains("error") ? 1 : 0;
  for (const auto& p : points) resumed += store->finished().count(p.key);
  std::cout << workflows::sweep_table(spec, results, metrics);
  write_file_atomic(out_dir + "/sweep.json", workflows::sweep_json(spec, results));
  write_file_atomic(out_dir + "/sweep.csv", workflows::sweep_csv(spec, results));
  std::cout << fmt::format("\n{} points on {} rank(s) × {} thread(s): {} run now, {} resumed from {}, {} could not run\n",
                           results.size(), ranks.size(), threads, results.size() - resumed, resumed, out_dir,
                           failed);
  std::cout << fmt::format("Wrote {0}/sweep.json and {0}/sweep.csv\n", out_dir);
  return 0;
}

}  // namespace

int run_sweep(const std::vector<std::string>& args) {
  CommandParser parser("sweep", "<sweep.json> [options]",
                       "Runs a scenario grid: {\"scenario\": file, \"grid\": {\"$.json.path\": [values], ...},\n"
                       "\"zip\": {\"$.path\": [values], ...}, \"policies\": [...], \"seeds\": [...]} — every combination\n"
                       "of the grid axes and the zip (whose equal-length lists move in step), on a thread pool and, under\n"
                       "`mpirun -np N moesim sweep ...`, across MPI ranks. Finished points are kept in\n"
                       "<out>/points-<rank>.jsonl; running the same sweep again resumes where it stopped.\n"
                       "Writes <out>/sweep.json and <out>/sweep.csv (sorted by point, whatever the split).");
  SweepOptions o;
  parser.add_options()("sweep", po::value(&o.path), "sweep JSON file")(
      "out", po::value(&o.out_dir), "output folder (default: out/<sweep file name>)")(
      "threads", po::value(&o.threads)->default_value(0), "worker threads per rank (0: one per core, 1 under MPI)")(
      "fresh", po::bool_switch(&o.fresh), "discard finished points in the output folder and start over")(
      "metrics", po::value(&o.metrics)->default_value(o.metrics), "metrics shown in the terminal table");
  parser.add_positional("sweep", 1);
  if (std::find(args.begin(), args.end(), "--help") != args.end()) {
    std::cout << (workflows::Ranks::built_with_mpi() ? "MPI: built in (mpirun -np N moesim sweep ...)\n"
                                                     : "MPI: not built in (threads only; install libopenmpi-dev and rebuild)\n");
  }
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (o.path.empty()) throw UsageError("missing sweep file");
  const workflows::Ranks ranks;
  try {
    return sweep(o, ranks);
  } catch (const std::exception& e) {
    if (ranks.size() > 1) {
      std::cerr << fmt::format("moesim sweep (rank {}): {}\n", ranks.rank(), e.what());
      ranks.abort_all(dynamic_cast<const InputError*>(&e) || dynamic_cast<const UsageError*>(&e) ? 2 : 3);
    }
    throw;
  }
}

}  // namespace moesim::cli
