#include "experiments/run/compare.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/text_table.h"
#include "experiments/run/run_metrics.h"

namespace moesim::run {

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
  util::TextTable t({"policy", "TTFT P50/P90/P99 ms", "TPOT P50/P90 ms", "SLO", "tok/s", "imbalance mean/max",
                     "slowest GPU µs", "gap µs", "GPU-s", "moved GB"});
  util::TextTable cost({"policy", "MoE layer mean/P99 ms", "E2E P50/P99 s", "busy GPU-s", "reserved GPU-s", "billed GPU-s",
                        "expert GB-s", "cost $", "cold starts", "cold wait s"});
  for (const auto& row : rows) {
    const auto c = metric_columns(row.result);
    const auto v = [&](const char* name) { return metric_value(c, name); };
    cost.add_row({row.policy, fmt::format("{:.3f} / {:.3f}", v("moe_layer_mean_ms"), v("moe_layer_p99_ms")),
                  fmt::format("{:.2f} / {:.2f}", v("e2e_p50_s"), v("e2e_p99_s")), fmt::format("{:.1f}", v("busy_gpu_seconds")),
                  fmt::format("{:.1f}", v("reserved_gpu_seconds")), fmt::format("{:.1f}", v("billed_gpu_seconds")),
                  fmt::format("{:.0f}", v("expert_gb_seconds")), fmt::format("{:.3f}", v("cost_usd")),
                  fmt::format("{:.0f}", v("cold_starts")), fmt::format("{:.3f}", v("cold_start_wait_s"))});
    t.add_row({row.policy, fmt::format("{:.1f} / {:.1f} / {:.1f}", v("ttft_p50_ms"), v("ttft_p90_ms"), v("ttft_p99_ms")),
               fmt::format("{:.2f} / {:.2f}", v("tpot_p50_ms"), v("tpot_p90_ms")), fmt::format("{:.1f}%", 100 * v("slo_attainment")),
               fmt::format("{:.0f}", v("throughput_tokens_per_s")),
               fmt::format("{:.3f} / {:.3f}", v("imbalance_mean"), v("imbalance_max")),
               fmt::format("{:.1f}", v("slowest_gpu_expert_time_us")), fmt::format("{:.1f}", v("expert_gap_us")),
               fmt::format("{:.1f}", v("gpu_seconds")), fmt::format("{:.2f}", v("bytes_migrated") / 1e9)});
  }
  std::string out = fmt::format("{}: {} on {} × {} ({}), seed {}\n", s.name, s.model.display_name,
                                rows.empty() ? 0 : rows[0].result.gpus, s.gpu.name, s.topology.preset, s.seed);
  if (!rows.empty()) out += fmt::format("arrivals: {}\nrouting: {}\n\n", s.arrivals.label(), rows[0].result.routing_label);
  return out + t.render() +
         "gap µs: slowest minus fastest GPU's expert-stage time per MoE layer, mean (ViBE's kernel-level metric)\n" +
         "\nlatency and cost (busy: all work on the GPUs, loads included; reserved: GPUs held × makespan, for every policy;\n"
         "billed: the policy's own billing — serverful the reserved GPUs, serverless each invocation rounded up)\n" +
         cost.render();
}

std::string comparison_json(const Scenario& s, const std::vector<ComparisonRow>& rows) {
  nlohmann::ordered_json j;
  j["scenario"] = s.resolved;
  j["policies"] = nlohmann::ordered_json::array();
  for (const auto& row : rows) {
    nlohmann::ordered_json p{{"policy", row.policy}};
    for (const auto& [name, value] : metric_columns(row.result)) p[name] = value;
    p["predictor_share_mae"] = row.result.predictor_accuracy.share_mae;
    p["predictor_top_recall"] = row.result.predictor_accuracy.top_recall;
    p["migrations"] = row.result.metrics.migrations();
    p["recalibrations"] = row.result.recalibrations;
    p["swaps"] = row.result.metrics.swaps();
    // For plots: latency CDFs (percentiles 1..99) and the mean imbalance of each MoE layer.
    const auto& m = row.result.metrics;
    for (const auto& [name, sketch] : {std::pair{"ttft_cdf_s", &m.ttft()}, std::pair{"tpot_cdf_s", &m.tpot()},
                                        std::pair{"e2e_cdf_s", &m.e2e()}}) {
      nlohmann::ordered_json cdf = nlohmann::ordered_json::array();
      for (int q = 1; q <= 99; ++q) cdf.push_back(sketch->quantile(q / 100.0));
      p[name] = cdf;
    }
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const auto& tally : m.imbalance_by_layer()) {
      if (tally.count() > 0) layers.push_back(tally.mean());
    }
    p["imbalance_by_moe_layer"] = layers;
    j["policies"].push_back(p);
  }
  return j.dump(2) + "\n";
}

std::string comparison_csv(const std::vector<ComparisonRow>& rows) {
  std::string out = "policy";
  if (!rows.empty()) {
    for (const auto& [name, value] : metric_columns(rows[0].result)) out += "," + name;
  }
  out += "\n";
  for (const auto& row : rows) {
    out += row.policy;
    for (const auto& [name, value] : metric_columns(row.result)) out += fmt::format(",{}", value);
    out += "\n";
  }
  return out;
}

}  // namespace moesim::run
