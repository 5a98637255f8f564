#pragma once
// Aggregate expert-selection counts per layer (no per-token sequence), e.g. the
// Fiddler artifact for Mixtral-8x7B on MMLU: {"total_input_tokens": n,
// "expert_popularity": [[count per expert] per layer]}. Several files (subjects)
// can be summed.
#include <cstdint>
#include <string>
#include <vector>

namespace moesim::traces {

struct ExpertPopularity {
  std::vector<std::vector<std::uint64_t>> counts;  // [layer][expert]
  std::vector<std::string> sources;
};

// Reads one file or every *.json in a folder (sorted) and sums them. Errors name
// the file and JSON path (ragged rows, negative counts, mismatched shapes).
ExpertPopularity read_expert_popularity(const std::string& path);

}  // namespace moesim::traces
