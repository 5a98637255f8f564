#pragma once
// A GPU type's performance profile: memory, bandwidth, peak FLOP/s per dtype,
// fixed launch overhead, and optional measured latency tables per operation.
//
// Time of an operation doing `flops` of arithmetic over `bytes` of memory traffic:
//  * inside a measured table's token range: log-linear interpolation in tokens;
//  * otherwise the roofline  t = max(flops / (eff_c·peak), bytes / (eff_m·hbm)) + launch.
// Per-device variability (ViBE): a GPU instance multiplies the compute and the
// memory term by its own slowdown factors, so a power-capped GPU can be slow at
// 2,048 tokens (compute bound) and near-normal at 8 (weight-read bound). A table
// value is scaled by the ratio of the slowed to the nominal roofline at that size.
// Equations and every default number's source: docs/models.md.
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>
#include <string>
#include <vector>

#include "util/json_input.h"
#include "sim/time.h"

namespace moesim::models {

struct OpWork {
  double flops = 0.0;
  double bytes = 0.0;
};

// Multipliers on the compute and memory time of one GPU instance (1 = nominal), and
// optionally its power-limited clock (docs/models.md, "Power-limited clocks").
struct GpuSlowdown {
  double compute = 1.0;
  double memory = 1.0;
  // Power budget for clock-dependent power, as a fraction of what a fully
  // compute-bound kernel draws at the maximum clock: a kernel whose demand exceeds
  // it runs at a lower clock. `reference_budget` is the same figure for the chip the
  // profile's efficiencies and tables were measured on, so that only the difference
  // between the two changes a kernel's time. 0 = clocks not modelled.
  double power_budget = 0.0;
  double reference_budget = 0.0;
  bool operator==(const GpuSlowdown&) const = default;
  // The factor on a fully compute-bound kernel's time (large batches): the static
  // compute slowdown times the ratio of the nominal chip's power-limited clock to this one's.
  double compute_bound() const;
};

// Clock as a fraction of the maximum at which a kernel needing `compute_s` of
// arithmetic and `memory_s` of memory traffic at the maximum clock draws no more than
// `budget` (see GpuSlowdown): 1 when it fits, else the solution of
// u(x)·x³ = budget with u(x) the fraction of the kernel's time the SMs compute.
double power_limited_clock(double compute_s, double memory_s, double budget);

// Identifies a measured table: operation, shape parameters, dtype.
struct OpKey {
  std::string op;                              // "expert_ffn", "attention_prefill", ...
  std::map<std::string, std::int64_t> shape;   // e.g. {"d_model": 4096, "d_ff": 14336}
  std::string dtype;                           // "bf16", "fp8", ...
  bool operator<(const OpKey& o) const {
    return std::tie(op, shape, dtype) < std::tie(o.op, o.shape, o.dtype);
  }
};

struct LatencyTable {
  std::vector<double> tokens;   // strictly increasing, >= 1
  std::vector<sim::Time> time;  // ns, one per token count
};

// Achievable fractions and fixed cost of one kind of operation, where it differs from
// the GPU-wide ones (fused attention reaches less of the HBM bandwidth than GEMMs).
struct OpRoofline {
  double memory_efficiency = 1.0;
  double compute_efficiency = 1.0;
  sim::Time launch_overhead = 0;
};

// Tile and wave quantisation of an expert FFN's GEMMs (docs/calibration.md, "GEMM
// waves"): each GEMM's output is cut into tiles, the SMs run them in waves, and a
// wave costs a whole tile's time however few tiles it holds. Fitted by `calibrate
// fit --gemm waves` with its own efficiencies and fixed cost per expert FFN.
struct GemmWaves {
  int sm_count = 0;
  OpRoofline roofline;
  sim::Time wave_overhead = 0;  // per wave of tiles (prologue, epilogue), at the nominal clock
  std::vector<std::array<std::int64_t, 2>> tiles;  // candidate (rows, columns) tiles; the fastest is taken
};
std::vector<std::array<std::int64_t, 2>> default_gemm_tiles();

class GpuProfile {
 public:
  std::string name;
  std::string display_name;
  std::int64_t memory_bytes = 0;
  double hbm_bytes_per_s = 0.0;
  std::map<std::string, double> peak_flops;  // dtype -> FLOP/s (dense)
  double memory_efficiency = 1.0;
  double compute_efficiency = 1.0;
  sim::Time launch_overhead = 0;
  std::map<OpKey, LatencyTable> tables;
  std::map<std::string, OpRoofline> op_rooflines;  // by op name ("attention_decode"); others use the GPU-wide figures
  int sm_count = 0;                                // streaming multiprocessors (compute units); 0 = not given
  std::optional<GemmWaves> gemm_waves;             // expert FFNs off their tables: waves instead of the roofline
  // Measurement files (by name) whose numbers entered this profile: validating on
  // them is in-sample (docs/calibration.md).
  std::vector<std::string> fitted_on;

  // An op looked up once — its latency table, if measured, and its dtype's peak —
  // so that engines timing it millions of times skip the lookups by name.
  struct ResolvedOp {
    const LatencyTable* table = nullptr;
    double peak_flops = 0.0;
    const OpRoofline* roofline = nullptr;  // the op's own efficiencies, if the profile has them
  };

  // Throws InputError naming the GPU and dtype when the profile lacks that dtype.
  double peak_for(const std::string& dtype) const;
  ResolvedOp resolve(const OpKey& key) const {
    const auto own = op_rooflines.find(key.op);
    return ResolvedOp{table_for(key), peak_for(key.dtype), own == op_rooflines.end() ? nullptr : &own->second};
  }
  sim::Time roofline_time(const OpWork& work, const std::string& dtype, GpuSlowdown slowdown = {}) const {
    return roofline_time(work, peak_for(dtype), slowdown);
  }
  sim::Time roofline_time(const OpWork& work, double peak, GpuSlowdown slowdown = {}) const;
  // With an op's own efficiencies and overhead when `own` is set.
  sim::Time roofline_time(const OpWork& work, double peak, GpuSlowdown slowdown, const OpRoofline* own) const;
  // Table inside its measured range, roofline outside it; 0 tokens cost nothing.
  sim::Time op_time(const OpKey& key, double tokens, const OpWork& work, GpuSlowdown slowdown = {}) const {
    return op_time(resolve(key), tokens, work, slowdown);
  }
  sim::Time op_time(const ResolvedOp& op, double tokens, const OpWork& work, GpuSlowdown slowdown = {}) const;
  const LatencyTable* table_for(const OpKey& key) const {
    const auto it = tables.find(key);
    return it == tables.end() ? nullptr : &it->second;
  }
  bool has_table(const OpKey& key) const { return table_for(key) != nullptr; }
};

GpuProfile parse_gpu_profile(const JsonInput& json);
GpuProfile load_gpu_profile(std::string_view name_or_path, std::string_view what = "gpu");

}  // namespace moesim::models
