#include <catch2/catch.hpp>
#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <numeric>

#include "util/errors.h"
#include "traces/compact_routing.h"
#include "traces/flame_moe_csv.h"

using namespace moesim;
using namespace moesim::traces;

namespace {

// A folder of FLAME-style layer files: `experts` columns, rows given per layer.
std::string write_folder(const std::string& name, int experts, const std::vector<std::vector<std::string>>& rows_per_layer,
                         int sequences, int tokens) {
  const auto dir = std::filesystem::temp_directory_path() / "moesim_flame_test" / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (std::size_t l = 0; l < rows_per_layer.size(); ++l) {
    std::ofstream out(dir / fmt::format("m_layer{}_shard_{}seqs_{}tokens.csv", l + 2, sequences, tokens));
    out << "layer_id,token_id";
    for (int e = 0; e < experts; ++e) out << ",expert_" << e;
    out << "\n";
    for (const auto& r : rows_per_layer[l]) out << r << "\n";
  }
  return dir.string();
}

std::vector<RequestRouting> read_all(const std::string& dir, RoutingTraceHeader& header) {
  std::vector<RequestRouting> out;
  header = read_flame_moe_routing(find_flame_moe_files(dir), "tiny",
                                  [&](const RoutingTraceHeader&, const RequestRouting& r) { out.push_back(r); });
  return out;
}

}  // namespace

TEST_CASE("FLAME-MoE CSV: selected experts by descending probability, sequences as requests", "[traces][flame]") {
  // 4 experts, top-2, 4 tokens = 2 sequences of 2; two layers.
  const auto dir = write_folder("ok", 4,
                                {{"0,0,0.1,0.0,0.6,0.0", "0,1,0.0,0.3,0.0,0.3", "0,2,0.5,0.2,0,0", "0,3,0,0,0.25,0.75"},
                                 {"0,0,0.0,0.9,0.05,0.0", "0,1,0.4,0.0,0.0,0.2", "0,2,0,0,0.5,0.5", "0,3,0.1,0.1,0,0"}},
                                2, 4);
  RoutingTraceHeader h;
  const auto requests = read_all(dir, h);
  CHECK(h.moe_layers == 2);
  CHECK(h.experts == 4);
  CHECK(h.top_k == 2);
  CHECK(h.has_gate_weights);
  REQUIRE(requests.size() == 2);
  REQUIRE(requests[0].steps.size() == 1);
  CHECK(requests[0].steps[0].tokens == 2);
  CHECK(requests[0].steps[0].experts[0] == std::vector<std::uint16_t>{2, 0, 1, 3});  // ties by expert id
  CHECK(requests[0].steps[0].gate_weights[0] == std::vector<float>{0.6f, 0.1f, 0.3f, 0.3f});
  CHECK(requests[1].steps[0].experts[0] == std::vector<std::uint16_t>{0, 1, 3, 2});
  CHECK(requests[1].steps[0].experts[1] == std::vector<std::uint16_t>{2, 3, 0, 1});
}

TEST_CASE("FLAME-MoE CSV: bad files are named with their line", "[traces][flame]") {
  auto error = [](const std::string& name, const std::vector<std::vector<std::string>>& rows) {
    try {
      RoutingTraceHeader h;
      read_all(write_folder(name, 3, rows, 1, 2), h);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error("k", {{"0,0,0.5,0.5,0", "0,1,0.2,0.3,0.5"}}), Catch::Contains("_layer2_") && Catch::Contains(":3: 3 selected experts") &&
                                                                   Catch::Contains("expected top-2"));
  CHECK_THAT(error("id", {{"0,0,0.5,0.5,0", "0,7,0.2,0.3,0"}}), Catch::Contains(":3: expected token_id 1, got '7'"));
  CHECK_THAT(error("p", {{"0,0,0.5,x,0", "0,1,0.2,0.3,0"}}), Catch::Contains(":2: expert_1: expected a probability"));
  CHECK_THAT(error("cols", {{"0,0,0.5,0.5", "0,1,0.2,0.3,0"}}), Catch::Contains(":2: expected 5 fields"));
  CHECK_THAT(error("short", {{"0,0,0.5,0.5,0"}}), Catch::Contains("file ends before token 1"));
  CHECK_THAT(error("long", {{"0,0,0.5,0.5,0", "0,1,0.2,0.3,0", "0,2,0.2,0.3,0"}}), Catch::Contains("more rows than the 2 tokens"));
  CHECK_THROWS_WITH(find_flame_moe_files(std::filesystem::temp_directory_path().string() + "/moesim_no_such_dir"),
                    Catch::Contains("not a folder"));
}

TEST_CASE("the shipped FLAME-MoE routing: 32 requests × 64 tokens, 8 layers, top-6 of 64", "[traces][flame]") {
  CompactRoutingReader reader(MOESIM_SOURCE_DIR "/traces/data/flame-moe-290m-pretrain.moert");
  const auto& h = reader.header();
  CHECK(h.model == "flame-moe-290m");
  CHECK(h.moe_layers == 8);
  CHECK(h.experts == 64);
  CHECK(h.top_k == 6);
  CHECK(h.has_gate_weights);
  int requests = 0;
  RequestRouting r;
  while (reader.next(r)) {
    ++requests;
    REQUIRE(r.steps.size() == 1);
    REQUIRE(r.steps[0].tokens == 64);
    for (std::size_t l = 0; l < 8; ++l) {
      const auto& ids = r.steps[0].experts[l];
      const auto& w = r.steps[0].gate_weights[l];
      for (std::size_t t = 0; t < 64; ++t) {
        std::vector<std::uint16_t> set(ids.begin() + 6 * t, ids.begin() + 6 * t + 6);
        std::sort(set.begin(), set.end());
        CHECK(std::adjacent_find(set.begin(), set.end()) == set.end());  // 6 distinct experts
        CHECK(std::is_sorted(w.begin() + 6 * t, w.begin() + 6 * t + 6, std::greater<>()));
        // Softmax probabilities over 64 experts: the top 6 hold most but not all of the mass.
        const float mass = std::accumulate(w.begin() + 6 * t, w.begin() + 6 * t + 6, 0.0f);
        CHECK(mass > 0.0f);
        CHECK(mass <= 1.0f + 1e-5f);
      }
    }
  }
  CHECK(requests == 32);
}
