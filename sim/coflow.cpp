#include "sim/coflow.h"

#include "sim/flow_network.h"

namespace moesim::sim {

Coflow::Coflow(const FlowNetwork& net, Time fixed_overhead) : net_(net), overhead_(fixed_overhead) {}

void Coflow::add(std::span<const LinkId> path, double bytes) {
  net_.check_transfer(path, bytes);
  ++parts_;
  const Time latency = net_.path_latency(path);
  if (latency > max_path_latency_) max_path_latency_ = latency;
  if (bytes == 0.0) return;
  if (slot_.size() < net_.link_count()) slot_.resize(net_.link_count(), 0);
  for (LinkId l : path) {
    std::uint32_t& slot = slot_[l];
    if (slot == 0) {
      links_.push_back(l);
      demand_.push_back(0.0);
      crossings_.push_back(0);
      slot = static_cast<std::uint32_t>(links_.size());
    }
    demand_[slot - 1] += bytes;
    ++crossings_[slot - 1];
  }
}

void Coflow::reset(Time fixed_overhead) {
  for (LinkId l : links_) slot_[l] = 0;
  links_.clear();
  demand_.clear();
  crossings_.clear();
  parts_ = 0;
  max_path_latency_ = 0;
  overhead_ = fixed_overhead;
}

}  // namespace moesim::sim
