#include "calibrate/vidur.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <tuple>
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

// Where a line came from: the file (any device's) and its CSV line.
std::string vidur_source(const std::string& path) {
  return "Vidur (github.com/microsoft/vidur, MIT) profiling data, " + std::filesystem::path(path).filename().string();
}

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
    m.source = fmt::format("{} line {}, TP {}", vidur_source(path), csv.lines().line(), tp);
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
    m.source = fmt::format("{} line {}", vidur_source(path), csv.lines().line());
    m.line = csv.lines().line();
    if (!(m.bytes > 0 && m.median_us > 0)) throw csv.lines().error("size and time must be positive");
    out.push_back(std::move(m));
  }
  return out;
}

std::string vidur_device_name(const std::string& token) {
  if (token == "h100") return "NVIDIA H100 80GB HBM3 (Vidur DGX)";
  if (token == "a100") return "NVIDIA A100 80GB (Vidur)";
  std::string upper = token;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "NVIDIA " + upper + " (Vidur)";
}

namespace {

// "h100" from "h100", "h100_dgx" or "h100_llama-2-7b_mlp.csv": letters, digits and
// optional letters (l40s), up to the first '_' (or the end); "" when the part is not.
std::string device_token(const std::string& part) {
  const std::string head = part.substr(0, part.find('_'));
  std::size_t i = 0;
  while (i < head.size() && std::islower(static_cast<unsigned char>(head[i]))) ++i;
  const std::size_t letters = i;
  while (i < head.size() && std::isdigit(static_cast<unsigned char>(head[i]))) ++i;
  const std::size_t digits = i - letters;
  while (i < head.size() && std::islower(static_cast<unsigned char>(head[i]))) ++i;  // l40s, mi300x
  return letters > 0 && digits > 0 && i == head.size() ? head : "";
}

}  // namespace

std::vector<VidurFile> find_vidur_files(const std::string& folder, const std::string& device) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) throw InputError(fmt::format("{}: not a folder", folder));
  std::vector<VidurFile> out;
  for (auto it = fs::recursive_directory_iterator(folder, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const std::string name = it->path().filename().string();
    const bool mlp = name.ends_with("mlp.csv");
    if (!mlp && !name.ends_with("send_recv.csv")) continue;
    VidurFile f;
    f.path = fs::relative(it->path(), folder, ec).string();
    f.kind = mlp ? "mlp" : "send_recv";
    f.device = device;
    for (fs::path p = fs::path(f.path); f.device.empty() && !p.empty(); p = p.parent_path()) {
      const std::string token = device_token(p.filename().string());
      if (!token.empty()) f.device = vidur_device_name(token);
    }
    if (f.device.empty()) {
      throw InputError(fmt::format("{}/{}: cannot tell which GPU it was measured on (no part of its path starts with a "
                                   "GPU such as h100 or a100); pass --device", folder, f.path));
    }
    out.push_back(std::move(f));
  }
  if (ec) throw InputError(fmt::format("{}: {}", folder, ec.message()));
  if (out.empty()) throw InputError(fmt::format("{}: no Vidur profiling files (*mlp.csv, *send_recv.csv) under it", folder));
  std::sort(out.begin(), out.end(), [](const VidurFile& a, const VidurFile& b) { return std::tie(a.kind, a.path) < std::tie(b.kind, b.path); });
  return out;
}

}  // namespace moesim::calibrate
