// The Llama-4 routing reader on hand-made files, and the facts SOURCE.md states
// about the shipped real trace, recomputed by a separate pass over it.
#include <algorithm>
#include <catch2/catch.hpp>

#include "../temp_files.h"
#include <filesystem>
#include <fstream>
#include <map>

#include "util/errors.h"
#include "traces/compact_routing.h"
#include "traces/llama4_routing_json.h"

using namespace moesim;
using namespace moesim::traces;

namespace {

// A tiny layout: 4 decoder layers, MoE at 1 and 3, 8 experts, top-1.
Llama4Layout tiny() {
  Llama4Layout l;
  l.decoder_layers = 4;
  l.moe_layers = {1, 3};
  l.experts = 8;
  return l;
}

std::string write_json(const std::string& name, const std::string& text) {
  return moesim_test::write_temp_file("moesim_llama4_test", name, text);
}

}  // namespace

TEST_CASE("Llama-4 routing JSON is read step by step, layer by layer", "[traces][llama4]") {
  const auto path = write_json("ok.json", R"([
    {"0": null, "1": [[5], [7], [0]], "2": null, "3": [[1], [1], [2]]},
    {"0": null, "1": [[3]], "2": null, "3": [[6]]}])");
  const RequestRouting r = read_llama4_routing_json(path, 42, tiny());
  REQUIRE(r.steps.size() == 2);
  CHECK(r.id == 42);
  CHECK(r.steps[0].tokens == 3);
  CHECK(r.steps[0].experts == std::vector<std::vector<std::uint16_t>>{{5, 7, 0}, {1, 1, 2}});
  CHECK(r.steps[1].experts == std::vector<std::vector<std::uint16_t>>{{3}, {6}});
}

TEST_CASE("malformed Llama-4 routing JSON names the file and JSON path", "[traces][llama4]") {
  struct Case {
    const char* text;
    const char* mentions;
  };
  for (const Case& c : {Case{R"([{"0": [[1]], "1": [[5]], "2": null, "3": [[1]]}])", "$[0].0: expected null (a dense layer)"},
                        Case{R"([{"0": null, "1": [[5], [6]], "2": null, "3": [[1]]}])", "$[0].3: has 1 tokens, but earlier"},
                        Case{R"([{"0": null, "1": [[8]], "2": null, "3": [[1]]}])", "$[0].1[0][0]: expected an expert id in [0, 8)"},
                        Case{R"([{"0": null, "1": [[1]], "2": null}])", "$[0]: missing required field '3'"},
                        Case{R"([{"0": null, "1": [["x"]], "2": null, "3": [[1]]}])", "expected an integer, got \"x\""},
                        Case{R"([])", "at least one step"},
                        Case{R"([{"0": null, "1": [[1, 2]], "2": null, "3": [[1]]}])", "expected 1 expert id(s)"}}) {
    const auto path = write_json("bad.json", c.text);
    INFO(c.text);
    CHECK_THROWS_WITH(read_llama4_routing_json(path, 0, tiny()), Catch::Contains("bad.json") && Catch::Contains(c.mentions));
  }
}

TEST_CASE("the shipped Llama-4-Maverick trace has the shape SOURCE.md describes", "[traces][llama4][data]") {
  CompactRoutingReader reader(MOESIM_SOURCE_DIR "/traces/data/llama4-maverick-mmlu.moert");
  CHECK(reader.header().model == "llama-4-maverick-17b-128e");
  CHECK(reader.header().moe_layers == 24);
  CHECK(reader.header().experts == 128);
  CHECK(reader.header().top_k == 1);
  std::uint64_t requests = 0;
  std::uint32_t min_prefill = 1000000;
  std::uint32_t max_prefill = 0;
  std::uint64_t full_length = 0;
  std::uint64_t decisions = 0;
  std::vector<std::vector<std::uint64_t>> load(24, std::vector<std::uint64_t>(128, 0));
  while (const auto r = reader.next()) {
    CHECK(r->id == requests);
    ++requests;
    REQUIRE(!r->steps.empty());
    CHECK(r->steps.size() <= 129);  // prefill + up to 128 decode steps
    full_length += r->steps.size() == 129 ? 1 : 0;
    min_prefill = std::min(min_prefill, r->steps[0].tokens);
    max_prefill = std::max(max_prefill, r->steps[0].tokens);
    for (std::size_t s = 1; s < r->steps.size(); ++s) REQUIRE(r->steps[s].tokens == 1);
    for (const auto& step : r->steps) {
      for (std::size_t l = 0; l < 24; ++l) {
        for (std::uint16_t e : step.experts[l]) ++load[l][e];
        decisions += step.experts[l].size();
      }
    }
  }
  // Counted independently with Python over the original JSON (docs/traces.md): the
  // prompt step holds 1-59 tokens (SOURCE.md says 9-54; the short ones look like
  // prefix-cache hits), and 12 of the 387 requests stop before 128 decode steps.
  CHECK(requests == 387);
  CHECK(min_prefill == 1);
  CHECK(max_prefill == 59);
  CHECK(full_length == 375);
  CHECK(decisions == 1346136);
  // "Skew is strong: the hottest expert receives ~8-30x the mean load" (SOURCE.md,
  // abstract_algebra); over all three subjects every layer is still well above 4x.
  for (const auto& layer : load) {
    const double mean = static_cast<double>(decisions / 24) / 128.0;
    CHECK(static_cast<double>(*std::max_element(layer.begin(), layer.end())) / mean > 4.0);
  }
}
