#pragma once
// Runs an offloading scenario: each cache policy at each cache size, on the same
// routing (same seed), trained on the same training split and measured on the
// same evaluation split. Table, JSON and CSV outputs.
#include <string>
#include <vector>

#include "experiments/run/offload_scenario.h"
#include "models/offload/offload_metrics.h"
#include "sim/trace_writer.h"

namespace moesim::run {

struct OffloadRow {
  std::string policy;
  int cache_experts = 0;
  double cache_fraction = 0.0;
  models::OffloadMetrics metrics;
  std::uint64_t events = 0;
  double wall_s = 0.0;
};

// One policy spec at one cache size (experts); with `trace`, its timeline (requests,
// GPU compute and stalls, every host→GPU copy, resident experts, link rates).
OffloadRow run_offload(const OffloadScenario& s, const std::string& policy, int cache_experts,
                       sim::TraceWriter* trace = nullptr);

// Cache sizes from fractions of all experts (each at least one expert), or "fit":
// the scenario's own cache (what the memory model leaves, unless the scenario sets it).
std::vector<int> cache_sizes(const OffloadScenario& s, const std::vector<std::string>& items);

std::string format_offload(const OffloadScenario& s, const std::vector<OffloadRow>& rows);
std::string offload_json(const OffloadScenario& s, const std::vector<OffloadRow>& rows);
std::string offload_csv(const std::vector<OffloadRow>& rows);

}  // namespace moesim::run
