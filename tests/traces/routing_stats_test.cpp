#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "traces/compact_routing.h"
#include "traces/routing_stats.h"

using namespace moesim::traces;

TEST_CASE("Gini coefficient of hand-made loads", "[traces][stats]") {
  CHECK(gini({1, 1, 1, 1}) == Approx(0.0));
  CHECK(gini({0, 0, 0, 4}) == Approx(0.75));  // (n-1)/n for one expert taking everything
  CHECK(gini({1, 2, 3, 4}) == Approx(0.25));
}

TEST_CASE("a trace where layer 1 is a function of layer 0 is perfectly cross-layer predictable", "[traces][stats]") {
  const auto path = (std::filesystem::temp_directory_path() / "moesim_stats_test.moert").string();
  {
    CompactRoutingWriter w(path, RoutingTraceHeader{"t", 2, 8, 1, false, ""});
    for (std::uint64_t r = 0; r < 40; ++r) {
      RequestRouting req{r, {}};
      for (int s = 0; s < 20; ++s) {
        const auto e = static_cast<std::uint16_t>((r * 7 + static_cast<std::uint64_t>(s) * 3) % 8);
        req.steps.push_back(RoutingStep{1, {{e}, {static_cast<std::uint16_t>((e + 5) % 8)}}, {}});
      }
      w.write(req);
    }
    w.finish();
  }
  const RoutingStats s = compute_routing_stats(path, 16, 2);
  CHECK(s.requests == 40);
  CHECK(s.tokens == 800);
  CHECK(s.cross_layer_accuracy == Approx(1.0));
  CHECK(s.cross_layer_popular_baseline < 0.3);  // 8 roughly equally used experts
  CHECK(s.layers[0].max_over_mean == Approx(1.0).epsilon(0.05));
  CHECK(s.cross_layer_lift() == Approx(1.0));
  // Consecutive tokens step by 3 (mod 8): a token never repeats its predecessor.
  CHECK(s.token_repeat == 0.0);
  CHECK(s.token_repeat_chance == Approx(0.125).epsilon(0.05));
  CHECK(s.locality_lift() < 0.0);
  std::filesystem::remove(path);
}

TEST_CASE("token locality: hand-made repeats against their closed form", "[traces][stats]") {
  // Every request: expert a for 3 tokens, then b for 1 token (a != b), 10 times over.
  // Of its 39 consecutive pairs, 20 repeat: two inside each of the 10 runs of a.
  std::vector<RequestRouting> requests;
  for (std::uint64_t r = 0; r < 16; ++r) {
    RequestRouting req{r, {}};
    const auto a = static_cast<std::uint16_t>(r % 4);
    const auto b = static_cast<std::uint16_t>(4 + r % 4);
    for (int i = 0; i < 40; ++i) req.steps.push_back(RoutingStep{1, {{i % 4 == 3 ? b : a}}, {}});
    requests.push_back(req);
  }
  std::size_t next = 0;
  const RoutingStats s = compute_routing_stats(RoutingTraceHeader{"t", 1, 8, 1, false, ""}, [&](RequestRouting& r) {
    if (next == requests.size()) return false;
    r = requests[next++];
    return true;
  });
  CHECK(s.token_repeat == Approx(20.0 / 39.0));
  // Shares: each of experts 0..3 is a for 4 of the 16 requests, 3/4 of their tokens
  // (3/16 of all); each of 4..7 is b, 1/16 of all.
  CHECK(s.token_repeat_chance == Approx(4 * (0.1875 * 0.1875) + 4 * (0.0625 * 0.0625)));
  CHECK(s.locality_lift() == Approx((20.0 / 39.0 - 0.15625) / (1 - 0.15625)));
}

TEST_CASE("trace stats on the shipped Llama-4 trace agree with a separate direct pass", "[traces][stats][data]") {
  const std::string path = MOESIM_SOURCE_DIR "/traces/data/llama4-maverick-mmlu.moert";
  const RoutingStats s = compute_routing_stats(path);
  // Direct pass: count loads and tokens without the stats code.
  CompactRoutingReader reader(path);
  std::vector<std::vector<double>> load(24, std::vector<double>(128, 0.0));
  std::uint64_t tokens = 0;
  while (const auto r = reader.next()) {
    for (const auto& step : r->steps) {
      tokens += step.tokens;
      for (std::size_t l = 0; l < 24; ++l) {
        for (auto e : step.experts[l]) load[l][e] += 1.0;
      }
    }
  }
  CHECK(s.tokens == tokens);
  CHECK(s.tokens == 56089);
  CHECK(s.requests == 387);
  for (std::size_t l = 0; l < 24; ++l) {
    const double mean = static_cast<double>(tokens) / 128.0;
    CHECK(s.layers[l].max_over_mean == Approx(*std::max_element(load[l].begin(), load[l].end()) / mean));
    CHECK(s.layers[l].hottest[0].first ==
          std::max_element(load[l].begin(), load[l].end()) - load[l].begin());
  }
  // The signals policies rely on are present in this real trace.
  CHECK(s.temporal_cosine > 0.5);
  CHECK(s.cross_layer_accuracy > s.cross_layer_popular_baseline);
}
