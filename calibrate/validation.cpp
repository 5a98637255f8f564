#include "calibrate/validation.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <set>
#include <tuple>
#include <nlohmann/json.hpp>

#include "util/text_table.h"
#include "models/catalog.h"
#include "models/op_costs.h"
#include "models/topology.h"
#include "util/errors.h"
#include "sim/flow_network.h"
#include "util/line_reader.h"
#include "sim/simulator.h"

namespace moesim::calibrate {
namespace {

std::int64_t shape_of(const Measurement& m, const char* key) {
  const auto it = m.shape.find(key);
  if (it == m.shape.end()) {
    throw InputError(fmt::format("measurement line {} (op {}) has no shape.{}", m.line, m.op, key));
  }
  return it->second;
}

std::string shape_text(const Measurement& m) {
  std::string s;
  for (const auto& [k, v] : m.shape) s += fmt::format("{}{}={}", s.empty() ? "" : " ", k, v);
  return s;
}

models::OpWork work_of(const Measurement& m) {
  return models::gated_mlp_work(shape_of(m, "d_model"), shape_of(m, "d_ff"), models::dtype_size(m.dtype), m.tokens);
}

bool is_mlp(const Measurement& m) { return m.op == "gated_mlp" || m.op == "expert_ffn"; }

models::AttentionShape attention_of(const Measurement& m) {
  return models::gqa_attention(shape_of(m, "d_model"), static_cast<int>(shape_of(m, "heads")), static_cast<int>(shape_of(m, "kv_heads")),
                               static_cast<int>(shape_of(m, "head_dim")));
}

models::OpWork attention_work_of(const Measurement& m) {
  double pairs = 0.0, kv_tokens = 0.0;
  if (m.op == "attention_prefill") {
    // One sequence of N new tokens: N² query-key pairs without a causal mask, N²/2 with.
    const auto causal = m.shape.find("causal");
    pairs = m.tokens * m.tokens * (causal != m.shape.end() && causal->second == 0 ? 1.0 : 0.5);
    kv_tokens = m.tokens;
  } else {
    // B sequences, one new token each, over `context` cached tokens.
    pairs = kv_tokens = m.tokens * static_cast<double>(shape_of(m, "context"));
  }
  return models::attention_work(attention_of(m), models::dtype_size(m.dtype), m.tokens, pairs, kv_tokens);
}

bool is_attention(const Measurement& m) { return m.op == "attention_prefill" || m.op == "attention_decode"; }

double attention_us(const Measurement& m, const models::GpuProfile& gpu) {
  const models::OpKey key = models::attention_key(m.op.c_str(), shape_of(m, "d_model"), attention_of(m), models::dtype_size(m.dtype));
  return static_cast<double>(gpu.op_time(key, m.tokens, attention_work_of(m))) / 1e3;
}

// One flow on an otherwise idle topology: the path's start-up, latency of every hop
// plus bytes at the path's bottleneck.
double simulate_transfer(const Measurement& m, const std::string& preset) {
  sim::Simulator sim;
  sim::FlowNetwork net(sim);
  models::Topology topo(net);
  models::TopologyOptions o;
  o.preset = preset;
  o.machines = 2;
  models::build_topology(topo, o);
  const models::Topology::Node host = topo.host_node(0), gpu = topo.gpu_node(0);
  const auto& path = m.op == "memcpy_h2d"   ? topo.route(host, gpu)
                     : m.op == "memcpy_d2h" ? topo.route(gpu, host)
                                            : topo.gpu_to_gpu(0, shape_of(m, "same_node") != 0 ? 1 : topo.gpu_count() / 2);
  sim::Time done = -1;
  net.start(path, m.bytes, [&] { done = sim.now(); });
  sim.run();
  return static_cast<double>(topo.transfer_startup(path) + done) / 1e3;
}

bool is_simulated_transfer(const Measurement& m) {
  if (m.op == "p2p") return true;
  if (m.op != "memcpy_h2d" && m.op != "memcpy_d2h") return false;
  const auto pinned = m.shape.find("pinned");
  return pinned == m.shape.end() || pinned->second != 0;
}

double amount(const Measurement& m) { return is_transfer_op(m.op) ? m.bytes : m.tokens; }

}  // namespace

bool is_expert_ffn(const Measurement& m) { return is_mlp(m) || m.op == "grouped_mlp"; }

std::string not_simulated_reason(const Measurement& m) {
  if (m.shape.count("spread") != 0) return "spread runs (run-to-run variability, summarised by fit)";
  if (is_expert_ffn(m) || is_attention(m) || is_simulated_transfer(m)) return "";
  if (m.op == "memcpy_h2d" || m.op == "memcpy_d2h") return "pageable copies (staged through a pinned buffer by the driver; the simulator moves weights from pinned host memory)";
  if (m.op == "launch") return "launch (an empty kernel; each simulated op's fixed cost is the profile's fitted overhead)";
  if (m.op == "memcpy_d2d") return "memcpy_d2d (device-local copies are not simulated; they check the HBM bandwidth)";
  return m.op + " (no simulator counterpart)";
}

double simulated_us(const Measurement& m, const models::GpuProfile& gpu, const std::string& topology,
                    double transfer_overhead_us) {
  if (is_expert_ffn(m)) {
    const std::int64_t d = shape_of(m, "d_model"), f = shape_of(m, "d_ff");
    const models::OpKey key{"expert_ffn", {{"d_model", d}, {"d_ff", f}}, m.dtype};
    // A GPU's experts run one after another: the serving engine sums their times.
    const double experts = m.op == "grouped_mlp" ? static_cast<double>(shape_of(m, "experts")) : 1.0;
    return experts * static_cast<double>(models::gated_mlp_time(gpu, gpu.resolve(key), d, f, models::dtype_size(m.dtype), m.tokens)) / 1e3;
  }
  if (is_attention(m)) return attention_us(m, gpu);
  if (is_simulated_transfer(m)) return transfer_overhead_us + simulate_transfer(m, topology);
  throw InputError(fmt::format("measurement line {}: {} has no simulator counterpart", m.line, not_simulated_reason(m)));
}

std::vector<Measurement> select(const std::vector<Measurement>& ms, const std::vector<std::string>& where,
                                           bool keep_matching) {
  std::vector<std::pair<std::string, std::int64_t>> conditions;
  for (const auto& w : where) {
    const auto eq = w.find('=');
    std::int64_t value = 0;
    if (eq == std::string::npos || eq == 0 || !util::parse_number(std::string_view(w).substr(eq + 1), value)) {
      throw InputError(fmt::format("shape filter '{}': expected key=integer, e.g. d_ff=11008", w));
    }
    conditions.emplace_back(w.substr(0, eq), value);
  }
  std::vector<Measurement> out;
  for (const auto& m : ms) {
    bool match = true;
    for (const auto& [k, v] : conditions) {
      const auto it = m.shape.find(k);
      match = match && it != m.shape.end() && it->second == v;
    }
    if (match == keep_matching) out.push_back(m);
  }
  return out;
}

Validation validate(const std::vector<Measurement>& ms, const models::GpuProfile& gpu, const std::string& topology,
                    double transfer_overhead_us) {
  Validation v;
  std::map<std::pair<std::string, std::string>, OpError> by_op;
  std::map<std::pair<std::string, std::string>, std::size_t> in_sample;  // points per row from a fitted-on file
  // What a fit takes from a file (fit_profile): expert FFNs (roofline and tables; experts
  // back to back are their sum) and fused attention (op rooflines). Transfers are timed
  // on the topology presets, whose link constants come from the files link_fit_files()
  // names; the attention stand-ins never enter a fit, so they are held out wherever
  // they come from.
  const std::vector<std::string> link_files = models::link_fit_files();
  const auto from = [](const std::vector<std::string>& files, const Measurement& m) {
    return !m.file.empty() && std::find(files.begin(), files.end(), m.file) != files.end();
  };
  const auto fitted = [&](const Measurement& m) {
    if (is_simulated_transfer(m)) return from(link_files, m);
    const auto fused = m.shape.find("fused");
    const bool enters_fit = is_expert_ffn(m) || (is_attention(m) && fused != m.shape.end() && fused->second != 0);
    return enters_fit && from(gpu.fitted_on, m);
  };
  std::map<std::tuple<std::string, std::string, double>, double> transfer_cache;  // the same size is measured many times
  for (const auto& m : ms) {
    const std::string skip = not_simulated_reason(m);
    if (!skip.empty()) {
      ++v.skipped[skip];
      continue;
    }
    double sim = 0.0;
    if (is_transfer_op(m.op)) {
      const auto key = std::make_tuple(m.op, shape_text(m), m.bytes);
      const auto it = transfer_cache.find(key);
      sim = it != transfer_cache.end() ? it->second : (transfer_cache[key] = simulated_us(m, gpu, topology, transfer_overhead_us));
    } else {
      sim = simulated_us(m, gpu, topology);
    }
    const double err = std::abs(sim / m.median_us - 1.0);
    OpError& e = by_op[{m.op, shape_text(m)}];
    e.op = m.op;
    e.shape = shape_text(m);
    e.mape += err;
    ++e.points;
    if (fitted(m)) ++in_sample[{m.op, e.shape}];
    if (err >= e.worst) {
      e.worst = err;
      e.worst_at = amount(m);
      e.measured_at_worst = m.median_us;
      e.simulated_at_worst = sim;
    }
    v.points.emplace_back(m.median_us, sim);
  }
  for (auto& [key, e] : by_op) {
    e.mape /= static_cast<double>(e.points);
    const std::size_t fitted_points = in_sample[key];
    e.sample = fitted_points == 0 ? "held-out" : fitted_points == e.points ? "in-sample" : "mixed";
    v.ops.push_back(e);
  }
  return v;
}

std::string format_validation(const Validation& v, const std::string& title) {
  util::TextTable t({"op", "shape", "sample", "points", "MAPE", "worst", "at", "measured µs", "simulated µs"});
  for (const auto& e : v.ops) {
    t.add_row({e.op, e.shape, e.sample, std::to_string(e.points), fmt::format("{:.1f}%", 100 * e.mape), fmt::format("{:.1f}%", 100 * e.worst),
               is_transfer_op(e.op) ? fmt::format("{:.0f} B", e.worst_at) : fmt::format("{:.0f} tok", e.worst_at),
               fmt::format("{:.1f}", e.measured_at_worst), fmt::format("{:.1f}", e.simulated_at_worst)});
  }
  std::string text = title + "\n" + t.render();
  for (const auto& [why, count] : v.skipped) text += fmt::format("not simulated, left out: {} measurement(s) of {}\n", count, why);
  const auto in_sample = std::count_if(v.ops.begin(), v.ops.end(), [](const OpError& e) { return e.sample != "held-out"; });
  if (in_sample > 0) {
    text += fmt::format("{} of {} rows are in-sample or mixed (the profile or the topology preset was fitted on these measurements): their error "
                        "is not a prediction; --holdout width|file gives held-out figures\n",
                        in_sample, v.ops.size());
  }
  return text;
}

nlohmann::ordered_json validation_object(const Validation& v) {
  nlohmann::ordered_json j;
  j["ops"] = nlohmann::ordered_json::array();
  for (const auto& e : v.ops) {
    j["ops"].push_back({{"op", e.op}, {"shape", e.shape}, {"sample", e.sample}, {"points", e.points}, {"mape", e.mape}, {"worst", e.worst},
                        {"worst_at", e.worst_at}, {"measured_us", e.measured_at_worst}, {"simulated_us", e.simulated_at_worst}});
  }
  j["points"] = nlohmann::ordered_json::array();
  for (const auto& [m, s] : v.points) j["points"].push_back({m, s});
  j["skipped"] = nlohmann::ordered_json::object();
  for (const auto& [why, count] : v.skipped) j["skipped"][why] = count;
  return j;
}

std::string validation_json(const Validation& v) { return validation_object(v).dump(2) + "\n"; }

std::vector<SpreadSummary> summarize_spread(const std::map<std::pair<std::int64_t, double>, std::vector<double>>& runs) {
  std::map<double, std::pair<double, int>> by_tokens;  // sum and count of the GPUs' medians, per token count
  std::vector<SpreadSummary> out;
  for (const auto& [key, times] : runs) {
    std::vector<double> t = times;
    std::sort(t.begin(), t.end());
    SpreadSummary r;
    r.gpu = key.first;
    r.tokens = key.second;
    r.runs = t.size();
    r.median_us = t[t.size() / 2];
    r.min_us = t.front();
    r.max_us = t.back();
    double mean = 0.0, var = 0.0;
    for (double x : t) mean += x / static_cast<double>(t.size());
    for (double x : t) var += (x - mean) * (x - mean) / static_cast<double>(t.size() > 1 ? t.size() - 1 : 1);
    r.cv = std::sqrt(var) / mean;
    by_tokens[r.tokens].first += r.median_us;
    ++by_tokens[r.tokens].second;
    out.push_back(r);
  }
  // A GPU's speed factor at a size: the mean of the GPUs' medians divided by its own
  // median (> 1 = faster than the average GPU).
  for (auto& r : out) {
    const auto& [sum, count] = by_tokens[r.tokens];
    r.speed_factor = sum / count / r.median_us;
  }
  return out;
}

namespace {

// A fitted rate as a fraction of its peak for the profile: at most 1; a rate the fit
// left unbounded (0: that term never bound any point) does not limit either.
double fraction_of(double rate, double peak) { return rate > 0.0 ? std::min(1.0, rate / peak) : 1.0; }

void fit_global(ProfileFit& fit, const std::map<std::pair<std::int64_t, std::int64_t>, std::map<double, std::vector<double>>>& tables,
                const models::GpuProfile& gpu, const std::string& dtype, const std::string& data_note, nlohmann::ordered_json& j) {
  const double memory_eff = fit.roofline.bytes_per_s / gpu.hbm_bytes_per_s;
  j["memory_efficiency"] = fraction_of(fit.roofline.bytes_per_s, gpu.hbm_bytes_per_s);
  j["compute_efficiency"] = fraction_of(fit.roofline.flops_per_s, gpu.peak_for(dtype));
  j["launch_overhead_ns"] = std::llround(fit.roofline.overhead_s * 1e9);
  j["tables"] = nlohmann::ordered_json::array();
  for (const auto& [shape, by_tokens] : tables) {
    nlohmann::ordered_json pts = nlohmann::ordered_json::array();
    for (auto [tokens, times] : by_tokens) {
      std::sort(times.begin(), times.end());
      pts.push_back({tokens, std::llround(times[times.size() / 2])});
    }
    if (pts.size() < 2) continue;
    j["tables"].push_back({{"op", "expert_ffn"}, {"dtype", dtype}, {"shape", {{"d_model", shape.first}, {"d_ff", shape.second}}}, {"points", pts}});
  }
  const std::string how = fmt::format("fitted by moesim calibrate fit to {} ({} points, rms relative error {:.1f}%)", data_note,
                                      fit.roofline.points, 100 * fit.roofline.rms_relative_error);
  j["sources"]["memory_efficiency"] = fmt::format("{}: effective bandwidth {:.2f} TB/s of {:.2f}{}", how, fit.roofline.bytes_per_s / 1e12,
                                                  gpu.hbm_bytes_per_s / 1e12, memory_eff > 1.0 ? " (clamped to 1)" : "");
  j["sources"]["compute_efficiency"] = fmt::format("{}: effective {:.0f} TFLOP/s of {:.0f} dense {}", how, fit.roofline.flops_per_s / 1e12,
                                                   gpu.peak_for(dtype) / 1e12, dtype);
  j["sources"]["launch_overhead_ns"] = how;
  j["sources"]["tables"] = "medians of the measurements, per shape: " + data_note;
}

void write_op_rooflines(const ProfileFit& fit, const models::GpuProfile& gpu, const std::string& dtype, const std::string& data_note,
                        nlohmann::ordered_json& j) {
  for (const auto& [op, r] : fit.op_rooflines) {
    j["op_rooflines"][op] = {{"memory_efficiency", fraction_of(r.bytes_per_s, gpu.hbm_bytes_per_s)},
                             {"compute_efficiency", fraction_of(r.flops_per_s, gpu.peak_for(dtype))},
                             {"launch_overhead_ns", std::llround(r.overhead_s * 1e9)}};
    j["sources"]["op_rooflines." + op] =
        fmt::format("fitted by moesim calibrate fit to the {} measurements of {} ({} points, rms relative error {:.1f}%): effective "
                    "{:.2f} TB/s, {:.0f} TFLOP/s, overhead {:.1f} µs",
                    op, data_note, r.points, 100 * r.rms_relative_error, r.bytes_per_s / 1e12, r.flops_per_s / 1e12, r.overhead_s * 1e6);
  }
}

}  // namespace

ProfileFit fit_profile(const std::vector<Measurement>& ms, const std::string& base_profile, const std::string& data_note,
                       bool gemm_waves) {
  const JsonInput base = models::load_description("gpus", base_profile, "--base");
  const models::GpuProfile gpu = models::parse_gpu_profile(base);
  ProfileFit fit;
  std::vector<WorkPoint> points;
  std::vector<MlpTiming> timings;  // the same points by shape, for the wave model
  std::string dtype;
  // Per shape: tokens -> measured medians (a shape may be measured more than once per size).
  std::map<std::pair<std::int64_t, std::int64_t>, std::map<double, std::vector<double>>> tables;
  std::map<std::string, std::vector<std::pair<double, double>>> links;
  std::map<std::pair<std::int64_t, double>, std::vector<double>> spread;  // (gpu, tokens) -> per-run medians
  // Per attention op, from fused kernels (shape fused = 1) only: they are what engines
  // run; the cuBLAS stand-ins (eager attention) would teach the profile the wrong costs.
  std::map<std::string, std::vector<WorkPoint>> attention_points;
  for (const auto& m : ms) {
    if (m.shape.count("spread") != 0) {
      const auto gpu_it = m.shape.find("gpu");
      spread[{gpu_it == m.shape.end() ? 0 : gpu_it->second, m.tokens}].push_back(m.median_us);
      continue;
    }
    if (is_mlp(m) || is_attention(m)) {
      if (!dtype.empty() && dtype != m.dtype) throw InputError(fmt::format("measurement line {}: mixed dtypes ({} and {})", m.line, dtype, m.dtype));
      dtype = m.dtype;
    }
    if (is_mlp(m)) {
      const auto w = work_of(m);
      points.push_back({w.flops, w.bytes, m.median_us * 1e-6});
      timings.push_back({shape_of(m, "d_model"), shape_of(m, "d_ff"), models::dtype_size(m.dtype), m.tokens, m.median_us * 1e-6});
      tables[{shape_of(m, "d_model"), shape_of(m, "d_ff")}][m.tokens].push_back(m.median_us * 1e3);
    } else if (is_attention(m)) {
      const auto fused = m.shape.find("fused");
      if (fused == m.shape.end() || fused->second == 0) continue;
      const auto w = attention_work_of(m);
      attention_points[m.op].push_back({w.flops, w.bytes, m.median_us * 1e-6});
    } else if (is_simulated_transfer(m) || m.op == "memcpy_d2d") {
      links[fmt::format("{}{}{}", m.op, m.shape.empty() ? "" : " ", shape_text(m))].emplace_back(m.bytes, m.median_us * 1e-6);
    }
  }
  if (points.empty() && attention_points.empty()) {
    throw InputError("no gated_mlp / expert_ffn or fused attention measurements to fit a roofline to");
  }
  // One profile describes one GPU: a fit over two devices' timings would describe neither.
  std::set<std::string> devices;
  for (const auto& m : ms) {
    if (is_mlp(m) || is_attention(m)) devices.insert(m.device);
  }
  if (devices.size() > 1) {
    std::vector<std::string> names(devices.begin(), devices.end());
    throw InputError(fmt::format("fit: the measurements come from {} devices ({}); fit one device at a time",
                                 names.size(), fmt::join(names, ", ")));
  }
  if (!points.empty()) fit.roofline = fit_roofline(points, "gated_mlp measurements");
  if (gemm_waves) {
    if (points.empty()) throw InputError("--gemm waves: no gated_mlp / expert_ffn measurements to fit the wave model to");
    fit.waves = fit_gemm_waves(timings, gpu, gpu.peak_for(dtype), fit.roofline);
  }
  for (const auto& [what, pts] : links) fit.links.emplace_back(what, fit_link(pts, what));
  fit.spread = summarize_spread(spread);
  for (const auto& [op, pts] : attention_points) fit.op_rooflines.emplace_back(op, fit_roofline(pts, op + " measurements"));

  nlohmann::ordered_json j = base.raw();
  // A base that is itself a fit keeps its name; its figures stay where nothing refits them.
  const std::string suffix = ".measured";
  if (!gpu.name.ends_with(suffix)) j["name"] = gpu.name + suffix;
  if (!points.empty()) fit_global(fit, tables, gpu, dtype, data_note, j);
  write_op_rooflines(fit, gpu, dtype, data_note, j);
  if (fit.waves) {
    const models::GemmWaves& w = fit.waves->waves;
    j["gemm_waves"] = {{"memory_efficiency", w.roofline.memory_efficiency},
                       {"compute_efficiency", w.roofline.compute_efficiency},
                       {"launch_overhead_ns", w.roofline.launch_overhead},
                       {"wave_overhead_ns", w.wave_overhead}};
    j["sources"]["gemm_waves"] = fmt::format(
        "fitted by moesim calibrate fit --gemm waves to {} ({} points, rms relative error {:.1f}%): tiles of {} over {} SMs",
        data_note, fit.waves->points, 100 * fit.waves->rms_relative_error, "64x64 to 256x128", w.sm_count);
  }
  j["calibration"]["data"] = data_note;
  std::vector<std::string> files;
  for (const auto& m : ms) {
    if (!m.file.empty() && std::find(files.begin(), files.end(), m.file) == files.end()) files.push_back(m.file);
  }
  std::sort(files.begin(), files.end());
  j["fitted_on"] = files;
  nlohmann::ordered_json link_json = nlohmann::ordered_json::array();
  for (const auto& [what, l] : fit.links) {
    link_json.push_back({{"transfer", what}, {"latency_ns", l.latency_s * 1e9}, {"bytes_per_s", l.bytes_per_s}, {"rms_relative_error", l.rms_relative_error}});
  }
  if (!link_json.empty()) j["calibration"]["links"] = link_json;
  if (!fit.spread.empty()) {
    nlohmann::ordered_json spread_json = nlohmann::ordered_json::array();
    for (const auto& r : fit.spread) {
      spread_json.push_back({{"gpu", r.gpu}, {"tokens", r.tokens}, {"runs", r.runs}, {"median_us", r.median_us}, {"cv", r.cv},
                             {"min_us", r.min_us}, {"max_us", r.max_us}, {"speed_factor", r.speed_factor}});
    }
    j["calibration"]["spread"] = spread_json;
  }
  fit.profile_json = j.dump(2) + "\n";
  return fit;
}

}  // namespace moesim::calibrate
