#include "calibrate/measurement.h"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/errors.h"
#include "util/line_reader.h"
#include "util/json_input.h"

namespace moesim::calibrate {
namespace {

constexpr const char* kComputeOps[] = {"gated_mlp", "grouped_mlp", "expert_ffn", "gemm", "attention_prefill", "attention_decode",
                                      "launch"};
constexpr const char* kTransferOps[] = {"p2p", "memcpy_h2d", "memcpy_d2h", "memcpy_d2d", "all_to_all"};

}  // namespace

bool is_transfer_op(const std::string& op) {
  for (const char* t : kTransferOps) {
    if (op == t) return true;
  }
  return false;
}

bool is_known_op(const std::string& op) {
  for (const char* c : kComputeOps) {
    if (op == c) return true;
  }
  return is_transfer_op(op);
}

std::string known_ops() {
  std::string list;
  for (const char* c : kComputeOps) list += std::string(list.empty() ? "" : ", ") + c;
  for (const char* t : kTransferOps) list += std::string(", ") + t;
  return list;
}

MeasurementFile read_measurements(const std::string& path) {
  util::LineReader lines(path);
  MeasurementFile file;
  std::string text;
  while (lines.next(text)) {
    const std::uint64_t line = lines.line();
    auto fail = [&](const std::string& what) { throw lines.error(what); };
    const auto j = parse_json_value(text, fmt::format("{}:{}", lines.path(), lines.line()));
    if (!j.is_object()) fail("expected one JSON object per line");
    if (j.contains("header")) {
      if (!file.measurements.empty() || !file.header.empty()) fail("a header is allowed only on the first line");
      file.header = j["header"].dump();
      continue;
    }
    Measurement m;
    m.line = line;
    m.file = std::filesystem::path(path).filename().string();
    auto string_field = [&](const char* key, bool required) -> std::string {
      if (!j.contains(key)) {
        if (required) fail(fmt::format("missing .{} (a string)", key));
        return {};
      }
      if (!j[key].is_string()) fail(fmt::format(".{}: expected a string, got {}", key, j[key].dump()));
      return j[key].get<std::string>();
    };
    auto positive = [&](const nlohmann::json& v, const std::string& where) {
      if (!v.is_number() || !(v.get<double>() > 0.0)) fail(fmt::format("{}: expected a positive number, got {}", where, v.dump()));
      return v.get<double>();
    };
    m.op = string_field("op", true);
    if (!is_known_op(m.op)) fail(fmt::format(".op: unknown op '{}' (known: {})", m.op, known_ops()));
    m.device = string_field("device", true);
    if (j.contains("dtype")) m.dtype = string_field("dtype", true);
    m.source = string_field("source", false);
    if (j.contains("shape")) {
      if (!j["shape"].is_object()) fail(fmt::format(".shape: expected an object of integers, got {}", j["shape"].dump()));
      for (const auto& [k, v] : j["shape"].items()) {
        if (!v.is_number_integer()) fail(fmt::format(".shape.{}: expected an integer, got {}", k, v.dump()));
        m.shape[k] = v.get<std::int64_t>();
      }
    }
    const char* amount = is_transfer_op(m.op) ? "bytes" : "tokens";
    if (!j.contains(amount)) fail(fmt::format("missing .{} (op {} is measured per {})", amount, m.op, amount));
    (is_transfer_op(m.op) ? m.bytes : m.tokens) = positive(j[amount], std::string(".") + amount);
    if (!j.contains("time_us") || !j["time_us"].is_object()) fail("missing .time_us (an object with median, min, max)");
    const auto& t = j["time_us"];
    if (!t.contains("median")) fail("missing .time_us.median");
    m.median_us = positive(t["median"], ".time_us.median");
    m.min_us = t.contains("min") ? positive(t["min"], ".time_us.min") : m.median_us;
    m.max_us = t.contains("max") ? positive(t["max"], ".time_us.max") : m.median_us;
    if (m.min_us > m.median_us || m.median_us > m.max_us) fail(".time_us: expected min <= median <= max");
    if (j.contains("nvml")) {
      const auto& n = j["nvml"];
      if (!n.is_object()) fail(fmt::format(".nvml: expected an object, got {}", n.dump()));
      if (n.contains("sm_clock_mhz")) m.sm_clock_mhz = positive(n["sm_clock_mhz"], ".nvml.sm_clock_mhz");
    }
    file.measurements.push_back(std::move(m));
  }
  if (file.measurements.empty()) throw InputError(fmt::format("{}: no measurements", path));
  return file;
}

std::string to_json_line(const Measurement& m) {
  nlohmann::ordered_json j{{"op", m.op}, {"device", m.device}, {"dtype", m.dtype}};
  if (!m.shape.empty()) j["shape"] = m.shape;
  if (is_transfer_op(m.op)) {
    j["bytes"] = m.bytes;
  } else {
    j["tokens"] = m.tokens;
  }
  j["time_us"] = {{"median", m.median_us}, {"min", m.min_us}, {"max", m.max_us}};
  if (!m.source.empty()) j["source"] = m.source;
  if (m.sm_clock_mhz > 0.0) j["nvml"] = {{"sm_clock_mhz", m.sm_clock_mhz}};
  return j.dump();
}

}  // namespace moesim::calibrate
