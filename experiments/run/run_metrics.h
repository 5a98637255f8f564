#pragma once
// The named scalar metrics of one run, in one fixed order. compare, sweep, plan and
// regress all report these, so a column means the same thing in every output.
#include <string>
#include <utility>
#include <vector>

#include "experiments/run/run_scenario.h"

namespace moesim::run {

using MetricColumns = std::vector<std::pair<std::string, double>>;

MetricColumns metric_columns(const RunResult& r);
// Looks a metric up by name; throws std::out_of_range naming it when absent.
double metric_value(const MetricColumns& columns, const std::string& name);
// The metric names in column order (from a default-constructed result).
std::vector<std::string> metric_names();
// Empty when `name` is a metric, else "unknown metric 'x' (known: ...)".
std::string unknown_metric(const std::string& name);

}  // namespace moesim::run
