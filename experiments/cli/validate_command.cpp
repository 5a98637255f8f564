// moesim validate queueing: the engine's acceptance test against queueing theory.
#include <fmt/format.h>
#include <iostream>

#include "experiments/cli/command.h"
#include "experiments/report/progress.h"
#include "experiments/validation/queueing_suite.h"
#include "util/atomic_file.h"

namespace moesim::cli {

int run_validate(const std::vector<std::string>& args) {
  CommandParser parser("validate", "<target> [options]",
                       "Targets:\n"
                       "  queueing   simulate M/M/1, M/D/1 and M/M/c stations with the engine's processes and\n"
                       "             resources; compare the mean wait Wq and queue length Lq with closed forms\n"
                       "             (Pollaczek-Khinchine, Erlang C) and check Little's law.\n"
                       "Exit code 0 when every closed form lies inside its confidence interval, 1 otherwise.");
  std::string target;
  std::string utilisations;
  std::string json_path;
  std::string trace_path;
  validation::QueueingSuiteConfig config;
  parser.add_options()("target", po::value(&target), "what to validate: queueing")(
      "utilisations", po::value(&utilisations)->default_value("0.5,0.7,0.9"), "comma-separated rho values in (0, 1)")(
      "servers", po::value(&config.multi_servers)->default_value(config.multi_servers), "c of the M/M/c case (>= 2)")(
      "service-rate", po::value(&config.service_rate)->default_value(config.service_rate),
      "service rate per server, 1/s")("replications", po::value(&config.replications)->default_value(config.replications),
                                      "independent replications per case (>= 2)")(
      "customers", po::value(&config.run.customers)->default_value(config.run.customers), "arrivals per replication")(
      "warmup", po::value(&config.run.warmup_customers)->default_value(config.run.warmup_customers),
      "leading arrivals deleted from the statistics")("confidence",
                                                       po::value(&config.confidence)->default_value(config.confidence),
                                                       "confidence level of the intervals")(
      "seed", po::value(&config.seed)->default_value(config.seed), "master seed")(
      "json", po::value(&json_path)->default_value("out/validate-queueing.json"), "where to write the JSON report")(
      "trace", po::value(&trace_path),
      "also write a Chrome/Perfetto trace of each case's first replication (one track per server)")(
      "trace-limit", po::value(&config.trace_spans_per_case)->default_value(config.trace_spans_per_case),
      "maximum spans kept per case in the trace");
  parser.add_positional("target", 1);
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (target.empty()) throw UsageError("missing target (expected: queueing)");
  if (target != "queueing") throw UsageError(fmt::format("unknown target '{}' (expected: queueing)", target));
  config.utilisations = parse_number_list("utilisations", utilisations);
  validation::check_config(config);
  sim::TraceWriter trace;
  if (!trace_path.empty()) config.trace = &trace;

  report::ProgressBar bar("validate queueing", report::ProgressBar::stderr_is_terminal());
  const validation::QueueingSuiteResult result =
      validation::run_queueing_suite(config, [&bar](std::size_t done, std::size_t total) { bar.update(done, total); });
  bar.finish();
  std::cout << validation::format_table(result);
  write_file_atomic(json_path, validation::to_json(result));
  std::cout << "JSON report: " << json_path << "\n";
  if (!trace_path.empty()) write_trace_and_report(trace_path, trace);
  return result.misses() == 0 ? 0 : 1;
}

}  // namespace moesim::cli
