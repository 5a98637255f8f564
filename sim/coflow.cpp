#include "sim/coflow.h"

#include <cmath>
#include <stdexcept>

#include "sim/flow_network.h"

namespace moesim::sim {

Coflow::Coflow(const FlowNetwork& net, Time fixed_overhead) : net_(net), overhead_(fixed_overhead) {}

Coflow::Route Coflow::route(std::span<const LinkId> path) const {
  net_.check_transfer(path, 0.0);
  return Route{std::vector<LinkId>(path.begin(), path.end()), net_.path_latency(path)};
}

void Coflow::add(const Route& route, double bytes) {
  if (!(bytes >= 0.0) || !std::isfinite(bytes)) throw std::invalid_argument("coflow part size must be finite and >= 0 bytes");
  ++parts_;
  if (route.latency > max_path_latency_) max_path_latency_ = route.latency;
  if (bytes == 0.0) return;
  if (slot_.size() < net_.link_count()) slot_.resize(net_.link_count(), 0);
  for (LinkId l : route.links) {
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
