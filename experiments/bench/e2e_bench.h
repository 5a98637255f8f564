#pragma once
// moesim bench e2e: a whole serving run at per-layer granularity (real arrivals,
// real routing marginals) timed end to end. Targets: one hour of arrivals for
// Mixtral-8x7B on 8 GPUs in <= 10 s wall on one core (360x real time), <= 1 GiB peak
// RSS; DeepSeek-V3 at >= 60x on 64 GPUs and >= 1x on 1,024 (e2e_presets()).
#include <string>
#include <vector>

namespace moesim::bench {

struct E2eBenchResult {
  std::string scenario;
  double target_speed = 360.0;  // simulated seconds per wall second asked for
  double simulated_seconds = 0.0;
  double wall_seconds = 0.0;
  double events = 0.0;
  double requests = 0.0;
  double iterations = 0.0;
  double peak_rss_mib = 0.0;
};

E2eBenchResult run_e2e_bench(const std::string& scenario_path, double hours, double target_speed = 360.0);

// Shipped benchmark scenarios with their speed targets (docs/performance.md): one
// 8-GPU node per model family, and DeepSeek-V3 at 64 and 1,024 GPUs.
struct E2ePreset {
  std::string name;
  std::string scenario;  // under experiments/ (the scale scenarios in bench/scenarios/, not run by the echo tests)
  double hours;          // simulated hours of arrivals by default (the trace compressed by its time_scale)
  double target_speed;
};
const std::vector<E2ePreset>& e2e_presets();
std::string format_e2e(const E2eBenchResult& r);
std::string e2e_json(const E2eBenchResult& r);

}  // namespace moesim::bench
