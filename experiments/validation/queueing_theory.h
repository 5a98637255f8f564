#pragma once
// Closed-form steady-state results for the single-station queues the engine is
// validated against (Kleinrock, Queueing Systems Vol. 1, 1975; Gross & Harris,
// Fundamentals of Queueing Theory). Rates are per second, times in seconds.
#include <string>

namespace moesim::validation {

enum class ServiceKind { kExponential, kDeterministic };

struct QueueParameters {
  double arrival_rate;  // lambda, 1/s
  double service_rate;  // mu per server, 1/s
  int servers;          // c
  ServiceKind service;
};

struct QueueSteadyState {
  double mean_wait;          // Wq, s
  double mean_queue_length;  // Lq
  double mean_sojourn;       // W = Wq + 1/mu, s
  double mean_in_system;     // L = lambda W
};

// M/M/1, M/D/1 (Pollaczek–Khinchine) and M/M/c (Erlang C). Throws InputError
// naming the parameter when rates are not positive and finite, servers < 1,
// utilisation >= 1, or the (M/D/c, c > 1) combination has no closed form here.
QueueSteadyState steady_state(const QueueParameters& p);

// Erlang C: probability that an arrival waits, for offered load a = lambda/mu.
double erlang_c(int servers, double offered_load);

std::string kendall_name(const QueueParameters& p);

}  // namespace moesim::validation
