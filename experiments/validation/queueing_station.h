#pragma once
// One replication of a FIFO queueing station built from engine parts only: a
// source process, one process per customer, and a multi-server sim::Resource.
// It is the engine's acceptance test against queueing theory.
#include <cstdint>

#include "experiments/validation/queueing_theory.h"
#include "sim/rng.h"
#include "sim/trace_writer.h"

namespace moesim::validation {

struct StationRun {
  std::uint64_t customers = 200000;       // arrivals simulated
  std::uint64_t warmup_customers = 20000;  // first arrivals deleted from the statistics
};

struct StationObservation {
  double mean_wait = 0.0;            // s, customers arriving after warm-up
  double mean_sojourn = 0.0;         // s
  double mean_queue_length = 0.0;    // time average over the measurement window
  double mean_in_system = 0.0;       // time average over the measurement window
  double arrival_rate = 0.0;         // observed in the window, 1/s
  std::uint64_t measured_customers = 0;
  std::uint64_t events = 0;
};

// The two streams must be independent (e.g. distinct RngStreams names). With a
// trace writer, each service becomes a span on its server's track.
StationObservation simulate_station(const QueueParameters& q, const StationRun& run, sim::Rng arrivals,
                                    sim::Rng services, sim::TraceWriter* trace = nullptr);

}  // namespace moesim::validation
