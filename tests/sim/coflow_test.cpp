// Coflows (collectives as one entity) against hand-computed timelines, and the
// identity with plain flows where the two models coincide.
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <vector>

#include "sim/coflow.h"
#include "sim/flow_network.h"
#include "sim/rng.h"

using namespace moesim::sim;

namespace {
constexpr double kGBps = 1e9;

// An all-to-all over a switch: GPU g sends on up[g] and receives on down[g]. The
// dispatch's parts go s -> d, the combine's d -> s, pairs s != d in (s, d) order.
struct SwitchAllToAll {
  std::vector<Coflow::Route> dispatch, combine;
};
SwitchAllToAll switch_all_to_all(const Coflow& builder, const std::vector<LinkId>& up, const std::vector<LinkId>& down) {
  SwitchAllToAll a;
  const auto G = up.size();
  for (std::size_t s = 0; s < G; ++s) {
    for (std::size_t d = 0; d < G; ++d) {
      if (s == d) continue;
      a.dispatch.push_back(builder.route(std::vector<LinkId>{up[s], down[d]}));
      a.combine.push_back(builder.route(std::vector<LinkId>{up[d], down[s]}));
    }
  }
  return a;
}
}  // namespace

TEST_CASE("a lone all-to-all coflow lasts as long as its busiest link needs", "[sim][coflow]") {
  // Three GPUs on a switch: egress e_i and ingress i_i, 1 GB/s each, 500 ns per hop.
  Simulator sim;
  FlowNetwork net(sim);
  std::vector<LinkId> egress, ingress;
  for (int g = 0; g < 3; ++g) {
    egress.push_back(net.add_link("e" + std::to_string(g), 1 * kGBps, 500));
    ingress.push_back(net.add_link("i" + std::to_string(g), 1 * kGBps, 500));
  }
  Coflow all_to_all(net, 10000);
  const auto part = [&](int src, int dst, double bytes) {
    const std::vector<LinkId> path{egress[src], ingress[dst]};
    all_to_all.add(path, bytes);
  };
  part(0, 1, 2e6);
  part(0, 2, 1e6);
  part(1, 0, 1e6);
  part(2, 0, 1e6);
  REQUIRE(all_to_all.parts() == 4);
  CHECK(all_to_all.latency() == 10000 + 1000);
  Time done = -1;
  net.start(all_to_all, [&] { done = sim.now(); });
  sim.run();
  // GPU 0 sends 3 MB through e0: 3 ms; every other link carries less and keeps pace.
  CHECK(done == 11000 + 3000000);
  CHECK(net.link_bytes(egress[0]) == Approx(3e6));
  CHECK(net.link_bytes(ingress[1]) == Approx(2e6));
  CHECK(net.link_bytes(ingress[0]) == Approx(2e6));
  CHECK(net.link_busy_time(ingress[2]) == 3000000);  // 1 MB spread over the whole 3 ms
  CHECK(net.solves() == 2);  // one when it starts, one when it ends: not one per part
}

TEST_CASE("a coflow shares a link as its parts would", "[sim][coflow]") {
  // Two 1 MB parts and a 0.5 MB plain flow on one 1 GB/s link: the coflow weighs
  // two flows, so it gets 2/3 until the plain flow ends at 1.5 ms, then the rest:
  // 1 MB left at 1 GB/s ends at 2.5 ms — the per-flow timeline exactly.
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId l = net.add_link("link", 1 * kGBps, 0);
  const std::vector<LinkId> path{l};
  Coflow c(net);
  c.add(path, 1e6);
  c.add(path, 1e6);
  Time coflow_done = -1, flow_done = -1;
  const FlowId id = net.start(c, [&] { coflow_done = sim.now(); });
  net.start(path, 0.5e6, [&] { flow_done = sim.now(); });
  sim.run_until(1000);
  CHECK(net.rate(id) == Approx(2.0 / 3.0 * kGBps));
  CHECK(net.remaining_bytes(id) == Approx(2e6 - 2.0 / 3.0 * 1e3));
  sim.run();
  CHECK(flow_done == 1500000);
  CHECK(coflow_done == 2500000);
}

