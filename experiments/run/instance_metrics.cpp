#include "experiments/run/instance_metrics.h"

#include <fmt/format.h>

namespace moesim::run {

std::vector<InstanceMetrics> instance_metrics(const RunResult& r) {
  std::vector<InstanceMetrics> out;
  std::vector<std::size_t> of_gpu(static_cast<std::size_t>(r.gpus), 0);
  for (const InstanceSummary& in : r.instances) {
    InstanceMetrics m;
    m.first_gpu = in.first_gpu;
    m.gpus = in.gpus;
    m.pool = in.pool;
    m.gpu = in.gpu;
    sim::Time busy = 0;
    for (int g = in.first_gpu; g < in.first_gpu + in.gpus; ++g) {
      of_gpu[static_cast<std::size_t>(g)] = out.size();
      busy += r.metrics.gpu_busy()[static_cast<std::size_t>(g)];
    }
    const double reserved = in.gpus * sim::to_seconds(r.makespan);
    m.busy_share = reserved > 0.0 ? sim::to_seconds(busy) / reserved : 0.0;
    out.push_back(std::move(m));
  }
  std::vector<std::size_t> met(out.size(), 0);
  for (const models::RequestRecord& rec : r.metrics.requests()) {
    const std::size_t i = of_gpu[static_cast<std::size_t>(rec.gpu)];
    InstanceMetrics& m = out[i];
    ++m.requests;
    m.output_tokens += rec.output_tokens;
    m.ttft.add(rec.ttft_s());
    if (rec.output_tokens > 1) m.tpot.add(rec.tpot_s());
    if (rec.meets(r.metrics.slo())) ++met[i];
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].slo_attainment = out[i].requests > 0 ? static_cast<double>(met[i]) / static_cast<double>(out[i].requests) : 0.0;
  }
  return out;
}

nlohmann::ordered_json quantiles_json(const sim::QuantileSketch& q) {
  return {{"p50", q.quantile(0.5)}, {"p90", q.quantile(0.9)}, {"p99", q.quantile(0.99)}};
}

std::vector<std::vector<std::string>> instance_rows(const RunResult& r) {
  std::vector<std::vector<std::string>> rows;
  const auto all = instance_metrics(r);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const InstanceMetrics& m = all[i];
    std::string label;
    for (const std::string* part : {&m.pool, &m.gpu}) label += part->empty() ? "" : ", " + *part;
    rows.push_back({fmt::format("instance {}{} (GPUs {}–{}): requests / TTFT P90 [ms] / TPOT P90 [ms] / SLO / busy", i,
                                label, m.first_gpu, m.first_gpu + m.gpus - 1),
                    fmt::format("{} / {:.1f} / {:.1f} / {:.1f}% / {:.1f}%", m.requests, m.ttft.quantile(0.9) * 1e3,
                                m.tpot.quantile(0.9) * 1e3, 100.0 * m.slo_attainment, 100.0 * m.busy_share)});
  }
  return rows;
}

nlohmann::ordered_json instances_json(const RunResult& r) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const InstanceMetrics& m : instance_metrics(r)) {
    list.push_back({{"first_gpu", m.first_gpu},
                    {"gpus", m.gpus},
                    {"requests", m.requests},
                    {"output_tokens", m.output_tokens},
                    {"ttft_s", quantiles_json(m.ttft)},
                    {"tpot_s", quantiles_json(m.tpot)},
                    {"slo_attainment", m.slo_attainment},
                    {"busy_share", m.busy_share}});
    if (!m.pool.empty()) list.back()["pool"] = m.pool;
    if (!m.gpu.empty()) list.back()["gpu"] = m.gpu;
  }
  return {{"router", r.router}, {"instances", list}};
}

}  // namespace moesim::run
