#include "calibrate/vidur.h"

#include <fmt/format.h>

#include "util/errors.h"
#include "util/line_reader.h"

namespace moesim::calibrate {
namespace {

// A CSV with a header; fields looked up by column name, errors with file and line.
class Csv {
 public:
  explicit Csv(const std::string& path) : lines_(path) {
    std::string header;
    if (!lines_.next(header)) throw lines_.error("empty file (expected a CSV header)");
    std::vector<std::string_view> names;
    util::split_fields(header, ',', names);
    columns_.assign(names.begin(), names.end());
  }
  bool next() {
    if (!lines_.next(row_)) return false;
    util::split_fields(row_, ',', fields_);
    if (fields_.size() != columns_.size()) {
      throw lines_.error(fmt::format("{} fields, the header has {}", fields_.size(), columns_.size()));
    }
    return true;
  }
  bool boolean(const std::string& column) const {
    const std::string_view text = fields_[index(column)];
    if (text == "True" || text == "true" || text == "1") return true;
    if (text == "False" || text == "false" || text == "0") return false;
    throw lines_.error(fmt::format("column {}: expected True or False, got '{}'", column, text));
  }
  double number(const std::string& column) const {
    const std::string_view text = fields_[index(column)];
    double v = 0.0;
    if (!util::parse_number(text, v)) throw lines_.error(fmt::format("column {}: expected a number, got '{}'", column, text));
    return v;
  }
  const util::LineReader& lines() const { return lines_; }

 private:
  std::size_t index(const std::string& column) const {
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      if (columns_[i] == column) return i;
    }
    throw InputError(fmt::format("{}: missing column '{}'", lines_.path(), column));
  }
  util::LineReader lines_;
  std::string row_;
  std::vector<std::string> columns_;
  std::vector<std::string_view> fields_;
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
    if (tp < 1 || d_ff % tp != 0) throw csv.lines().error(fmt::format("tensor-parallel degree {} does not divide d_ff {}", tp, d_ff));
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
    m.source = fmt::format("{}: mlp.csv line {}, TP {}", kSource, csv.lines().line(), tp);
    m.line = csv.lines().line();
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
    m.source = fmt::format("{}: send_recv.csv line {}", kSource, csv.lines().line());
    m.line = csv.lines().line();
    if (!(m.bytes > 0 && m.median_us > 0)) throw csv.lines().error("size and time must be positive");
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace moesim::calibrate
