#pragma once
// Flow-level network model. A transfer of B bytes over a path of links first waits
// the sum of the links' latencies, then competes for bandwidth: at every instant
// the rates of the active flows are the max-min fair allocation (progressive
// filling, as SimGrid's LMM solves it) under each link's capacity and each flow's
// optional rate cap. Rates change only when a flow starts or ends, so between
// changes every flow drains at a constant rate and its completion time is exact.
//
// Cost model (docs/engine.md, "Flow-level network"): all starts and ends that happen
// at the same nanosecond are solved together in one deferred solve, and a solve
// touches only the connected component (links sharing flows) of what changed.
// Completion times live in one heap with a single simulator wake-up event.
//
// A collective can also start as one coflow (sim/coflow.h): an entity with a
// demand on each of its links that progresses in lockstep on all of them. The
// solver treats every entity alike, as weighted max-min with per-link
// coefficients: entity e has a progress rate x_e (bytes/s on its reference link),
// uses a_el · x_e on link l, and counts as w_e flows when shares are handed out.
// A plain flow has a = 1 and w = 1 on its path, so the arithmetic for plain
// flows is exactly the classic progressive filling.
#include <cstdint>
#include <deque>
#include <limits>
#include <queue>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sim/coflow.h"
#include "sim/inline_callback.h"
#include "sim/simulator.h"
#include "sim/trace_writer.h"

namespace moesim::sim {

using LinkId = std::uint32_t;

struct FlowId {
  std::uint32_t index = 0;
  std::uint32_t generation = 0;
};

class FlowNetwork {
 public:
  static constexpr double kUncapped = std::numeric_limits<double>::infinity();

  explicit FlowNetwork(Simulator& sim);
  FlowNetwork(const FlowNetwork&) = delete;
  FlowNetwork& operator=(const FlowNetwork&) = delete;

  // bytes_per_s > 0 and finite; latency >= 0.
  LinkId add_link(std::string name, double bytes_per_s, Time latency);

  // Starts moving `bytes` over `path` (links may be listed in any order; a link
  // may appear once). on_done() runs when the last byte arrives.
  template <class F>
  FlowId start(std::span<const LinkId> path, double bytes, F&& on_done, double max_rate_bytes_per_s = kUncapped) {
    check_not_booked();
    const std::uint32_t index = prepare_flow(path, bytes, max_rate_bytes_per_s);
    flows_[index].on_done.emplace(std::forward<F>(on_done));
    return launch_flow(index, path_latency(path));
  }

  // Starts a collective as one entity (sim/coflow.h): after its latency() it
  // progresses on every link it uses in proportion to that link's demand, so
  // when alone it lasts max over links of demand / bandwidth. It shares links as
  // `crossings` flows would on its reference link (the one that bounds it alone).
  // on_done() runs when its last byte arrives; rate() and remaining_bytes() are
  // in bytes of that reference link.
  template <class F>
  FlowId start(const Coflow& coflow, F&& on_done) {
    check_not_booked();
    const std::uint32_t index = prepare_coflow(coflow);
    flows_[index].on_done.emplace(std::forward<F>(on_done));
    return launch_flow(index, coflow.latency());
  }

  // Runs `coflow` in closed form, as if started at `start` (>= now) on an idle
  // network: returns the instant its last byte arrives, which is exactly when
  // start() would have finished it, and books its bytes and busy time on its
  // links. No event is scheduled. Why: a serving iteration whose collectives are
  // alone on the network needs no events at all (docs/engine.md, "Closed-form
  // collectives"). Requires idle(); until the returned instant no transfer may
  // start (start() throws std::logic_error: the coflow should have shared).
  Time run_alone(const Coflow& coflow, Time start);
  // run_alone() for the twin of the coflow the previous run_alone() or
  // run_alone_twin() timed: the same Coflow object, relabelled by
  // Coflow::assign_twin() since (the i-th link carries what the i-th link carried),
  // on links of bitwise the same bandwidths as those it replaced — which the caller
  // vouches for (an all-to-all's combine over symmetric cables). The bottleneck
  // candidates carry over; the reference among them is chosen again (of equals, the
  // lowest link id), so the end and the bookings are run_alone()'s to the bit.
  // Throws std::logic_error if the coflow is not the one timed last.
  Time run_alone_twin(const Coflow& coflow, Time start);
  // No flow or coflow in flight (in its latency phase or moving bytes).
  bool idle() const { return live_count_ == 0 && !solve_pending_; }

  // Throws std::invalid_argument / std::out_of_range unless `bytes` is finite and
  // >= 0 and `path` names known links, each at most once.
  void check_transfer(std::span<const LinkId> path, double bytes) const;

  // co_await net.transfer(path, bytes): suspends until the transfer completes.
  struct TransferAwaiter {
    FlowNetwork& net;
    std::span<const LinkId> path;
    double bytes;
    double max_rate;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      net.start(path, bytes, [h] { h.resume(); }, max_rate);
    }
    void await_resume() const noexcept {}
  };
  TransferAwaiter transfer(std::span<const LinkId> path, double bytes, double max_rate = kUncapped) {
    return TransferAwaiter{*this, path, bytes, max_rate};
  }

