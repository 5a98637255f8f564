#include "sim/coflow.h"

#include <algorithm>
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

Coflow::Pattern::Pattern(std::vector<Route> routes) : routes_(std::move(routes)) {
  for (std::size_t p = 0; p < routes_.size(); ++p) {
    for (const LinkId l : routes_[p].links) {
      const auto at = static_cast<std::size_t>(std::find(links_.begin(), links_.end(), l) - links_.begin());
      if (at == links_.size()) {
        links_.push_back(l);
        crossings_.emplace_back();
      }
      crossings_[at].push_back(static_cast<std::uint32_t>(p));
    }
  }
}

void Coflow::assign(const Pattern& pattern, std::span<const double> bytes, Time fixed_overhead) {
  if (bytes.size() != pattern.parts()) throw std::invalid_argument("coflow pattern: one size per part expected");
  reset(fixed_overhead);
  for (std::size_t p = 0; p < bytes.size(); ++p) {
    const Time used = bytes[p] > 0.0;  // sizes are >= 0; `>` compiles without a NaN branch
    parts_ += static_cast<std::size_t>(used);
    max_path_latency_ = std::max(max_path_latency_, used * pattern.routes_[p].latency);
  }
  if (slot_.size() < net_.link_count()) slot_.resize(net_.link_count(), 0);
  // Per link: the demand summed in part order (as add() sums it) and the parts that
  // carry bytes over it.
  for (std::size_t u = 0; u < pattern.links_.size(); ++u) {
    double demand = 0.0;
    std::uint32_t crossings = 0;
    for (const std::uint32_t part : pattern.crossings_[u]) {
      const double b = bytes[part];
      demand += b;
      crossings += static_cast<std::uint32_t>(b > 0.0);
    }
    if (crossings == 0) continue;
    links_.push_back(pattern.links_[u]);
    demand_.push_back(demand);
    crossings_.push_back(crossings);
    slot_[pattern.links_[u]] = static_cast<std::uint32_t>(links_.size());
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
