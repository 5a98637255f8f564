#pragma once
// The measurement format every calibration source writes and the fitter and
// validator read: JSON Lines, one timed configuration per line:
//   {"op": "gated_mlp", "device": "NVIDIA H100 80GB HBM3", "dtype": "bf16",
//    "shape": {"d_model": 4096, "d_ff": 11008}, "tokens": 512,
//    "time_us": {"median": 61.2, "min": 60.9, "max": 63.0}, "source": "..."}
// Transfers use "bytes" instead of "tokens" (ops "p2p", "memcpy_h2d", ...). An
// optional "nvml" object holds the clock, temperature and power read after the timing.
// The first line may be a header {"header": {...}} saying where the data came from
// (device, driver, CUDA version, timestamp, or the published dataset).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace moesim::calibrate {

struct Measurement {
  std::string op;
  std::string device;
  std::string dtype = "bf16";
  std::map<std::string, std::int64_t> shape;
  double tokens = 0.0;
  double bytes = 0.0;
  double median_us = 0.0;
  double min_us = 0.0;
  double max_us = 0.0;
  std::string source;
  // The SM clock NVML reported after the timing ({"nvml": {"sm_clock_mhz": ...}}); 0 if absent.
  double sm_clock_mhz = 0.0;
  std::uint64_t line = 0;  // where it was read from (0 if made in memory)
  std::string file;        // the file's name without its folder ("" if made in memory)
};

struct MeasurementFile {
  std::string header;  // the header object as JSON text, or empty
  std::vector<Measurement> measurements;
};

// Known ops: what each line must carry (tokens for compute ops, bytes for transfers).
bool is_transfer_op(const std::string& op);
bool is_known_op(const std::string& op);
std::string known_ops();  // comma-separated, for error messages

// Throws InputError naming the file, the line and the field.
MeasurementFile read_measurements(const std::string& path);
std::string to_json_line(const Measurement& m);

}  // namespace moesim::calibrate
