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
                       "slowest GPU µs", "GPU-s", "moved GB"});
  util::TextTable cost({"policy", "MoE layer mean/P99 ms", "E2E P50/P99 s", "billed GPU-s", "expert GB-s", "cost $",
                          "cold starts", "cold wait s"});
  for (const auto& row : rows) {
    const auto c = metric_columns(row.result);
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
