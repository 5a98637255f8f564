// Topology presets: routes and transfer times computed by hand from the preset's
// link figures (docs/models.md).
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "models/topology.h"
#include "util/errors.h"

using namespace moesim;
using namespace moesim::models;

namespace {

struct Cluster {
  sim::Simulator sim;
  sim::FlowNetwork net{sim};
  Topology topo{net};
  explicit Cluster(TopologyOptions o) { build_topology(topo, o); }
};

// Starts `rounds` all-to-alls of `bytes` per GPU pair at once; returns completion times.
std::vector<sim::Time> all_to_all(Cluster& c, double bytes, int rounds) {
  std::vector<sim::Time> done;
  for (int round = 0; round < rounds; ++round) {
    for (int a = 0; a < c.topo.gpu_count(); ++a) {
      for (int b = 0; b < c.topo.gpu_count(); ++b) {
        if (a != b) c.net.start(c.topo.gpu_to_gpu(a, b), bytes, [&] { done.push_back(c.sim.now()); });
      }
    }
  }
  c.sim.run();
  return done;
}

}  // namespace

TEST_CASE("DGX-H100: GPUs talk through the NVSwitch fabric", "[models][topology]") {
  Cluster c({"dgx-h100", 1, false});
  REQUIRE(c.topo.gpu_count() == 8);
  const auto& path = c.topo.gpu_to_gpu(0, 5);
  REQUIRE(path.size() == 2);
  CHECK(c.net.link_name(path[0]) == "m0.gpu0->m0.nvswitch");
  CHECK(c.net.link_name(path[1]) == "m0.nvswitch->m0.gpu5");
  CHECK(c.net.path_latency(path) == 1000);
  CHECK(c.topo.gpu_to_gpu(3, 3).empty());
}

TEST_CASE("DGX-H100 all-to-all: seven flows share each GPU's NVLink port", "[models][topology]") {
  Cluster c({"dgx-h100", 1, false});
  const double bytes = 1e8;
  const std::vector<sim::Time> done = all_to_all(c, bytes, 1);
  REQUIRE(done.size() == 56);
  // Each port carries 7 flows at 357.5/7 GB/s: 7e8 bytes / 357.5 GB/s after 1 µs of latency.
  const auto expected = 1000 + static_cast<sim::Time>(std::ceil(7 * bytes / 357.5e9 * 1e9 - 1e-6));
  for (sim::Time t : done) CHECK(t == expected);
  CHECK(c.net.solves() <= 2);  // one solve when the flows start, one when they all end
}

TEST_CASE("NVL72: one NVLink domain of 72 GPUs: a slice of it: racks joined by NICs", "[models][topology]") {
  Cluster rack(parse_topology_options(JsonInput::parse(R"({"preset": "nvl72"})", "s.json")));
  REQUIRE(rack.topo.gpu_count() == 72);
  CHECK(rack.topo.gpu_to_gpu(0, 71).size() == 2);  // GPU -> NVSwitch -> GPU, across trays
  // All-to-all of 10 MB per pair: each port carries 71 flows at 715/71 GB/s
  // (NVLink 5's 900 GB/s at NVLink 4's measured 357.5/450).
  const double bytes = 1e7;
  const std::vector<sim::Time> done = all_to_all(rack, bytes, 1);
  REQUIRE(done.size() == 72 * 71);
  const auto expected = 1000 + static_cast<sim::Time>(std::ceil(71 * bytes / 715e9 * 1e9 - 1e-6));
  for (sim::Time t : done) CHECK(t == expected);
  Cluster slice(parse_topology_options(JsonInput::parse(R"({"preset": "nvl72", "gpus_per_machine": 16, "machines": 2})", "s.json")));
  CHECK(slice.topo.gpu_count() == 32);
  CHECK(slice.topo.gpu_to_gpu(0, 15).size() == 2);
  CHECK(slice.topo.gpu_to_gpu(0, 16).size() == 6);  // gpu -> switch -> nic -> network -> nic -> switch -> gpu
  CHECK(to_json(parse_topology_options(JsonInput::parse(R"({"preset": "nvl72", "gpus_per_machine": 16})", "s.json")))["gpus_per_machine"] == 16);
  CHECK_THROWS_WITH(parse_topology_options(JsonInput::parse(R"({"preset": "dgx-h100", "gpus_per_machine": 16})", "s.json")),
                    Catch::Contains("$.gpus_per_machine") && Catch::Contains("only with the nvl72 preset"));
  CHECK_THROWS_WITH(parse_topology_options(JsonInput::parse(R"({"preset": "nvl72", "gpus_per_machine": 10})", "s.json")),
                    Catch::Contains("a multiple of 4"));
}

TEST_CASE("two concurrent all-to-alls on the same ports take the max-min fair time", "[models][topology]") {
  // Dispatch of one layer and combine of another overlapping: 14 flows per port,
  // each at 357.5/14 GB/s, so both finish together at twice a lone all-to-all's time.
  Cluster c({"dgx-h100", 1, false});
  const double bytes = 5e7;
  const std::vector<sim::Time> done = all_to_all(c, bytes, 2);
  REQUIRE(done.size() == 112);
  const auto expected = 1000 + static_cast<sim::Time>(std::ceil(14 * bytes / 357.5e9 * 1e9 - 1e-6));
  for (sim::Time t : done) CHECK(t == expected);
}

