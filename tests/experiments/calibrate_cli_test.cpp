// moesim calibrate on the shipped Vidur H100 measurements: fit, then validate the
// fitted profile (≤ 5% per op), the shipped defaults, and a held-out shape.
#include <fstream>
#include <nlohmann/json.hpp>

#include "../temp_files.h"
#include "calibrate/measurement.h"
#include "calibrate/validation.h"
#include "cli_helpers.h"

using moesim_test::Result;
using moesim_test::run;
using moesim_test::slurp;

namespace {
const std::string kData = MOESIM_SOURCE_DIR "/calibrate/data/vidur-h100.jsonl";

nlohmann::json validate(const std::string& args, const std::filesystem::path& json) {
  const Result r = run("calibrate validate " + kData + " " + args + " --json " + json.string());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(slurp(json));
}
}  // namespace

TEST_CASE("calibrate fit + validate on the Vidur H100 measurements", "[experiments][cli][calibrate]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_calibrate_test");
  const Result fit = run("calibrate fit " + kData + " --base h100-sxm -o " + (dir / "p.json").string());
  INFO(fit.output);
  REQUIRE(fit.exit_code == 0);
  CHECK_THAT(fit.output, Catch::Contains("roofline (expert FFN) over 1044 measurements"));
  const auto profile = nlohmann::json::parse(slurp(dir / "p.json"));
  CHECK(profile["tables"].size() == 4);  // one measured table per gated-MLP width
  const double bw = profile["memory_efficiency"].get<double>() * 3.35e12;
  CHECK(bw > 2.8e12);  // H100 HBM3 sustains 2.7–3.3 TB/s (NVIDIA H100 SXM datasheet: 3.35 TB/s peak)
  CHECK(bw <= 3.35e12);
  // In-sample, and labelled so: the fitted profile's tables are these measurements'
  // medians (a check that the tables are used, not of accuracy).
  const auto mlp = validate("--profile " + (dir / "p.json").string() + " --except same_node=0 --except same_node=1", dir / "v2.json");
  REQUIRE(mlp["ops"].size() == 4);
  for (const auto& op : mlp["ops"]) {
    CHECK(op["sample"] == "in-sample");
    CHECK(op["mape"].get<double>() <= 0.01);
  }
  // Out of sample (docs/calibration.md, "Held-out figures"): each width predicted by the
  // roofline fitted on the other three; measured 9.0–9.6%.
  const Result held_out = run("calibrate validate " + kData + " --except same_node=0 --except same_node=1 --holdout width --base h100-sxm"
                              " --json " + (dir / "loo.json").string());
  INFO(held_out.output);
  REQUIRE(held_out.exit_code == 0);
  const auto unseen = nlohmann::json::parse(slurp(dir / "loo.json"));
  REQUIRE(unseen.size() == 4);
  for (const auto& r : unseen) {
    INFO(r["held_out"]);
    REQUIRE(r["validation"]["ops"].size() == 1);
    CHECK(r["validation"]["ops"][0]["sample"] == "held-out");
    CHECK(r["validation"]["ops"][0]["mape"].get<double>() > 0.05);  // a prediction, not a table lookup
    CHECK(r["validation"]["ops"][0]["mape"].get<double>() < 0.11);
  }
  // The shipped datasheet defaults are checked, not assumed: they are 14–28% off.
  const auto shipped = validate("--profile h100-sxm --except same_node=0 --except same_node=1", dir / "v3.json");
  for (const auto& op : shipped["ops"]) CHECK(op["mape"].get<double>() > 0.05);
  const Result filter = run("calibrate validate " + kData + " --only d_ff=wide");
  CHECK(filter.exit_code == 2);
  CHECK_THAT(filter.output, Catch::Contains("shape filter 'd_ff=wide': expected key=integer"));
  const Result measure = run("calibrate measure");
  CHECK(measure.exit_code == 2);
  CHECK_THAT(measure.output, Catch::Contains("GPU"));
}

