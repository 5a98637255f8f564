#include "experiments/cli/command.h"

#include <algorithm>
#include <thread>

#include <cmath>
#include <fmt/format.h>
#include <iostream>
#include <sstream>

#include "sim/trace_writer.h"

namespace moesim::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table{
      {"run", "simulate one scenario (cluster, model, workload, placement, SLOs) and report metrics", &run_run},
      {"calibrate", "fit GPU profiles to measurements (Vidur H100 data, our microbenchmarks) and validate the models", &run_calibrate},
      {"compare", "run one scenario under several placement policies (same seed) and compare them", &run_compare},
      {"offload", "serve one GPU with experts offloaded to host memory under cache policies (MoE-Infinity, LRU, ...)", &run_offload},
      {"sweep", "run a scenario grid (JSON paths × values × policies × seeds) on threads and MPI ranks, resumable", &run_sweep},
      {"plan", "find the cheapest cluster (GPU type × count × policy) meeting latency SLOs; cost frontier", &run_plan},
      {"regress", "compare placement-quality metrics of a scenario suite with a stored baseline (JUnit XML, CI gate)", &run_regress},
      {"place", "compute one expert placement from given loads (EPLB, ViBE, static) and its quality", &run_place},
      {"policies", "list the registered placement, prediction, dispatch, cache and provisioner policies with their parameters", &run_policies},
      {"settings", "list the scenario settings (serving, serverless, offload) with defaults and accepted values", &run_settings},
      {"validate", "check the engine against closed-form queueing theory (M/M/1, M/D/1, M/M/c)", &run_validate},
      {"bench", "measure simulator speed (engine: hold model, PHOLD, naive baseline)", &run_bench},
      {"trace", "convert real routing traces into the compact format; inspect them", &run_trace},
      {"catalog", "list the built-in MoE models and GPU profiles with derived quantities", &run_catalog},
  };
  return table;
}

CommandParser::CommandParser(std::string command, std::string usage, std::string description)
    : command_(std::move(command)),
      usage_(std::move(usage)),
      description_(std::move(description)),
      options_("Options") {
  options_.add_options()("help,h", "show this help and exit");
}

std::string CommandParser::help() const {
  std::ostringstream out;
  out << "Usage: moesim " << command_ << " " << usage_ << "\n\n" << description_ << "\n\n" << options_;
  return out.str();
}

bool CommandParser::parse(const std::vector<std::string>& args, po::variables_map& vm) {
  try {
    po::store(po::command_line_parser(args).options(options_).positional(positional_).run(), vm);
    if (vm.count("help") != 0) {
      std::cout << help();
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return true;
}

void write_trace_and_report(const std::string& path, const sim::TraceWriter& trace) {
  trace.write(path);
  std::cout << fmt::format("Trace: {} ({} records{}; open in ui.perfetto.dev)\n", path, trace.record_count(),
                           trace.dropped_records() > 0
                               ? fmt::format(", {} more dropped at --trace-limit", trace.dropped_records())
                               : std::string());
}

std::vector<std::string> parse_name_list(const std::string& option, const std::string& text, const std::string& what) {
  std::vector<std::string> names;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) names.push_back(item);
  }
  if (names.empty()) throw UsageError(fmt::format("--{} needs at least one {}", option, what));
  return names;
}

std::vector<double> parse_number_list(const std::string& option, const std::string& text) {
  std::vector<double> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    std::size_t used = 0;
    double v = 0.0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || !std::isfinite(v)) {
      throw UsageError(fmt::format("option '--{}': '{}' is not a finite number (expected a comma-separated list)",
                                   option, item));
    }
    values.push_back(v);
  }
  if (values.empty()) throw UsageError(fmt::format("option '--{}': expected a comma-separated list of numbers", option));
  return values;
}

int worker_threads(int requested) {
  if (requested < 0) throw UsageError("--threads must be >= 0");
  return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace moesim::cli
