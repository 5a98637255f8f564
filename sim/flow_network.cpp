#include "sim/flow_network.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace moesim::sim {
namespace {

// Relative tolerance for "this link is a bottleneck at this share".
constexpr double kShareTolerance = 1e-12;
// How far below the largest approximate d_l / C_l a link may be a bottleneck candidate.
constexpr double kCandidateTolerance = 1e-12;
constexpr std::uint32_t kNoFlow = 0xffffffffu;
// Solves run after every other event at the same nanosecond so that all changes
// of that instant are solved together.
constexpr int kSolvePriority = EventQueue::kMaxPriority - 1;

// Nanoseconds to drain `remaining` bytes at `rate`. Multiply before dividing (exact
// for round numbers) and forgive sub-femtosecond rounding so that 1 MB at 1 GB/s
// ends at exactly 1 ms, not 1 ms + 1 ns.
Time drain_time(double remaining, double rate) {
  const double exact_ns = remaining * 1e9 / rate;
  return static_cast<Time>(std::max(0.0, std::ceil(exact_ns - 1e-6)));
}

}  // namespace

FlowNetwork::FlowNetwork(Simulator& sim) : sim_(sim) {}

LinkId FlowNetwork::add_link(std::string name, double bytes_per_s, Time latency) {
  if (!(bytes_per_s > 0.0) || !std::isfinite(bytes_per_s)) {
    throw std::invalid_argument("link '" + name + "': bandwidth must be a positive finite number of bytes/s");
  }
  if (latency < 0) throw std::invalid_argument("link '" + name + "': latency must be >= 0 ns");
  Link l;
  l.name = std::move(name);
  l.bandwidth = bytes_per_s;
  l.latency = latency;
  l.last_update = sim_.now();
  links_.push_back(std::move(l));
  inverse_bandwidth_.push_back(1.0 / bytes_per_s);
  return static_cast<LinkId>(links_.size() - 1);
}

Time FlowNetwork::path_latency(std::span<const LinkId> path) const {
  Time t = 0;
  for (LinkId l : path) t += links_.at(l).latency;
  return t;
}

void FlowNetwork::check_transfer(std::span<const LinkId> path, double bytes) const {
  if (!(bytes >= 0.0) || !std::isfinite(bytes)) throw std::invalid_argument("flow size must be finite and >= 0 bytes");
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] >= links_.size()) throw std::out_of_range("flow path names an unknown link");
    for (std::size_t j = 0; j < i; ++j) {
      if (path[j] == path[i]) throw std::invalid_argument("flow path crosses link '" + links_[path[i]].name + "' twice");
    }
  }
}

std::uint32_t FlowNetwork::allocate_flow() {
  std::uint32_t index = free_head_;
  if (index == kNoFlow) {
    index = static_cast<std::uint32_t>(flows_.size());
    flows_.emplace_back();
  } else {
    free_head_ = flows_[index].next_free;
  }
  ++live_count_;
  Flow& f = flows_[index];
  f.rate = 0.0;
  f.sequence = next_sequence_++;
  f.state = FlowState::kLatency;
  return index;
}

void FlowNetwork::check_not_booked() const {
  if (sim_.now() < booked_until_) {
    throw std::logic_error("a transfer started while a coflow run in closed form still held the network");
  }
}

std::uint32_t FlowNetwork::prepare_flow(std::span<const LinkId> path, double bytes, double max_rate) {
  check_transfer(path, bytes);
  if (!(max_rate > 0.0)) throw std::invalid_argument("flow rate cap must be > 0 bytes/s");
  const std::uint32_t index = allocate_flow();
  Flow& f = flows_[index];
  f.path.assign(path.begin(), path.end());
  f.coef.clear();
  f.weight = 1.0;
  f.remaining = bytes;
  f.max_rate = max_rate;
  return index;
}