// Our own run of moesim-calibrate on an H200 (calibrate/data/h200.jsonl, see its header).
TEST_CASE("calibrate fit + validate on our H200 measurements", "[experiments][cli][calibrate]") {
  const std::string data = MOESIM_SOURCE_DIR "/calibrate/data/h200.jsonl";
  const auto dir = moesim_test::fresh_temp_dir("moesim_calibrate_h200_test");
  auto check_validate = [&](const std::string& args, const std::string& name) {
    const Result r = run("calibrate validate " + data + " " + args + " --json " + (dir / name).string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return nlohmann::json::parse(slurp(dir / name));
  };
  const Result fit = run("calibrate fit " + data + " --base h200-sxm -o " + (dir / "p.json").string());
  INFO(fit.output);
  REQUIRE(fit.exit_code == 0);
  CHECK_THAT(fit.output, Catch::Contains("roofline (expert FFN) over 200 measurements"));  // 8 widths × 25 sizes; spread runs apart
  const auto profile = nlohmann::json::parse(slurp(dir / "p.json"));
  CHECK(profile["tables"].size() == 8);
  const double bw = profile["memory_efficiency"].get<double>() * 4.8e12;
  CHECK(bw > 4.0e12);  // above any H100 (3.35 TB/s peak): the H200's HBM3e shows in the fit
  CHECK(bw <= 4.8e12);
  // Pinned host copies run at the PCIe Gen5 figure our dgx-h100 preset uses (55 GB/s).
  bool saw_h2d = false;
  for (const auto& l : profile["calibration"]["links"]) {
    if (l["transfer"] != "memcpy_h2d pinned=1") continue;
    saw_h2d = true;
    CHECK(l["bytes_per_s"].get<double>() == Approx(55e9).epsilon(0.03));
  }
  CHECK(saw_h2d);
  // Spread runs: 20 per size on the one GPU, a few percent apart run to run.
  REQUIRE(profile["calibration"]["spread"].size() == 2);
  for (const auto& s : profile["calibration"]["spread"]) {
    CHECK(s["runs"] == 20);
    CHECK(s["cv"].get<double>() > 0.0);
    CHECK(s["cv"].get<double>() < 0.10);
    CHECK(s["speed_factor"].get<double>() == Approx(1.0));
  }
  // In-sample, and labelled so: the tables reproduce their own medians, and summing
  // the single-expert tables gives Mixtral's experts run back to back within 5%.
  const auto mlp = check_validate("--profile " + (dir / "p.json").string(), "v1.json");
  int grouped = 0;
  for (const auto& op : mlp["ops"]) {
    if (op["op"] == "gated_mlp") {
      CHECK(op["sample"] == "in-sample");
      CHECK(op["mape"].get<double>() <= 0.01);
    }
    if (op["op"] == "grouped_mlp" && op["shape"].get<std::string>().find("d_ff=14336") != std::string::npos) {
      ++grouped;
      CHECK(op["mape"].get<double>() <= 0.05);
    }
  }
  CHECK(grouped == 3);
  // What has no counterpart is counted and named, not silently dropped.
  CHECK(mlp["skipped"].size() == 4);
  // Pinned copies over the dgx-h100 preset's PCIe path, whose start-up and bandwidth
  // were fitted on this file (in-sample): within 5%.
  const auto copies = check_validate("--profile h200-sxm --only pinned=1", "v2.json");
  REQUIRE(copies["ops"].size() == 2);
  for (const auto& op : copies["ops"]) CHECK(op["mape"].get<double>() <= 0.05);
  // Out of sample (docs/calibration.md, "Held-out figures"). Each width predicted by the
  // roofline of the other seven: 4.0–16.4% measured (the small 768 width worst).
  const auto unseen = check_validate("--holdout width --base h200-sxm", "v3.json");
  REQUIRE(unseen.size() == 8);
  for (const auto& r : unseen) {
    for (const auto& op : r["validation"]["ops"]) {
      INFO(r["held_out"] << " " << op["op"]);
      CHECK(op["sample"] == "held-out");
      CHECK(op["mape"].get<double>() > 0.02);  // a prediction, not a table lookup
      CHECK(op["mape"].get<double>() < 0.18);
    }
  }
  // Run to run: each H200 run predicted by the profile fitted on the other (tables carry
  // over): expert FFNs 6.2% pooled, 1.8% on Mixtral's width.
  const std::string run2 = MOESIM_SOURCE_DIR "/calibrate/data/h200-run2.jsonl";
  const auto runs = check_validate(run2 + " --holdout file --base h200-sxm", "v4.json");
  REQUIRE(runs.size() == 2);
  int pinned_rows = 0;
  for (const auto& r : runs) {
    CHECK(r["same_device"] == true);
    // The dgx-h100 preset's PCIe start-up was fitted on run 1, so run 1's pinned copies
    // stay in-sample when run 1 is "held out"; run 2's are the prediction.
    const bool run1 = r["held_out"] == "h200.jsonl";
    for (const auto& op : r["validation"]["ops"]) {
      const std::string shape = op["shape"];
      if (op["op"] == "gated_mlp" && shape.find("d_ff=14336") != std::string::npos) CHECK(op["mape"].get<double>() < 0.03);
      if (shape == "pinned=1") {
        ++pinned_rows;
        CHECK(op["sample"] == (run1 ? "in-sample" : "held-out"));
      }
    }
  }
  CHECK(pinned_rows == 4);
}

// Fused attention (calibrate/torch/attention_bench.py on the same H200): the fitter gives
// each attention op its own roofline, and the profile predicts fused attention better
// with it than with the expert FFN's efficiencies.
// The tile/wave model against the roofline, both judged on what their fits never saw
// (docs/calibration.md, "GEMM waves"): measured 8.2% -> 7.6% leaving out each H200
// width, 9.3% -> 8.0% each Vidur H100 width, 10.1% -> 8.1% across the two GPUs.
TEST_CASE("the tile/wave model predicts held-out widths and GPUs better than the roofline", "[experiments][cli][calibrate]") {
  const std::string h200 = MOESIM_SOURCE_DIR "/calibrate/data/h200.jsonl";
  const auto dir = moesim_test::fresh_temp_dir("moesim_calibrate_waves_test");
  // Pooled held-out MAPE of single expert FFNs over every run.
  const auto pooled = [&](const std::string& args, const std::string& gemm) {
    const auto json = dir / (gemm + ".json");
    const Result r = run("calibrate validate " + args + " --gemm " + gemm + " --json " + json.string());
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    double sum = 0.0, points = 0.0;
    for (const auto& run : nlohmann::json::parse(slurp(json))) {
      for (const auto& op : run["validation"]["ops"]) {
        if (op["op"] != "gated_mlp") continue;
        sum += op["mape"].get<double>() * op["points"].get<double>();
        points += op["points"].get<double>();
      }
    }
    return sum / points;
  };
  for (const std::string& args : {h200 + " --holdout width --base h200-sxm", kData + " --holdout width --base h100-sxm",
                                  kData + " " + h200 + " --holdout file --base h100-sxm,h200-sxm"}) {
    INFO(args);
    const double roofline = pooled(args, "roofline"), waves = pooled(args, "waves");
    CHECK(waves < roofline - 0.005);  // at least half a point better
    CHECK(waves > 0.05);              // still not the 5% target: a prediction, honestly reported
  }
  const Result refused = run("calibrate validate " + h200 + " --gemm waves");
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.output, Catch::Contains("--gemm applies to fit and to validate --holdout"));
}

