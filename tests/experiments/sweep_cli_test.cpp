// moesim sweep end to end: same results whatever the threads, ranks or
// interruptions; bad sweeps fail before leaving any output behind.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli_helpers.h"
#include "../temp_files.h"

using moesim_test::Result;
using moesim_test::run;
using moesim_test::slurp;
namespace fs = std::filesystem;

namespace {

// Two seconds of Poisson arrivals on Mixtral and one DGX-H100: a point runs in well under a second.
std::string small_scenario(const std::string& folder) {
  return moesim_test::write_temp_file(folder, "scenario.json", R"({
    "name": "sweep-small", "seed": 3, "model": "mixtral-8x7b",
    "cluster": {"topology": {"preset": "dgx-h100", "machines": 1}, "gpu": "h100-sxm",
                "variability": {"spread": 0.05}},
    "workload": {"duration_s": 2,
                 "arrivals": {"kind": "poisson", "rate_per_s": 4,
                              "input_tokens": {"mean": 256, "cv": 0.3}, "output_tokens": {"mean": 8, "cv": 0.3}},
                 "routing": {"kind": "zipf", "skew": 1.1}},
    "placement": {"policy": "static-contiguous"}
  })");
}

std::string sweep_file(const std::string& folder, const std::string& grid) {
  small_scenario(folder);
  return moesim_test::write_temp_file(folder, "sweep.json",
                                      R"({"scenario": "scenario.json", "grid": )" + grid +
                                          R"(, "policies": ["static-contiguous", "eplb:redundant_per_gpu=0"], "seeds": [1, 2]})");
}

const std::string kGrid = R"({"$.cluster.variability.spread": [0.0, 0.1], "$.workload.arrivals.rate_per_s": [2, 6]})";

}  // namespace

TEST_CASE("sweep: one thread and three threads write byte-identical results", "[sweep][cli]") {
  const auto dir = moesim_test::fresh_temp_dir("sweep-threads");
  const auto spec = sweep_file("sweep-threads", kGrid);
  const Result one = run("sweep " + spec + " --threads 1 --out " + (dir / "one").string());
  REQUIRE(one.exit_code == 0);
  CHECK_THAT(one.output, Catch::Contains("16 points") && Catch::Contains("16 run now, 0 resumed"));
  const Result three = run("sweep " + spec + " --threads 3 --out " + (dir / "three").string());
  REQUIRE(three.exit_code == 0);
  CHECK(slurp(dir / "one/sweep.csv") == slurp(dir / "three/sweep.csv"));
  CHECK(slurp(dir / "one/sweep.json") == slurp(dir / "three/sweep.json"));
  // The grid really varies the runs: more arrivals, more requests served.
  const auto json = nlohmann::json::parse(slurp(dir / "one/sweep.json"));
  REQUIRE(json["points"].size() == 16);
  CHECK(json["points"][0]["metrics"]["requests"].get<double>() < json["points"][4]["metrics"]["requests"].get<double>());
  CHECK(json["points"][0]["parameters"]["$.workload.arrivals.rate_per_s"] == 2);
  // A policy keeps its parameters in the results, so variants of one policy stay apart.
  CHECK(json["points"][2]["policy"] == "eplb:redundant_per_gpu=0");
  CHECK_THAT(slurp(dir / "one/sweep.csv"), Catch::Contains(",eplb:redundant_per_gpu=0,1,"));
  // Seeds differ: the same grid point under seed 1 and 2 sees different arrivals.
  CHECK(json["points"][0]["metrics"] != json["points"][1]["metrics"]);
}

TEST_CASE("sweep: an interrupted sweep resumes without redoing finished points", "[sweep][cli]") {
  const auto dir = moesim_test::fresh_temp_dir("sweep-resume");
  const auto spec = sweep_file("sweep-resume", kGrid);
  REQUIRE(run("sweep " + spec + " --threads 2 --out " + (dir / "full").string()).exit_code == 0);
  // Keep five finished points and half of a sixth, as a kill during a write leaves them.
  fs::create_directories(dir / "cut");
  fs::copy_file(dir / "full/sweep-spec.json", dir / "cut/sweep-spec.json");
  std::istringstream lines(slurp(dir / "full/points-0.jsonl"));
  std::string line;
  std::ofstream cut(dir / "cut/points-0.jsonl");
  for (int i = 0; i < 5 && std::getline(lines, line); ++i) cut << line << "\n";
  std::getline(lines, line);
  cut << line.substr(0, line.size() / 2);
  cut.close();
  const Result resumed = run("sweep " + spec + " --out " + (dir / "cut").string());
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.output, Catch::Contains("11 run now, 5 resumed"));
  CHECK(slurp(dir / "full/sweep.csv") == slurp(dir / "cut/sweep.csv"));
  CHECK(slurp(dir / "full/sweep.json") == slurp(dir / "cut/sweep.json"));
  // Nothing left to do the second time.
  const Result again = run("sweep " + spec + " --out " + (dir / "cut").string());
  CHECK_THAT(again.output, Catch::Contains("0 run now, 16 resumed"));
}

