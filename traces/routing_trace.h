#pragma once
// Per-token expert routing of requests, the unit every routing reader produces and
// the compact format stores: per request a sequence of steps (step 0 = prefill,
// then one step per decode token), per step and MoE layer the expert ids chosen by
// each token (top_k per token, token-major), optionally with gate weights.
#include <cstdint>
#include <string>
#include <vector>

namespace moesim::traces {

struct RoutingStep {
  std::uint32_t tokens = 0;
  // experts[layer][token * top_k + j]: the j-th expert of token `token` at MoE layer `layer`.
  std::vector<std::vector<std::uint16_t>> experts;
  std::vector<std::vector<float>> gate_weights;  // same shape, or empty
  bool operator==(const RoutingStep&) const = default;
};

struct RequestRouting {
  std::uint64_t id = 0;
  std::vector<RoutingStep> steps;
  bool operator==(const RequestRouting&) const = default;
};

struct RoutingTraceHeader {
  std::string model;        // catalog name, e.g. "llama-4-maverick-17b-128e"
  std::uint32_t moe_layers = 0;
  std::uint32_t experts = 0;
  std::uint32_t top_k = 0;
  bool has_gate_weights = false;
  std::string attribution;  // origin and license note carried with the data
  bool operator==(const RoutingTraceHeader&) const = default;
};

}  // namespace moesim::traces