TEST_CASE("PCIe box: NVLink bridge pairs, and host loads share the switch uplink", "[models][topology]") {
  Cluster bridged({"pcie-8", 1, true});
  CHECK(bridged.topo.gpu_to_gpu(0, 1).size() == 1);  // the bridge
  CHECK(bridged.topo.gpu_to_gpu(0, 2).size() == 2);  // through PCIe switch 0
  CHECK(bridged.topo.gpu_to_gpu(0, 4).size() == 4);  // switch 0 -> CPU -> switch 1
  Cluster plain({"pcie-8", 1, false});
  CHECK(plain.topo.gpu_to_gpu(0, 1).size() == 2);
  // Two 1 GB weight loads to GPUs 0 and 1 share switch 0's 25 GB/s uplink.
  std::vector<sim::Time> done;
  for (int g : {0, 1}) plain.net.start(plain.topo.host_to_gpu(g), 1e9, [&] { done.push_back(plain.sim.now()); });
  plain.sim.run();
  const sim::Time latency = 100 + 1000 + 1000;  // host memory, uplink, GPU link
  CHECK(done == std::vector<sim::Time>{latency + 80000000, latency + 80000000});
}

TEST_CASE("two DGX-H100 machines: cross-machine traffic is NIC-bound", "[models][topology]") {
  Cluster c({"dgx-h100", 2, false});
  REQUIRE(c.topo.gpu_count() == 16);
  CHECK(c.topo.node(c.topo.gpu_node(8)).machine == 1);
  const auto& path = c.topo.gpu_to_gpu(0, 8);
  CHECK(path.size() == 6);  // gpu->pcie->nic->network->nic->pcie->gpu
  const sim::FlowId f = c.net.start(path, 1e9, [] {});
  c.sim.run_until(c.net.path_latency(path));
  CHECK(c.net.rate(f) == Approx(35.9e9));  // the measured 35.9 GB/s of a 400 Gb/s NIC
}

TEST_CASE("DGX-H100 paths end to end reproduce the fitted copy latencies they were derived from", "[models][topology]") {
  // Start-up + hop latencies = the fits in docs/calibration.md: Vidur's H100 peer copies
  // (7.59 µs in a DGX, 19.1 µs across two), our H200's pinned host -> device copies (8.5 µs).
  Cluster c({"dgx-h100", 2, false});
  const auto end_to_end = [&](const std::vector<sim::LinkId>& path) {
    return c.topo.transfer_startup(path) + c.net.path_latency(path);
  };
  CHECK(end_to_end(c.topo.gpu_to_gpu(0, 5)) == 7590);
  CHECK(end_to_end(c.topo.gpu_to_gpu(0, 8)) == 19100);
  CHECK(end_to_end(c.topo.host_to_gpu(3)) == 8500);
  // A collective waits for its slowest pair's software: across machines when there are two.
  CHECK(c.topo.collective_startup() == c.topo.transfer_startup(c.topo.gpu_to_gpu(0, 8)));
  Cluster one({"dgx-h100", 1, false});
  CHECK(one.topo.collective_startup() == 7590 - 1000);
  CHECK(one.topo.transfer_startup({}) == 0);
}

TEST_CASE("MI325X node is a full Infinity Fabric mesh: workstation has one GPU", "[models][topology]") {
  Cluster mi({"mi325x-8", 1, false});
  for (int b = 1; b < 8; ++b) CHECK(mi.topo.gpu_to_gpu(0, b).size() == 1);
  Cluster ws({"workstation-1", 1, false});
  CHECK(ws.topo.gpu_count() == 1);
  CHECK(ws.net.path_latency(ws.topo.host_to_gpu(0)) == 2100);
}

TEST_CASE("pcie_gb_per_s replaces the preset's GPU PCIe links and uplinks", "[models][topology]") {
  const auto options = parse_topology_options(JsonInput::parse(R"({"preset": "workstation-1", "pcie_gb_per_s": 20})", "s.json"));
  Cluster ws(options);
  std::vector<sim::Time> done;
  ws.net.start(ws.topo.host_to_gpu(0), 1e9, [&] { done.push_back(ws.sim.now()); });
  ws.sim.run();
  // 1 GB at 20 GB/s (host memory's 50 GB/s is not the bottleneck) after 2.1 µs of latency.
  CHECK(done == std::vector<sim::Time>{2100 + 50000000});
  CHECK(to_json(options)["pcie_gb_per_s"] == 20.0);
  CHECK_FALSE(to_json(TopologyOptions{}).contains("pcie_gb_per_s"));  // presets echo as before
  CHECK_THROWS_WITH(parse_topology_options(JsonInput::parse(R"({"preset": "pcie-8", "pcie_gb_per_s": -4})", "s.json")),
                    Catch::Contains("$.pcie_gb_per_s"));
}

TEST_CASE("topology settings are validated", "[models][topology]") {
  sim::Simulator sim;
  sim::FlowNetwork net(sim);
  Topology t(net);
  CHECK_THROWS_WITH(build_topology(t, {"dgx-b200", 1, false}), Catch::Contains("unknown topology preset 'dgx-b200'") &&
                                                                     Catch::Contains("dgx-h100"));
  CHECK_THROWS_WITH(parse_topology_options(JsonInput::parse(R"({"preset": "dgx-h100", "machines": 0})", "s.json")),
                    Catch::Contains("s.json: $.machines: expected an integer in [1, 1024], got 0"));
  CHECK_THROWS_WITH(parse_topology_options(JsonInput::parse(R"({"preset": "tpu"})", "s.json")),
                    Catch::Contains("$.preset") && Catch::Contains("pcie-8"));
}
