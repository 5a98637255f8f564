// EPLB as a placement policy: the port in eplb.h fed with predicted loads.
#include <fmt/format.h>

#include "policies/builtin.h"
#include "policies/eplb.h"
#include "util/errors.h"

namespace moesim::policies {
namespace {

class EplbPlacement final : public PlacementPolicy {
 public:
  EplbPlacement(int redundant_per_gpu, int groups) : redundant_per_gpu_(redundant_per_gpu), groups_(groups) {}
  std::string name() const override { return "eplb"; }
  models::ExpertPlacement place(const PlacementContext& c) override {
    const int experts = c.model->experts;
    const int base = (experts + c.gpus - 1) / c.gpus;  // slots per GPU without redundancy
    const int replicas = (base + redundant_per_gpu_) * c.gpus;
    const int groups = groups_ > 0 ? groups_ : 1;
    try {
      const eplb::Result r = eplb::rebalance_experts(c.loads, replicas, groups, c.nodes, c.gpus);
      return models::ExpertPlacement::from_slots("eplb", r.phy2log, experts, c.gpus);
    } catch (const std::invalid_argument& e) {
      throw InputError(fmt::format("policy 'eplb' with {} experts on {} GPUs ({} node(s)), redundant_per_gpu {}, groups {}: {}",
                                   experts, c.gpus, c.nodes, redundant_per_gpu_, groups, e.what()));
    }
  }

 private:
  int redundant_per_gpu_;
  int groups_;
};

}  // namespace

std::unique_ptr<PlacementPolicy> make_eplb(PolicyParams& p) {
  const auto redundant = static_cast<int>(p.integer("redundant_per_gpu", 1, 0));
  const auto groups = static_cast<int>(p.integer("groups", 1, 1));
  p.reject_unknown();
  return std::make_unique<EplbPlacement>(redundant, groups);
}

}  // namespace moesim::policies
