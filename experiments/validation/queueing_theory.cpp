#include "experiments/validation/queueing_theory.h"

#include <cmath>
#include <fmt/format.h>

#include "util/errors.h"

namespace moesim::validation {

double erlang_c(int servers, double a) {
  // Sum a^k/k! iteratively to avoid overflow of a^c and c!.
  double term = 1.0;
  double sum = 1.0;
  for (int k = 1; k < servers; ++k) {
    term *= a / k;
    sum += term;
  }
  const double last = term * a / servers;  // a^c / c!
  const double rho = a / servers;
  const double tail = last / (1.0 - rho);
  return tail / (sum + tail);
}

QueueSteadyState steady_state(const QueueParameters& p) {
  require_input(std::isfinite(p.arrival_rate) && p.arrival_rate > 0, "arrival rate", "a positive finite number",
                fmt::format("{}", p.arrival_rate));
  require_input(std::isfinite(p.service_rate) && p.service_rate > 0, "service rate", "a positive finite number",
                fmt::format("{}", p.service_rate));
  require_input(p.servers >= 1, "servers", "at least 1", std::to_string(p.servers));
  const double rho = p.arrival_rate / (p.servers * p.service_rate);
  require_input(rho < 1.0, "utilisation rho = lambda/(c mu)", "below 1 for a steady state", fmt::format("{}", rho));
  const double mu = p.service_rate;
  const double lambda = p.arrival_rate;
  double wq = 0.0;
  if (p.service == ServiceKind::kExponential) {
    wq = erlang_c(p.servers, lambda / mu) / (p.servers * mu - lambda);
  } else {
    require_input(p.servers == 1, "servers (deterministic service)", "1 (M/D/1)", std::to_string(p.servers));
    wq = rho / (2.0 * mu * (1.0 - rho));  // Pollaczek–Khinchine with zero service variance
  }
  const double w = wq + 1.0 / mu;
  return QueueSteadyState{wq, lambda * wq, w, lambda * w};
}

std::string kendall_name(const QueueParameters& p) {
  const char* service = p.service == ServiceKind::kExponential ? "M" : "D";
  return p.servers == 1 ? fmt::format("M/{}/1", service) : fmt::format("M/{}/{}", service, p.servers);
}

}  // namespace moesim::validation