void FlowNetwork::find_bottleneck_candidates(const Coflow& coflow) {
  // d_l · (1 / C_l) is within 4 ulps of the division d_l / C_l, so a link more than
  // kCandidateTolerance below the largest product can neither be the reference link
  // nor give the smallest share C_l / (w · a_l) (which is C_ref · d_ref / (w · d_l)
  // up to 4 ulps): only the candidates need the exact divisions.
  const std::span<const LinkId> links = coflow.links();
  if (candidates_.size() < links.size()) candidates_.resize(links.size());  // kept at its largest size
  double top = 0.0;
  for (std::size_t i = 0; i < links.size(); ++i) top = std::max(top, coflow.demand(i) * inverse_bandwidth_[links[i]]);
  const double floor = top * (1.0 - kCandidateTolerance);
  std::size_t k = 0;
  for (std::size_t i = 0; i < links.size(); ++i) {
    candidates_[k] = static_cast<std::uint32_t>(i);  // kept only if near the top, without a branch
    k += static_cast<std::size_t>(coflow.demand(i) * inverse_bandwidth_[links[i]] >= floor);
  }
  candidate_count_ = k;
}

std::size_t FlowNetwork::reference_link(const Coflow& coflow) {
  alone_coflow_ = nullptr;
  if (coflow.links().empty()) return 0;
  find_bottleneck_candidates(coflow);
  return pick_reference(coflow);
}

std::size_t FlowNetwork::pick_reference(const Coflow& coflow) const {
  // The link that bounds the coflow when it is alone; of equals, the lowest id, so
  // that the order in which the coflow lists its links does not matter.
  const std::span<const LinkId> links = coflow.links();
  std::size_t ref = candidates_.front();
  double best = coflow.demand(ref) / links_[links[ref]].bandwidth;
  for (std::size_t c = 1; c < candidate_count_; ++c) {
    const std::size_t i = candidates_[c];
    const double here = coflow.demand(i) / links_[links[i]].bandwidth;
    if (here > best || (here == best && links[i] < links[ref])) {
      ref = i;
      best = here;
    }
  }
  return ref;
}

std::uint32_t FlowNetwork::prepare_coflow(const Coflow& coflow) {
  const std::span<const LinkId> links = coflow.links();
  const std::size_t ref = reference_link(coflow);
  const std::uint32_t index = allocate_flow();
  Flow& f = flows_[index];
  f.path.assign(links.begin(), links.end());
  f.coef.resize(links.size());
  for (std::size_t i = 0; i < links.size(); ++i) f.coef[i] = coflow.demand(i) / coflow.demand(ref);
  f.weight = links.empty() ? 1.0 : static_cast<double>(coflow.crossings(ref));
  f.remaining = links.empty() ? 0.0 : coflow.demand(ref);
  f.max_rate = kUncapped;
  return index;
}

FlowId FlowNetwork::launch_flow(std::uint32_t index, Time latency) {
  Flow& f = flows_[index];
  const FlowId id{index, f.generation};
  if (f.path.empty() || f.remaining == 0.0) {
    // Nothing to share: the flow is done once its latency has passed.
    sim_.schedule_in(latency, [this, index] { finish(index); });
  } else {
    sim_.schedule_in(latency, [this, index] { activate(index); });
  }
  return id;
}

void FlowNetwork::activate(std::uint32_t index) {
  Flow& f = flows_[index];
  f.state = FlowState::kActive;
  f.last_update = sim_.now();
  ++active_count_;
  for (LinkId l : f.path) {
    advance_link(links_[l], sim_.now());
    links_[l].flows.push_back(index);
    mark_dirty(l);
  }
  request_solve();
}

void FlowNetwork::advance_link(Link& l, Time now) {
  const Time dt = now - l.last_update;
  if (dt > 0) {
    l.bytes += l.total_rate * static_cast<double>(dt) / 1e9;
    if (!l.flows.empty()) l.busy += dt;
  }
  l.last_update = now;
}

void FlowNetwork::mark_dirty(LinkId l) {
  if (!links_[l].dirty) {
    links_[l].dirty = true;
    dirty_links_.push_back(l);
  }
}

void FlowNetwork::request_solve() {
  if (solve_pending_) return;
  solve_pending_ = true;
  sim_.schedule_at(sim_.now(), [this] { solve(); }, kSolvePriority);
}

