#pragma once
// The engine's queueing validation: M/M/1, M/D/1 and M/M/c at several
// utilisations, independent replications, Student-t intervals for the mean wait
// and mean queue length, compared with the closed forms; plus Little's law.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "experiments/validation/queueing_station.h"
#include "experiments/validation/queueing_theory.h"
#include "sim/stats/confidence.h"

namespace moesim::validation {

struct QueueingSuiteConfig {
  std::vector<double> utilisations{0.5, 0.7, 0.9};
  int multi_servers = 4;       // c of the M/M/c case
  double service_rate = 1000;  // mu per server, 1/s (mean service 1 ms)
  int replications = 20;
  StationRun run;
  std::uint64_t seed = 1;
  double confidence = 0.95;
  // When set, the first replication of every case is traced (one track per server),
  // each case keeping at most trace_spans_per_case spans.
  sim::TraceWriter* trace = nullptr;
  std::size_t trace_spans_per_case = 10000;
};

// Throws InputError naming the option for out-of-range settings.
void check_config(const QueueingSuiteConfig& c);

struct QueueingCheck {
  std::string model;   // Kendall notation
  int servers = 1;
  double rho = 0.0;
  std::string metric;  // "Wq" (s) or "Lq"
  sim::ConfidenceInterval simulated;
  double closed_form = 0.0;
  bool within() const { return simulated.contains(closed_form); }
};

struct LittleCheck {
  std::string model;
  double rho = 0.0;
  double time_average_in_system = 0.0;  // L measured as a time average
  double rate_times_sojourn = 0.0;      // lambda_hat * W measured per customer
  double relative_difference() const;
};

struct QueueingSuiteResult {
  QueueingSuiteConfig config;
  std::vector<QueueingCheck> checks;
  std::vector<LittleCheck> little;
  std::uint64_t events = 0;
  std::size_t misses() const;
};

using ProgressCallback = std::function<void(std::size_t done, std::size_t total)>;

QueueingSuiteResult run_queueing_suite(const QueueingSuiteConfig& config, const ProgressCallback& progress = {});

std::string format_table(const QueueingSuiteResult& r);
std::string to_json(const QueueingSuiteResult& r);

}  // namespace moesim::validation
