#pragma once
// moesim bench e2e: a whole serving run at per-layer granularity (real arrivals,
// real routing marginals) timed end to end. Targets (issue 4): one hour of
// arrivals for Mixtral-8x7B on 8 GPUs in <= 10 s wall on one core, <= 1 GiB peak RSS.
#include <string>

namespace moesim::bench {

struct E2eBenchResult {
  std::string scenario;
  double simulated_seconds = 0.0;
  double wall_seconds = 0.0;
  double events = 0.0;
  double requests = 0.0;
  double iterations = 0.0;
  double peak_rss_mib = 0.0;
};

E2eBenchResult run_e2e_bench(const std::string& scenario_path, double hours);
std::string format_e2e(const E2eBenchResult& r);
std::string e2e_json(const E2eBenchResult& r);

}  // namespace moesim::bench
