#include "sim/coflow.h"

#include <algorithm>
#include <atomic>
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
  assigned_serial_ = 0;
  ++parts_;
  if (route.latency > max_path_latency_) max_path_latency_ = route.latency;
  if (bytes == 0.0) return;
  if (!slots_valid_ || slot_.size() < net_.link_count()) {
    slot_.assign(net_.link_count(), 0);
    for (std::size_t i = 0; i < link_count_; ++i) slot_[links_[i]] = static_cast<std::uint32_t>(i + 1);
    slots_valid_ = true;
  }
  for (LinkId l : route.links) {
    std::uint32_t& slot = slot_[l];
    if (slot == 0) {
      if (link_count_ == links_.size()) grow_links(link_count_ + 1);
      links_[link_count_] = l;
      demand_[link_count_] = 0.0;
      crossings_[link_count_] = 0;
      slot = static_cast<std::uint32_t>(++link_count_);
    }
    demand_[slot - 1] += bytes;
    ++crossings_[slot - 1];
  }
}

namespace {
std::atomic<std::uint64_t> next_pattern_serial{1};
}  // namespace

Coflow::Pattern::Pattern(std::vector<Route> routes) : serial_(next_pattern_serial++), routes_(std::move(routes)) {
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
  for (const Route& r : routes_) latencies_.push_back(r.latency);
  if (!latencies_.empty() && std::all_of(latencies_.begin(), latencies_.end(), [&](Time t) { return t == latencies_[0]; })) {
    uniform_latency_ = latencies_[0];
  }
  offsets_.push_back(0);
  for (const auto& parts : crossing) {
    members_.insert(members_.end(), parts.begin(), parts.end());
    offsets_.push_back(static_cast<std::uint32_t>(members_.size()));
  }
}

void Coflow::count_parts(const Pattern& pattern, std::span<const double> bytes) {
  // Locals and the latencies side by side: through the members, every step stored
  // them back (the compiler cannot rule out that `bytes` aliases them).
  std::size_t parts = 0;
  Time max_latency = 0;
  if (pattern.uniform_latency_ >= 0) {
    // Every route as long (one switch): only the count, which vectorises.
    for (std::size_t p = 0; p < bytes.size(); ++p) parts += static_cast<std::size_t>(bytes[p] > 0.0);
    max_latency = parts > 0 ? pattern.uniform_latency_ : 0;
  } else {
    const Time* const latency = pattern.latencies_.data();
    for (std::size_t p = 0; p < bytes.size(); ++p) {
      const Time used = bytes[p] > 0.0;  // sizes are >= 0; `>` compiles without a NaN branch
      parts += static_cast<std::size_t>(used);
      max_latency = std::max(max_latency, used * latency[p]);
    }
  }
  parts_ = parts;
  max_path_latency_ = max_latency;
}

void Coflow::assign(const Pattern& pattern, std::span<const double> bytes, Time fixed_overhead) {
  if (bytes.size() != pattern.parts()) throw std::invalid_argument("coflow pattern: one size per part expected");
  reset(fixed_overhead);
  count_parts(pattern, bytes);
  // Per link: the demand summed in part order (as add() sums it) and the parts that
  // carry bytes over it; links no part uses are overwritten by the next (k stays).
  const std::size_t n = pattern.links_.size();
  if (links_.size() < n) grow_links(n);  // kept at their largest size: no re-initialisation per call
  LinkId* const links = links_.data();
  double* const demands = demand_.data();
  std::uint32_t* const crossing_counts = crossings_.data();
  const std::uint32_t* const offsets = pattern.offsets_.data();
  const std::uint32_t* member = pattern.members_.data();
  const std::uint32_t* const members = member;
  std::size_t k = 0;
  for (std::size_t u = 0; u < n; ++u) {
    double demand = 0.0;
    std::uint32_t crossings = 0;
    for (const std::uint32_t* end = members + offsets[u + 1]; member != end; ++member) {
      const double b = bytes[*member];
      demand += b;
      crossings += static_cast<std::uint32_t>(b > 0.0);
    }
    links[k] = pattern.links_[u];
    demands[k] = demand;
    crossing_counts[k] = crossings;
    k += static_cast<std::size_t>(crossings != 0);
  }
  link_count_ = k;
  slots_valid_ = false;  // add() rebuilds them if it is ever called on this coflow
  assigned_serial_ = pattern.serial_;
  assigned_bytes_ = bytes.data();
}

