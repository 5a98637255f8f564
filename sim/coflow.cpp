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
  if (!slots_valid_ || slot_.size() < net_.link_count()) {
    slot_.assign(net_.link_count(), 0);
    for (std::size_t i = 0; i < links_.size(); ++i) slot_[links_[i]] = static_cast<std::uint32_t>(i + 1);
    slots_valid_ = true;
  }
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
  std::vector<std::vector<std::uint32_t>> crossing;
  for (std::size_t p = 0; p < routes_.size(); ++p) {
    for (const LinkId l : routes_[p].links) {
      const auto at = static_cast<std::size_t>(std::find(links_.begin(), links_.end(), l) - links_.begin());
      if (at == links_.size()) {
        links_.push_back(l);
        crossing.emplace_back();
      }
      crossing[at].push_back(static_cast<std::uint32_t>(p));
    }
  }
  offsets_.push_back(0);
  for (const auto& parts : crossing) {
    members_.insert(members_.end(), parts.begin(), parts.end());
    offsets_.push_back(static_cast<std::uint32_t>(members_.size()));
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
  // Per link: the demand summed in part order (as add() sums it) and the parts that
  // carry bytes over it; links no part uses are overwritten by the next (k stays).
  const std::size_t n = pattern.links_.size();
  links_.resize(n);
  demand_.resize(n);
  crossings_.resize(n);
  std::size_t k = 0;
  const std::uint32_t* member = pattern.members_.data();
  for (std::size_t u = 0; u < n; ++u) {
    double demand = 0.0;
    std::uint32_t crossings = 0;
    for (const std::uint32_t* end = pattern.members_.data() + pattern.offsets_[u + 1]; member != end; ++member) {
      const double b = bytes[*member];
      demand += b;
      crossings += static_cast<std::uint32_t>(b > 0.0);
    }
    links_[k] = pattern.links_[u];
    demand_[k] = demand;
    crossings_[k] = crossings;
    k += static_cast<std::size_t>(crossings != 0);
  }
  links_.resize(k);
  demand_.resize(k);
  crossings_.resize(k);
  slots_valid_ = false;  // add() rebuilds them if it is ever called on this coflow
}

void Coflow::reset(Time fixed_overhead) {
  if (slots_valid_) {
    for (LinkId l : links_) slot_[l] = 0;
  }
  links_.clear();
  demand_.clear();
  crossings_.clear();
  parts_ = 0;
  max_path_latency_ = 0;
  overhead_ = fixed_overhead;
}

}  // namespace moesim::sim