void FlowNetwork::finish(std::uint32_t index) {
  Flow& f = flows_[index];
  const Time now = sim_.now();
  if (f.state == FlowState::kActive) {
    for (std::size_t i = 0; i < f.path.size(); ++i) {
      const LinkId l = f.path[i];
      Link& link = links_[l];
      advance_link(link, now);
      link.total_rate -= f.coef_at(i) * f.rate;
      auto it = std::find(link.flows.begin(), link.flows.end(), index);
      *it = link.flows.back();
      link.flows.pop_back();
      if (link.flows.empty()) link.total_rate = 0.0;  // drop rounding residue
      mark_dirty(l);
    }
    --active_count_;
    request_solve();
  }
  // The callback may start flows (reusing no slot until we free this one).
  release_flow(index);
}

void FlowNetwork::release_flow(std::uint32_t index) {
  Flow& f = flows_[index];
  f.state = FlowState::kFree;
  f.remaining = 0.0;
  f.rate = 0.0;
  ++f.version;
  if (++f.generation == 0) f.generation = 1;
  --live_count_;
  if (f.on_done) f.on_done();
  flows_[index].on_done.reset();
  flows_[index].next_free = free_head_;
  free_head_ = index;
}

Time FlowNetwork::run_alone(const Coflow& coflow, Time start) {
  if (!idle()) throw std::logic_error("run_alone() needs an idle network");
  if (!coflow.links().empty()) find_bottleneck_candidates(coflow);
  alone_coflow_ = &coflow;
  alone_links_ = coflow.links().size();
  return book_alone(coflow, start);
}

Time FlowNetwork::run_alone_twin(const Coflow& coflow, Time start) {
  if (!idle()) throw std::logic_error("run_alone_twin() needs an idle network");
  if (alone_coflow_ != &coflow || alone_links_ != coflow.links().size()) {
    throw std::logic_error("run_alone_twin() needs the coflow run_alone() timed last, relabelled to its twin");
  }
  return book_alone(coflow, start);
}

Time FlowNetwork::book_alone(const Coflow& coflow, Time start) {
  if (start < sim_.now() || start < booked_until_) throw std::logic_error("run_alone() cannot start in the past");
  const Time active_from = start + coflow.latency();
  const std::span<const LinkId> links = coflow.links();
  booked_until_ = active_from;
  if (links.empty()) return active_from;  // as launch_flow: done once the latency has passed
  // The rate prepare_coflow() + assign_rates() give one entity alone, operation for
  // operation (tests/sim/coflow_test.cpp holds the end instants to the same bits):
  // its share is min over its links of C_l / (w · a_l), its rate share · w.
  const std::size_t ref = pick_reference(coflow);  // among the bottleneck candidates in candidates_
  const double reference_demand = coflow.demand(ref);
  const double weight = static_cast<double>(coflow.crossings(ref));
  double share = std::numeric_limits<double>::infinity();
  for (const std::uint32_t i : std::span(candidates_.data(), candidate_count_)) {
    share = std::min(share, links_[links[i]].bandwidth / (weight * (coflow.demand(i) / reference_demand)));
  }
  const double rate = share * weight;
  if (!(rate > 0.0)) throw std::logic_error("max-min solver gave a coflow no bandwidth");
  const Time end = active_from + drain_time(reference_demand, rate);
  // Book what activate() and finish() would: the bytes the coflow moves over each
  // link (the event path integrates its rate over whole nanoseconds, which can add a
  // few ulps) and busy time over [active_from, end]. The network was idle, so
  // nothing else accrued since each link's last update.
  for (std::size_t i = 0; i < links.size(); ++i) {
    Link& link = links_[links[i]];
    link.bytes += coflow.demand(i);
    link.busy += end - active_from;
    link.last_update = end;
    if (trace_ != nullptr) {
      trace_->counter("links", link.name + " GB/s", active_from, coflow.demand(i) / reference_demand * rate * 1e-9);
      trace_->counter("links", link.name + " GB/s", end, 0.0);
    }
  }
  booked_until_ = end;
  return end;
}

