// The all-to-all as one coflow (all_to_all.h). Its parts are the GPU pairs src != dst
// in (src, dst) order — dispatch src -> dst, combine dst -> src — kept as fixed
// patterns refilled with each layer's sizes. When every GPU hangs off one switch,
// a link's demand is a per-GPU sum (uplink: rows sent, downlink: rows received),
// and the combine reuses the dispatch's sums relabelled to the twin links.
#include <algorithm>
#include <cmath>

#include "models/serving/all_to_all.h"

namespace moesim::models {
namespace {

class CoflowAllToAll final : public AllToAll {
 public:
  CoflowAllToAll(Topology& topology, const MoeModel& model, const ServingConfig& config);

  bool prepare(Direction direction, const std::vector<std::int64_t>& pair_tokens) override;
  bool closed_form() const override { return true; }
  sim::Time run_alone(Direction direction, sim::Time start) override {
    // The combine by switch sums is the dispatch relabelled (prepare()).
    sim::FlowNetwork& net = topology_.network();
    const bool twin = direction == Direction::kCombine && !switch_slot_.empty() && twin_bandwidths_equal_;
    return twin ? net.run_alone_twin(collective_, start) : net.run_alone(collective_, start);
  }
  std::optional<sim::Time> lead_time() const override { return std::nullopt; }
  void start(Exchange& exchange) override { exchange.start(topology_.network(), collective_); }

 private:
  // Sets switch_slot_ when the GPUs share one switch and sums per GPU are exact.
  void find_switch_slots(const std::vector<sim::Coflow::Route>& routes, std::int64_t max_batched_tokens, int top_k);
  // The dispatch coflow from the pair matrix through per-GPU sums (needs switch_slot_).
  void assign_switch_sums(const std::int64_t* pairs);
  // part_bytes_ from the pair matrix: the pairs src != dst in (src, dst) order.
  void fill_part_bytes(const std::int64_t* pairs);

