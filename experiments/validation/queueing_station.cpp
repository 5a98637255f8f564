#include "experiments/validation/queueing_station.h"

#include <cmath>
#include <fmt/format.h>
#include <stdexcept>

#include "sim/process.h"
#include "sim/resource.h"
#include "sim/stats/tally.h"
#include "sim/stats/time_weighted.h"

namespace moesim::validation {
namespace {

using sim::Process;
using sim::Time;

struct Station {
  sim::Simulator& sim;
  sim::Resource server;
  const QueueParameters& q;
  const StationRun& run;
  sim::Rng& services;
  sim::Tally waits;     // ns
  sim::Tally sojourns;  // ns
  sim::TimeWeighted in_system;
  Time window_start = 0;
  Time window_end = 0;
  double queue_area = 0.0;   // integral of queue length over the window, ns
  double system_area = 0.0;  // integral of customers in system over the window, ns

  Time draw_service() {
    const double mean_ns = 1e9 / q.service_rate;
    if (q.service == ServiceKind::kDeterministic) return static_cast<Time>(std::llround(mean_ns));
    return static_cast<Time>(std::llround(services.exponential(1.0) * mean_ns));
  }
};

Process customer(Station& st, bool measured) {
  const Time arrived = st.sim.now();
  st.in_system.add(arrived, 1.0);
  const int unit = co_await st.server.acquire();
  const Time started = st.sim.now();
  co_await st.sim.sleep(st.draw_service());
  st.server.release(unit);
  st.in_system.add(st.sim.now(), -1.0);
  if (measured) {
    st.waits.add(static_cast<double>(started - arrived));
    st.sojourns.add(static_cast<double>(st.sim.now() - arrived));
  }
}

Process source(Station& st, sim::Rng& arrivals) {
  const double mean_gap_ns = 1e9 / st.q.arrival_rate;
  for (std::uint64_t i = 0; i < st.run.customers; ++i) {
    co_await st.sim.sleep(static_cast<Time>(std::llround(arrivals.exponential(1.0) * mean_gap_ns)));
    if (i == st.run.warmup_customers) {
      // Warm-up deletion: time averages restart here; earlier customers are not counted.
      st.window_start = st.sim.now();
      st.server.reset_statistics();
      st.in_system.reset(st.sim.now());
    }
    if (i + 1 == st.run.customers) {
      // Close the time-average window at the last arrival: after it the system drains.
      st.window_end = st.sim.now();
      st.queue_area = st.server.queue_length_stat().integral(st.window_end);
      st.system_area = st.in_system.integral(st.window_end);
      st.sim.spawn(customer(st, true));
      break;
    }
    st.sim.spawn(customer(st, i >= st.run.warmup_customers));
  }
}

}  // namespace

StationObservation simulate_station(const QueueParameters& q, const StationRun& run, sim::Rng arrivals,
                                    sim::Rng services, sim::TraceWriter* trace) {
  steady_state(q);  // validates the parameters
  if (run.warmup_customers + 2 > run.customers) {
    throw std::invalid_argument("a station run needs at least two customers after the warm-up");
  }
  sim::Simulator simulator;
  const std::string name =
      fmt::format("{} rho={:.2f}", kendall_name(q), q.arrival_rate / (q.servers * q.service_rate));
  Station st{simulator, sim::Resource(simulator, name, q.servers), q, run, services, {}, {}, {}};
  st.server.trace_to(trace, "customer");
  simulator.spawn(source(st, arrivals));
  simulator.run();

  const double window_ns = static_cast<double>(st.window_end - st.window_start);
  StationObservation obs;
  obs.mean_wait = st.waits.mean() * 1e-9;
  obs.mean_sojourn = st.sojourns.mean() * 1e-9;
  obs.mean_queue_length = st.queue_area / window_ns;
  obs.mean_in_system = st.system_area / window_ns;
  obs.measured_customers = st.waits.count();
  obs.arrival_rate = static_cast<double>(run.customers - run.warmup_customers - 1) / (window_ns * 1e-9);
  obs.events = simulator.events_executed();
  return obs;
}

}  // namespace moesim::validation
