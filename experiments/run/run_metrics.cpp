#include "experiments/run/run_metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace moesim::run {

MetricColumns metric_columns(const RunResult& r) {
  const auto& m = r.metrics;
  const double seconds = sim::to_seconds(r.makespan);
  return {
      {"ttft_p50_ms", m.ttft().quantile(0.5) * 1e3},
      {"ttft_p90_ms", m.ttft().quantile(0.9) * 1e3},
      {"ttft_p99_ms", m.ttft().quantile(0.99) * 1e3},
      {"tpot_p50_ms", m.tpot().quantile(0.5) * 1e3},
      {"tpot_p90_ms", m.tpot().quantile(0.9) * 1e3},
      {"slo_attainment", m.slo_attainment()},
      {"throughput_tokens_per_s", seconds > 0 ? static_cast<double>(m.output_tokens()) / seconds : 0.0},
      {"imbalance_mean", m.layer_imbalance().mean()},
      {"imbalance_max", m.layer_imbalance().max()},
      {"slowest_gpu_expert_time_us", m.max_expert_time().mean() * 1e6},
      {"expert_gap_us", m.expert_gap().mean() * 1e6},
      {"expert_mean_us", m.expert_mean().mean() * 1e6},
      {"gpu_seconds", r.gpu_seconds()},
      {"bytes_migrated", m.bytes_migrated()},
      {"experts_moved", static_cast<double>(m.experts_moved())},
      {"requests", static_cast<double>(m.requests().size())},
      {"moe_layer_mean_ms", m.moe_layer_mean().mean() * 1e3},
      {"moe_layer_p99_ms", m.moe_layer().quantile(0.99) * 1e3},
      {"e2e_p50_s", m.e2e().quantile(0.5)},
      {"e2e_p99_s", m.e2e().quantile(0.99)},
      {"busy_gpu_seconds", r.cost.busy_gpu_seconds},
      {"reserved_gpu_seconds", r.cost.reserved_gpu_seconds},
      {"billed_gpu_seconds", r.cost.billed_gpu_seconds},
      {"expert_gb_seconds", r.cost.expert_gb_seconds},
      {"cost_usd", r.cost.usd},
      {"cold_starts", r.serverless ? static_cast<double>(r.serverless->bill.loads) : 0.0},
      {"cold_start_wait_s", r.serverless ? sim::to_seconds(r.serverless->bill.wait_time) : 0.0},
  };
}

double metric_value(const MetricColumns& columns, const std::string& name) {
  for (const auto& [key, value] : columns) {
    if (key == name) return value;
  }
  throw std::out_of_range("no metric named '" + name + "'");
}

std::vector<std::string> metric_names() {
  std::vector<std::string> names;
  for (const auto& [key, value] : metric_columns(RunResult{})) names.push_back(key);
  return names;
}

std::string unknown_metric(const std::string& name) {
  const auto known = metric_names();
  if (std::find(known.begin(), known.end(), name) != known.end()) return "";
  return fmt::format("unknown metric '{}' (known: {})", name, fmt::join(known, ", "));
}

}  // namespace moesim::run
