#pragma once
// Which replica serves a token when an expert has several copies. The engine asks
// the rule once per (source GPU, expert) of each MoE layer; rules live in
// policies/ (even split as MoEless assumes, least-loaded, speed-weighted).
#include <cstdint>
#include <string>
#include <vector>

namespace moesim::models {

class ReplicaDispatch {
 public:
  virtual ~ReplicaDispatch() = default;
  virtual std::string name() const = 0;
  // Splits `tokens` from GPU `src` among the replicas on `replica_gpus` (size >= 2),
  // adding each share to out[replica index]. `gpu_tokens` holds the tokens already
  // sent to each GPU's experts in this layer, for load-aware rules.
  virtual void split(std::int64_t tokens, int src, const std::vector<int>& replica_gpus,
                     const std::vector<std::int64_t>& gpu_tokens, std::vector<std::int64_t>& out) = 0;
};

}  // namespace moesim::models
