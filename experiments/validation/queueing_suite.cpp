#include "experiments/validation/queueing_suite.h"

#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/text_table.h"
#include "util/errors.h"
#include "sim/rng.h"

namespace moesim::validation {

void check_config(const QueueingSuiteConfig& c) {
  require_input(!c.utilisations.empty(), "--utilisations", "at least one value in (0, 1)", "an empty list");
  for (double rho : c.utilisations) {
    require_input(std::isfinite(rho) && rho > 0.0 && rho < 1.0, "--utilisations", "values in (0, 1) (steady state needs rho < 1)",
                  fmt::format("{}", rho));
  }
  require_input(c.multi_servers >= 2, "--servers", "at least 2 (the M/M/c case)", std::to_string(c.multi_servers));
  require_input(std::isfinite(c.service_rate) && c.service_rate > 0.0, "--service-rate", "a positive finite rate in 1/s",
                fmt::format("{}", c.service_rate));
  require_input(c.replications >= 2, "--replications", "at least 2 (a confidence interval needs two samples)",
                std::to_string(c.replications));
  require_input(c.run.customers >= c.run.warmup_customers + 2, "--customers",
                "at least --warmup + 2", std::to_string(c.run.customers));
  require_input(c.confidence > 0.0 && c.confidence < 1.0, "--confidence", "in (0, 1)", fmt::format("{}", c.confidence));
}

double LittleCheck::relative_difference() const {
  return std::abs(time_average_in_system - rate_times_sojourn) / rate_times_sojourn;
}

std::size_t QueueingSuiteResult::misses() const {
  std::size_t n = 0;
  for (const auto& c : checks) n += c.within() ? 0 : 1;
  return n;
}

QueueingSuiteResult run_queueing_suite(const QueueingSuiteConfig& config, const ProgressCallback& progress) {
  check_config(config);
  std::vector<QueueParameters> cases;
  for (double rho : config.utilisations) {
    cases.push_back({rho * config.service_rate, config.service_rate, 1, ServiceKind::kExponential});
    cases.push_back({rho * config.service_rate, config.service_rate, 1, ServiceKind::kDeterministic});
    cases.push_back({rho * config.multi_servers * config.service_rate, config.service_rate, config.multi_servers,
                     ServiceKind::kExponential});
  }
  QueueingSuiteResult result;
  result.config = config;
  const sim::RngStreams streams(config.seed);
  const std::size_t total = cases.size() * static_cast<std::size_t>(config.replications);
  std::size_t done = 0;
  for (const QueueParameters& q : cases) {
    const std::string name = kendall_name(q);
    const double rho = q.arrival_rate / (q.servers * q.service_rate);
    const std::string stream_prefix = fmt::format("validate/{}/rho={:.6f}", name, rho);
    std::vector<double> waits;
    std::vector<double> queues;
    double l_sum = 0.0;
    double lw_sum = 0.0;
    if (config.trace != nullptr) config.trace->limit_additional(config.trace_spans_per_case);
    for (int r = 0; r < config.replications; ++r) {
      const auto rep = static_cast<std::uint64_t>(r);
      const StationObservation o =
          simulate_station(q, config.run, streams.stream(stream_prefix + "/arrivals", rep),
                           streams.stream(stream_prefix + "/services", rep), r == 0 ? config.trace : nullptr);
      waits.push_back(o.mean_wait);
      queues.push_back(o.mean_queue_length);
      l_sum += o.mean_in_system;
      lw_sum += o.arrival_rate * o.mean_sojourn;
      result.events += o.events;
      if (progress) progress(++done, total);
    }
    const QueueSteadyState exact = steady_state(q);
    result.checks.push_back({name, q.servers, rho, "Wq", sim::student_t_interval(waits, config.confidence), exact.mean_wait});
    result.checks.push_back(
        {name, q.servers, rho, "Lq", sim::student_t_interval(queues, config.confidence), exact.mean_queue_length});
    result.little.push_back({name, rho, l_sum / config.replications, lw_sum / config.replications});
  }
  return result;
}

namespace {

// Waits print in milliseconds, queue lengths as they are.
double display_scale(const std::string& metric) { return metric == "Wq" ? 1e3 : 1.0; }
std::string display_metric(const std::string& metric) { return metric == "Wq" ? "Wq [ms]" : "Lq"; }

}  // namespace

std::string format_table(const QueueingSuiteResult& r) {
  util::TextTable t({"model", "rho", "metric", fmt::format("simulated ± {:.0f}% CI", r.config.confidence * 100),
                       "closed form", "error", "within CI"});
  for (const QueueingCheck& c : r.checks) {
    const double s = display_scale(c.metric);
    t.add_row({c.model, fmt::format("{:.2f}", c.rho), display_metric(c.metric),
               fmt::format("{:.4f} ± {:.4f}", c.simulated.mean * s, c.simulated.half_width * s),
               fmt::format("{:.4f}", c.closed_form * s),
               fmt::format("{:+.2f}%", 100.0 * (c.simulated.mean - c.closed_form) / c.closed_form),
               c.within() ? "yes" : "NO"});
  }
  std::string out = t.render();
  util::TextTable little({"model", "rho", "L (time average)", "lambda·W (per customer)", "difference"});
  for (const LittleCheck& l : r.little) {
    little.add_row({l.model, fmt::format("{:.2f}", l.rho), fmt::format("{:.4f}", l.time_average_in_system),
                    fmt::format("{:.4f}", l.rate_times_sojourn), fmt::format("{:.3f}%", 100.0 * l.relative_difference())});
  }
  out += "\nLittle's law, L = lambda·W (mean over replications):\n" + little.render();
  out += fmt::format("\n{} of {} closed forms inside the simulated {:.0f}% confidence interval "
                     "({} replications × {} customers, first {} deleted, seed {}; {} events)\n",
                     r.checks.size() - r.misses(), r.checks.size(), r.config.confidence * 100, r.config.replications,
                     r.config.run.customers, r.config.run.warmup_customers, r.config.seed, r.events);
  return out;
}

std::string to_json(const QueueingSuiteResult& r) {
  nlohmann::ordered_json j;
  j["config"] = {{"utilisations", r.config.utilisations},
                 {"multi_servers", r.config.multi_servers},
                 {"service_rate_per_s", r.config.service_rate},
                 {"replications", r.config.replications},
                 {"customers", r.config.run.customers},
                 {"warmup_customers", r.config.run.warmup_customers},
                 {"seed", r.config.seed},
                 {"confidence", r.config.confidence}};
  auto& checks = j["checks"] = nlohmann::ordered_json::array();
  for (const QueueingCheck& c : r.checks) {
    checks.push_back({{"model", c.model},
                      {"servers", c.servers},
                      {"rho", c.rho},
                      {"metric", c.metric},
                      {"unit", c.metric == "Wq" ? "s" : "customers"},
                      {"simulated_mean", c.simulated.mean},
                      {"ci_half_width", c.simulated.half_width},
                      {"closed_form", c.closed_form},
                      {"within_ci", c.within()}});
  }
  auto& little = j["littles_law"] = nlohmann::ordered_json::array();
  for (const LittleCheck& l : r.little) {
    little.push_back({{"model", l.model},
                      {"rho", l.rho},
                      {"L_time_average", l.time_average_in_system},
                      {"lambda_times_W", l.rate_times_sojourn},
                      {"relative_difference", l.relative_difference()}});
  }
  j["events"] = r.events;
  j["misses"] = r.misses();
  return j.dump(2) + "\n";
}

}  // namespace moesim::validation
