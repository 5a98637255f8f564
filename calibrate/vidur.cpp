#include "calibrate/vidur.h"

#include <charconv>
#include <fmt/format.h>
#include <fstream>
#include <map>

#include "sim/errors.h"

namespace moesim::calibrate {
namespace {

// A CSV with a header; rows as name -> text, with the line for errors.
class Csv {
 public:
  explicit Csv(const std::string& path) : path_(path), in_(path) {
    if (!in_) throw InputError(fmt::format("{}: cannot open file", path));
    std::string header;
    if (!std::getline(in_, header)) throw InputError(fmt::format("{}:1: empty file (expected a CSV header)", path));
    line_ = 1;
    columns_ = split(header);
  }
  bool next() {
    std::string text;
    while (std::getline(in_, text)) {
      ++line_;
      if (!text.empty() && text.back() == '\r') text.pop_back();
      if (text.empty()) continue;
      fields_ = split(text);
      if (fields_.size() != columns_.size()) {
        throw InputError(fmt::format("{}:{}: {} fields, the header has {}", path_, line_, fields_.size(), columns_.size()));
      }
      return true;
    }
    return false;
  }
  bool boolean(const std::string& column) const {
    const std::string& text = fields_[index(column)];
    if (text == "True" || text == "true" || text == "1") return true;
    if (text == "False" || text == "false" || text == "0") return false;
    throw InputError(fmt::format("{}:{}: column {}: expected True or False, got '{}'", path_, line_, column, text));
  }
  double number(const std::string& column) const {
    const std::string& text = fields_[index(column)];
    double v = 0.0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || p != text.data() + text.size()) {
      throw InputError(fmt::format("{}:{}: column {}: expected a number, got '{}'", path_, line_, column, text));
    }
    return v;
  }
  const std::string& path() const { return path_; }
  std::uint64_t line() const { return line_; }

 private:
  static std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out(1);
    for (char c : s) {
      if (c == ',') {
        out.emplace_back();
      } else {
        out.back() += c;
      }
    }
    return out;
  }
  std::size_t index(const std::string& column) const {
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      if (columns_[i] == column) return i;
    }
    throw InputError(fmt::format("{}: missing column '{}'", path_, column));
  }
  std::string path_;
  std::ifstream in_;
  std::uint64_t line_ = 0;
  std::vector<std::string> columns_;
  std::vector<std::string> fields_;
};

constexpr const char* kSource = "Vidur (microsoft/vidur 7d47513, MIT), H100 profiling data";

}  // namespace

std::vector<Measurement> read_vidur_mlp(const std::string& path, const std::string& device) {
  Csv csv(path);
  std::vector<Measurement> out;
  while (csv.next()) {
    const auto tp = static_cast<std::int64_t>(csv.number("num_tensor_parallel_workers"));
    const auto d_model = static_cast<std::int64_t>(csv.number("n_embd"));
    const auto d_ff = static_cast<std::int64_t>(csv.number("n_expanded_embd"));
    if (tp < 1 || d_ff % tp != 0) throw InputError(fmt::format("{}:{}: tensor-parallel degree {} does not divide d_ff {}", csv.path(), csv.line(), tp, d_ff));
    if (!csv.boolean("use_gated_mlp")) continue;  // only gated MLPs stand for an expert
    Measurement m;
    m.op = "gated_mlp";
    m.device = device;
    m.shape = {{"d_model", d_model}, {"d_ff", d_ff / tp}};
    m.tokens = csv.number("num_tokens");
    double median = 0, lo = 0, hi = 0;
    for (const char* part : {"mlp_up_proj", "mlp_act", "mlp_down_proj"}) {
      median += csv.number(fmt::format("time_stats.{}.median", part));
      lo += csv.number(fmt::format("time_stats.{}.min", part));
      hi += csv.number(fmt::format("time_stats.{}.max", part));
    }
    m.median_us = median * 1e3;
    m.min_us = std::min(lo * 1e3, m.median_us);
    m.max_us = std::max(hi * 1e3, m.median_us);
    m.source = fmt::format("{}: mlp.csv line {}, TP {}", kSource, csv.line(), tp);
    m.line = csv.line();
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<Measurement> read_vidur_send_recv(const std::string& path, const std::string& device) {
  Csv csv(path);
  std::vector<Measurement> out;
  while (csv.next()) {
    Measurement m;
    m.op = "p2p";
    m.device = device;
    m.shape = {{"same_node", csv.number("devices_per_node") >= 2 ? 1 : 0}};
    m.bytes = csv.number("size");
    m.median_us = csv.number("time_stats.send_recv.median") * 1e3;
    m.min_us = std::min(csv.number("time_stats.send_recv.min") * 1e3, m.median_us);
    m.max_us = std::max(csv.number("time_stats.send_recv.max") * 1e3, m.median_us);
    m.source = fmt::format("{}: send_recv.csv line {}", kSource, csv.line());
    m.line = csv.line();
    if (!(m.bytes > 0 && m.median_us > 0)) throw InputError(fmt::format("{}:{}: size and time must be positive", csv.path(), csv.line()));
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace moesim::calibrate
