// moesim calibrate convert-vidur | fit | validate: measurements in, GPU profile and
// sim-vs-measured errors out.
#include <fmt/format.h>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include "calibrate/vidur.h"
#include "calibrate/holdout.h"
#include "calibrate/validation.h"
#include "experiments/cli/command.h"
#include "experiments/report/plot.h"
#include "models/catalog.h"
#include "util/atomic_file.h"

namespace moesim::cli {
namespace {

int convert_vidur(const std::string& dir, const std::string& output, const std::string& device) {
  if (output.empty()) throw UsageError("missing -o/--output file");
  std::vector<calibrate::Measurement> ms;
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  std::size_t mlp = 0;
  for (const auto& f : calibrate::find_vidur_files(dir, device)) {
    const std::string path = dir + "/" + f.path;
    const auto read = f.kind == "mlp" ? calibrate::read_vidur_mlp(path, f.device) : calibrate::read_vidur_send_recv(path, f.device);
    if (f.kind == "mlp") mlp += read.size();
    ms.insert(ms.end(), read.begin(), read.end());
    files.push_back({{"file", f.path}, {"device", f.device}, {"measurements", read.size()}});
  }
  const nlohmann::ordered_json header{
      {"header",
       {{"data", "Vidur profiling data (github.com/microsoft/vidur, MIT; Agrawal et al., MLSys 2024)"},
        {"converted_by", "moesim calibrate convert-vidur"},
        {"files", files}}}};
  std::string text = header.dump() + "\n";
  for (const auto& m : ms) text += calibrate::to_json_line(m) + "\n";
  write_file_atomic(output, text);
  std::cout << fmt::format("Converted {} measurements ({} gated MLP, {} point-to-point) from {} file(s) to {}\n", ms.size(), mlp,
                           ms.size() - mlp, files.size(), output);
  for (const auto& f : files) {
    std::cout << fmt::format("  {}: {} measurements, device {}\n", f["file"].get<std::string>(), f["measurements"].get<std::size_t>(),
                             f["device"].get<std::string>());
  }
  return 0;
}

}  // namespace

int run_calibrate(const std::vector<std::string>& args) {
  CommandParser parser("calibrate", "<action> [options]",
                       "Actions:\n"
                       "  convert-vidur <dir> -o <file.jsonl>   every Vidur mlp.csv and send_recv.csv under <dir> (Vidur's\n"
                       "           data/profiling layout or flat <device>_<model>_mlp.csv), device from the path\n"
                       "  fit <measurements.jsonl>... --base <gpu> -o <profile.json>\n"
                       "           least-squares roofline (efficiencies, launch overhead), measured latency tables,\n"
                       "           a roofline per attention op measured, link fits and spread summaries; the\n"
                       "           profile loads wherever a GPU name is accepted\n"
                       "  validate <measurements.jsonl>... --profile <gpu|profile.json> [--topology dgx-h100]\n"
                       "           replays every measured configuration through the simulator's models and\n"
                       "           prints per-op MAPE and worst case, each row labelled in-sample (the profile was\n"
                       "           fitted on that file) or held-out; --json, --png (measured vs simulated)\n"
                       "  validate <measurements.jsonl>... --holdout width|file --base <gpu>[,<gpu>...]\n"
                       "           out of sample: fits on all but one expert width (or file) and validates the one\n"
                       "           left out, in turn; with one --base per file (in order) a file of another device\n"
                       "           is judged on its own datasheet peaks with the efficiencies fitted on the others\n"
                       "  measure [-o file.jsonl] [--quick]   CUDA microbenchmarks (moesim-calibrate, built when CMake\n"
                       "           finds CUDA): expert FFNs of the catalog shapes alone and back to back, attention\n"
                       "           stand-ins, host/device/peer copies, launch overhead, spread runs with NVML readings;\n"
                       "           refuses to run (exit 2) when no GPU is visible");
  std::vector<std::string> positional;
  std::string output;
  std::string base = "h100-sxm";
  std::string profile = "h100-sxm";
  std::string topology = "dgx-h100";
  std::string device;
  std::string json_path;
  std::string png_path;
  std::vector<std::string> only;
  std::vector<std::string> except;
  double overhead_us = 0.0;
  std::string holdout;
  bool quick = false;
  std::string gemm = "roofline";
  parser.add_options()("args", po::value(&positional), "action and input")("output,o", po::value(&output), "output file")(
      "quick", po::bool_switch(&quick), "measure: fewer shapes and repetitions (a minute-long smoke run)")(
      "base", po::value(&base)->default_value(base), "fit: GPU profile whose datasheet peaks the fit is relative to")(
      "profile", po::value(&profile)->default_value(profile), "validate: GPU profile (name or JSON file)")(
      "topology", po::value(&topology)->default_value(topology), "validate: topology preset for transfers")(
      "device", po::value(&device), "convert-vidur: device name recorded (default: from each file's path, e.g. h100)")(
      "json", po::value(&json_path), "validate: also write JSON here")("png", po::value(&png_path), "validate: measured vs simulated plot")(
      "only", po::value(&only), "use only measurements whose shape has key=value (repeatable)")(
      "except", po::value(&except), "leave out measurements whose shape has key=value (repeatable)")(
      "holdout", po::value(&holdout), "validate: width | file — fit on the rest, validate what is held out")(
      "gemm", po::value(&gemm)->default_value(gemm),
      "fit, validate --holdout: roofline | waves — also fit the tile/wave model of expert FFNs (docs/calibration.md)")(
      "transfer-overhead-us", po::value(&overhead_us)->default_value(overhead_us),
      "validate: software latency added to each simulated transfer beyond the preset's fitted start-up");
  parser.add_positional("args", -1);
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (positional.empty()) throw UsageError("missing action (convert-vidur, fit, validate, measure)");
  const std::string& action = positional[0];
  if (action == "measure") {
    // The microbenchmarks are their own CUDA binary next to this one (built when CMake finds CUDA).
    const auto bench = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "moesim-calibrate";
    if (!std::filesystem::exists(bench)) {
      std::cerr << "moesim calibrate measure: this build has no CUDA microbenchmarks (CMake did not find CUDA); "
                   "rebuild on a machine with the CUDA toolkit and run it where a GPU is visible\n";
      return 2;
    }
    std::string command = bench.string();
    if (!output.empty()) command += " -o '" + output + "'";
    if (quick) command += " --quick";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  if (action == "convert-vidur") {
    if (positional.size() != 2) throw UsageError("convert-vidur takes one input folder");
    return convert_vidur(positional[1], output, device);
  }
  if (positional.size() < 2) throw UsageError(fmt::format("{} takes one or more measurement files", action));
  // Several files are read as one set (say, the microbenchmarks' and the fused-attention runs).
  std::vector<calibrate::Measurement> measurements;
  std::vector<std::vector<calibrate::Measurement>> per_file;  // --holdout file
  std::string inputs;
  for (std::size_t i = 1; i < positional.size(); ++i) {
    auto file = calibrate::read_measurements(positional[i]).measurements;
    if (!only.empty()) file = calibrate::select(file, only, true);
    for (const auto& e : except) file = calibrate::select(file, {e}, false);
    measurements.insert(measurements.end(), file.begin(), file.end());
    per_file.push_back(std::move(file));
    inputs += (i > 1 ? " + " : "") + positional[i];
  }
  if (measurements.empty()) throw UsageError("no measurements left after --only/--except");
  if (!holdout.empty() && action != "validate") throw UsageError("--holdout applies to validate only");
  if (gemm != "roofline" && gemm != "waves") throw UsageError(fmt::format("--gemm: expected roofline or waves, got '{}'", gemm));
  if (gemm == "waves" && action == "validate" && holdout.empty()) {
    throw UsageError("--gemm applies to fit and to validate --holdout (a profile carries its own model)");
  }
  const bool waves = gemm == "waves";
  if (action == "fit") {
    if (output.empty()) throw UsageError("missing -o/--output profile file");
    const auto fit = calibrate::fit_profile(measurements, base, inputs, waves);
    write_file_atomic(output, fit.profile_json);
    auto print_roofline = [](const std::string& what, const calibrate::RooflineFit& r) {
      std::cout << fmt::format("{} over {} measurements: overhead {:.2f} µs, bandwidth {:.2f} TB/s, compute {:.0f} TFLOP/s "
                               "(rms relative error {:.1f}%)\n",
                               what, r.points, r.overhead_s * 1e6, r.bytes_per_s / 1e12, r.flops_per_s / 1e12, 100 * r.rms_relative_error);
    };
    if (fit.roofline.points > 0) print_roofline("roofline (expert FFN)", fit.roofline);
    for (const auto& [op, r] : fit.op_rooflines) print_roofline(op + " roofline", r);
    if (fit.waves) {
      const auto& w = fit.waves->waves;
      std::cout << fmt::format("tile/wave model (expert FFN) over {} measurements: overhead {:.2f} µs, memory efficiency {:.3f}, "
                               "compute efficiency {:.3f}, {:.2f} µs per wave over {} SMs (rms relative error {:.1f}%)\n",
                               fit.waves->points, sim::to_seconds(w.roofline.launch_overhead) * 1e6, w.roofline.memory_efficiency,
                               w.roofline.compute_efficiency, sim::to_seconds(w.wave_overhead) * 1e6, w.sm_count,
                               100 * fit.waves->rms_relative_error);
    }
    for (const auto& [shape, l] : fit.links) {
      std::cout << fmt::format("{}: latency {:.2f} µs, bandwidth {:.1f} GB/s over {} transfers (rms relative error {:.1f}%)\n",
                               shape, l.latency_s * 1e6, l.bytes_per_s / 1e9, l.points, 100 * l.rms_relative_error);
    }
    for (const auto& r : fit.spread) {
      std::cout << fmt::format("spread gpu {} at {:.0f} tokens: {} runs, median {:.1f} µs, min {:.1f}, max {:.1f}, run-to-run cv {:.1f}%, "
                               "speed factor {:.3f}\n",
                               r.gpu, r.tokens, r.runs, r.median_us, r.min_us, r.max_us, 100 * r.cv, r.speed_factor);
    }
    std::cout << "Profile: " << output << "\n";
    return 0;
  }
  if (action == "validate" && !holdout.empty()) {
    if (!png_path.empty()) throw UsageError("--png applies to validate without --holdout");
    calibrate::HoldoutOptions options;
    options.bases = parse_name_list("base", base, "GPU profile");
    options.topology = topology;
    options.transfer_overhead_us = overhead_us;
    options.gemm_waves = waves;
    std::vector<calibrate::HoldoutRun> runs;
    if (holdout == "width") {
      runs = calibrate::holdout_by_width(measurements, options);
    } else if (holdout == "file") {
      runs = calibrate::holdout_by_file(per_file, options);
    } else {
      throw UsageError(fmt::format("--holdout: expected width or file, got '{}'", holdout));
    }
    std::cout << calibrate::format_holdout(
        runs, fmt::format("{}: held out by {}, fits relative to {}, expert FFNs by the {}", inputs, holdout, base,
                          waves ? "tile/wave model" : "roofline"));
    if (!json_path.empty()) {
      write_file_atomic(json_path, calibrate::holdout_json(runs));
      std::cout << "JSON: " << json_path << "\n";
    }
    return 0;
  }
  if (action == "validate") {
    const models::GpuProfile gpu = models::load_gpu_profile(profile, "--profile");
    const auto v = calibrate::validate(measurements, gpu, topology, overhead_us);
    std::cout << calibrate::format_validation(v, fmt::format("{} vs {} (profile {}, topology {})", inputs, "simulated", gpu.name, topology));
    const std::string json = calibrate::validation_json(v);
    if (!json_path.empty()) {
      write_file_atomic(json_path, json);
      std::cout << "JSON: " << json_path << "\n";
    }
    if (!png_path.empty()) {
      report::render_plot("calibration-scatter", json, png_path);
      std::cout << "PNG: " << png_path << "\n";
    }
    return 0;
  }
  throw UsageError(fmt::format("unknown action '{}' (expected: convert-vidur, fit, validate, measure)", action));
}

}  // namespace moesim::cli
