#pragma once
// Calibration against measurements: predict each measured configuration with the
// simulator's own models (GPU profile for compute ops; the topology's flow network
// for transfers), report the error per op, and fit a GPU profile to the data.
#include <string>
#include <vector>

#include "calibrate/fit.h"
#include "calibrate/measurement.h"
#include "models/gpu_profile.h"

namespace moesim::calibration {

// Simulated time [µs] of one measurement: compute ops through `gpu` (tables, then
// roofline); "p2p" as one flow between two GPUs of the `topology` preset (same
// machine when shape.same_node = 1, else two machines).
// Transfers add `transfer_overhead_us` of software latency (the serving engine charges
// a fixed collective overhead, 10 µs by default, before the data moves).
double simulated_us(const calibrate::Measurement& m, const models::GpuProfile& gpu, const std::string& topology,
                    double transfer_overhead_us = 0.0);

// Keeps the measurements whose shape has key = value for every "key=value" given.
std::vector<calibrate::Measurement> select(const std::vector<calibrate::Measurement>& ms, const std::vector<std::string>& where,
                                           bool keep_matching = true);

struct OpError {
  std::string op;
  std::string shape;  // "d_model=4096 d_ff=11008" or "same_node=1"
  std::size_t points = 0;
  double mape = 0.0;             // mean |sim − measured| / measured
  double worst = 0.0;            // largest relative error
  double worst_at = 0.0;         // tokens or bytes where it occurs
  double measured_at_worst = 0.0;
  double simulated_at_worst = 0.0;
};

struct Validation {
  std::vector<OpError> ops;
  std::vector<std::pair<double, double>> points;  // (measured, simulated) µs, for the plot
};

Validation validate(const std::vector<calibrate::Measurement>& ms, const models::GpuProfile& gpu, const std::string& topology,
                    double transfer_overhead_us = 0.0);
std::string format_validation(const Validation& v, const std::string& title);
std::string validation_json(const Validation& v);

struct ProfileFit {
  calibrate::RooflineFit roofline;              // over every compute measurement
  std::vector<std::pair<std::string, calibrate::LinkFit>> links;  // per p2p shape
  std::string profile_json;                      // the base profile with fitted numbers and tables
};

// Fits the roofline (efficiencies and launch overhead relative to the base
// profile's datasheet peaks), measured latency tables per shape, and the links.
ProfileFit fit_profile(const std::vector<calibrate::Measurement>& ms, const std::string& base_profile,
                       const std::string& data_note);

}  // namespace moesim::calibration