  Topology& topology_;
  std::size_t gpus_;
  double row_bytes_;
  sim::Time overhead_;
  sim::Coflow collective_;  // the all-to-all being gathered (buffers reused)
  sim::Coflow::Pattern dispatch_pattern_, combine_pattern_;
  std::vector<double> part_bytes_;
  // On one switch, per dispatch-pattern link: GPU g's uplink is slot g, its downlink
  // slot G + g; empty on other topologies (the dispatch then sums part by part).
  std::vector<std::uint32_t> switch_slot_;
  bool twin_bandwidths_equal_ = false;     // every combine link as fast as its dispatch twin
  std::vector<std::int64_t> slot_tokens_;  // per slot: rows over the link
  std::vector<std::uint32_t> slot_pairs_;  // per slot: non-empty GPU pairs over the link
  std::vector<double> link_demand_;        // per dispatch-pattern link
  std::vector<std::uint32_t> link_crossings_;
};

CoflowAllToAll::CoflowAllToAll(Topology& topology, const MoeModel& model, const ServingConfig& config)
    : topology_(topology),
      gpus_(static_cast<std::size_t>(topology.gpu_count())),
      row_bytes_(all_to_all_row_bytes(model)),
      overhead_(collective_overhead(topology, config)),
      collective_(topology.network()) {
  const auto G = gpus_;
  std::vector<sim::Coflow::Route> routes;  // [src * G + dst]: looked up and checked once
  for (std::size_t src = 0; src < G; ++src) {
    for (std::size_t dst = 0; dst < G; ++dst) {
      routes.push_back(src == dst ? sim::Coflow::Route{}
                                  : collective_.route(topology_.gpu_to_gpu(static_cast<int>(src), static_cast<int>(dst))));
    }
  }
  std::vector<sim::Coflow::Route> dispatch, combine;
  for (std::size_t src = 0; src < G; ++src) {
    for (std::size_t dst = 0; dst < G; ++dst) {
      if (src == dst) continue;
      dispatch.push_back(routes[src * G + dst]);
      combine.push_back(routes[dst * G + src]);
    }
  }
  dispatch_pattern_ = sim::Coflow::Pattern(std::move(dispatch));
  combine_pattern_ = sim::Coflow::Pattern(std::move(combine));
  // On a switch the combine's links carry the dispatch's parts back (GPU g's uplink
  // what its downlink brought), so its per-link sums are the dispatch's, relabelled.
  if (combine_pattern_.pair_with(dispatch_pattern_)) {
    find_switch_slots(routes, config.max_batched_tokens, model.top_k);
    // Cables are symmetric when each twin link is as fast as the link it replaces:
    // the combine then has the dispatch's bottleneck candidates (run_alone_twin).
    const sim::FlowNetwork& net = topology_.network();
    twin_bandwidths_equal_ = std::ranges::all_of(dispatch_pattern_.links(), [&](sim::LinkId l) {
      return net.link_bandwidth(l) == net.link_bandwidth(combine_pattern_.twin_link(l));
    });
  }
  part_bytes_.resize(dispatch_pattern_.parts());
}

bool CoflowAllToAll::prepare(Direction direction, const std::vector<std::int64_t>& pair_tokens) {
  // The collective's fixed cost (launch and synchronisation) precedes the data.
  const bool by_switch = !switch_slot_.empty();
  if (direction == Direction::kCombine && by_switch) {
    collective_.assign_twin(combine_pattern_, overhead_);
  } else if (direction == Direction::kCombine) {
    collective_.assign_twin(combine_pattern_, part_bytes_, overhead_);
  } else if (by_switch) {
    assign_switch_sums(pair_tokens.data());
  } else {
    fill_part_bytes(pair_tokens.data());
    collective_.assign(dispatch_pattern_, part_bytes_, overhead_);
  }
  return collective_.parts() != 0;
}

void CoflowAllToAll::find_switch_slots(const std::vector<sim::Coflow::Route>& routes, std::int64_t max_batched_tokens,
                                       int top_k) {
  // One switch: every pair's route is src's uplink then dst's downlink, 2G distinct
  // links, all routes as long (a per-part latency would need the parts).
  const auto G = gpus_;
  if (G < 2 || dispatch_pattern_.uniform_latency() < 0 || combine_pattern_.uniform_latency() < 0) return;
  std::vector<sim::LinkId> up(G), down(G);
  for (std::size_t src = 0; src < G; ++src) {
    for (std::size_t dst = 0; dst < G; ++dst) {
      if (src == dst) continue;
      const auto& links = routes[src * G + dst].links;
      if (links.size() != 2) return;
      const bool first_up = dst == (src == 0 ? 1 : 0);
      const bool first_down = src == (dst == 0 ? 1 : 0);
      if (first_up) up[src] = links[0];
      if (first_down) down[dst] = links[1];
      if (links[0] != up[src] || links[1] != down[dst]) return;
    }
  }
  std::vector<sim::LinkId> all(up);
  all.insert(all.end(), down.begin(), down.end());
  std::sort(all.begin(), all.end());
  if (std::adjacent_find(all.begin(), all.end()) != all.end()) return;
  // Sums of integer token counts times an integral row size are exact below 2^53,
  // so summing per GPU gives bitwise the per-part sums (Coflow::assign_sums).
  const double largest_layer_bytes =
      static_cast<double>(max_batched_tokens) * static_cast<double>(G) * top_k * row_bytes_;
  if (row_bytes_ != std::floor(row_bytes_) || !(largest_layer_bytes < 0x1p53)) return;
  const auto links = dispatch_pattern_.links();
  std::vector<std::uint32_t> slots(links.size());
  for (std::size_t u = 0; u < links.size(); ++u) {
    const auto at_up = std::find(up.begin(), up.end(), links[u]);
    slots[u] = at_up != up.end() ? static_cast<std::uint32_t>(at_up - up.begin())
                                 : static_cast<std::uint32_t>(G + static_cast<std::size_t>(std::find(down.begin(), down.end(), links[u]) - down.begin()));
  }
  switch_slot_ = std::move(slots);
  slot_tokens_.resize(2 * G);
  slot_pairs_.resize(2 * G);
  link_demand_.resize(links.size());
  link_crossings_.resize(links.size());
}

void CoflowAllToAll::assign_switch_sums(const std::int64_t* const pairs) {
  // Per GPU: the rows it sends (its pair-matrix row, off the diagonal) over its
  // uplink, and those it receives (its column) over its downlink; a link's
  // crossings are its non-empty pairs. Full sums first, then the diagonal out:
  // no branch on src != dst.
  const auto G = gpus_;
  std::int64_t* const tokens = slot_tokens_.data();
  std::uint32_t* const used = slot_pairs_.data();
  std::fill_n(tokens + G, G, 0);
  std::fill_n(used + G, G, 0U);
  std::size_t parts = 0;
  for (std::size_t src = 0; src < G; ++src) {
    const std::int64_t* const row = pairs + src * G;
    std::int64_t sent = 0;
    std::uint32_t nonempty = 0;
    for (std::size_t dst = 0; dst < G; ++dst) {
      const std::int64_t n = row[dst];
      const auto any = static_cast<std::uint32_t>(n > 0);
      sent += n;
      nonempty += any;
      tokens[G + dst] += n;
      used[G + dst] += any;
    }
    const std::int64_t own = row[src];
    tokens[src] = sent - own;
    used[src] = nonempty - static_cast<std::uint32_t>(own > 0);
    parts += used[src];
  }
  for (std::size_t g = 0; g < G; ++g) {
    const std::int64_t own = pairs[g * G + g];
    tokens[G + g] -= own;
    used[G + g] -= static_cast<std::uint32_t>(own > 0);
  }
  for (std::size_t u = 0; u < switch_slot_.size(); ++u) {
    const std::uint32_t slot = switch_slot_[u];
    link_demand_[u] = static_cast<double>(tokens[slot]) * row_bytes_;
    link_crossings_[u] = used[slot];
  }
  collective_.assign_sums(dispatch_pattern_, link_demand_, link_crossings_, parts, overhead_);
}

void CoflowAllToAll::fill_part_bytes(const std::int64_t* const pairs) {
  // Token counts are integers far below 2^53, so each size is bitwise what summing
  // the rows as doubles gave. Per source, the pairs before and after the diagonal:
  // no branch on src != dst, and the index in a register rather than in the frame.
  const auto G = gpus_;
  double* part = part_bytes_.data();
  for (std::size_t src = 0; src < G; ++src) {
    const std::int64_t* const row = pairs + src * G;
    for (std::size_t dst = 0; dst < src; ++dst) *part++ = static_cast<double>(row[dst]) * row_bytes_;
    for (std::size_t dst = src + 1; dst < G; ++dst) *part++ = static_cast<double>(row[dst]) * row_bytes_;
  }
}

}  // namespace

std::unique_ptr<AllToAll> make_coflow_all_to_all(Topology& topology, const MoeModel& model, const ServingConfig& config) {
  return std::make_unique<CoflowAllToAll>(topology, model, config);
}

}  // namespace moesim::models
