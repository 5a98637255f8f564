#pragma once
// moesim compare: one scenario (same seed, routing and arrivals) under several
// placement policies, side by side.
#include <string>
#include <vector>

#include "experiments/run/run_scenario.h"

namespace moesim::run {

struct ComparisonRow {
  std::string policy;
  RunResult result;
};

std::vector<ComparisonRow> compare_policies(const Scenario& s, const std::vector<std::string>& policies,
                                            sim::TraceWriter* trace_of_first = nullptr);
std::string format_comparison(const Scenario& s, const std::vector<ComparisonRow>& rows);
std::string comparison_json(const Scenario& s, const std::vector<ComparisonRow>& rows);
std::string comparison_csv(const std::vector<ComparisonRow>& rows);

}  // namespace moesim::run