void FlowNetwork::solve() {
  solve_pending_ = false;
  if (dirty_links_.empty()) return;
  ++solves_;
  const Time now = sim_.now();
  // Connected component of the changed links: links -> their flows -> their links.
  ++visit_mark_;
  comp_links_.clear();
  comp_flows_.clear();
  for (LinkId l : dirty_links_) {
    links_[l].dirty = false;
    if (links_[l].visit != visit_mark_) {
      links_[l].visit = visit_mark_;
      comp_links_.push_back(l);
    }
  }
  dirty_links_.clear();
  for (std::size_t i = 0; i < comp_links_.size(); ++i) {
    for (std::uint32_t fi : links_[comp_links_[i]].flows) {
      Flow& f = flows_[fi];
      if (f.visit == visit_mark_) continue;
      f.visit = visit_mark_;
      comp_flows_.push_back(fi);
      for (LinkId l : f.path) {
        if (links_[l].visit != visit_mark_) {
          links_[l].visit = visit_mark_;
          comp_links_.push_back(l);
        }
      }
    }
  }
  // Bring bytes up to now under the old rates before changing them.
  for (LinkId l : comp_links_) advance_link(links_[l], now);
  for (std::uint32_t fi : comp_flows_) {
    Flow& f = flows_[fi];
    f.remaining = std::max(0.0, f.remaining - f.rate * static_cast<double>(now - f.last_update) / 1e9);
    f.last_update = now;
  }
  // Deterministic order regardless of how the component was discovered.
  std::sort(comp_flows_.begin(), comp_flows_.end(),
            [this](std::uint32_t a, std::uint32_t b) { return flows_[a].sequence < flows_[b].sequence; });
  std::sort(comp_links_.begin(), comp_links_.end());
  assign_rates(comp_flows_, comp_links_);

  for (std::uint32_t fi : comp_flows_) {
    Flow& f = flows_[fi];
    ++f.version;
    if (!(f.rate > 0.0)) throw std::logic_error("max-min solver gave a flow no bandwidth");
    const Time at = now + drain_time(f.remaining, f.rate);
    completions_.push(Completion{at, f.sequence, fi, f.version});
  }
  if (trace_ != nullptr) {
    for (LinkId l : comp_links_) trace_->counter("links", links_[l].name + " GB/s", now, links_[l].total_rate * 1e-9);
  }
  arm_wakeup();
}

void FlowNetwork::assign_rates(const std::vector<std::uint32_t>& flows, const std::vector<LinkId>& links) {
  // Progressive filling: raise every unfrozen entity's share together (entity e
  // runs at w_e · share and uses a_el of that on link l) until a link saturates
  // or an entity hits its cap; freeze those entities; repeat.
  for (LinkId l : links) {
    Link& link = links_[l];
    link.cap_left = link.bandwidth;
    link.unfrozen = static_cast<std::uint32_t>(link.flows.size());
    link.unfrozen_weight = 0.0;
    link.total_rate = 0.0;
  }
  for (std::uint32_t fi : flows) {
    Flow& f = flows_[fi];
    f.frozen = false;
    f.charged = false;
    for (std::size_t i = 0; i < f.path.size(); ++i) links_[f.path[i]].unfrozen_weight += f.weight * f.coef_at(i);
  }
  // A link's share per unit weight; a link whose remaining users weigh nothing
  // (rounding residue of tiny coefficients) constrains nobody.
  const auto link_share = [](const Link& link) {
    return link.unfrozen_weight > 0.0 ? std::max(0.0, link.cap_left) / link.unfrozen_weight
                                      : std::numeric_limits<double>::infinity();
  };
  std::size_t unfrozen = flows.size();
  while (unfrozen > 0) {
    double share = std::numeric_limits<double>::infinity();
    for (LinkId l : links) {
      const Link& link = links_[l];
      if (link.unfrozen > 0) share = std::min(share, link_share(link));
    }
    for (std::uint32_t fi : flows) {
      if (!flows_[fi].frozen) share = std::min(share, flows_[fi].max_rate / flows_[fi].weight);
    }
    const double limit = share * (1.0 + kShareTolerance);
    std::size_t frozen_now = 0;
    for (std::uint32_t fi : flows) {
      Flow& f = flows_[fi];
      if (f.frozen) continue;
      bool bottlenecked = f.max_rate / f.weight <= limit;
      for (LinkId l : f.path) {
        if (link_share(links_[l]) <= limit) bottlenecked = true;
      }
      if (!bottlenecked) continue;
      f.frozen = true;
      f.rate = share * f.weight;
      ++frozen_now;
    }
    // Charge the frozen entities to their links only after the sweep, so every
    // entity of this round saw the same bottleneck test.
    for (std::uint32_t fi : flows) {
      Flow& f = flows_[fi];
      if (!f.frozen || f.charged) continue;
      f.charged = true;
      for (std::size_t i = 0; i < f.path.size(); ++i) {
        Link& link = links_[f.path[i]];
        const double a = f.coef_at(i);
        link.cap_left -= a * f.rate;
        link.total_rate += a * f.rate;
        link.unfrozen_weight -= f.weight * a;
        --link.unfrozen;
      }
    }
    if (frozen_now == 0) throw std::logic_error("max-min solver made no progress");
    unfrozen -= frozen_now;
  }
}

