#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "util/atomic_file.h"
#include "sim/trace_writer.h"

using namespace moesim::sim;

TEST_CASE("Chrome trace JSON has named tracks, exact microsecond timestamps and counters", "[sim][trace]") {
  TraceWriter w;
  const auto gpu0 = w.add_track("GPUs", "gpu0");
  const auto gpu1 = w.add_track("GPUs", "gpu1");
  const auto req = w.add_track("requests", "req \"7\"");
  w.span(gpu0, "expert_ffn", 1500, 4250);
  w.span(gpu1, "expert_ffn", 0, 1);
  w.instant(req, "first token", 999);
  w.counter("links", "nvlink0 GB/s", 2000, 370.5);
  const auto j = nlohmann::json::parse(w.to_json());
  const auto& ev = j.at("traceEvents");
  int spans = 0;
  bool saw_escaped_name = false;
  for (const auto& e : ev) {
    if (e.at("ph") == "X") {
      ++spans;
      if (e.at("tid") == 1) {
        CHECK(e.at("ts").get<double>() == Approx(1.5));
        CHECK(e.at("dur").get<double>() == Approx(2.75));
        CHECK(e.at("pid") == 1);
      }
    }
    if (e.at("ph") == "M" && e.at("name") == "thread_name" && e.at("args").at("name") == "req \"7\"") {
      saw_escaped_name = true;
      CHECK(e.at("pid") == 2);
    }
    if (e.at("ph") == "C") CHECK(e.at("args").at("value").get<double>() == Approx(370.5));
  }
  CHECK(spans == 2);
  CHECK(saw_escaped_name);
  CHECK_THROWS_AS(w.span(gpu0, "bad", 10, 5), std::invalid_argument);
  CHECK_THROWS_AS(w.span(99, "bad", 1, 5), std::out_of_range);
}

TEST_CASE("atomic writes leave the complete file and no temporary", "[sim][trace]") {
  const auto dir = std::filesystem::temp_directory_path() / "moesim_atomic_test";
  std::filesystem::remove_all(dir);
  const auto path = dir / "sub" / "out.json";
  moesim::write_file_atomic(path, "first");
  moesim::write_file_atomic(path, "second");
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  CHECK(s.str() == "second");
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "sub")) {
    (void)e;
    ++files;
  }
  CHECK(files == 1);
  CHECK_THROWS_WITH(moesim::write_file_atomic("/proc/moesim/forbidden.json", "x"), Catch::Contains("forbidden.json"));
  std::filesystem::remove_all(dir);
}