  bool is_active(FlowId f) const;
  // Current rate in bytes/s (0 while the flow is still in its latency phase).
  double rate(FlowId f) const;
  double remaining_bytes(FlowId f) const;

  std::size_t link_count() const { return links_.size(); }
  const std::string& link_name(LinkId l) const { return links_.at(l).name; }
  double link_bandwidth(LinkId l) const { return links_.at(l).bandwidth; }
  Time link_latency(LinkId l) const { return links_.at(l).latency; }
  double link_bytes(LinkId l) const;        // bytes carried so far
  Time link_busy_time(LinkId l) const;      // time with at least one active flow
  double link_utilisation(LinkId l) const;  // bytes / (bandwidth · elapsed)
  std::size_t link_active_flows(LinkId l) const { return links_.at(l).flows.size(); }
  Time path_latency(std::span<const LinkId> path) const;

  std::uint64_t solves() const { return solves_; }
  std::size_t active_flows() const { return active_count_; }

  // Emits one counter track per link (throughput in GB/s) after each change.
  void trace_to(TraceWriter* writer) { trace_ = writer; }

 private:
  struct Link {
    std::string name;
    double bandwidth;
    Time latency;
    std::vector<std::uint32_t> flows;  // active flows crossing this link
    double total_rate = 0.0;
    double bytes = 0.0;
    Time busy = 0;
    Time last_update = 0;
    bool dirty = false;
    // scratch for the solver
    double cap_left = 0.0;
    std::uint32_t unfrozen = 0;
    double unfrozen_weight = 0.0;  // sum of w_e · a_el over the unfrozen entities
    std::uint32_t visit = 0;
  };
  enum class FlowState : std::uint8_t { kFree, kLatency, kActive };
  struct Flow {
    std::vector<LinkId> path;
    std::vector<double> coef;  // a_el per path link; empty = all 1 (a plain flow)
    double weight = 1.0;       // w_e: how many flows it counts as
    double remaining = 0.0;
    double rate = 0.0;
    double max_rate = kUncapped;
    Time last_update = 0;
    std::uint64_t sequence = 0;
    std::uint32_t generation = 1;
    std::uint32_t version = 0;  // bumps invalidate stale completion-heap entries
    std::uint32_t visit = 0;
    std::uint32_t next_free = 0;
    FlowState state = FlowState::kFree;
    bool frozen = false;
    bool charged = false;
    InlineCallback on_done;
    double coef_at(std::size_t i) const { return coef.empty() ? 1.0 : coef[i]; }
  };
  struct Completion {
    Time at;
    std::uint64_t sequence;
    std::uint32_t flow;
    std::uint32_t version;
    bool operator>(const Completion& o) const { return at != o.at ? at > o.at : sequence > o.sequence; }
  };

  std::uint32_t allocate_flow();
  std::uint32_t prepare_flow(std::span<const LinkId> path, double bytes, double max_rate);
  std::uint32_t prepare_coflow(const Coflow& coflow);
  void find_bottleneck_candidates(const Coflow& coflow);
  std::size_t reference_link(const Coflow& coflow);
  // Of the candidates, the link that bounds the coflow alone (ties: the lowest id).
  std::size_t pick_reference(const Coflow& coflow) const;
  // run_alone()'s common part, once the candidates are known.
  Time book_alone(const Coflow& coflow, Time start);
  FlowId launch_flow(std::uint32_t index, Time latency);
  void activate(std::uint32_t index);
  void finish(std::uint32_t index);
  void release_flow(std::uint32_t index);
  void check_not_booked() const;
  void mark_dirty(LinkId l);
  void request_solve();
  void solve();
  void assign_rates(const std::vector<std::uint32_t>& flows, const std::vector<LinkId>& links);
  void advance_link(Link& l, Time now);
  void on_wakeup();
  void arm_wakeup();
  const Flow* live_flow(FlowId f) const;

  Simulator& sim_;
  std::vector<Link> links_;
  std::deque<Flow> flows_;  // deque: stable addresses for the inline callbacks
  std::uint32_t free_head_ = 0xffffffffu;
  std::size_t active_count_ = 0;
  std::size_t live_count_ = 0;  // allocated flows: in their latency phase or active
  Time booked_until_ = 0;       // the end of the last run_alone()
  std::vector<double> inverse_bandwidth_;  // 1 / C_l per link, to screen bottleneck candidates
  // reference_link(): coflow link indices near the bottleneck, the first candidate_count_.
  std::vector<std::uint32_t> candidates_;
  std::size_t candidate_count_ = 0;
  // The coflow run_alone() found the candidates for, and how many links it had
  // (checked by run_alone_twin()); null once anything else computed candidates.
  const Coflow* alone_coflow_ = nullptr;
  std::size_t alone_links_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::vector<LinkId> dirty_links_;
  bool solve_pending_ = false;
  std::priority_queue<Completion, std::vector<Completion>, std::greater<>> completions_;
  EventHandle wakeup_;
  Time wakeup_at_ = -1;
  std::uint32_t visit_mark_ = 0;
  std::uint64_t solves_ = 0;
  TraceWriter* trace_ = nullptr;
  // scratch, reused across solves
  std::vector<std::uint32_t> comp_flows_;
  std::vector<LinkId> comp_links_;
  std::vector<std::uint32_t> finishing_;
};

}  // namespace moesim::sim
