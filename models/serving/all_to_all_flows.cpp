// The all-to-all as one max-min flow per GPU pair (all_to_all.h).
#include "models/serving/all_to_all.h"

namespace moesim::models {
namespace {

class FlowsAllToAll final : public AllToAll {
 public:
  FlowsAllToAll(Topology& topology, const MoeModel& model, const ServingConfig& config)
      : topology_(topology), gpus_(topology.gpu_count()), row_bytes_(all_to_all_row_bytes(model)),
        overhead_(collective_overhead(topology, config)) {}

  bool prepare(Direction direction, const std::vector<std::int64_t>& pair_tokens) override {
    combine_ = direction == Direction::kCombine;
    pairs_ = &pair_tokens;
    bool any_remote = false;
    each_part([&](int, int, double) { any_remote = true; });
    return any_remote;
  }
  bool closed_form() const override { return false; }
  sim::Time run_alone(Direction, sim::Time) override { throw std::logic_error("the flows all-to-all has no closed form"); }
  std::optional<sim::Time> lead_time() const override { return overhead_; }
  void start(Exchange& exchange) override {
    each_part([&](int from, int to, double bytes) {
      exchange.start(topology_.network(), topology_.gpu_to_gpu(from, to), bytes);
    });
  }

 private:
  // Every (source, destination) pair of GPUs that exchanges rows, in (src, dst) order.
  template <class Take>
  void each_part(Take&& take) const {
    for (int src = 0; src < gpus_; ++src) {
      for (int dst = 0; dst < gpus_; ++dst) {
        const auto n = static_cast<double>((*pairs_)[static_cast<std::size_t>(src * gpus_ + dst)]);
        if (n == 0.0 || src == dst) continue;
        if (combine_) {
          take(dst, src, n * row_bytes_);
        } else {
          take(src, dst, n * row_bytes_);
        }
      }
    }
  }

  Topology& topology_;
  int gpus_;
  double row_bytes_;
  sim::Time overhead_;
  bool combine_ = false;
  const std::vector<std::int64_t>* pairs_ = nullptr;
};

}  // namespace

std::unique_ptr<AllToAll> make_flows_all_to_all(Topology& topology, const MoeModel& model, const ServingConfig& config) {
  return std::make_unique<FlowsAllToAll>(topology, model, config);
}

std::unique_ptr<AllToAll> make_all_to_all(Topology& topology, const MoeModel& model, const ServingConfig& config) {
  return config.collectives == ServingConfig::Collectives::kCoflow ? make_coflow_all_to_all(topology, model, config)
                                                                   : make_flows_all_to_all(topology, model, config);
}

}  // namespace moesim::models
