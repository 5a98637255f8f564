#pragma once
// A one-layer, Mixtral-shaped MoE model (8 experts, top-1) for hand-computed timelines
// and schedules: small enough that every number in a test can be worked out by hand.
#include "models/moe_model.h"
#include "util/json_input.h"

namespace moesim_test {

inline moesim::models::MoeModel one_layer_model() {
  return moesim::models::parse_moe_model(moesim::JsonInput::parse(R"({
    "name": "one-layer", "layers": 1, "d_model": 4096, "vocab": 32000, "dtype_bytes": 2,
    "attention": {"heads": 32, "kv_heads": 8, "head_dim": 128},
    "moe": {"experts": 8, "top_k": 1, "expert_ffn": 14336}})",
                                                                     "one-layer.json"));
}

}  // namespace moesim_test