TEST_CASE("calibrate fit: fused attention gets its own roofline", "[experiments][cli][calibrate]") {
  const std::string mlp = MOESIM_SOURCE_DIR "/calibrate/data/h200.jsonl";
  const std::string attention = MOESIM_SOURCE_DIR "/calibrate/data/h200-attention.jsonl";
  const auto dir = moesim_test::fresh_temp_dir("moesim_calibrate_attention_test");
  const Result fit = run("calibrate fit " + mlp + " " + attention + " --base h200-sxm -o " + (dir / "p.json").string());
  INFO(fit.output);
  REQUIRE(fit.exit_code == 0);
  // Fused lines only (45 decode, 21 prefill): the cuBLAS stand-ins of h200.jsonl stay out.
  CHECK_THAT(fit.output, Catch::Contains("attention_decode roofline over 45 measurements"));
  CHECK_THAT(fit.output, Catch::Contains("attention_prefill roofline over 21 measurements"));
  auto profile = nlohmann::json::parse(slurp(dir / "p.json"));
  const double decode_bw = profile["op_rooflines"]["attention_decode"]["memory_efficiency"].get<double>() * 4.8e12;
  CHECK(decode_bw > 2.5e12);  // the KV-cache read: well below the GEMMs' 4.6 TB/s, above half the peak
  CHECK(decode_bw < 4.0e12);
  profile.erase("op_rooflines");
  std::ofstream(dir / "without.json") << profile.dump();
  double with_own = 0.0, without = 0.0;
  for (const auto& [file, total] : {std::pair{dir / "p.json", &with_own}, std::pair{dir / "without.json", &without}}) {
    const Result r = run("calibrate validate " + attention + " --profile " + file.string() + " --json " + (dir / "v.json").string());
    REQUIRE(r.exit_code == 0);
    const auto v = nlohmann::json::parse(slurp(dir / "v.json"));
    REQUIRE(v["ops"].size() == 12);  // 3 shapes × (prefill + 3 decode contexts)
    for (const auto& op : v["ops"]) *total += op["mape"].get<double>() / 12.0;
  }
  CHECK(with_own < 0.15);  // docs/calibration.md: 6.4–19.1% per op and shape
  CHECK(with_own < without - 0.05);
}

