#include "models/gpu_profile.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "models/catalog.h"
#include "util/errors.h"

namespace moesim::models {

double GpuProfile::peak_for(const std::string& dtype) const {
  const auto it = peak_flops.find(dtype);
  if (it == peak_flops.end()) {
    std::vector<std::string> known;
    for (const auto& [d, v] : peak_flops) known.push_back(d);
    throw InputError(fmt::format("GPU profile '{}' has no peak_flops for dtype '{}' (it has: {})", name, dtype,
                                 fmt::join(known, ", ")));
  }
  return it->second;
}

sim::Time GpuProfile::roofline_time(const OpWork& work, double peak, GpuSlowdown slowdown) const {
  return roofline_time(work, peak, slowdown, nullptr);
}

double power_limited_clock(double compute_s, double memory_s, double budget) {
  if (compute_s <= 0.0) return 1.0;
  // Dynamic power ∝ (fraction of time the SMs compute) × f·V², with V ∝ f in the
  // DVFS range: u(x)·x³ relative to a fully compute-bound kernel at the maximum clock.
  // Compute bound at clock x (compute_s/x ≥ memory_s): u = 1, so x = ∛budget. Memory
  // bound (x ≥ compute_s/memory_s = r): u = r/x, so r·x² = budget.
  const double r = memory_s > 0.0 ? compute_s / memory_s : 1e300;
  if (std::min(r, 1.0) <= budget) return 1.0;
  if (r < 1.0 && budget >= r * r * r) return std::sqrt(budget / r);
  return std::cbrt(budget);
}

double GpuSlowdown::compute_bound() const {
  if (power_budget <= 0.0) return compute;
  return compute * power_limited_clock(1.0, 0.0, reference_budget) / power_limited_clock(1.0, 0.0, power_budget);
}

sim::Time GpuProfile::roofline_time(const OpWork& work, double peak, GpuSlowdown slowdown, const OpRoofline* own) const {
  const OpRoofline r = own != nullptr ? *own : OpRoofline{memory_efficiency, compute_efficiency, launch_overhead};
  const double nominal_compute_s = work.flops / (r.compute_efficiency * peak);
  double compute_s = nominal_compute_s * slowdown.compute;
  const double memory_s = work.bytes / (r.memory_efficiency * hbm_bytes_per_s) * slowdown.memory;
  if (slowdown.power_budget > 0.0) {
    // The efficiencies were measured at the reference chip's clock for this kernel;
    // this GPU's differs by the ratio of the two power-limited clocks.
    const double nominal_memory_s = work.bytes / (r.memory_efficiency * hbm_bytes_per_s);
    compute_s *= power_limited_clock(nominal_compute_s, nominal_memory_s, slowdown.reference_budget) /
                 power_limited_clock(compute_s, memory_s, slowdown.power_budget);
  }
  return sim::from_seconds(std::max(compute_s, memory_s)) + r.launch_overhead;
}

sim::Time GpuProfile::op_time(const ResolvedOp& op, double tokens, const OpWork& work, GpuSlowdown slowdown) const {
  if (tokens <= 0.0) return 0;
  const LatencyTable* t = op.table;
  if (t == nullptr || tokens < t->tokens.front() || tokens > t->tokens.back()) {
    return roofline_time(work, op.peak_flops, slowdown, op.roofline);
  }
  const auto hi = static_cast<std::size_t>(std::lower_bound(t->tokens.begin(), t->tokens.end(), tokens) - t->tokens.begin());
  double measured = static_cast<double>(t->time[hi]);
  if (t->tokens[hi] != tokens) {
    const std::size_t lo = hi - 1;
    const double f = (std::log(tokens) - std::log(t->tokens[lo])) / (std::log(t->tokens[hi]) - std::log(t->tokens[lo]));
    measured = static_cast<double>(t->time[lo]) + f * static_cast<double>(t->time[hi] - t->time[lo]);
  }
  if (slowdown != GpuSlowdown{}) {
    const auto nominal = static_cast<double>(roofline_time(work, op.peak_flops, {}, op.roofline));
    measured *= static_cast<double>(roofline_time(work, op.peak_flops, slowdown, op.roofline)) / nominal;
  }
  return static_cast<sim::Time>(std::llround(measured));
}

std::vector<std::array<std::int64_t, 2>> default_gemm_tiles() {
  // CUTLASS/cuBLAS Hopper BF16 thread-block tiles (rows × columns of the output).
  return {{64, 64}, {64, 128}, {128, 64}, {128, 128}, {128, 256}, {256, 128}};
}

namespace {

OpRoofline parse_op_roofline(const JsonInput& r) {
  OpRoofline own;
  own.memory_efficiency = r.at("memory_efficiency").number();
  r.at("memory_efficiency").check(own.memory_efficiency > 0.0 && own.memory_efficiency <= 1.0, "a fraction in (0, 1]");
  own.compute_efficiency = r.at("compute_efficiency").number();
  r.at("compute_efficiency").check(own.compute_efficiency > 0.0 && own.compute_efficiency <= 1.0, "a fraction in (0, 1]");
  own.launch_overhead = static_cast<sim::Time>(r.at("launch_overhead_ns").integer_in(0, 1000000000));
  return own;
}

GemmWaves parse_gemm_waves(const JsonInput& w, int sm_count) {
  GemmWaves waves;
  w.check(sm_count > 0, "a profile with sm_count (the tiles are spread over the SMs)");
  waves.sm_count = sm_count;
  waves.roofline = parse_op_roofline(w);
  waves.wave_overhead = static_cast<sim::Time>(w.at("wave_overhead_ns").integer_in(0, 1000000000));
  if (const auto tiles = w.find("tiles")) {
    for (const JsonInput& t : tiles->items()) {
      const auto rc = t.items();
      t.check(rc.size() == 2, "a [rows, columns] tile");
      waves.tiles.push_back({rc[0].integer_in(1, 4096), rc[1].integer_in(1, 4096)});
    }
    tiles->check(!waves.tiles.empty(), "at least one tile");
  } else {
    waves.tiles = default_gemm_tiles();
  }
  return waves;
}

LatencyTable parse_table(const JsonInput& points) {
  LatencyTable table;
  for (const JsonInput& p : points.items()) {
    const auto pair = p.items();
    p.check(pair.size() == 2, "a [tokens, nanoseconds] pair");
    const double tokens = pair[0].number_in(1.0, 1e12);
    if (!table.tokens.empty()) {
      pair[0].check(tokens > table.tokens.back(), fmt::format("token counts increasing (previous {})", table.tokens.back()));
    }
    table.tokens.push_back(tokens);
    table.time.push_back(static_cast<sim::Time>(pair[1].integer_in(0, std::int64_t{1} << 50)));
  }
  points.check(table.tokens.size() >= 2, "at least two [tokens, nanoseconds] points");
  return table;
}

}  // namespace

GpuProfile parse_gpu_profile(const JsonInput& json) {
  GpuProfile g;
  g.name = json.at("name").string();
  g.display_name = json.string_or("display_name", g.name);
  g.memory_bytes = json.at("memory_bytes").integer_in(1, std::int64_t{1} << 50);
  // Within these ranges every kernel time the roofline gives is finite and in the clock's range.
  g.hbm_bytes_per_s = json.at("hbm_bytes_per_s").number_in(1e6, 1e16);
  const JsonInput peaks = json.at("peak_flops");
  for (const auto& [dtype, value] : peaks.members()) g.peak_flops[dtype] = value.number_in(1e6, 1e19);
  peaks.check(!g.peak_flops.empty(), "at least one dtype");
  if (const auto e = json.find("memory_efficiency")) {
    g.memory_efficiency = e->number();
    e->check(g.memory_efficiency > 0.0 && g.memory_efficiency <= 1.0, "a fraction in (0, 1]");
  }
  if (const auto e = json.find("compute_efficiency")) {
    g.compute_efficiency = e->number();
    e->check(g.compute_efficiency > 0.0 && g.compute_efficiency <= 1.0, "a fraction in (0, 1]");
  }
  g.launch_overhead = static_cast<sim::Time>(json.integer_in_or("launch_overhead_ns", 0, 1000000000, 0));
  if (const auto ops = json.find("op_rooflines")) {
    for (const auto& [op, r] : ops->members()) g.op_rooflines[op] = parse_op_roofline(r);
  }
  g.sm_count = static_cast<int>(json.integer_in_or("sm_count", 1, 100000, 0));
  if (const auto w = json.find("gemm_waves")) g.gemm_waves = parse_gemm_waves(*w, g.sm_count);
  if (const auto files = json.find("fitted_on")) {
    for (const JsonInput& f : files->items()) g.fitted_on.push_back(f.string());
  }
  if (const auto tables = json.find("tables")) {
    for (const JsonInput& t : tables->items()) {
      OpKey key;
      key.op = t.at("op").string();
      key.dtype = t.at("dtype").string();
      if (const auto shape = t.find("shape")) {
        for (const auto& [k, v] : shape->members()) key.shape[k] = v.integer_in(1, std::int64_t{1} << 32);
      }
      g.peak_for(key.dtype);  // a table for a dtype the GPU cannot run is an error
      if (g.tables.count(key) != 0) t.fail("duplicate table for this op, shape and dtype");
      g.tables[key] = parse_table(t.at("points"));
    }
  }
  return g;
}

GpuProfile load_gpu_profile(std::string_view name_or_path, std::string_view what) {
  return parse_gpu_profile(load_description("gpus", name_or_path, what));
}

}  // namespace moesim::models
