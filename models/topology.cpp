#include "models/topology.h"

#include <boost/graph/dijkstra_shortest_paths.hpp>
#include <boost/property_map/function_property_map.hpp>
#include <fmt/format.h>
#include <stdexcept>

#include "util/errors.h"

namespace moesim::models {

Topology::Node Topology::add_node(NodeKind kind, std::string name, int machine) {
  return boost::add_vertex(TopologyNode{kind, std::move(name), machine, -1}, graph_);
}

Topology::Node Topology::add_gpu(std::string name, int machine) {
  const Node n = boost::add_vertex(TopologyNode{NodeKind::kGpu, std::move(name), machine, gpu_count()}, graph_);
  gpus_.push_back(n);
  return n;
}

void Topology::set_host(int machine, Node host) {
  if (static_cast<std::size_t>(machine) >= hosts_.size()) hosts_.resize(static_cast<std::size_t>(machine) + 1);
  hosts_[static_cast<std::size_t>(machine)] = host;
}

void Topology::connect(Node a, Node b, double bytes_per_s, sim::Time latency, const std::string& label, sim::Time startup,
                       std::optional<sim::Time> startup_back) {
  const std::string& an = graph_[a].name;
  const std::string& bn = graph_[b].name;
  const sim::LinkId ab = network_.add_link(fmt::format("{}->{}", an, bn), bytes_per_s, latency);
  const sim::LinkId ba = network_.add_link(fmt::format("{}->{}", bn, an), bytes_per_s, latency);
  boost::add_edge(a, b, TopologyEdge{ab}, graph_);
  boost::add_edge(b, a, TopologyEdge{ba}, graph_);
  const sim::Time back = startup_back.value_or(startup);
  startup_.resize(std::max<std::size_t>(startup_.size(), static_cast<std::size_t>(std::max(ab, ba)) + 1), 0);
  startup_[ab] = startup;
  startup_[ba] = back;
  std::string software;
  if (startup > 0 || back > 0) {
    software = back == startup ? fmt::format(" + {} ns start-up", startup) : fmt::format(" + {}/{} ns start-up", startup, back);
  }
  cables_.push_back(fmt::format("{} <-> {}: {} {:.1f} GB/s each way, {} ns{}", an, bn, label, bytes_per_s / 1e9, latency, software));
  routes_.clear();
}

sim::Time Topology::transfer_startup(const std::vector<sim::LinkId>& path) const {
  sim::Time startup = 0;
  for (const sim::LinkId l : path) startup = std::max(startup, l < startup_.size() ? startup_[l] : 0);
  return startup;
}

Topology Topology::gpu_subset(int first, int count) const {
  if (first < 0 || count < 1 || first + count > gpu_count()) {
    throw std::logic_error(fmt::format("GPU subset [{}, {}) outside the topology's {} GPUs", first, first + count, gpu_count()));
  }
  Topology sub(*this);
  sub.gpus_.assign(gpus_.begin() + first, gpus_.begin() + first + count);
  return sub;
}

sim::Time Topology::collective_startup() const {
  sim::Time startup = 0;
  for (int a = 0; a < gpu_count(); ++a) {
    for (int b = 0; b < gpu_count(); ++b) {
      if (a != b) startup = std::max(startup, transfer_startup(gpu_to_gpu(a, b)));
    }
  }
  return startup;
}

const std::vector<sim::LinkId>& Topology::route(Node from, Node to) const {
  const auto key = std::make_pair(from, to);
  const auto cached = routes_.find(key);
  if (cached != routes_.end()) return cached->second;
  std::vector<Node> pred(boost::num_vertices(graph_));
  std::vector<double> dist(boost::num_vertices(graph_));
  const auto weight = boost::make_function_property_map<Graph::edge_descriptor, double>(
      [this](Graph::edge_descriptor e) { return static_cast<double>(network_.link_latency(graph_[e].link)) + 1.0; });
  boost::dijkstra_shortest_paths(
      graph_, from,
      boost::predecessor_map(boost::make_iterator_property_map(pred.begin(), boost::get(boost::vertex_index, graph_)))
          .distance_map(boost::make_iterator_property_map(dist.begin(), boost::get(boost::vertex_index, graph_)))
          .weight_map(weight));
  std::vector<sim::LinkId> links;
  for (Node v = to; v != from;) {
    const Node p = pred[v];
    if (p == v) throw std::logic_error(fmt::format("no route from {} to {}", graph_[from].name, graph_[to].name));
    links.push_back(graph_[boost::edge(p, v, graph_).first].link);
    v = p;
  }
  std::reverse(links.begin(), links.end());
  return routes_.emplace(key, std::move(links)).first->second;
}

std::string Topology::describe() const {
  std::string out;
  for (const std::string& c : cables_) out += c + "\n";
  return out;
}

namespace {

// Figures and their sources: docs/models.md, "Topology".
constexpr double kGB = 1e9;
constexpr sim::Time kNvlinkLatency = 500;        // ns per hop
constexpr sim::Time kPcieLatency = 1000;         // ns per hop
constexpr sim::Time kNetworkLatency = 2000;      // ns per hop (NIC to switch)
constexpr sim::Time kInfinityFabricLatency = 700;
constexpr sim::Time kHostMemoryLatency = 100;

// Software start-up per transfer: a fitted end-to-end latency (docs/calibration.md)
// less the hop latencies of the path it was measured on.
// Vidur's H100 DGX peer copies: 7.59 µs over GPU -> NVSwitch -> GPU.
constexpr sim::Time kGpuFabricStartup = 7590 - 2 * kNvlinkLatency;
// Our H200's pinned copies over host memory - CPU - switch - GPU: 8.5 µs host -> device
// (down the PCIe tree), 7.0 µs device -> host (up it).
constexpr sim::Time kPcieStartup = 8500 - kHostMemoryLatency - 2 * kPcieLatency;
constexpr sim::Time kPcieStartupUp = 7000 - kHostMemoryLatency - 2 * kPcieLatency;
// Vidur's H100 peer copies across nodes: 19.1 µs over GPU -> switch -> NIC -> network and back.
constexpr sim::Time kNetworkStartup = 19100 - 4 * kPcieLatency - 2 * kNetworkLatency;

// Achieved share of line rate where we measured it: NVLink 4 peer copies 357.5 of
// 450 GB/s; cross-node copies 35.9 GB/s over a 400 Gb/s (50 GB/s) NIC.
constexpr double kNvlinkEfficiency = 357.5 / 450.0;
constexpr double kNicEfficiency = 35.9 / 50.0;
double nic_rate_of(double gbit_per_s) { return gbit_per_s / 8.0 * kNicEfficiency * kGB; }

struct Machine {
  std::vector<Topology::Node> gpus;
  std::vector<Topology::Node> nics;
};

// Host memory behind a root complex; `switches` PCIe switches each serving
// gpus_per_switch GPUs (and as many NICs when nic_bytes_per_s > 0).
Machine add_pcie_tree(Topology& t, int m, int switches, int gpus_per_switch, double gpu_pcie, double uplink,
                      double host_memory, double nic_bytes_per_s, const std::string& pcie_label) {
  Machine machine;
  const auto host = t.add_node(NodeKind::kHostMemory, fmt::format("m{}.host", m), m);
  const auto root = t.add_node(NodeKind::kRootComplex, fmt::format("m{}.cpu", m), m);
  t.set_host(m, host);
  t.connect(host, root, host_memory, kHostMemoryLatency, "host memory");
  for (int s = 0; s < switches; ++s) {
    const auto sw = t.add_node(NodeKind::kPcieSwitch, fmt::format("m{}.pcie{}", m, s), m);
    t.connect(sw, root, uplink, kPcieLatency, pcie_label + " uplink", kPcieStartupUp, kPcieStartup);
    for (int k = 0; k < gpus_per_switch; ++k) {
      const auto gpu = t.add_gpu(fmt::format("m{}.gpu{}", m, s * gpus_per_switch + k), m);
      t.connect(gpu, sw, gpu_pcie, kPcieLatency, pcie_label, kPcieStartupUp, kPcieStartup);
      machine.gpus.push_back(gpu);
      if (nic_bytes_per_s > 0) {
        const auto nic = t.add_node(NodeKind::kNic, fmt::format("m{}.nic{}", m, s * gpus_per_switch + k), m);
        t.connect(nic, sw, gpu_pcie, kPcieLatency, pcie_label, kPcieStartup);
        machine.nics.push_back(nic);
      }
    }
  }
  return machine;
}

Machine add_nvswitch_machine(Topology& t, int m, double nvlink, double pcie, double nic) {
  // DGX: four PCIe switches, each with two GPUs and two NICs (NVIDIA DGX H100/A100 user guides).
  Machine machine = add_pcie_tree(t, m, 4, 2, pcie, pcie, 8 * pcie, nic, "PCIe");
  const auto fabric = t.add_node(NodeKind::kNvSwitch, fmt::format("m{}.nvswitch", m), m);
  for (const auto gpu : machine.gpus) t.connect(gpu, fabric, nvlink, kNvlinkLatency, "NVLink", kGpuFabricStartup);
  return machine;
}

// A rack-scale NVLink domain (GB200 NVL72-like): every GPU of the rack on one NVSwitch
// fabric; trays of four GPUs, each GPU with its own host link and NIC.
Machine add_nvlink_rack(Topology& t, int m, int gpus, double nvlink, double host_link, double nic) {
  Machine machine = add_pcie_tree(t, m, gpus / 4, 4, host_link, host_link, gpus * host_link, nic, "host link");
  const auto fabric = t.add_node(NodeKind::kNvSwitch, fmt::format("m{}.nvswitch", m), m);
  for (const auto gpu : machine.gpus) t.connect(gpu, fabric, nvlink, kNvlinkLatency, "NVLink", kGpuFabricStartup);
  return machine;
}

}  // namespace

std::vector<std::string> link_fit_files() { return {"h200.jsonl", "vidur-h100.jsonl"}; }

std::vector<std::string> topology_presets() { return {"dgx-a100", "dgx-h100", "mi325x-8", "nvl72", "pcie-8", "workstation-1"}; }

int topology_gpu_count(const TopologyOptions& options) {
  sim::Simulator sim;
  sim::FlowNetwork net(sim);
  Topology topology(net);
  build_topology(topology, options);
  return topology.gpu_count();
}

void build_topology(Topology& t, const TopologyOptions& o) {
  std::vector<Machine> machines;
  double nic_rate = 0.0;
  const auto pcie = [&](double preset) { return o.pcie_bytes_per_s > 0.0 ? o.pcie_bytes_per_s : preset; };
  for (int m = 0; m < o.machines; ++m) {
    if (o.preset == "dgx-h100") {
      nic_rate = nic_rate_of(400);  // ConnectX-7; 35.9 GB/s measured
      // NVLink 357.5 GB/s and PCIe Gen5 55.4 GB/s: measured (docs/calibration.md).
      machines.push_back(add_nvswitch_machine(t, m, 357.5 * kGB, pcie(55.4 * kGB), nic_rate));
    } else if (o.preset == "nvl72") {
      nic_rate = nic_rate_of(400);  // 400 Gb/s per GPU, as on the DGX H100
      // NVLink 5: 900 GB/s per direction per GPU at NVLink 4's measured share.
      machines.push_back(
          add_nvlink_rack(t, m, o.gpus_per_machine, 900 * kNvlinkEfficiency * kGB, pcie(55.4 * kGB), nic_rate));
    } else if (o.preset == "dgx-a100") {
      nic_rate = nic_rate_of(200);  // ConnectX-6
      // NVLink 3: 300 GB/s per direction at NVLink 4's measured share; PCIe Gen4 assumed.
      machines.push_back(add_nvswitch_machine(t, m, 300 * kNvlinkEfficiency * kGB, pcie(25 * kGB), nic_rate));
    } else if (o.preset == "mi325x-8") {
      nic_rate = nic_rate_of(400);
      Machine machine = add_pcie_tree(t, m, 4, 2, pcie(55.4 * kGB), pcie(55.4 * kGB), 8 * 55.4 * kGB, nic_rate, "PCIe");
      for (std::size_t a = 0; a < machine.gpus.size(); ++a) {
        for (std::size_t b = a + 1; b < machine.gpus.size(); ++b) {
          // No measurement of RCCL's start-up: NCCL's over NVLink assumed.
          t.connect(machine.gpus[a], machine.gpus[b], 64 * kGB, kInfinityFabricLatency, "Infinity Fabric",
                    kGpuFabricStartup);
        }
      }
      machines.push_back(std::move(machine));
    } else if (o.preset == "pcie-8") {
      nic_rate = nic_rate_of(100);  // 100 Gb/s Ethernet
      Machine machine = add_pcie_tree(t, m, 2, 4, pcie(25 * kGB), pcie(25 * kGB), 4 * 25 * kGB, 0.0, "PCIe 4.0");
      const auto nic = t.add_node(NodeKind::kNic, fmt::format("m{}.nic0", m), m);
      t.connect(nic, t.host_node(m), 25 * kGB, kPcieLatency, "PCIe 4.0", kPcieStartup);
      machine.nics.push_back(nic);
      if (o.nvlink_bridges) {
        for (std::size_t g = 0; g + 1 < machine.gpus.size(); g += 2) {
          t.connect(machine.gpus[g], machine.gpus[g + 1], 56.25 * kNvlinkEfficiency * kGB, kNvlinkLatency, "NVLink bridge",
                    kGpuFabricStartup);
        }
      }
      machines.push_back(std::move(machine));
    } else if (o.preset == "workstation-1") {
      nic_rate = nic_rate_of(100);
      Machine machine = add_pcie_tree(t, m, 1, 1, pcie(25 * kGB), pcie(25 * kGB), 50 * kGB, 0.0, "PCIe 4.0");
      const auto nic = t.add_node(NodeKind::kNic, fmt::format("m{}.nic0", m), m);
      t.connect(nic, t.host_node(m), 25 * kGB, kPcieLatency, "PCIe 4.0", kPcieStartup);
      machine.nics.push_back(nic);
      machines.push_back(std::move(machine));
    } else {
      throw InputError(fmt::format("unknown topology preset '{}' (known: {})", o.preset, fmt::join(topology_presets(), ", ")));
    }
  }
  if (o.machines > 1) {
    const auto fabric = t.add_node(NodeKind::kNetworkSwitch, "network", -1);
    for (const Machine& m : machines) {
      for (const auto n : m.nics) t.connect(n, fabric, nic_rate, kNetworkLatency, "network", kNetworkStartup);
    }
  }
}

TopologyOptions parse_topology_options(const JsonInput& json) {
  TopologyOptions o;
  o.preset = json.at("preset").string();
  if (const auto m = json.find("machines")) {
    o.machines = static_cast<int>(m->integer_in(1, 1024));  // checked before narrowing
  }
  if (const auto b = json.find("nvlink_bridges")) o.nvlink_bridges = b->boolean();
  if (const auto b = json.find("pcie_gb_per_s")) o.pcie_bytes_per_s = b->number_in(0.001, 1e6) * kGB;
  if (const auto g = json.find("gpus_per_machine")) {
    g->check(o.preset == "nvl72", "gpus_per_machine only with the nvl72 preset (the others have a fixed machine)");
    o.gpus_per_machine = static_cast<int>(g->integer_in(4, 72));
    g->check(o.gpus_per_machine % 4 == 0, "a multiple of 4 (trays of four GPUs)");
  }
  bool known = false;
  for (const auto& p : topology_presets()) known = known || p == o.preset;
  if (!known) {
    json.at("preset").fail(fmt::format("unknown topology preset '{}' (known: {})", o.preset, fmt::join(topology_presets(), ", ")));
  }
  return o;
}

nlohmann::ordered_json to_json(const TopologyOptions& options) {
  nlohmann::ordered_json j{{"preset", options.preset}, {"machines", options.machines}, {"nvlink_bridges", options.nvlink_bridges}};
  if (options.pcie_bytes_per_s > 0.0) j["pcie_gb_per_s"] = options.pcie_bytes_per_s / kGB;
  if (options.preset == "nvl72") j["gpus_per_machine"] = options.gpus_per_machine;
  return j;
}

}  // namespace moesim::models
