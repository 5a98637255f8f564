#pragma once
// moesim plan: the cheapest cluster (GPU type × machine count × placement policy ×
// instance size × prefill:decode split) that meets latency SLOs on a workload, found by bisection over the
// machine count for every (GPU type, policy, instance size), plus the cost-vs-attainment frontier of
// everything evaluated on the way.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/workflows/scenario_variant.h"

namespace moesim::workflows {

struct PlanCandidate {
  std::string gpu;                  // catalog GPU profile
  nlohmann::json topology;          // {"preset": ..., ...}; machines set by the search
  double usd_per_gpu_hour = 0.0;
  int max_machines = 1;
  // EP sizes to try: the cluster cut into GPUs / size instances of `size` GPUs behind
  // the scenario's router (docs/models.md "Instances"); empty = one instance of all GPUs.
  std::vector<int> instance_gpus;
  // Disaggregated prefill and decode (docs/models.md): shares of the instances that
  // form the prefill pool (rounded, at least one instance in each pool); 0 tries the
  // colocated layout beside them. Empty: colocated only. Needs instance_gpus.
  std::vector<double> prefill_shares;
};

struct PlanSlo {
  double ttft_p90_ms = 0.0;
  double tpot_p90_ms = 0.0;
};

struct PlanSpec {
  std::string source;
  ScenarioDocument scenario;
  PlanSlo slo;
  std::vector<std::string> policies;
  std::vector<PlanCandidate> candidates;
};

struct PlanPoint {
  std::string gpu;
  std::string policy;
  int machines = 0;
  int gpus = 0;
  int instance_gpus = 0;  // GPUs per instance; 0 = one instance of all of them
  double prefill_share = 0.0;  // asked share of instances in the prefill pool; 0 = colocated
  int prefill_instances = 0;   // the prefill pool that share gave; 0 = colocated
  double usd_per_hour = 0.0;
  double ttft_p90_ms = 0.0;
  double tpot_p90_ms = 0.0;
  double slo_attainment = 0.0;  // share of requests meeting the scenario's per-request SLO
  bool meets = false;           // P90 TTFT and P90 TPOT within the plan's SLOs
  std::string error;            // the cluster cannot run the model (e.g. weights do not fit)
  bool on_frontier = false;     // no other point is cheaper with at least the same attainment
};

struct PlanResult {
  std::vector<PlanPoint> points;           // every evaluated cluster, cheapest first
  std::optional<std::size_t> cheapest;     // index of the cheapest point that meets the SLOs
  std::size_t best = 0;                    // when none meets: the highest attainment found
  int runs = 0;
  int exhaustive_runs = 0;                 // what trying every count would have cost
};

// Throws InputError naming the JSON path.
PlanSpec load_plan_spec(const std::string& path);
// Bisection assumes that adding machines never breaks an SLO a smaller cluster met.
PlanResult run_plan(const PlanSpec& spec, int threads);

std::string format_plan(const PlanSpec& spec, const PlanResult& result);
std::string plan_json(const PlanSpec& spec, const PlanResult& result);
std::string plan_csv(const PlanResult& result);

}  // namespace moesim::workflows
