#pragma once
// Per-instance views of a run whose cluster serves several model instances
// (docs/models.md "Instances"): each instance's requests, latencies, SLO
// attainment and GPU busy share, from the cluster-wide records.
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/run/run_scenario.h"
#include "sim/stats/quantile_sketch.h"

namespace moesim::run {

struct InstanceMetrics {
  int first_gpu = 0;
  int gpus = 0;
  std::string pool;  // disaggregated serving: "prefill" or "decode"; else empty
  std::string gpu;   // the instance's own GPU type when its group names one; else empty
  std::size_t requests = 0;
  std::int64_t output_tokens = 0;
  sim::QuantileSketch ttft;  // seconds
  sim::QuantileSketch tpot;  // seconds, requests with more than one output token
  double slo_attainment = 0.0;  // of the instance's completed requests
  double busy_share = 0.0;      // busy GPU time / (GPUs × makespan)
};

std::vector<InstanceMetrics> instance_metrics(const RunResult& r);
// {"p50", "p90", "p99"} of a sketch, as metrics.json writes every latency.
nlohmann::ordered_json quantiles_json(const sim::QuantileSketch& q);
// Rows for the terminal summary and the "instances" member of the metrics JSON.
std::vector<std::vector<std::string>> instance_rows(const RunResult& r);
nlohmann::ordered_json instances_json(const RunResult& r);

}  // namespace moesim::run
