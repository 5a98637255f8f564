// Max-min fair sharing on textbook examples (Bertsekas & Gallager, Data Networks,
// §6.5.2) with hand-computed completion times, and the max-min optimality
// condition checked on random networks.
#include <catch2/catch.hpp>
#include <cmath>
#include <fmt/format.h>
#include <vector>

#include "sim/flow_network.h"
#include "sim/process.h"
#include "sim/rng.h"

using namespace moesim::sim;

namespace {

constexpr double kGBps = 1e9;  // bytes per second

struct Done {
  std::vector<Time> at;
  auto recorder(Simulator& sim, std::size_t i) {
    if (at.size() <= i) at.resize(i + 1, -1);
    return [this, &sim, i] { at[i] = sim.now(); };
  }
};

}  // namespace

TEST_CASE("a lone flow takes latency + bytes / bandwidth", "[sim][flows]") {
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId l = net.add_link("nvlink", 1 * kGBps, 5000);
  Done done;
  const std::vector<LinkId> path{l};
  net.start(path, 1e6, done.recorder(sim, 0));
  sim.run();
  CHECK(done.at[0] == 5000 + 1000000);
  CHECK(net.link_bytes(l) == Approx(1e6));
  CHECK(net.link_busy_time(l) == 1000000);
}

TEST_CASE("two flows on one link get half each", "[sim][flows]") {
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId l = net.add_link("pcie", 1 * kGBps, 0);
  const std::vector<LinkId> path{l};
  Done done;
  const FlowId a = net.start(path, 1e6, done.recorder(sim, 0));
  const FlowId b = net.start(path, 1e6, done.recorder(sim, 1));
  sim.run_until(0);
  CHECK(net.rate(a) == Approx(0.5 * kGBps));
  CHECK(net.rate(b) == Approx(0.5 * kGBps));
  CHECK(net.solves() == 1);  // both starts solved together
  sim.run();
  CHECK(done.at == std::vector<Time>{2000000, 2000000});
}

TEST_CASE("a flow that joins later slows the first, which then speeds the second up", "[sim][flows]") {
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId l = net.add_link("link", 1 * kGBps, 0);
  const std::vector<LinkId> path{l};
  Done done;
  net.start(path, 1e6, done.recorder(sim, 0));
  auto start_second = [&] { net.start(path, 1e6, done.recorder(sim, 1)); };
  sim.schedule_at(500000, [&start_second] { start_second(); });  // event captures stay small
  sim.run();
  // A alone for 0.5 ms (0.5 MB), then both at 0.5 GB/s: A's last 0.5 MB takes 1 ms
  // (ends 1.5 ms) while B sends 0.5 MB; B's last 0.5 MB alone takes 0.5 ms.
  CHECK(done.at == std::vector<Time>{1500000, 2000000});
  CHECK(net.link_bytes(l) == Approx(2e6));
  CHECK(net.link_utilisation(l) == Approx(1.0));
}

TEST_CASE("a flow bottlenecked elsewhere releases its share, and all of it when it ends", "[sim][flows]") {
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId shared = net.add_link("shared", 1 * kGBps, 0);
  const LinkId narrow = net.add_link("narrow", 0.25 * kGBps, 0);
  Done done;
  const std::vector<LinkId> x_path{shared, narrow};
  const std::vector<LinkId> y_path{shared};
  const FlowId x = net.start(x_path, 1e6, done.recorder(sim, 0));
  const FlowId y = net.start(y_path, 6e6, done.recorder(sim, 1));
  sim.run_until(0);
  CHECK(net.rate(x) == Approx(0.25 * kGBps));  // limited by the narrow link
  CHECK(net.rate(y) == Approx(0.75 * kGBps));  // takes what x cannot use
  sim.run();
  // x: 1 MB at 0.25 GB/s = 4 ms. y: 3 MB by 4 ms, the other 3 MB alone at 1 GB/s = 3 ms.
  CHECK(done.at == std::vector<Time>{4000000, 7000000});
}

TEST_CASE("parking-lot network: the long flow gets the fair share of its tightest link", "[sim][flows]") {
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId a = net.add_link("a", 1 * kGBps, 0);
  const LinkId b = net.add_link("b", 2 * kGBps, 0);
  const std::vector<LinkId> long_path{a, b};
  const std::vector<LinkId> on_a{a};
  const std::vector<LinkId> on_b{b};
  const FlowId f0 = net.start(long_path, 1e9, [] {});
  const FlowId f1 = net.start(on_a, 1e9, [] {});
  const FlowId f2 = net.start(on_b, 1e9, [] {});
  sim.run_until(0);
  CHECK(net.rate(f0) == Approx(0.5 * kGBps));
  CHECK(net.rate(f1) == Approx(0.5 * kGBps));
  CHECK(net.rate(f2) == Approx(1.5 * kGBps));
}

TEST_CASE("a capped flow leaves the rest of the link to others", "[sim][flows]") {
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId l = net.add_link("l", 1 * kGBps, 0);
  const std::vector<LinkId> path{l};
  const FlowId capped = net.start(path, 1e6, [] {}, 0.1 * kGBps);
  const FlowId free_flow = net.start(path, 1e6, [] {});
  sim.run_until(0);
  CHECK(net.rate(capped) == Approx(0.1 * kGBps));
  CHECK(net.rate(free_flow) == Approx(0.9 * kGBps));
}

