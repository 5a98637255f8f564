#include "experiments/run/compare.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "experiments/report/text_table.h"

namespace moesim::run {
namespace {

// The columns every output shares: name, value.
std::vector<std::pair<std::string, double>> columns(const RunResult& r) {
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
      {"gpu_seconds", r.gpu_seconds()},
      {"bytes_migrated", m.bytes_migrated()},
      {"experts_moved", static_cast<double>(m.experts_moved())},
      {"requests", static_cast<double>(m.requests().size())},
      {"moe_layer_mean_ms", m.moe_layer_mean().mean() * 1e3},
      {"moe_layer_p99_ms", m.moe_layer().quantile(0.99) * 1e3},
      {"e2e_p50_s", m.e2e().quantile(0.5)},
      {"e2e_p99_s", m.e2e().quantile(0.99)},
      {"billed_gpu_seconds", r.cost.gpu_seconds},
      {"expert_gb_seconds", r.cost.expert_gb_seconds},
      {"cost_usd", r.cost.usd},
      {"cold_starts", r.serverless ? static_cast<double>(r.serverless->bill.loads) : 0.0},
      {"cold_start_wait_s", r.serverless ? sim::to_seconds(r.serverless->bill.wait_time) : 0.0},
  };
}

}  // namespace

std::vector<ComparisonRow> compare_policies(const Scenario& s, const std::vector<std::string>& policies,
                                            sim::TraceWriter* trace_of_first) {
  std::vector<ComparisonRow> rows;
  for (const auto& p : policies) {
    const Scenario variant = s.with_placement(p);
    rows.push_back({p, run_scenario(variant, rows.empty() ? trace_of_first : nullptr)});
  }
  return rows;
}

std::string format_comparison(const Scenario& s, const std::vector<ComparisonRow>& rows) {
  report::TextTable t({"policy", "TTFT P50/P90/P99 ms", "TPOT P50/P90 ms", "SLO", "tok/s", "imbalance mean/max",
                       "slowest GPU µs", "GPU-s", "moved GB"});
  report::TextTable cost({"policy", "MoE layer mean/P99 ms", "E2E P50/P99 s", "billed GPU-s", "expert GB-s", "cost $",
                          "cold starts", "cold wait s"});
  for (const auto& row : rows) {
    const auto c = columns(row.result);
    cost.add_row({row.policy, fmt::format("{:.3f} / {:.3f}", c[14].second, c[15].second),
                  fmt::format("{:.2f} / {:.2f}", c[16].second, c[17].second), fmt::format("{:.1f}", c[18].second),
                  fmt::format("{:.0f}", c[19].second), fmt::format("{:.3f}", c[20].second),
                  fmt::format("{:.0f}", c[21].second), fmt::format("{:.3f}", c[22].second)});
    t.add_row({row.policy, fmt::format("{:.1f} / {:.1f} / {:.1f}", c[0].second, c[1].second, c[2].second),
               fmt::format("{:.2f} / {:.2f}", c[3].second, c[4].second), fmt::format("{:.1f}%", 100 * c[5].second),
               fmt::format("{:.0f}", c[6].second), fmt::format("{:.3f} / {:.3f}", c[7].second, c[8].second),
               fmt::format("{:.1f}", c[9].second), fmt::format("{:.1f}", c[10].second), fmt::format("{:.2f}", c[11].second / 1e9)});
  }
  std::string out = fmt::format("{}: {} on {} × {} ({}), seed {}\n", s.name, s.model.display_name,
                                rows.empty() ? 0 : rows[0].result.gpus, s.gpu.name, s.topology.preset, s.seed);
  if (!rows.empty()) out += fmt::format("arrivals: {}\nrouting: {}\n\n", s.arrivals.label(), rows[0].result.routing_label);
  return out + t.render() + "\nlatency and cost (serverful: all GPUs for the whole run; serverless: load + execution GPU time)\n" +
         cost.render();
}

std::string comparison_json(const Scenario& s, const std::vector<ComparisonRow>& rows) {
  nlohmann::ordered_json j;
  j["scenario"] = s.resolved;
  j["policies"] = nlohmann::ordered_json::array();
  for (const auto& row : rows) {
    nlohmann::ordered_json p{{"policy", row.policy}};
    for (const auto& [name, value] : columns(row.result)) p[name] = value;
    p["predictor_share_mae"] = row.result.predictor_accuracy.share_mae;
    p["predictor_top_recall"] = row.result.predictor_accuracy.top_recall;
    p["migrations"] = row.result.metrics.migrations();
    p["recalibrations"] = row.result.recalibrations;
    p["swaps"] = row.result.metrics.swaps();
    j["policies"].push_back(p);
  }
  return j.dump(2) + "\n";
}

std::string comparison_csv(const std::vector<ComparisonRow>& rows) {
  std::string out = "policy";
  if (!rows.empty()) {
    for (const auto& [name, value] : columns(rows[0].result)) out += "," + name;
  }
  out += "\n";
  for (const auto& row : rows) {
    out += row.policy;
    for (const auto& [name, value] : columns(row.result)) out += fmt::format(",{}", value);
    out += "\n";
  }
  return out;
}

}  // namespace moesim::run