bool Coflow::Pattern::pair_with(const Pattern& other) {
  twin_serial_ = 0;
  if (other.parts() != parts() || other.links_.size() != links_.size()) return false;
  const auto crossing = [](const Pattern& p, std::size_t u) {
    return std::span<const std::uint32_t>(p.members_.data() + p.offsets_[u], p.offsets_[u + 1] - p.offsets_[u]);
  };
  LinkId largest = 0;
  for (const LinkId l : other.links_) largest = std::max(largest, l);
  std::vector<LinkId> twin(static_cast<std::size_t>(largest) + 1, 0);
  std::vector<bool> taken(other.links_.size(), false);
  for (std::size_t u = 0; u < links_.size(); ++u) {
    const auto mine = crossing(*this, u);
    std::size_t v = 0;
    while (v < other.links_.size() && (taken[v] || !std::ranges::equal(mine, crossing(other, v)))) ++v;
    if (v == other.links_.size()) return false;
    taken[v] = true;
    twin[other.links_[v]] = links_[u];
  }
  twin_link_ = std::move(twin);
  twin_latencies_equal_ = latencies_ == other.latencies_;
  twin_serial_ = other.serial_;
  return true;
}

void Coflow::assign_twin(const Pattern& pattern, std::span<const double> bytes, Time fixed_overhead) {
  if (pattern.twin_serial_ == 0 || assigned_serial_ != pattern.twin_serial_ || assigned_bytes_ != bytes.data() ||
      bytes.size() != pattern.parts()) {
    assign(pattern, bytes, fixed_overhead);
    return;
  }
  if (!pattern.twin_latencies_equal_) count_parts(pattern, bytes);  // the same count; this pattern's latencies
  relabel_from_twin(pattern, fixed_overhead);
}

void Coflow::assign_twin(const Pattern& pattern, Time fixed_overhead) {
  if (pattern.twin_serial_ == 0 || assigned_serial_ != pattern.twin_serial_) {
    throw std::logic_error("coflow: assign_twin() without sizes needs the paired pattern assigned last");
  }
  if (!pattern.twin_latencies_equal_) {
    if (pattern.uniform_latency_ < 0) throw std::logic_error("coflow: assign_twin() without sizes needs routes as long as the twin's");
    max_path_latency_ = parts_ > 0 ? pattern.uniform_latency_ : 0;
  }
  relabel_from_twin(pattern, fixed_overhead);
}

void Coflow::relabel_from_twin(const Pattern& pattern, Time fixed_overhead) {
  // Each link's parts are its twin's in the same order: the same sums, the same
  // crossings; only the link ids (and, where routes differ, the latencies) change.
  overhead_ = fixed_overhead;
  const LinkId* const twin = pattern.twin_link_.data();
  for (std::size_t i = 0; i < link_count_; ++i) links_[i] = twin[links_[i]];
  assigned_serial_ = pattern.serial_;
}

void Coflow::assign_sums(const Pattern& pattern, std::span<const double> demand, std::span<const std::uint32_t> crossings,
                         std::size_t parts, Time fixed_overhead) {
  const std::size_t n = pattern.links_.size();
  if (demand.size() != n || crossings.size() != n) throw std::invalid_argument("coflow pattern: one sum per link expected");
  if (pattern.uniform_latency_ < 0) throw std::logic_error("coflow: assign_sums() needs routes all as long");
  reset(fixed_overhead);
  parts_ = parts;
  max_path_latency_ = parts > 0 ? pattern.uniform_latency_ : 0;
  if (links_.size() < n) grow_links(n);
  std::size_t k = 0;
  for (std::size_t u = 0; u < n; ++u) {  // the links carrying bytes, as assign() keeps them
    links_[k] = pattern.links_[u];
    demand_[k] = demand[u];
    crossings_[k] = crossings[u];
    k += static_cast<std::size_t>(crossings[u] != 0);
  }
  link_count_ = k;
  slots_valid_ = false;
  assigned_serial_ = pattern.serial_;
  assigned_bytes_ = nullptr;
}

void Coflow::reset(Time fixed_overhead) {
  if (slots_valid_) {
    for (std::size_t i = 0; i < link_count_; ++i) slot_[links_[i]] = 0;
  }
  link_count_ = 0;
  assigned_serial_ = 0;
  parts_ = 0;
  max_path_latency_ = 0;
  overhead_ = fixed_overhead;
}

void Coflow::grow_links(std::size_t n) {
  links_.resize(n);
  demand_.resize(n);
  crossings_.resize(n);
}

}  // namespace moesim::sim