TEST_CASE("sweep: results of another sweep in the output folder are not mixed in", "[sweep][cli]") {
  const auto dir = moesim_test::fresh_temp_dir("sweep-other");
  const auto spec = sweep_file("sweep-other", R"({"$.workload.arrivals.rate_per_s": [2]})");
  REQUIRE(run("sweep " + spec + " --out " + (dir / "o").string()).exit_code == 0);
  const auto other = sweep_file("sweep-other", R"({"$.workload.arrivals.rate_per_s": [3]})");
  const Result clash = run("sweep " + other + " --out " + (dir / "o").string());
  CHECK(clash.exit_code == 2);
  CHECK_THAT(clash.output, Catch::Contains("holds results of a different sweep"));
  const Result fresh = run("sweep " + other + " --fresh --out " + (dir / "o").string());
  CHECK(fresh.exit_code == 0);
  CHECK_THAT(fresh.output, Catch::Contains("4 run now, 0 resumed"));
}

TEST_CASE("sweep: bad sweeps fail naming what and where, and write nothing", "[sweep][cli]") {
  const auto dir = moesim_test::fresh_temp_dir("sweep-bad");
  struct Case {
    std::string grid;
    std::string message;
  };
  const std::vector<Case> cases{
      {R"({"$.workload.arrivals.rate_per_sec": [1]})", "has no value at this path (no member 'rate_per_sec' at $.workload.arrivals)"},
      {R"({})", "$.grid: expected an object of JSON path -> list of values"},
      {R"({"$.workload.duration_s": []})", "$.grid.$.workload.duration_s: expected a non-empty list of values"},
      {R"({"$.workload.duration_s": [1, -2]})", "point 4 ($.workload.duration_s=-2, policy=static-contiguous, seed=1)"},
      {R"({"$.workload.duration_s": [1]}, "zip": {"$.cluster.variability.spread": [0.0, 0.1], "$.workload.arrivals.rate_per_s": [2]})",
       "$.zip.$.workload.arrivals.rate_per_s: expected 2 values, as many as '$.cluster.variability.spread' (zipped lists move in step)"},
  };
  for (const auto& c : cases) {
    const auto spec = sweep_file("sweep-bad", c.grid);
    const Result r = run("sweep " + spec + " --out " + (dir / "o").string());
    INFO(c.grid << "\n" << r.output);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(c.message));
    CHECK_FALSE(fs::exists(dir / "o"));
  }
  // Neither a grid nor a zip: nothing to sweep.
  const auto bare = moesim_test::write_temp_file("sweep-bad", "bare.json", R"({"scenario": "scenario.json"})");
  const Result r = run("sweep " + bare + " --out " + (dir / "o").string());
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("expected a \"grid\" or a \"zip\" object of JSON path -> list of values"));
  CHECK_FALSE(fs::exists(dir / "o"));
}

TEST_CASE("sweep: two MPI ranks give the single-process results", "[sweep][cli][mpi]") {
  if (run("sweep --help").output.find("MPI: built in") == std::string::npos || std::system("mpirun --version > /dev/null 2>&1") != 0) {
    WARN("moesim built without MPI or no mpirun: the MPI sweep is not tested here");
    return;
  }
  const auto dir = moesim_test::fresh_temp_dir("sweep-mpi");
  const auto spec = sweep_file("sweep-mpi", kGrid);
  REQUIRE(run("sweep " + spec + " --threads 1 --out " + (dir / "one").string()).exit_code == 0);
  // OpenMPI never frees what MPI_Init allocates (in libmpi and its dlopen'd modules), so
  // LeakSanitizer is off for the ranks; the single-process sweep tests cover our own leaks.
  const std::string mpirun = "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 "
                             "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 "
                             "mpirun -np 2 " + std::string(MOESIM_BINARY) + " sweep " + spec + " --out " + (dir / "two").string() +
                             " > " + (dir / "mpi.log").string() + " 2>&1";
  INFO(slurp(dir / "mpi.log"));
  REQUIRE(std::system(mpirun.c_str()) == 0);
  CHECK_THAT(slurp(dir / "mpi.log"), Catch::Contains("on 2 rank(s)"));
  CHECK(fs::exists(dir / "two/points-1.jsonl"));
  CHECK(slurp(dir / "one/sweep.csv") == slurp(dir / "two/sweep.csv"));
}

TEST_CASE("sweep: killed with SIGKILL mid-run, it leaves no final output and resumes to the same results",
          "[sweep][cli][reliability]") {
  const auto dir = moesim_test::fresh_temp_dir("sweep-kill");
  const auto spec = sweep_file("sweep-kill", kGrid);
  REQUIRE(run("sweep " + spec + " --threads 1 --out " + (dir / "full").string()).exit_code == 0);
  // Start the sweep, wait for its first finished point, then kill it without warning.
  const fs::path cut = dir / "cut";
  const std::string script = std::string(MOESIM_BINARY) + " sweep " + spec + " --threads 1 --out " + cut.string() +
                             " >/dev/null 2>&1 & pid=$!; for i in $(seq 1 2000); do [ -s " +
                             (cut / "points-0.jsonl").string() + " ] && break; sleep 0.01; done; kill -9 $pid; wait $pid";
  REQUIRE(std::system(("bash -c '" + script + "'").c_str()) != -1);
  REQUIRE(fs::exists(cut / "points-0.jsonl"));
  // Final results are written only by a finished sweep, and then atomically.
  CHECK_FALSE(fs::exists(cut / "sweep.csv"));
  CHECK_FALSE(fs::exists(cut / "sweep.json"));
  const Result resumed = run("sweep " + spec + " --threads 1 --out " + cut.string());
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.output, !Catch::Contains(" 0 resumed"));  // the killed run's points were kept
  CHECK(slurp(dir / "full/sweep.csv") == slurp(cut / "sweep.csv"));
  CHECK(slurp(dir / "full/sweep.json") == slurp(cut / "sweep.json"));
}
