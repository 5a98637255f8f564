#pragma once
// Disaggregated prefill and decode (docs/models.md, "Disaggregated prefill and
// decode"): a prefill instance hands each request whose prompt it finished to a
// decode instance, which the router picks; the request's KV cache moves from the
// prefill rank's GPUs to the decode rank's as flows over the cluster's network, and
// the decode instance admits the request once it has arrived.
#include <cstdint>
#include <vector>

#include "models/moe_model.h"
#include "models/serving/request.h"
#include "models/serving/request_router.h"
#include "models/serving/serving_engine.h"
#include "models/serving/serving_metrics.h"
#include "models/topology.h"
#include "sim/process.h"
#include "sim/simulator.h"

namespace moesim::models {

class KvHandoff {
 public:
  struct DecodeInstance {
    ServingEngine* engine = nullptr;
    int first_gpu = 0;  // in the cluster's numbering
  };
  // `cluster`: the whole cluster's topology, whose network the transfers share.
  KvHandoff(sim::Simulator& sim, const MoeModel& model, Topology& cluster, std::vector<DecodeInstance> decode,
            RequestRouter& router, ServingMetrics& metrics);
  // A prefill rank whose first GPU is `src` (cluster numbering) finished `r`'s prompt now.
  void hand_over(Request r, int src);
  // Each of `count` prefill engines calls prefill_finished() when it has served its
  // last request; after the last of them and the last transfer, the decode engines close.
  void expect_prefill_engines(int count) { prefill_running_ = count; }
  void prefill_finished();

 private:
  sim::Process transfer(Request r, int src, std::size_t instance, int rank);
  void maybe_close_decode();

  sim::Simulator& sim_;
  const MoeModel& model_;
  Topology& cluster_;
  std::vector<DecodeInstance> decode_;
  RequestRouter& router_;
  ServingMetrics& metrics_;
  std::vector<InstanceLoad> loads_;
  int in_flight_ = 0;
  int prefill_running_ = 0;
};

}  // namespace moesim::models
