#pragma once
// One inference request as the serving engine tracks it.
#include <cstdint>
#include <vector>

#include "sim/time.h"

namespace moesim::models {

struct Request {
  std::uint64_t id = 0;
  sim::Time arrival = 0;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  // The trace's prefix-block hashes of the prompt (Mooncake's hash_ids; empty when
  // the trace has none): equal leading hashes mean a shared prompt prefix.
  std::vector<std::uint64_t> prefix_hashes;
  int gpu = -1;                     // where its attention and KV cache live (data-parallel attention)
  std::int64_t prefilled = 0;       // tokens of the current prefill whose KV exists (prefix hits included)
  std::int64_t generated = 0;       // output tokens produced so far
  // Output tokens already produced when the current prefill began: 0, or, after a
  // preemption by recompute, the tokens it re-prefills with the prompt (vLLM).
  std::int64_t resumed_at = 0;
  sim::Time first_token = -1;
  sim::Time last_token = -1;
  // Paged KV cache (docs/models.md "Paged KV cache"): private blocks held, leading
  // prefix entries pinned, whether its KV waits in host memory (preempted by swap).
  std::int64_t kv_blocks = 0;
  std::int64_t pinned_prefix = 0;
  bool swapped = false;
  bool in_batch = false;  // scheduled in the batch being formed

  std::int64_t prefill_target() const { return input_tokens + resumed_at; }
  // Tokens the next pass attends to: the prompt (and re-prefilled output) so far,
  // then each output token; in decode the newest token's KV is written by that pass.
  std::int64_t context() const { return prefilled + generated - resumed_at; }
  std::int64_t kv_tokens() const { return prefill_done() ? context() - 1 : context(); }
  // KV tokens held after running `n` more tokens of it.
  std::int64_t kv_tokens_after(std::int64_t n) const { return prefill_done() ? context() : context() + n; }
  bool prefill_done() const { return prefilled >= prefill_target(); }
  bool finished() const { return generated >= output_tokens; }
};

}  // namespace moesim::models
