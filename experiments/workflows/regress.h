#pragma once
// moesim regress: a suite of placement-quality cases (scenario × overrides ×
// policies) compared metric by metric with a stored baseline, within per-metric
// tolerances. Worse beyond tolerance is a regression; better beyond it is reported
// as an improvement to be accepted with --update-baseline.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/workflows/scenario_variant.h"

namespace moesim::workflows {

struct Tolerance {
  double relative = 0.0;  // of the baseline value
  double absolute = 0.0;  // allowed on top: |now - baseline| <= absolute + relative·|baseline|
};

enum class Better { kLower, kHigher };
// slo_attainment and throughput are better higher; latencies, imbalance and costs lower.
Better better_direction(const std::string& metric);

struct RegressCase {
  std::string name;
  ScenarioDocument scenario;
  Overrides overrides;  // values and seed; policy set per run
  std::vector<std::string> policies;
};

struct RegressSuite {
  std::string source;
  std::string baseline_path;  // relative to the suite file
  std::vector<std::string> metrics;
  std::map<std::string, Tolerance> tolerances;  // per metric; "default" for the rest
  std::vector<RegressCase> cases;
  const Tolerance& tolerance(const std::string& metric) const;
};

// Throws InputError naming the JSON path: unknown metric names, bad tolerances,
// cases whose scenario or overrides do not parse, unknown policies.
RegressSuite load_regress_suite(const std::string& path);

// case/policy -> metric -> value.
using RegressValues = std::map<std::string, std::map<std::string, double>>;

RegressValues run_regress_suite(const RegressSuite& suite, int threads);

// Throws InputError naming the file when it is missing or corrupt.
RegressValues load_baseline(const std::string& path);
std::string baseline_json(const RegressValues& values);

enum class Verdict { kSame, kWithin, kImproved, kRegressed, kMissing };

struct MetricCheck {
  std::string run;  // case/policy
  std::string metric;
  double baseline = 0.0;
  double now = 0.0;
  Tolerance tolerance;
  Verdict verdict = Verdict::kSame;
};

std::vector<MetricCheck> compare_to_baseline(const RegressSuite& suite, const RegressValues& baseline,
                                             const RegressValues& now);
const char* verdict_name(Verdict v);

// The checks that moved (all but kSame) as a table; a one-line summary at the end.
std::string format_checks(const std::vector<MetricCheck>& checks);
// JUnit XML: one <testsuite> per case, one <testcase> per policy, a <failure> per regressed metric.
std::string junit_xml(const std::vector<MetricCheck>& checks, double seconds);

}  // namespace moesim::workflows
