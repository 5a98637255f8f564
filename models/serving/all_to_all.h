#pragma once
// A MoE layer's all-to-all (docs/models.md, "Serving engine"): the dispatch sends
// each token row from its attention GPU to the GPU of the expert copy it was
// assigned, the combine sends the results back. Two models behind one interface:
//   coflow — the collective is one entity whose parts progress together (NCCL
//            interleaves chunks across peers): one start and one end, O(1) events,
//            and timed in closed form when it has the network to itself;
//   flows  — one max-min flow per (source, destination) pair, each ending on its
//            own, after the collective's fixed overhead: O(GPUs²) events.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "models/moe_model.h"
#include "models/serving/serving_config.h"
#include "models/topology.h"
#include "sim/coflow.h"
#include "sim/flow_network.h"
#include "sim/resource.h"

namespace moesim::models {

// Transfers in flight: `done` fires when the last one lands.
struct Exchange {
  explicit Exchange(sim::Simulator& sim) : done(sim) {}
  sim::Signal done;
  int pending = 0;
  void start(sim::FlowNetwork& net, const std::vector<sim::LinkId>& path, double bytes) {
    ++pending;
    net.start(path, bytes, [this] { land(); });
  }
  void start(sim::FlowNetwork& net, const sim::Coflow& collective) {
    ++pending;
    net.start(collective, [this] { land(); });
  }

 private:
  void land() {
    if (--pending == 0) done.fire();
  }
};

enum class Direction { kDispatch, kCombine };

class AllToAll {
 public:
  virtual ~AllToAll() = default;
  // Sizes the layer's dispatch, or its combine (the same volumes back), from the
  // rows GPU src sends GPU dst (pair_tokens[src * gpus + dst]; the combine follows
  // the dispatch of the same layer). False when every row stays on its GPU: then
  // there is no collective at all.
  virtual bool prepare(Direction direction, const std::vector<std::int64_t>& pair_tokens) = 0;
  // Whether run_alone() can time the prepared collective.
  virtual bool closed_form() const = 0;
  // The end of the prepared collective started at `start` on an otherwise idle
  // network, booked on its links as the event path would (closed_form() only).
  virtual sim::Time run_alone(Direction direction, sim::Time start) = 0;
  // A wait before start() (the flows model's fixed overhead, even 0); none for a
  // coflow, whose overhead is part of the collective.
  virtual std::optional<sim::Time> lead_time() const = 0;
  // Starts the prepared collective's transfers on the network.
  virtual void start(Exchange& exchange) = 0;
};

// The collective's fixed cost: the config's, else the topology's fitted start-up.
inline sim::Time collective_overhead(const Topology& topology, const ServingConfig& config) {
  return config.collective_overhead ? *config.collective_overhead : topology.collective_startup();
}

std::unique_ptr<AllToAll> make_coflow_all_to_all(Topology& topology, const MoeModel& model, const ServingConfig& config);
std::unique_ptr<AllToAll> make_flows_all_to_all(Topology& topology, const MoeModel& model, const ServingConfig& config);
// The model the config names.
std::unique_ptr<AllToAll> make_all_to_all(Topology& topology, const MoeModel& model, const ServingConfig& config);

// Bytes of one token's activations (a row of the all-to-all): BF16 rows of d_model.
inline double all_to_all_row_bytes(const MoeModel& model) { return static_cast<double>(model.d_model) * 2.0; }

}  // namespace moesim::models
