#pragma once
// The parts of a collective (an all-to-all, say), gathered before it starts as one
// activity on a FlowNetwork (docs/engine.md, "Coflows").
//
// Why: a collective of F point-to-point flows, each ending at its own instant,
// costs F completion events and F re-solves of the shared component; at 8 GPUs
// and 64 collectives per iteration that is most of a serving run's time. NCCL
// interleaves its chunks across peers, so the parts of one collective progress
// together; a coflow models exactly that: one entity whose demand on link l is
// the bytes its parts carry over l, progressing in lockstep on all its links, so
// it costs one start and one completion whatever F is.
#include <cstdint>
#include <span>
#include <vector>

#include "sim/time.h"

namespace moesim::sim {

class FlowNetwork;
using LinkId = std::uint32_t;

class Coflow {
 public:
  // `fixed_overhead`: a cost the collective pays before any byte moves (launch,
  // synchronisation), added to the slowest part's path latency.
  explicit Coflow(const FlowNetwork& net, Time fixed_overhead = 0);

  // A path checked once (known links, none twice) with its latency, so that parts
  // can be added over it every iteration without re-checking it.
  struct Route {
    std::vector<LinkId> links;
    Time latency = 0;
  };
  Route route(std::span<const LinkId> path) const;

  // Adds a part moving `bytes` (finite, >= 0) over `path` (a link at most once per path).
  void add(std::span<const LinkId> path, double bytes) { add(route(path), bytes); }
  void add(const Route& route, double bytes);
  // A fixed list of routes whose parts come back with new sizes every time (the
  // pairs of an all-to-all), indexed by link for assign().
  class Pattern {
   public:
    Pattern() = default;
    explicit Pattern(std::vector<Route> routes);
    std::size_t parts() const { return routes_.size(); }
    // Every link some route crosses, in the order assign_sums() takes its sums.
    std::span<const LinkId> links() const { return links_; }
    // The latency every route has, or -1 when they differ.
    Time uniform_latency() const { return uniform_latency_; }
    // Pairs this pattern with `other` (of as many parts) when each of its links is
    // crossed by the same parts, in the same order, as one link of `other`, and no
    // two of its links by the same ones: an all-to-all's combine against its
    // dispatch, where GPU g's uplink carries back the parts its downlink brought.
    // Returns whether it did; then Coflow::assign_twin() may reuse `other`'s sums.
    bool pair_with(const Pattern& other);
    // After pair_with(other): the link of this pattern that takes over other's link `l`.
    LinkId twin_link(LinkId l) const { return twin_link_.at(l); }

   private:
    friend class Coflow;
    std::uint64_t serial_ = 0;  // identifies this pattern's layout (unique per construction)
    std::uint64_t twin_serial_ = 0;      // the paired pattern's serial_; 0 = unpaired
    std::vector<LinkId> twin_link_;      // the paired pattern's link id -> the link of this one
    bool twin_latencies_equal_ = false;  // every part's route latency equals its twin's
    std::vector<Route> routes_;
    std::vector<Time> latencies_;  // routes_[p].latency, contiguous
    Time uniform_latency_ = -1;    // the latency every route has, or -1 when they differ
    std::vector<LinkId> links_;    // every link some route crosses
    // The parts crossing links_[u], in order: members_[offsets_[u] .. offsets_[u + 1]).
    std::vector<std::uint32_t> offsets_;
    std::vector<std::uint32_t> members_;
  };
  // The same coflow as reset() followed by add(route_p, bytes[p]) for every part p
  // whose bytes are not 0 (the same links with bitwise the same demands; links()
  // may list them in another order, which the network ignores), computed per link
  // without a data-dependent branch per part: with a third of an all-to-all's pairs
  // empty at random, skipping them mispredicted often.
  // `bytes` has one finite, non-negative entry per part of the pattern.
  void assign(const Pattern& pattern, std::span<const double> bytes, Time fixed_overhead = 0);
  // The same as assign(pattern, bytes, fixed_overhead) when this coflow was last
  // assigned `bytes` (the same buffer, unchanged since) with the pattern `pattern` is
  // paired with: the per-link sums are the twin's, relabelled, instead of summed
  // again. Without that pairing, or from another buffer, it is assign().
  void assign_twin(const Pattern& pattern, std::span<const double> bytes, Time fixed_overhead = 0);
  // The same as assign(pattern, bytes, fixed_overhead) from sums the caller already
  // has: demand[u] and crossings[u] for pattern.links()[u], `parts` the non-empty
  // parts. The caller vouches that they are what assign() sums — bitwise so when the
  // sizes are integers below 2^53, whatever the order (an all-to-all's rows × an
  // integral row size, summed per GPU as it counts them). Needs a pattern whose
  // routes are all as long (logic_error otherwise).
  void assign_sums(const Pattern& pattern, std::span<const double> demand, std::span<const std::uint32_t> crossings,
                   std::size_t parts, Time fixed_overhead = 0);
  // assign_twin() after assign_sums(): this coflow's last assignment must be the
  // paired pattern's, and this pattern's routes all as long or as its twin's
  // (logic_error otherwise).
  void assign_twin(const Pattern& pattern, Time fixed_overhead = 0);

  // Forgets the parts (keeps the buffers) and sets the next collective's overhead.
  void reset(Time fixed_overhead = 0);

  std::size_t parts() const { return parts_; }
  // Fixed overhead plus the longest path latency of a part.
  Time latency() const { return overhead_ + max_path_latency_; }
  std::span<const LinkId> links() const { return {links_.data(), link_count_}; }  // in no meaningful order
  // Bytes over links()[i], and how many parts cross it.
  double demand(std::size_t i) const { return demand_[i]; }
  std::uint32_t crossings(std::size_t i) const { return crossings_[i]; }

 private:
  const FlowNetwork& net_;
  Time overhead_ = 0;
  Time max_path_latency_ = 0;
  std::size_t parts_ = 0;
  void grow_links(std::size_t n);
  // Sets parts_ (the non-empty parts) and max_path_latency_ (the longest of their routes).
  void count_parts(const Pattern& pattern, std::span<const double> bytes);
  // The twin's sums on this pattern's links (assign_twin's common part).
  void relabel_from_twin(const Pattern& pattern, Time fixed_overhead);
  // The first link_count_ entries are this coflow's links (the rest is spare room).
  std::size_t link_count_ = 0;
  std::vector<LinkId> links_;
  std::vector<double> demand_;
  std::vector<std::uint32_t> crossings_;
  std::vector<std::uint32_t> slot_;  // link id -> 1 + index in links_, 0 = unused
  bool slots_valid_ = true;          // false after assign(), which leaves slot_ to add()
  // What the last assign() was given (serial 0: the coflow was built otherwise since).
  std::uint64_t assigned_serial_ = 0;
  const double* assigned_bytes_ = nullptr;
};

}  // namespace moesim::sim
