#pragma once
// Runs one scenario end to end: builds the cluster, draws GPU slowdowns, runs the
// arrival process and the serving engine, and collects the metrics.
#include <functional>
#include <string>

#include <optional>

#include "experiments/run/scenario.h"
#include "models/serverless/serverless_runtime.h"
#include "models/serving/expert_placement.h"
#include "models/serving/serving_metrics.h"
#include "policies/load_predictor.h"
#include "policies/provisioner.h"
#include "sim/trace_writer.h"

namespace moesim::run {

struct LinkSummary {
  std::string name;
  double bytes = 0.0;
  double utilisation = 0.0;
};

// What a run costs (docs/serverless.md, "Billing"). Serverful: every GPU is paid
// for the whole run and holds its expert copies throughout. Serverless: GPU time
// spent loading and executing expert instances, memory over each instance's lifetime.
// Every policy under the same three rules (docs/serverless.md, "Cost"), plus what
// its own billing model charges.
struct CostSummary {
  double busy_gpu_seconds = 0.0;      // all work on the GPUs: attention, dense, experts, weight loads
  double reserved_gpu_seconds = 0.0;  // GPUs held × makespan: what a cloud bills for reserved GPUs
  double expert_gb_seconds = 0.0;     // expert weights held × time
  // The policy's own bill: serverful = reserved; serverless = each invocation rounded
  // up to the billing granularity.
  double billed_gpu_seconds = 0.0;
  double usd = 0.0;  // the bill at the scenario's prices
};

struct ServerlessSummary {
  models::ServerlessBill bill;
  policies::ProvisionerStats stats;
  policies::PredictorAccuracy accuracy;
  std::string keep_alive;
  std::int64_t pool_bytes = 0;
};

// One model instance of the run: GPUs [first_gpu, first_gpu + gpus) of the cluster.
struct InstanceSummary {
  int first_gpu = 0;
  int gpus = 0;
  std::string pool;  // disaggregated serving: "prefill" or "decode"; else empty
  std::string gpu;   // the instance's own GPU type when its group names one; else empty
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
  CostSummary cost;
  std::optional<ServerlessSummary> serverless;
  std::vector<InstanceSummary> instances;  // one per model instance (one: the whole cluster)
  std::string router;                      // the request router (used with several instances)
  double gpu_seconds() const { return gpus * sim::to_seconds(makespan); }
};

// Told the share of the workload submitted so far (0..1), at every arrival.
using ProgressCallback = std::function<void(double)>;
RunResult run_scenario(const Scenario& s, sim::TraceWriter* trace = nullptr, const ProgressCallback& progress = {});

// Serverful: every GPU reserved for the makespan, `expert_copies` (all instances') held throughout.
CostSummary serverful_cost(const Scenario& s, std::int64_t expert_copies, const RunResult& r);
CostSummary serverless_cost(const Scenario& s, const models::ServerlessBill& bill, const RunResult& r);

std::string format_summary(const Scenario& s, const RunResult& r);
std::string metrics_json(const Scenario& s, const RunResult& r);
std::string requests_csv(const RunResult& r);

}  // namespace moesim::run
