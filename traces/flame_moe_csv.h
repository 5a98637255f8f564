#pragma once
// Reader for the FLAME-MoE per-token router scores (traces/data/
// flame-moe-290m-pretrain.SOURCE.md): one CSV per MoE layer, named
// "..._layer<L>_..._<S>seqs_<T>tokens.csv", header "layer_id,token_id,expert_0..",
// one row per token with the router probability of each selected expert and 0 for
// the others (exactly top-k non-zeros). Rows with the same token_id are the same
// token in every layer, so the files are read side by side, one row each at a
// time (memory independent of their length). The flattened tokens are cut into
// the S sequences of T/S tokens; each sequence becomes one request with a single
// prefill step, its experts per token ordered by descending router probability
// and the probabilities kept as gate weights.
#include <functional>
#include <string>
#include <vector>

#include "traces/routing_trace.h"

namespace moesim::traces {

struct FlameMoeInput {
  std::vector<std::string> files;  // in MoE-layer order
  std::vector<int> layers;         // the decoder layer index of each file
  int sequences = 0;
  int tokens = 0;
};

// Finds the layer files under `dir` and the sequence layout from their names.
FlameMoeInput find_flame_moe_files(const std::string& dir);

// Streams the requests to `sink`; returns the header (experts and top-k from the
// data: columns and non-zeros per row). `model` names the model in the header.
RoutingTraceHeader read_flame_moe_routing(const FlameMoeInput& input, const std::string& model,
                                          const std::function<void(const RoutingTraceHeader&, const RequestRouting&)>& sink);

}  // namespace moesim::traces
