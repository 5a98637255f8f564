#pragma once
// The cluster's interconnect as a graph (Boost.Graph): GPUs, NVSwitch fabrics,
// PCIe switches, host memory, NICs and network switches; every cable is a pair of
// directed links (full duplex), each one a sim::FlowNetwork link, so concurrent
// transfers (an all-to-all, weight loads from host memory) share bandwidth by
// max-min fairness. Routes are shortest paths by latency (one nanosecond of
// penalty per hop breaks ties towards fewer hops), computed with Dijkstra and cached.
// Presets and the source of every number: docs/models.md, "Topology".
#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/flow_network.h"
#include "util/json_input.h"

namespace moesim::models {

enum class NodeKind { kGpu, kNvSwitch, kPcieSwitch, kHostMemory, kNic, kNetworkSwitch, kRootComplex };

struct TopologyNode {
  NodeKind kind = NodeKind::kGpu;
  std::string name;
  int machine = 0;
  int gpu = -1;  // global GPU index for kGpu
};

struct TopologyEdge {
  sim::LinkId link = 0;  // the flow-network link of this direction
};

class Topology {
 public:
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, TopologyNode, TopologyEdge>;
  using Node = Graph::vertex_descriptor;

  explicit Topology(sim::FlowNetwork& network) : network_(network) {}

  Node add_node(NodeKind kind, std::string name, int machine);
  Node add_gpu(std::string name, int machine);
  // A full-duplex cable: two directed links of `bytes_per_s` each way, `latency` per
  // hop. `startup` is the software cost of starting a transfer over this kind of link
  // (driver call, DMA or NCCL set-up), paid once per transfer, not per hop
  // (transfer_startup); `startup_back`, if given, is the b -> a direction's.
  void connect(Node a, Node b, double bytes_per_s, sim::Time latency, const std::string& label, sim::Time startup = 0,
               std::optional<sim::Time> startup_back = std::nullopt);

  int gpu_count() const { return static_cast<int>(gpus_.size()); }
  int machine_count() const { return static_cast<int>(hosts_.size()); }
  Node gpu_node(int gpu) const { return gpus_.at(static_cast<std::size_t>(gpu)); }
  Node host_node(int machine) const { return hosts_.at(static_cast<std::size_t>(machine)); }
  void set_host(int machine, Node host);
  const TopologyNode& node(Node n) const { return graph_[n]; }
  std::size_t node_count() const { return boost::num_vertices(graph_); }

  // Flow-network links from `from` to `to` (empty when from == to). Throws
  // std::logic_error if they are not connected.
  const std::vector<sim::LinkId>& route(Node from, Node to) const;
  const std::vector<sim::LinkId>& gpu_to_gpu(int a, int b) const { return route(gpu_node(a), gpu_node(b)); }
  const std::vector<sim::LinkId>& host_to_gpu(int gpu) const {
    return route(host_node(node(gpu_node(gpu)).machine), gpu_node(gpu));
  }

  // The software start-up a transfer over `path` pays before its first byte: the
  // largest of its links' (the slowest stack on the way decides; a path's fitted
  // end-to-end latency = this + the hop latencies, docs/models.md "Topology").
  sim::Time transfer_startup(const std::vector<sim::LinkId>& path) const;
  // The largest start-up over all GPU pairs: an all-to-all among all GPUs waits for
  // its slowest pair even when that pair sends nothing (NCCL synchronises every rank).
  sim::Time collective_startup() const;

  // GPUs [first, first + count) as a topology of their own (an instance's EP group,
  // docs/models.md "Instances"): local GPU i is global GPU first + i; routes, links
  // and the flow network stay shared, so instances still contend on common links,
  // while collective_startup() covers only the group's pairs.
  Topology gpu_subset(int first, int count) const;

  sim::FlowNetwork& network() const { return network_; }
  std::string describe() const;  // one line per cable, for --help-like listings and tests

 private:
  sim::FlowNetwork& network_;
  Graph graph_;
  std::vector<Node> gpus_;
  std::vector<Node> hosts_;
  std::vector<std::string> cables_;
  std::vector<sim::Time> startup_;  // per flow-network link
  mutable std::map<std::pair<Node, Node>, std::vector<sim::LinkId>> routes_;
};

struct TopologyOptions {
  std::string preset = "dgx-h100";
  int machines = 1;
  bool nvlink_bridges = false;  // pcie-8: NVLink bridges between GPU pairs (0-1, 2-3, ...)
  // Bandwidth of each GPU's PCIe link and its switch uplink, bytes/s; 0 = the preset's
  // (what-if studies and assumption bands: PCIe Gen4 pinned copies reach 20-27 GB/s).
  double pcie_bytes_per_s = 0.0;
  int gpus_per_machine = 72;  // nvl72: GPUs in the NVLink domain (a slice of the rack), multiple of 4
};

// Presets: dgx-h100, dgx-a100, mi325x-8, nvl72 (a rack-scale NVLink domain of
// gpus_per_machine GPUs), pcie-8, workstation-1. With machines > 1 the machines' NICs
// join one network switch.
void build_topology(Topology& topology, const TopologyOptions& options);
// The number of GPUs the options build (a throwaway build: for input checks and plans).
int topology_gpu_count(const TopologyOptions& options);
std::vector<std::string> topology_presets();
// The measurement files the presets' link start-ups and measured bandwidths were
// fitted on (docs/calibration.md): transfers from them validate in-sample.
std::vector<std::string> link_fit_files();
// Reads {"preset": ..., "machines": N, "nvlink_bridges": bool, "pcie_gb_per_s": x,
// "gpus_per_machine": G (nvl72 only)}.
TopologyOptions parse_topology_options(const JsonInput& json);
// The options as parse_topology_options reads them back.
nlohmann::ordered_json to_json(const TopologyOptions& options);

}  // namespace moesim::models