TEST_CASE("spread summary: run-to-run variation and per-GPU speed factors", "[experiments][calibrate]") {
  // GPU 0 runs at 98/100/102 µs, GPU 1 at 108/110/112 µs: medians 100 and 110, mean 105.
  const auto s = moesim::calibrate::summarize_spread({{{0, 64.0}, {100.0, 98.0, 102.0}}, {{1, 64.0}, {110.0, 112.0, 108.0}}});
  REQUIRE(s.size() == 2);
  CHECK(s[0].median_us == 100.0);
  CHECK(s[0].cv == Approx(2.0 / 100.0));  // sample standard deviation 2
  CHECK(s[0].speed_factor == Approx(1.05));
  CHECK(s[1].speed_factor == Approx(105.0 / 110.0));
  CHECK(s[1].min_us == 108.0);
  CHECK(s[1].max_us == 112.0);
}

TEST_CASE("convert-vidur reads any Vidur profiling folder: repository layout or flat, device from the path",
          "[experiments][cli][calibrate]") {
  const auto dir = moesim_test::fresh_temp_dir("moesim_convert_vidur_test");
  const std::string mlp_header =
      "num_tensor_parallel_workers,n_embd,n_expanded_embd,use_gated_mlp,num_tokens,"
      "time_stats.mlp_up_proj.median,time_stats.mlp_up_proj.min,time_stats.mlp_up_proj.max,"
      "time_stats.mlp_act.median,time_stats.mlp_act.min,time_stats.mlp_act.max,"
      "time_stats.mlp_down_proj.median,time_stats.mlp_down_proj.min,time_stats.mlp_down_proj.max\n";
  // Vidur's repository layout: an A100 70B-shape MLP (TP 2 halves d_ff) and an A100 link.
  const auto compute = dir / "repo" / "data" / "profiling" / "compute" / "a100" / "meta-llama" / "Llama-2-70b-hf";
  const auto network = dir / "repo" / "data" / "profiling" / "network" / "a100_pairwise_nvlink";
  std::filesystem::create_directories(compute);
  std::filesystem::create_directories(network);
  std::ofstream(compute / "mlp.csv") << mlp_header << "2,8192,28672,True,64,0.1,0.1,0.1,0.01,0.01,0.01,0.05,0.05,0.05\n"
                                     << "2,8192,28672,True,128,0.2,0.2,0.2,0.02,0.02,0.02,0.1,0.1,0.1\n";
  std::ofstream(network / "send_recv.csv") << "time_stats.send_recv.min,time_stats.send_recv.max,time_stats.send_recv.median,"
                                              "size,devices_per_node\n0.01,0.02,0.015,1048576,2\n";
  const Result repo = run("calibrate convert-vidur " + (dir / "repo").string() + " -o " + (dir / "a100.jsonl").string());
  INFO(repo.output);
  REQUIRE(repo.exit_code == 0);
  CHECK_THAT(repo.output, Catch::Contains("3 measurements (2 gated MLP, 1 point-to-point) from 2 file(s)"));
  const auto a100 = moesim::calibrate::read_measurements((dir / "a100.jsonl").string());
  REQUIRE(a100.measurements.size() == 3);
  CHECK(a100.measurements[0].device == "NVIDIA A100 80GB (Vidur)");
  CHECK(a100.measurements[0].shape.at("d_ff") == 14336);  // 28672 / TP 2
  CHECK(a100.measurements[0].shape.at("d_model") == 8192);
  CHECK(a100.measurements[0].median_us == Approx(160.0));  // (0.1 + 0.01 + 0.05) ms
  CHECK(a100.measurements[2].op == "p2p");
  CHECK(a100.measurements[2].device == "NVIDIA A100 80GB (Vidur)");
  CHECK_THAT(a100.header, Catch::Contains("Llama-2-70b-hf/mlp.csv"));
  // Flat files named <device>_<model>_mlp.csv; --device overrides what the path says.
  std::filesystem::create_directories(dir / "flat");
  std::ofstream(dir / "flat" / "l40s_mixtral_mlp.csv") << mlp_header << "1,4096,14336,True,8,0.1,0.1,0.1,0.01,0.01,0.01,0.05,0.05,0.05\n";
  REQUIRE(run("calibrate convert-vidur " + (dir / "flat").string() + " -o " + (dir / "l40s.jsonl").string()).exit_code == 0);
  CHECK(moesim::calibrate::read_measurements((dir / "l40s.jsonl").string()).measurements[0].device == "NVIDIA L40S (Vidur)");
  REQUIRE(run("calibrate convert-vidur " + (dir / "flat").string() + " --device 'my GPU' -o " + (dir / "mine.jsonl").string()).exit_code == 0);
  CHECK(moesim::calibrate::read_measurements((dir / "mine.jsonl").string()).measurements[0].device == "my GPU");
  // A file whose path names no GPU, and a folder without profiling files: exit 2, named.
  std::filesystem::create_directories(dir / "unnamed");
  std::ofstream(dir / "unnamed" / "mlp.csv") << mlp_header;
  const Result unnamed = run("calibrate convert-vidur " + (dir / "unnamed").string() + " -o " + (dir / "x.jsonl").string());
  CHECK(unnamed.exit_code == 2);
  CHECK_THAT(unnamed.output, Catch::Contains("mlp.csv: cannot tell which GPU") && Catch::Contains("--device"));
  std::filesystem::create_directories(dir / "empty");
  const Result empty = run("calibrate convert-vidur " + (dir / "empty").string() + " -o " + (dir / "x.jsonl").string());
  CHECK(empty.exit_code == 2);
  CHECK_THAT(empty.output, Catch::Contains("no Vidur profiling files"));
  CHECK_FALSE(std::filesystem::exists(dir / "x.jsonl"));
}
