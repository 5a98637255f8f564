// Static expert parallelism, no replicas, fixed for the run (the "no balancing"
// control, spec §5a): contiguous (Megatron: GPU floor(e·P/E)) or round-robin (e mod P).
#include "policies/builtin.h"

namespace moesim::policies {
namespace {

class StaticPlacement final : public PlacementPolicy {
 public:
  explicit StaticPlacement(bool round_robin) : round_robin_(round_robin) {}
  std::string name() const override { return round_robin_ ? "static-round-robin" : "static-contiguous"; }
  models::ExpertPlacement place(const PlacementContext& c) override {
    return round_robin_ ? models::ExpertPlacement::round_robin(*c.model, c.gpus)
                        : models::ExpertPlacement::contiguous(*c.model, c.gpus);
  }
  bool adaptive() const override { return false; }

 private:
  bool round_robin_;
};

}  // namespace

std::unique_ptr<PlacementPolicy> make_static_contiguous(PolicyParams& p) {
  p.reject_unknown();
  return std::make_unique<StaticPlacement>(false);
}

std::unique_ptr<PlacementPolicy> make_static_round_robin(PolicyParams& p) {
  p.reject_unknown();
  return std::make_unique<StaticPlacement>(true);
}

}  // namespace moesim::policies
