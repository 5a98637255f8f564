#pragma once
// Runs one scenario end to end: builds the cluster, draws GPU slowdowns, runs the
// arrival process and the serving engine, and collects the metrics.
#include <string>

#include "experiments/run/scenario.h"
#include "models/serving/serving_metrics.h"
#include "policies/load_predictor.h"
#include "sim/trace_writer.h"

namespace moesim::run {

struct LinkSummary {
  std::string name;
  double bytes = 0.0;
  double utilisation = 0.0;
};

struct RunResult {
  models::ServingMetrics metrics{1, {}};
  sim::Time makespan = 0;
  int gpus = 0;
  std::uint64_t events = 0;
  double wall_seconds = 0.0;
  std::vector<models::GpuSlowdown> slowdowns;
  std::vector<LinkSummary> links;  // every link, busiest (most bytes) first
  std::string routing_label;
  policies::PredictorAccuracy predictor_accuracy;
  int recalibrations = 0;
  double gpu_seconds() const { return gpus * sim::to_seconds(makespan); }
};

RunResult run_scenario(const Scenario& s, sim::TraceWriter* trace = nullptr);

std::string format_summary(const Scenario& s, const RunResult& r);
std::string metrics_json(const Scenario& s, const RunResult& r);
std::string requests_csv(const RunResult& r);

}  // namespace moesim::run
