#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "util/errors.h"
#include "sim/rng.h"
#include "traces/compact_routing.h"
#include "../temp_files.h"

using namespace moesim;
using namespace moesim::traces;

namespace {

std::filesystem::path temp_file(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "moesim_compact_test";
  std::filesystem::create_directories(dir);
  return dir / name;
}

std::vector<RequestRouting> random_requests(const RoutingTraceHeader& h, int count, std::uint64_t seed) {
  sim::Rng rng(seed);
  std::vector<RequestRouting> out;
  for (int i = 0; i < count; ++i) {
    RequestRouting r;
    r.id = 1000 + static_cast<std::uint64_t>(i);
    const auto steps = 1 + rng.uniform_int(6);
    for (std::uint64_t s = 0; s < steps; ++s) {
      RoutingStep step;
      step.tokens = static_cast<std::uint32_t>(s == 0 ? 1 + rng.uniform_int(40) : 1);
      step.experts.resize(h.moe_layers);
      if (h.has_gate_weights) step.gate_weights.resize(h.moe_layers);
      for (std::uint32_t l = 0; l < h.moe_layers; ++l) {
        for (std::uint32_t t = 0; t < step.tokens * h.top_k; ++t) {
          step.experts[l].push_back(static_cast<std::uint16_t>(rng.uniform_int(h.experts)));
          if (h.has_gate_weights) step.gate_weights[l].push_back(static_cast<float>(rng.uniform01()));
        }
      }
      r.steps.push_back(std::move(step));
    }
    out.push_back(std::move(r));
  }
  return out;
}

void write_all(const std::string& path, const RoutingTraceHeader& h, const std::vector<RequestRouting>& rs) {
  CompactRoutingWriter w(path, h);
  for (const auto& r : rs) w.write(r);
  w.finish();
}

}  // namespace

TEST_CASE("compact routing round-trips exactly: 8-bit and 16-bit ids, with and without gate weights", "[traces][compact]") {
  for (const RoutingTraceHeader& h : {RoutingTraceHeader{"m8", 3, 128, 1, false, "test data"},
                                      RoutingTraceHeader{"m16", 2, 300, 4, true, "test data, gates"}}) {
    const auto path = temp_file(h.model + ".moert").string();
    const auto requests = random_requests(h, 50, 9);
    write_all(path, h, requests);
    CompactRoutingReader reader(path);
    CHECK(reader.header() == h);
    for (const auto& expected : requests) {
      const auto got = reader.next();
      REQUIRE(got.has_value());
      CHECK(*got == expected);
    }
    CHECK_FALSE(reader.next().has_value());
    CHECK(reader.requests_read() == 50);
  }
}

TEST_CASE("truncated, corrupted and foreign files are rejected with file, request and offset", "[traces][compact]") {
  const RoutingTraceHeader h{"m", 2, 64, 2, false, "x"};
  const auto path = temp_file("good.moert").string();
  write_all(path, h, random_requests(h, 5, 1));
  const auto size = std::filesystem::file_size(path);

  const auto truncated = temp_file("truncated.moert").string();
  std::filesystem::copy_file(path, truncated, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(truncated, size - 3);
  CompactRoutingReader t(truncated);
  CHECK_THROWS_WITH([&] { while (t.next()) {} }(), Catch::Contains("truncated.moert") && Catch::Contains("truncated") &&
                                                        Catch::Contains("request 4"));

  const auto corrupt = temp_file("corrupt.moert").string();
  std::filesystem::copy_file(path, corrupt, std::filesystem::copy_options::overwrite_existing);
  {
    std::fstream f(corrupt, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 20));
    f.put('\x3f');  // an expert id inside the last request, still < 64
  }
  CompactRoutingReader c(corrupt);
  CHECK_THROWS_WITH([&] { while (c.next()) {} }(), Catch::Contains("checksum mismatch"));

  const auto foreign = temp_file("foreign.moert").string();
  std::ofstream(foreign) << "{\"not\": \"a trace\"}";
  CHECK_THROWS_WITH(CompactRoutingReader(foreign), Catch::Contains("bad signature"));
  CHECK_THROWS_WITH(CompactRoutingReader(temp_file("missing.moert").string()), Catch::Contains("cannot open"));
}

TEST_CASE("the writer refuses shapes that do not match its header", "[traces][compact]") {
  const RoutingTraceHeader h{"m", 2, 8, 1, false, ""};
  const auto path = temp_file("shape.moert").string();
  CompactRoutingWriter w(path, h);
  RequestRouting r;
  r.steps.push_back(RoutingStep{2, {{1, 2}, {3}}, {}});  // layer 1 has one id for two tokens
  CHECK_THROWS_AS(w.write(r), std::invalid_argument);
  r.steps[0] = RoutingStep{1, {{1}, {9}}, {}};  // expert 9 >= 8
  CHECK_THROWS_AS(w.write(r), std::invalid_argument);
  // Destroyed without finish(): no partial file is left.
}

TEST_CASE("a rejected header closes its file: no descriptor leaks however many bad files are read",
          "[traces][moert][reliability]") {
  // Found by fuzzing: the constructor threw after fopen, and a throwing constructor
  // runs no destructor. With 64 descriptors allowed, 500 rejections would exhaust
  // them and turn into "cannot open file".
  const std::string path = moesim_test::write_temp_file("moert-leak", "bad.moert", std::string("MOERTRC1\x02\x00\x00\x00", 12));
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
  rlimit low = saved;
  low.rlim_cur = 64;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
  int rejected = 0;
  for (int i = 0; i < 500; ++i) {
    try {
      moesim::traces::CompactRoutingReader reader(path);
    } catch (const moesim::InputError& e) {
      rejected += std::string(e.what()).find("format version") != std::string::npos ? 1 : 0;
    }
  }
  setrlimit(RLIMIT_NOFILE, &saved);
  CHECK(rejected == 500);
}
