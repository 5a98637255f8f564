#pragma once
// Calibration against measurements: predict each measured configuration with the
// simulator's own models (GPU profile for compute ops; the topology's flow network
// for transfers), report the error per op, and fit a GPU profile to the data.
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "calibrate/fit.h"
#include "calibrate/waves_fit.h"
#include "calibrate/measurement.h"
#include "models/gpu_profile.h"

namespace moesim::calibrate {

// Expert FFN timings: one expert (gated_mlp, expert_ffn) or several back to back (grouped_mlp).
bool is_expert_ffn(const Measurement& m);

// Why a measurement has no simulated counterpart ("" when it has one): pageable
// copies, device-local copies, empty-kernel launches, spread runs.
std::string not_simulated_reason(const Measurement& m);

// Simulated time [µs] of one measurement: expert FFNs (alone, or `experts` of them
// back to back) and attention through `gpu` (tables, then roofline); "p2p" as one
// flow between two GPUs of the `topology` preset (same machine when
// shape.same_node = 1, else two machines); pinned memcpy_h2d / memcpy_d2h as one
// flow between machine 0's host memory and its first GPU.
// Transfers pay the preset's fitted start-up (Topology::transfer_startup, as the
// serving engine's collectives and the offload engine's copies do) plus
// `transfer_overhead_us` more (what-if: another software stack).
double simulated_us(const Measurement& m, const models::GpuProfile& gpu, const std::string& topology,
                    double transfer_overhead_us = 0.0);

// Keeps the measurements whose shape has key = value for every "key=value" given.
std::vector<Measurement> select(const std::vector<Measurement>& ms, const std::vector<std::string>& where,
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
  // "in-sample" when every point comes from a file the profile was fitted on
  // (GpuProfile::fitted_on), "held-out" when none does, else "mixed".
  std::string sample;
};

struct Validation {
  std::vector<OpError> ops;
  std::vector<std::pair<double, double>> points;  // (measured, simulated) µs, for the plot
  std::map<std::string, std::size_t> skipped;     // measurements without a counterpart, by reason
};

Validation validate(const std::vector<Measurement>& ms, const models::GpuProfile& gpu, const std::string& topology,
                    double transfer_overhead_us = 0.0);
std::string format_validation(const Validation& v, const std::string& title);
nlohmann::ordered_json validation_object(const Validation& v);
std::string validation_json(const Validation& v);  // validation_object, printed

// Repeated runs of one configuration on one GPU (lines with shape.spread = 1).
struct SpreadSummary {
  std::int64_t gpu = 0;
  double tokens = 0.0;
  std::size_t runs = 0;
  double median_us = 0.0, min_us = 0.0, max_us = 0.0;
  double cv = 0.0;            // run-to-run coefficient of variation
  double speed_factor = 1.0;  // mean of the GPUs' medians / this GPU's median (1 with one GPU)
};
std::vector<SpreadSummary> summarize_spread(const std::map<std::pair<std::int64_t, double>, std::vector<double>>& runs);

struct ProfileFit {
  calibrate::RooflineFit roofline;              // over every expert-FFN measurement (spread runs excluded)
  std::vector<std::pair<std::string, calibrate::LinkFit>> links;  // per transfer op and shape (pinned copies, peer copies)
  std::vector<SpreadSummary> spread;
  std::vector<std::pair<std::string, calibrate::RooflineFit>> op_rooflines;  // per attention op measured
  std::optional<WavesFit> waves;                 // with gemm_waves: the tile/wave model of the expert FFNs
  std::string profile_json;                      // the base profile with fitted numbers and tables
};

// Fits the roofline (efficiencies and launch overhead relative to the base
// profile's datasheet peaks), measured latency tables per shape, the links, and —
// where attention was measured — a roofline per attention op (the profile's
// op_rooflines: fused attention reaches other fractions of the peaks than GEMMs).
// `gemm_waves`: also the tile/wave model of the expert FFNs (the profile's
// gemm_waves, which times them off their tables; docs/calibration.md).
ProfileFit fit_profile(const std::vector<Measurement>& ms, const std::string& base_profile,
                       const std::string& data_note, bool gemm_waves = false);

}  // namespace moesim::calibrate
