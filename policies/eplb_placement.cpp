// EPLB as a placement policy: the port in eplb.h fed with predicted loads.
#include <fmt/format.h>

#include "policies/builtin.h"
#include "policies/eplb.h"
#include "util/errors.h"

namespace moesim::policies {
namespace {

class EplbPlacement final : public PlacementPolicy {
 public:
  EplbPlacement(int redundant_per_gpu, int slots, int groups)
      : redundant_per_gpu_(redundant_per_gpu), slots_(slots), groups_(groups) {}
  std::string name() const override { return "eplb"; }
  models::ExpertPlacement place(const PlacementContext& c) override {
    const int experts = c.model->experts;
    const int base = (experts + c.gpus - 1) / c.gpus;  // slots per GPU without redundancy
    const int replicas = slots_ > 0 ? slots_ : (base + redundant_per_gpu_) * c.gpus;
    const int groups = groups_ > 0 ? groups_ : 1;
    try {
      const eplb::Result r = eplb::rebalance_experts(c.loads, replicas, groups, c.nodes, c.gpus);
      return models::ExpertPlacement::from_slots("eplb", r.phy2log, experts, c.gpus);
    } catch (const std::invalid_argument& e) {
      throw InputError(fmt::format("policy 'eplb' with {} experts on {} GPUs ({} node(s)), {} slots per layer, groups {}: {}",
                                   experts, c.gpus, c.nodes, replicas, groups, e.what()));
    }
  }

 private:
  int redundant_per_gpu_;
  int slots_;  // 0: from redundant_per_gpu
  int groups_;
};

}  // namespace

std::unique_ptr<PlacementPolicy> make_eplb(PolicyParams& p) {
  const auto redundant = static_cast<int>(p.integer("redundant_per_gpu", 1, 0, 1 << 30, "extra expert slots per GPU for replicas"));
  const auto slots = static_cast<int>(p.integer("replicas", 0, 0, 1 << 30,
                                                  "physical expert slots per layer, as EPLB's num_replicas (0: from redundant_per_gpu)"));
  const auto groups = static_cast<int>(p.integer("groups", 1, 1, 1 << 30, "expert groups for the hierarchical node packing"));
  p.reject_unknown();
  return std::make_unique<EplbPlacement>(redundant, slots, groups);
}

}  // namespace moesim::policies