void FlowNetwork::arm_wakeup() {
  while (!completions_.empty()) {
    const Completion& top = completions_.top();
    const Flow& f = flows_[top.flow];
    if (f.state == FlowState::kActive && f.version == top.version) break;
    completions_.pop();
  }
  if (completions_.empty()) {
    sim_.cancel(wakeup_);
    wakeup_at_ = -1;
    return;
  }
  const Time at = completions_.top().at;
  if (sim_.is_pending(wakeup_) && wakeup_at_ == at) return;
  sim_.cancel(wakeup_);
  wakeup_at_ = at;
  wakeup_ = sim_.schedule_at(at, [this] { on_wakeup(); });
}

void FlowNetwork::on_wakeup() {
  const Time now = sim_.now();
  wakeup_at_ = -1;
  finishing_.clear();
  while (!completions_.empty() && completions_.top().at <= now) {
    const Completion c = completions_.top();
    completions_.pop();
    const Flow& f = flows_[c.flow];
    if (f.state == FlowState::kActive && f.version == c.version) finishing_.push_back(c.flow);
  }
  // finish() runs callbacks that may start flows, but nothing they can reach
  // touches finishing_.
  for (std::uint32_t fi : finishing_) finish(fi);
  arm_wakeup();
}

const FlowNetwork::Flow* FlowNetwork::live_flow(FlowId id) const {
  if (id.index >= flows_.size()) return nullptr;
  const Flow& f = flows_[id.index];
  if (f.generation != id.generation || f.state == FlowState::kFree) return nullptr;
  return &f;
}

bool FlowNetwork::is_active(FlowId id) const { return live_flow(id) != nullptr; }

double FlowNetwork::rate(FlowId id) const {
  const Flow* f = live_flow(id);
  return f != nullptr && f->state == FlowState::kActive ? f->rate : 0.0;
}

double FlowNetwork::remaining_bytes(FlowId id) const {
  const Flow* f = live_flow(id);
  if (f == nullptr) return 0.0;
  if (f->state != FlowState::kActive) return f->remaining;
  return std::max(0.0, f->remaining - f->rate * static_cast<double>(sim_.now() - f->last_update) / 1e9);
}

double FlowNetwork::link_bytes(LinkId id) const {
  const Link& l = links_.at(id);
  return l.bytes + l.total_rate * static_cast<double>(sim_.now() - l.last_update) / 1e9;
}

Time FlowNetwork::link_busy_time(LinkId id) const {
  const Link& l = links_.at(id);
  return l.busy + (l.flows.empty() ? 0 : sim_.now() - l.last_update);
}

double FlowNetwork::link_utilisation(LinkId id) const {
  const Time elapsed = sim_.now();
  if (elapsed <= 0) return 0.0;
  return link_bytes(id) / (links_.at(id).bandwidth * static_cast<double>(elapsed) * 1e-9);
}

}  // namespace moesim::sim
