#include "traces/flame_moe_csv.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <numeric>

#include "util/errors.h"
#include "util/line_reader.h"

namespace moesim::traces {
namespace {

// One layer file, read a row at a time.
class LayerFile {
 public:
  explicit LayerFile(const std::string& path) : lines_(path) {
    std::string header;
    if (!lines_.next(header) || header.rfind("layer_id,token_id,expert_0", 0) != 0) {
      throw lines_.error("expected the header 'layer_id,token_id,expert_0,...'");
    }
    util::split_fields(header, ',', fields_);
    experts_ = static_cast<int>(fields_.size()) - 2;
    for (int e = 0; e < experts_; ++e) {
      if (fields_[static_cast<std::size_t>(e) + 2] != fmt::format("expert_{}", e)) {
        throw lines_.error(fmt::format("header column {} should be expert_{}", e + 3, e));
      }
    }
  }
  int experts() const { return experts_; }
  // The selected experts of the next token (by descending probability) and their
  // probabilities; checks the token id and the number of selections.
  void next_token(long expected_token, std::vector<std::pair<double, int>>& selected) {
    if (!lines_.next(row_)) throw lines_.error(fmt::format("file ends before token {}", expected_token));
    util::split_fields(row_, ',', fields_);
    if (static_cast<int>(fields_.size()) != experts_ + 2) {
      throw lines_.error(fmt::format("expected {} fields (layer_id, token_id, {} experts), got {}", experts_ + 2, experts_,
                                     fields_.size()));
    }
    long token = -1;
    if (!util::parse_number(fields_[1], token) || token != expected_token) {
      throw lines_.error(fmt::format("expected token_id {}, got '{}'", expected_token, fields_[1]));
    }
    selected.clear();
    for (int e = 0; e < experts_; ++e) {
      double p = 0.0;
      if (!util::parse_number(fields_[static_cast<std::size_t>(e) + 2], p) || !(p >= 0.0 && p <= 1.0)) {
        throw lines_.error(fmt::format("expert_{}: expected a probability in [0, 1], got '{}'", e,
                                       fields_[static_cast<std::size_t>(e) + 2]));
      }
      if (p > 0.0) selected.emplace_back(p, e);
    }
    // Descending probability; ties by expert id so the order is deterministic.
    std::sort(selected.begin(), selected.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
  }
  const util::LineReader& lines() const { return lines_; }
  bool at_end() {
    std::string rest;
    return !lines_.next(rest);
  }

 private:
  util::LineReader lines_;
  std::string row_;
  std::vector<std::string_view> fields_;
  int experts_ = 0;
};

// The number right before `suffix` in `name`, searching backwards from `end`.
std::optional<long> number_before(const std::string& name, std::size_t end) {
  std::size_t begin = end;
  while (begin > 0 && std::isdigit(static_cast<unsigned char>(name[begin - 1]))) --begin;
  long v = 0;
  if (begin == end || !util::parse_number(std::string_view(name).substr(begin, end - begin), v)) return std::nullopt;
  return v;
}

// "..._layer<L>_..._<S>seqs_<T>tokens.csv" -> (L, S, T).
std::optional<std::array<int, 3>> parse_layer_file_name(const std::string& name) {
  const std::string suffix = "tokens.csv";
  if (name.size() < suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return std::nullopt;
  const auto tokens = number_before(name, name.size() - suffix.size());
  const auto seqs_at = name.rfind("seqs_");
  const auto layer_at = name.find("_layer");
  if (!tokens || seqs_at == std::string::npos || layer_at == std::string::npos) return std::nullopt;
  const auto sequences = number_before(name, seqs_at);
  std::size_t digits_end = layer_at + 6;
  while (digits_end < name.size() && std::isdigit(static_cast<unsigned char>(name[digits_end]))) ++digits_end;
  const auto layer = number_before(name, digits_end);
  if (!sequences || !layer || digits_end >= name.size() || name[digits_end] != '_') return std::nullopt;
  return std::array<int, 3>{static_cast<int>(*layer), static_cast<int>(*sequences), static_cast<int>(*tokens)};
}

}  // namespace

FlameMoeInput find_flame_moe_files(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw InputError(fmt::format("{}: not a folder of FLAME-MoE layer CSV files", dir));
  std::vector<std::pair<int, std::string>> found;
  FlameMoeInput input;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string file = entry.path().filename().string();
    const auto name = parse_layer_file_name(file);
    if (!entry.is_regular_file() || !name) continue;
    const auto [layer, sequences, tokens] = *name;
    if (!input.files.empty() || !found.empty()) {
      if (sequences != input.sequences || tokens != input.tokens) {
        throw InputError(fmt::format("{}: {} sequences × {} tokens, but other layer files have {} × {}", file, sequences,
                                     tokens, input.sequences, input.tokens));
      }
    }
    input.sequences = sequences;
    input.tokens = tokens;
    found.emplace_back(layer, entry.path().string());
  }
  if (found.empty()) throw InputError(fmt::format("{}: no files named '*_layer<L>_*_<S>seqs_<T>tokens.csv'", dir));
  std::sort(found.begin(), found.end());
  for (std::size_t i = 1; i < found.size(); ++i) {
    if (found[i].first == found[i - 1].first) {
      throw InputError(fmt::format("{}: two files for layer {} ({} and {})", dir, found[i].first, found[i - 1].second,
                                   found[i].second));
    }
  }
  if (input.sequences < 1 || input.tokens % input.sequences != 0) {
    throw InputError(fmt::format("{}: {} tokens do not split into {} equal sequences", dir, input.tokens, input.sequences));
  }
  for (auto& [layer, file] : found) {
    input.layers.push_back(layer);
    input.files.push_back(std::move(file));
  }
  return input;
}

RoutingTraceHeader read_flame_moe_routing(const FlameMoeInput& input, const std::string& model,
                                          const std::function<void(const RoutingTraceHeader&, const RequestRouting&)>& sink) {
  std::vector<std::unique_ptr<LayerFile>> layers;
  for (const auto& f : input.files) {
    layers.push_back(std::make_unique<LayerFile>(f));
    if (layers.back()->experts() != layers.front()->experts()) {
      throw InputError(fmt::format("{}: {} expert columns, but {} has {}", f, layers.back()->experts(), input.files.front(),
                                   layers.front()->experts()));
    }
  }
  RoutingTraceHeader header;
  header.model = model;
  header.moe_layers = static_cast<std::uint32_t>(layers.size());
  header.experts = static_cast<std::uint32_t>(layers.front()->experts());
  header.has_gate_weights = true;
  const int per_sequence = input.tokens / input.sequences;
  std::vector<std::pair<double, int>> selected;
  long token = 0;
  for (int s = 0; s < input.sequences; ++s) {
    RequestRouting r;
    r.id = static_cast<std::uint64_t>(s);
    RoutingStep& step = r.steps.emplace_back();
    step.tokens = static_cast<std::uint32_t>(per_sequence);
    step.experts.resize(layers.size());
    step.gate_weights.resize(layers.size());
    for (int t = 0; t < per_sequence; ++t, ++token) {
      for (std::size_t l = 0; l < layers.size(); ++l) {
        layers[l]->next_token(token, selected);
        if (header.top_k == 0) {
          if (selected.empty()) throw layers[l]->lines().error("a token with no selected expert");
          header.top_k = static_cast<std::uint32_t>(selected.size());
        } else if (selected.size() != header.top_k) {
          throw layers[l]->lines().error(
              fmt::format("{} selected experts (non-zero probabilities), expected top-{}", selected.size(), header.top_k));
        }
        for (const auto& [p, e] : selected) {
          step.experts[l].push_back(static_cast<std::uint16_t>(e));
          step.gate_weights[l].push_back(static_cast<float>(p));
        }
      }
    }
    sink(header, r);
  }
  for (auto& layer : layers) {
    if (!layer->at_end()) throw layer->lines().error(fmt::format("more rows than the {} tokens its name says", input.tokens));
  }
  return header;
}

}  // namespace moesim::traces