TEST_CASE("a coflow uses each link in proportion to its demand there", "[sim][coflow]") {
  // Parts: 1 MB over L1 and L2, 1 MB over L1 alone. Demand 2 MB on L1 (the reference,
  // two crossings), 1 MB on L2 (coefficient 1/2). A 0.25 MB plain flow on L2.
  // Weights on L2: 2 · 1/2 + 1 = 2, on L1: 2, so the share is 0.5 GB/s per unit:
  // the coflow runs at 1 GB/s on L1 (0.5 on L2), the plain flow at 0.5 GB/s.
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId l1 = net.add_link("L1", 1 * kGBps, 0);
  const LinkId l2 = net.add_link("L2", 1 * kGBps, 0);
  Coflow c(net);
  const std::vector<LinkId> both{l1, l2}, first{l1}, second{l2};
  c.add(both, 1e6);
  c.add(first, 1e6);
  Time coflow_done = -1, flow_done = -1;
  net.start(c, [&] { coflow_done = sim.now(); });
  const FlowId plain = net.start(second, 0.25e6, [&] { flow_done = sim.now(); });
  sim.run_until(1);
  CHECK(net.rate(plain) == Approx(0.5 * kGBps));
  sim.run();
  CHECK(flow_done == 500000);
  CHECK(coflow_done == 2000000);  // L1 bounds it throughout
  CHECK(net.link_bytes(l2) == Approx(1.25e6));
}

TEST_CASE("a one-part coflow is exactly a plain flow", "[sim][coflow]") {
  Rng rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    const double bytes = 1 + rng.uniform01() * 1e8;
    const double bw = 1e9 + rng.uniform01() * 1e11;
    Time as_flow = -1, as_coflow = -1;
    for (const bool coflow : {false, true}) {
      Simulator sim;
      FlowNetwork net(sim);
      const std::vector<LinkId> path{net.add_link("a", bw, 300), net.add_link("b", bw * 2, 200)};
      Time& out = coflow ? as_coflow : as_flow;
      if (coflow) {
        Coflow c(net);
        c.add(path, bytes);
        net.start(c, [&] { out = sim.now(); });
      } else {
        net.start(path, bytes, [&] { out = sim.now(); });
      }
      sim.run();
    }
    CHECK(as_coflow == as_flow);
  }
}

TEST_CASE("a lone coflow of random parts ends at max over links of demand / bandwidth", "[sim][coflow]") {
  Rng rng(11);
  for (int trial = 0; trial < 30; ++trial) {
    Simulator sim;
    FlowNetwork net(sim);
    std::vector<LinkId> links;
    for (int i = 0; i < 6; ++i) links.push_back(net.add_link("l" + std::to_string(i), (1 + rng.uniform01() * 9) * kGBps, 0));
    std::vector<double> demand(links.size(), 0.0);
    Coflow c(net);
    for (int p = 0; p < 12; ++p) {
      const auto a = static_cast<std::size_t>(rng.uniform01() * 6);
      const auto b = (a + 1 + static_cast<std::size_t>(rng.uniform01() * 5)) % 6;
      const double bytes = rng.uniform01() * 1e7;
      const std::vector<LinkId> path{links[a], links[b]};
      c.add(path, bytes);
      demand[a] += bytes;
      demand[b] += bytes;
    }
    double bound_s = 0.0;
    for (std::size_t i = 0; i < links.size(); ++i) bound_s = std::max(bound_s, demand[i] / net.link_bandwidth(links[i]));
    Time done = -1;
    net.start(c, [&] { done = sim.now(); });
    sim.run();
    CHECK(std::abs(static_cast<double>(done) - bound_s * 1e9) <= 1.0);
  }
}

