#include "traces/llama4_routing_json.h"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>

#include "util/errors.h"
#include "util/json_input.h"

namespace moesim::traces {

Llama4Layout Llama4Layout::maverick() {
  Llama4Layout l;
  for (int layer = 1; layer < 48; layer += 2) l.moe_layers.push_back(layer);
  return l;
}

RequestRouting read_llama4_routing_json(const std::string& path, std::uint64_t id, const Llama4Layout& layout) {
  const JsonInput root = JsonInput::load_file(path);
  RequestRouting r;
  r.id = id;
  for (const JsonInput& step_json : root.items()) {
    RoutingStep step;
    step.experts.resize(layout.moe_layers.size());
    bool first = true;
    std::size_t moe_index = 0;
    for (int layer = 0; layer < layout.decoder_layers; ++layer) {
      const JsonInput value = step_json.at(std::to_string(layer));
      const bool is_moe = moe_index < layout.moe_layers.size() && layout.moe_layers[moe_index] == layer;
      if (!is_moe) {
        value.check(value.raw().is_null(), "null (a dense layer)");
        continue;
      }
      const auto tokens = value.items();
      if (first) {
        step.tokens = static_cast<std::uint32_t>(tokens.size());
        first = false;
      } else if (tokens.size() != step.tokens) {
        value.fail(fmt::format("has {} tokens, but earlier MoE layers of this step have {}", tokens.size(), step.tokens));
      }
      auto& ids = step.experts[moe_index];
      ids.reserve(tokens.size() * static_cast<std::size_t>(layout.top_k));
      for (const JsonInput& token : tokens) {
        const auto chosen = token.items();
        token.check(chosen.size() == static_cast<std::size_t>(layout.top_k), fmt::format("{} expert id(s)", layout.top_k));
        for (const JsonInput& e : chosen) {
          const std::int64_t expert = e.integer();
          e.check(expert >= 0 && expert < layout.experts, fmt::format("an expert id in [0, {})", layout.experts));
          ids.push_back(static_cast<std::uint16_t>(expert));
        }
      }
      ++moe_index;
    }
    if (step_json.raw().size() != static_cast<std::size_t>(layout.decoder_layers)) {
      step_json.fail(fmt::format("expected exactly {} layers \"0\"..\"{}\"", layout.decoder_layers, layout.decoder_layers - 1));
    }
    r.steps.push_back(std::move(step));
  }
  root.check(!r.steps.empty(), "at least one step (the prefill)");
  return r;
}

std::vector<std::string> list_llama4_request_files(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw InputError(fmt::format("{}: not a directory", dir));
  std::vector<fs::path> folders;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory()) folders.push_back(e.path());
  }
  std::sort(folders.begin(), folders.end());
  if (folders.empty()) folders.push_back(dir);  // a single subject folder
  std::vector<std::string> files;
  for (const auto& folder : folders) {
    std::vector<std::pair<long, std::string>> numbered;
    for (const auto& e : fs::directory_iterator(folder)) {
      if (!e.is_regular_file() || e.path().extension() != ".json") continue;
      const std::string stem = e.path().stem().string();
      if (stem.empty() || !std::all_of(stem.begin(), stem.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
      numbered.emplace_back(std::stol(stem), e.path().string());
    }
    std::sort(numbered.begin(), numbered.end());
    for (auto& [n, p] : numbered) files.push_back(std::move(p));
  }
  if (files.empty()) throw InputError(fmt::format("{}: no <number>.json request files found", dir));
  return files;
}

}  // namespace moesim::traces
