#pragma once
// Which model instance serves an arriving request, when the cluster runs several
// (docs/models.md "Instances"). The cluster asks the router once per arrival with
// every instance's outstanding work; rules live in policies/ (round-robin, random,
// join-shortest-queue by requests or by tokens, most free KV cache, power of two
// choices, prefix-aware).
#include <cstdint>
#include <string>
#include <vector>

#include "models/serving/request.h"

namespace moesim::models {

// An instance's work in hand when a request arrives.
struct InstanceLoad {
  std::int64_t requests = 0;  // admitted and not finished (waiting or running)
  std::int64_t tokens = 0;    // prompt and output tokens those requests still have to process
  int gpus = 0;
  double kv_free_share = 1.0;  // share of its KV cache admitted requests do not hold
  std::int64_t cached_prefix_tokens = 0;  // of this request's prompt, on its best GPU (when the router reads it)
};

class RequestRouter {
 public:
  virtual ~RequestRouter() = default;
  virtual std::string name() const = 0;
  // The index into `loads` (size >= 1) of the instance that takes `request`.
  virtual std::size_t route(const Request& request, const std::vector<InstanceLoad>& loads) = 0;
  // Whether route() reads InstanceLoad::cached_prefix_tokens: a prefix lookup on every
  // GPU of every instance per arrival is only paid for a router that uses it.
  virtual bool reads_prefix_cache() const { return false; }
};

}  // namespace moesim::models