TEST_CASE("empty coflows finish after their latency: bad parts are refused", "[sim][coflow]") {
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId l = net.add_link("l", 1 * kGBps, 700);
  const std::vector<LinkId> path{l}, twice{l, l}, unknown{l + 5};
  Coflow c(net, 2000);
  c.add(path, 0.0);
  Time done = -1;
  net.start(c, [&] { done = sim.now(); });
  sim.run();
  CHECK(done == 2700);
  CHECK(net.solves() == 0);
  CHECK_THROWS_AS(c.add(path, -1.0), std::invalid_argument);
  CHECK_THROWS_AS(c.add(path, std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS(c.add(twice, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(c.add(unknown, 1.0), std::out_of_range);
  c.reset(0);
  CHECK(c.parts() == 0);
  CHECK(c.latency() == 0);
}

TEST_CASE("run_alone gives the instant and link accounting of a coflow started on an idle network", "[sim][coflow]") {
  Rng rng(23);
  for (int trial = 0; trial < 40; ++trial) {
    // Two identical networks: one runs the coflow through events, one in closed form.
    Simulator sim_a, sim_b;
    FlowNetwork net_a(sim_a), net_b(sim_b);
    std::vector<LinkId> links;
    for (int i = 0; i < 6; ++i) {
      const double bw = (1 + rng.uniform01() * 9) * kGBps;
      const auto latency = static_cast<Time>(rng.uniform01() * 3000);
      links.push_back(net_a.add_link("l" + std::to_string(i), bw, latency));
      net_b.add_link("l" + std::to_string(i), bw, latency);
    }
    const auto overhead = static_cast<Time>(rng.uniform01() * 10000);
    Coflow a(net_a, overhead), b(net_b, overhead);
    for (int p = 0; p < 10; ++p) {
      const auto x = static_cast<std::size_t>(rng.uniform01() * 6);
      const auto y = (x + 1 + static_cast<std::size_t>(rng.uniform01() * 5)) % 6;
      const double bytes = trial % 7 == 0 ? 0.0 : std::round(rng.uniform01() * 1e7);
      const std::vector<LinkId> path{links[x], links[y]};
      a.add(path, bytes);
      b.add(path, bytes);
    }
    Time done = -1;
    const Time start = static_cast<Time>(rng.uniform01() * 1e6);
    struct Started {
      Simulator& sim;
      FlowNetwork& net;
      Coflow& coflow;
      Time& done;
    } started{sim_a, net_a, a, done};
    sim_a.schedule_at(start, [s = &started] { s->net.start(s->coflow, [s] { s->done = s->sim.now(); }); });
    sim_a.run();
    REQUIRE(net_b.idle());
    const Time end = net_b.run_alone(b, start);
    CHECK(end == done);
    CHECK(net_b.idle());
    sim_b.schedule_at(end, [] {});
    sim_b.run();
    for (LinkId l : links) {
      // The coflow's exact bytes vs its rate integrated up to the next whole
      // nanosecond: at most one nanosecond of the link's capacity apart.
      CHECK(net_a.link_bytes(l) >= net_b.link_bytes(l) * (1 - 1e-12));
      CHECK(net_a.link_bytes(l) - net_b.link_bytes(l) <= net_a.link_bandwidth(l) * 1e-9 * (1 + 1e-9));
      CHECK(net_b.link_busy_time(l) == net_a.link_busy_time(l));
    }
  }
}

TEST_CASE("a transfer may not start while a closed-form coflow holds the network", "[sim][coflow]") {
  Simulator sim;
  FlowNetwork net(sim);
  const LinkId l = net.add_link("l", 1 * kGBps, 0);
  const std::vector<LinkId> path{l};
  Coflow c(net);
  c.add(path, 1e6);
  CHECK(net.run_alone(c, 0) == 1000000);
  CHECK_THROWS_AS(net.start(path, 1.0, [] {}), std::logic_error);  // it should have shared the link
  CHECK_THROWS_AS(net.run_alone(c, 500000), std::logic_error);      // overlaps the first
  bool done = false;
  sim.schedule_at(1000000, [&] { net.start(path, 1e6, [&] { done = true; }); });
  sim.run();
  CHECK(done);
  CHECK(sim.now() == 2000000);
}

namespace {
// Link id -> (demand, crossings) of a coflow, whatever order it lists its links in.
std::map<LinkId, std::pair<double, std::uint32_t>> per_link(const Coflow& c) {
  std::map<LinkId, std::pair<double, std::uint32_t>> out;
  for (std::size_t i = 0; i < c.links().size(); ++i) out[c.links()[i]] = {c.demand(i), c.crossings(i)};
  return out;
}
}  // namespace

TEST_CASE("assigning sizes to a pattern builds the coflow that adding the parts builds", "[sim][coflow]") {
  Rng rng(5);
  Simulator sim;
  FlowNetwork net(sim);
  std::vector<LinkId> links;
  for (int i = 0; i < 7; ++i) links.push_back(net.add_link("l" + std::to_string(i), kGBps, (i + 1) * 100));
  std::vector<Coflow::Route> routes;
  Coflow builder(net);
  for (int p = 0; p < 20; ++p) {
    const auto a = static_cast<std::size_t>(rng.uniform_int(7));
    const auto b = (a + 1 + static_cast<std::size_t>(rng.uniform_int(6))) % 7;
    routes.push_back(builder.route(std::vector<LinkId>{links[a], links[b]}));
  }
  const Coflow::Pattern pattern(routes);
  Coflow assigned(net);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> bytes(routes.size());
    for (double& b : bytes) b = rng.bernoulli(0.4) ? 0.0 : rng.uniform01() * 1e6;  // many empty parts
    Coflow added(net, 7);
    for (std::size_t p = 0; p < routes.size(); ++p) {
      if (bytes[p] > 0.0) added.add(routes[p], bytes[p]);
    }
    assigned.assign(pattern, bytes, 7);
    CHECK(assigned.parts() == added.parts());
    CHECK(assigned.latency() == added.latency());
    CHECK(per_link(assigned) == per_link(added));  // demands bit for bit
    // Parts added after an assignment land on the same links as on a built coflow.
    assigned.add(routes[0], 123.0);
    added.add(routes[0], 123.0);
    CHECK(per_link(assigned) == per_link(added));
  }
  CHECK_THROWS_AS(assigned.assign(pattern, std::vector<double>(3, 1.0)), std::invalid_argument);
  // Routes all as long (the shortcut for one switch): the latency is theirs, or 0 when
  // every part is empty.
  std::vector<LinkId> even;
  for (int i = 0; i < 4; ++i) even.push_back(net.add_link("even" + std::to_string(i), kGBps, 250));
  const Coflow::Pattern uniform({builder.route(std::vector<LinkId>{even[0], even[1]}),
                                 builder.route(std::vector<LinkId>{even[2], even[3]})});
  assigned.assign(uniform, std::vector<double>{0.0, 3.0}, 7);
  CHECK(assigned.latency() == 7 + 500);
  CHECK(assigned.parts() == 1);
  assigned.assign(uniform, std::vector<double>{0.0, 0.0}, 7);
  CHECK(assigned.latency() == 7);
  CHECK(assigned.parts() == 0);
}

TEST_CASE("a combine paired with its dispatch reuses the dispatch's sums: the coflow assign builds", "[sim][coflow]") {
  // A switch: GPU g sends on up[g] and receives on down[g]; asymmetric latencies and
  // bandwidths, so that relabelling the wrong link would show.
  Rng rng(11);
  Simulator sim;
  FlowNetwork net(sim);
  constexpr int G = 5;
  std::vector<LinkId> up, down;
  for (int g = 0; g < G; ++g) {
    up.push_back(net.add_link("up" + std::to_string(g), (1 + g) * kGBps, 100 + g));
    down.push_back(net.add_link("down" + std::to_string(g), (7 + g) * kGBps, 300 + 2 * g));
  }
  Coflow builder(net);
  std::vector<Coflow::Route> dispatch, combine, unrelated;
  for (int s = 0; s < G; ++s) {
    for (int d = 0; d < G; ++d) {
      if (s == d) continue;
      dispatch.push_back(builder.route(std::vector<LinkId>{up[s], down[d]}));
      combine.push_back(builder.route(std::vector<LinkId>{up[d], down[s]}));
      unrelated.push_back(builder.route(std::vector<LinkId>{up[s], down[(s + 1) % G]}));
    }
  }
  const Coflow::Pattern dispatch_pattern(dispatch);
  Coflow::Pattern combine_pattern(combine);
  REQUIRE(combine_pattern.pair_with(dispatch_pattern));
  Coflow::Pattern other(unrelated);
  CHECK_FALSE(other.pair_with(dispatch_pattern));  // up[s] and down[s + 1] carry the same parts
  Coflow twin(net), direct(net);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> bytes(dispatch.size());
    for (double& b : bytes) b = rng.bernoulli(0.3) ? 0.0 : rng.uniform01() * 1e6;
    twin.assign(dispatch_pattern, bytes, 9);
    // Every link of an all-to-all carries G - 1 parts: assign() sums them rank by rank
    // for all links at once, still in part order (the bits add() gives).
    Coflow added(net, 9);
    for (std::size_t p = 0; p < dispatch.size(); ++p) {
      if (bytes[p] > 0.0) added.add(dispatch[p], bytes[p]);
    }
    CHECK(twin.parts() == added.parts());
    CHECK(per_link(twin) == per_link(added));
    twin.assign_twin(combine_pattern, bytes, 9);
    direct.assign(combine_pattern, bytes, 9);
    CHECK(twin.parts() == direct.parts());
    CHECK(twin.latency() == direct.latency());
    CHECK(per_link(twin) == per_link(direct));  // demands bit for bit, on the combine's links
    Simulator sim_a, sim_b;
    FlowNetwork net_a(sim_a), net_b(sim_b);
    for (int g = 0; g < G; ++g) {  // the same links, ids and capacities, for each closed form
      for (FlowNetwork* n : {&net_a, &net_b}) {
        n->add_link("up", (1 + g) * kGBps, 100 + g);
        n->add_link("down", (7 + g) * kGBps, 300 + 2 * g);
      }
    }
    CHECK(net_a.run_alone(twin, 0) == net_b.run_alone(direct, 0));
  }
  // Integer sizes summed per GPU (row and column of the pair matrix), as the serving
  // engine does on a switch: the coflow assign() builds, and its twin the same. The
  // sums need routes all as long: links of one latency, bandwidths still unequal.
  FlowNetwork even_net(sim);
  std::vector<LinkId> even_up, even_down;
  for (int g = 0; g < G; ++g) {
    even_up.push_back(even_net.add_link("up" + std::to_string(g), (1 + g) * kGBps, 150));
    even_down.push_back(even_net.add_link("down" + std::to_string(g), (7 + g) * kGBps, 150));
  }
  const SwitchAllToAll even = switch_all_to_all(Coflow(even_net), even_up, even_down);
  const Coflow::Pattern sum_dispatch(even.dispatch);
  Coflow::Pattern sum_combine(even.combine);
  REQUIRE(sum_combine.pair_with(sum_dispatch));
  REQUIRE(sum_dispatch.uniform_latency() == 300);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> bytes(dispatch.size());
    std::vector<double> row(G, 0.0), column(G, 0.0);
    std::vector<std::uint32_t> row_parts(G, 0), column_parts(G, 0);
    std::size_t p = 0, parts = 0;
    for (int s = 0; s < G; ++s) {
      for (int d = 0; d < G; ++d) {
        if (s == d) continue;
        const double b = rng.bernoulli(0.3) ? 0.0 : 8192.0 * static_cast<double>(rng.uniform_int(100));
        bytes[p++] = b;
        row[static_cast<std::size_t>(s)] += b;
        column[static_cast<std::size_t>(d)] += b;
        row_parts[static_cast<std::size_t>(s)] += b > 0.0;
        column_parts[static_cast<std::size_t>(d)] += b > 0.0;
        parts += b > 0.0;
      }
    }
    std::vector<double> demand;
    std::vector<std::uint32_t> crossings;
    for (const LinkId l : sum_dispatch.links()) {
      const auto g = static_cast<std::size_t>(std::find(even_up.begin(), even_up.end(), l) - even_up.begin());
      const auto h = static_cast<std::size_t>(std::find(even_down.begin(), even_down.end(), l) - even_down.begin());
      demand.push_back(g < even_up.size() ? row[g] : column[h]);
      crossings.push_back(g < even_up.size() ? row_parts[g] : column_parts[h]);
    }
    Coflow summed(even_net), direct_dispatch(even_net), direct_combine(even_net);
    summed.assign_sums(sum_dispatch, demand, crossings, parts, 9);
    direct_dispatch.assign(sum_dispatch, bytes, 9);
    CHECK(summed.parts() == direct_dispatch.parts());
    CHECK(summed.latency() == direct_dispatch.latency());
    CHECK(per_link(summed) == per_link(direct_dispatch));
    summed.assign_twin(sum_combine, 9);
    direct_combine.assign(sum_combine, bytes, 9);
    CHECK(summed.parts() == direct_combine.parts());
    CHECK(summed.latency() == direct_combine.latency());
    CHECK(per_link(summed) == per_link(direct_combine));
  }
  // Without sizes, a twin needs its pair assigned last; sums need routes all as long.
  Coflow fresh(even_net);
  CHECK_THROWS_AS(fresh.assign_twin(sum_combine, 9), std::logic_error);
  const Coflow::Pattern uneven({builder.route(std::vector<LinkId>{up[0], down[1]}), builder.route(std::vector<LinkId>{up[1]})});
  CHECK(uneven.uniform_latency() < 0);
  CHECK_THROWS_AS(Coflow(net).assign_sums(uneven, std::vector<double>{1.0, 1.0, 1.0}, std::vector<std::uint32_t>{1, 1, 1}, 2),
                  std::logic_error);
  CHECK_THROWS_AS(fresh.assign_sums(sum_dispatch, std::vector<double>{1.0}, std::vector<std::uint32_t>{1}, 1),
                  std::invalid_argument);
  // Another buffer (or bytes not last assigned to the dispatch) falls back to a full assign.
  std::vector<double> other_bytes(dispatch.size(), 1.0);
  twin.assign(dispatch_pattern, std::vector<double>(dispatch.size(), 5.0));
  twin.assign_twin(combine_pattern, other_bytes);
  direct.assign(combine_pattern, other_bytes);
  CHECK(per_link(twin) == per_link(direct));
}

TEST_CASE("run_alone_twin times a relabelled combine exactly as run_alone does", "[sim][coflow]") {
  // A switch with symmetric cables (up[g] as fast as down[g]) and equal speeds across
  // GPUs, and sizes from a few values: many exact ties for the reference link, whose
  // choice (the lowest id) run_alone_twin() must make again on the combine's links.
  constexpr int G = 6;
  auto build = [](FlowNetwork& net, std::vector<LinkId>& up, std::vector<LinkId>& down) {
    for (int g = 0; g < G; ++g) {
      up.push_back(net.add_link("up" + std::to_string(g), (1 + g % 3) * kGBps, 200));
      down.push_back(net.add_link("down" + std::to_string(g), (1 + g % 3) * kGBps, 200));
    }
  };
  Simulator sim_a, sim_b;
  FlowNetwork net_a(sim_a), net_b(sim_b);
  std::vector<LinkId> up, down, up_b, down_b;
  build(net_a, up, down);
  build(net_b, up_b, down_b);
  REQUIRE(up == up_b);
  const auto [dispatch, combine] = switch_all_to_all(Coflow(net_a), up, down);
  const Coflow::Pattern dispatch_pattern(dispatch);
  Coflow::Pattern combine_pattern(combine);
  REQUIRE(combine_pattern.pair_with(dispatch_pattern));
  for (const LinkId l : dispatch_pattern.links()) REQUIRE(net_a.link_bandwidth(l) == net_a.link_bandwidth(combine_pattern.twin_link(l)));
  Rng rng(5);
  Coflow reused(net_a, 7), dispatch_b(net_b, 7), combine_b(net_b, 7);
  Time at = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<double> bytes(dispatch.size());
    for (double& b : bytes) b = rng.bernoulli(0.4) ? 0.0 : 65536.0 * static_cast<double>(1 + rng.uniform_int(3));
    reused.assign(dispatch_pattern, bytes, 7);
    dispatch_b.assign(dispatch_pattern, bytes, 7);
    if (reused.parts() == 0) continue;
    const Time dispatched = net_a.run_alone(reused, at);
    REQUIRE(dispatched == net_b.run_alone(dispatch_b, at));
    reused.assign_twin(combine_pattern, bytes, 7);
    combine_b.assign(combine_pattern, bytes, 7);
    const Time combined = net_a.run_alone_twin(reused, dispatched + 13);
    CHECK(combined == net_b.run_alone(combine_b, dispatched + 13));
    at = combined + 1;
  }
  for (int g = 0; g < G; ++g) {  // the same bookings, bit for bit
    for (const LinkId l : {up[g], down[g]}) {
      CHECK(net_a.link_bytes(l) == net_b.link_bytes(l));
      CHECK(net_a.link_busy_time(l) == net_b.link_busy_time(l));
    }
  }
  // Only the coflow timed last, relabelled, may reuse its candidates.
  CHECK_THROWS_AS(net_a.run_alone_twin(combine_b, at), std::logic_error);
  Coflow fresh(net_a);
  fresh.add(dispatch.front(), 1.0);
  CHECK_THROWS_AS(net_a.run_alone_twin(fresh, at), std::logic_error);
}
