#pragma once
// One inference request as the serving engine tracks it.
#include <cstdint>

#include "sim/time.h"

namespace moesim::models {

struct Request {
  std::uint64_t id = 0;
  sim::Time arrival = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  int gpu = -1;                     // where its attention and KV cache live (data-parallel attention)
  std::int64_t prefilled = 0;       // input tokens processed so far
  std::int64_t generated = 0;       // output tokens produced so far
  sim::Time first_token = -1;
  sim::Time last_token = -1;
  std::int64_t context() const { return prefilled + generated; }
  bool prefill_done() const { return prefilled >= input_tokens; }
  bool finished() const { return generated >= output_tokens; }
};

}  // namespace moesim::models
