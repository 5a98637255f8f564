#pragma once
// Reader for the Llama-4-Maverick MMLU routing trace (traces/data/
// llama4-maverick-mmlu.SOURCE.md): one JSON file per request, a list
// of steps (prefill, then one per decode token); each step maps every decoder layer
// "0".."47" to null (dense layer) or, for MoE layers, a list with one entry per
// token holding that token's routed expert ids. Everything is checked against the
// expected layout; errors name the file and JSON path.
#include <string>
#include <vector>

#include "traces/routing_trace.h"

namespace moesim::traces {

struct Llama4Layout {
  int decoder_layers = 48;
  std::vector<int> moe_layers;  // decoder layer indices that are MoE
  int experts = 128;
  int top_k = 1;
  static Llama4Layout maverick();  // odd layers 1..47, 128 experts, top-1
};

RequestRouting read_llama4_routing_json(const std::string& path, std::uint64_t id, const Llama4Layout& layout);

// All request files under `dir` (sub-folders sorted by name, files by numeric
// name), in a deterministic order.
std::vector<std::string> list_llama4_request_files(const std::string& dir);

}  // namespace moesim::traces