TEST_CASE("empty transfers finish after the path latency", "[sim][flows]") {
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId l1 = net.add_link("l1", kGBps, 300);
  const LinkId l2 = net.add_link("l2", kGBps, 700);
  Done done;
  const std::vector<LinkId> path{l1, l2};
  net.start(path, 0.0, done.recorder(sim, 0));
  net.start(std::vector<LinkId>{}, 1e9, done.recorder(sim, 1));  // no links: nothing to cross
  sim.run();
  CHECK(done.at == std::vector<Time>{1000, 0});
  CHECK(net.path_latency(path) == 1000);
}

namespace {

Process mover(Simulator& sim, FlowNetwork& net, std::vector<LinkId> path, double bytes, Time& finished) {
  co_await net.transfer(path, bytes);
  finished = sim.now();
}

}  // namespace

TEST_CASE("processes await transfers", "[sim][flows]") {
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId l = net.add_link("l", 2 * kGBps, 1000);
  Time t1 = -1;
  Time t2 = -1;
  sim.spawn(mover(sim, net, {l}, 2e6, t1));
  sim.spawn(mover(sim, net, {l}, 1e6, t2));
  sim.run();
  // Both at 1 GB/s after 1 µs latency: the 1 MB one ends at 1 ms + 1 µs, then the
  // other's last 1 MB at 2 GB/s takes 0.5 ms.
  CHECK(t2 == 1000 + 1000000);
  CHECK(t1 == 1000 + 1500000);
}

TEST_CASE("random networks satisfy the max-min optimality condition", "[sim][flows]") {
  // Max-min fair <=> every flow has a bottleneck: a saturated link on its path on
  // which no other flow has a higher rate (or the flow is at its own cap).
  Rng rng(11);
  for (int trial = 0; trial < 50; ++trial) {
    Simulator sim;
    FlowNetwork net(sim);
    const int links = 2 + static_cast<int>(rng.uniform_int(10));
    for (int i = 0; i < links; ++i) net.add_link(fmt::format("l{}", i), rng.uniform(0.1, 4.0) * kGBps, 0);
    std::vector<FlowId> flows;
    std::vector<std::vector<LinkId>> paths;
    std::vector<double> caps;
    const int nflows = 1 + static_cast<int>(rng.uniform_int(30));
    for (int f = 0; f < nflows; ++f) {
      std::vector<LinkId> path;
      for (LinkId l = 0; l < static_cast<LinkId>(links); ++l) {
        if (rng.bernoulli(0.3)) path.push_back(l);
      }
      if (path.empty()) path.push_back(static_cast<LinkId>(rng.uniform_int(links)));
      const double cap = rng.bernoulli(0.2) ? rng.uniform(0.05, 1.0) * kGBps : FlowNetwork::kUncapped;
      flows.push_back(net.start(path, 1e12, [] {}, cap));
      paths.push_back(path);
      caps.push_back(cap);
    }
    sim.run_until(0);
    std::vector<double> load(static_cast<std::size_t>(links), 0.0);
    for (std::size_t f = 0; f < flows.size(); ++f) {
      for (LinkId l : paths[f]) load[l] += net.rate(flows[f]);
    }
    for (int l = 0; l < links; ++l) REQUIRE(load[static_cast<std::size_t>(l)] <= net.link_bandwidth(static_cast<LinkId>(l)) * (1 + 1e-9));
    for (std::size_t f = 0; f < flows.size(); ++f) {
      const double r = net.rate(flows[f]);
      bool has_bottleneck = r >= caps[f] * (1 - 1e-9);
      for (LinkId l : paths[f]) {
        const bool saturated = load[l] >= net.link_bandwidth(l) * (1 - 1e-9);
        bool largest = true;
        for (std::size_t g = 0; g < flows.size(); ++g) {
          const bool crosses = std::find(paths[g].begin(), paths[g].end(), l) != paths[g].end();
          if (crosses && net.rate(flows[g]) > r * (1 + 1e-9)) largest = false;
        }
        if (saturated && largest) has_bottleneck = true;
      }
      INFO("trial " << trial << " flow " << f << " rate " << r);
      REQUIRE(has_bottleneck);
    }
  }
}

TEST_CASE("flow network rejects bad links and paths", "[sim][flows]") {
  Simulator sim;
  FlowNetwork net(sim);
  CHECK_THROWS_AS(net.add_link("neg", -1.0, 0), std::invalid_argument);
  CHECK_THROWS_AS(net.add_link("zero", 0.0, 0), std::invalid_argument);
  CHECK_THROWS_AS(net.add_link("nan", std::nan(""), 0), std::invalid_argument);
  CHECK_THROWS_AS(net.add_link("lat", 1.0, -5), std::invalid_argument);
  const LinkId l = net.add_link("ok", 1.0, 0);
  const std::vector<LinkId> twice{l, l};
  const std::vector<LinkId> unknown{7};
  const std::vector<LinkId> path{l};
  CHECK_THROWS_AS(net.start(twice, 1.0, [] {}), std::invalid_argument);
  CHECK_THROWS_AS(net.start(unknown, 1.0, [] {}), std::out_of_range);
  CHECK_THROWS_AS(net.start(path, -1.0, [] {}), std::invalid_argument);
  CHECK_THROWS_AS(net.start(path, 1.0, [] {}, 0.0), std::invalid_argument);
}
