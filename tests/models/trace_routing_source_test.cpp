// Trace replay against the trace itself: the counts for a batch must equal a direct
// tally of the mapped trace tokens.
#include <catch2/catch.hpp>

#include "models/catalog.h"
#include "models/workload/trace_routing_source.h"
#include "util/errors.h"
#include "traces/compact_routing.h"

using namespace moesim;
using namespace moesim::models;

namespace {
const std::string kTrace = MOESIM_SOURCE_DIR "/traces/data/llama4-maverick-mmlu.moert";
}

TEST_CASE("prefill and decode tokens replay the bound trace request's routing", "[models][routing][data]") {
  const MoeModel maverick = load_moe_model("llama-4-maverick-17b-128e-fp8");
  TraceRoutingSource source(maverick, kTrace);
  REQUIRE(source.trace_requests() == 387);
  traces::CompactRoutingReader reader(kTrace);
  const traces::RequestRouting r0 = *reader.next();
  const traces::RequestRouting r1 = *reader.next();
  const auto prefill = static_cast<std::int64_t>(r0.steps[0].tokens);

  // GPU 0: request 0's whole prompt twice over (positions wrap); GPU 1: request
  // 388 (bound to trace request 1) at its 5th decode step; request 387 + 1 = 388 -> 1.
  BatchSpans batch(2);
  batch[0].push_back(TokenSpan{0, 0, 2 * prefill, true});
  batch[1].push_back(TokenSpan{388, 5, 1, false});
  const RoutingCounts counts = source.route(batch);
  for (std::size_t l = 0; l < 24; ++l) {
    std::vector<std::int64_t> expected0(128, 0);
    for (std::uint16_t e : r0.steps[0].experts[l]) expected0[e] += 2;
    CHECK(counts[l][0] == expected0);
    std::vector<std::int64_t> expected1(128, 0);
    ++expected1[r1.steps[5].experts[l][0]];
    CHECK(counts[l][1] == expected1);
  }
}

TEST_CASE("a replayed trace states its whole-trace expert distribution", "[models][routing][data]") {
  TraceRoutingSource source(load_moe_model("llama-4-maverick-17b-128e-fp8"), kTrace);
  const auto expected = source.expected_selections();
  // The truth: a tally of every token's layer-0 and last-layer expert, straight from the reader.
  traces::CompactRoutingReader reader(kTrace);
  std::vector<double> first(128, 0.0), last(128, 0.0);
  double tokens = 0;
  while (auto r = reader.next()) {
    for (const auto& step : r->steps) {
      tokens += step.tokens;
      for (std::uint32_t t = 0; t < step.tokens; ++t) {
        first[step.experts.front()[t]] += 1;
        last[step.experts.back()[t]] += 1;
      }
    }
  }
  for (std::size_t e = 0; e < 128; ++e) {
    CHECK(expected.front()[e] == Approx(first[e] / tokens));
    CHECK(expected.back()[e] == Approx(last[e] / tokens));
  }
}

TEST_CASE("a routing trace that does not match the model is rejected with both shapes", "[models][routing][data]") {
  CHECK_THROWS_WITH(TraceRoutingSource(load_moe_model("mixtral-8x7b"), kTrace),
                    Catch::Contains("24 MoE layers × 128 experts, top-1") &&
                        Catch::Contains("mixtral-8x7b has 32 MoE layers × 8 experts, top-2"));
}
