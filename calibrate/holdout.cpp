#include "calibrate/holdout.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "models/catalog.h"
#include "util/errors.h"
#include "util/text_table.h"

namespace moesim::calibrate {

namespace {

// The profile fitted on `train`. Its file list is cleared: the held-out rows may come
// from the same file (another width), and none of them entered the fit.
models::GpuProfile fitted(const std::vector<Measurement>& train, const std::string& base, const std::string& note,
                          bool gemm_waves) {
  const ProfileFit fit = fit_profile(train, base, note, gemm_waves);
  models::GpuProfile g = models::parse_gpu_profile(JsonInput::parse(fit.profile_json, "<profile fitted on " + note + ">"));
  g.fitted_on.clear();
  return g;
}

// The fitted efficiencies and overheads on another GPU's datasheet profile: what
// carries over to a device the fit never saw (its tables do not).
models::GpuProfile transplant(const models::GpuProfile& fit, const std::string& target) {
  models::GpuProfile g = models::load_gpu_profile(target, "held-out GPU profile");
  g.memory_efficiency = fit.memory_efficiency;
  g.compute_efficiency = fit.compute_efficiency;
  g.launch_overhead = fit.launch_overhead;
  g.op_rooflines = fit.op_rooflines;
  if (fit.gemm_waves) {
    if (g.sm_count <= 0) throw InputError(fmt::format("held-out GPU profile '{}' has no sm_count for the wave model", g.name));
    g.gemm_waves = fit.gemm_waves;
    g.gemm_waves->sm_count = g.sm_count;  // the fitted efficiencies and costs, over this GPU's SMs
  }
  g.tables.clear();
  g.fitted_on.clear();
  return g;
}

}  // namespace

std::vector<HoldoutRun> holdout_by_width(const std::vector<Measurement>& ms, const HoldoutOptions& options) {
  std::set<std::int64_t> widths;
  for (const auto& m : ms) {
    const auto it = m.shape.find("d_ff");
    if (is_expert_ffn(m) && it != m.shape.end() && m.shape.count("spread") == 0) widths.insert(it->second);
  }
  if (widths.size() < 2) throw InputError("--holdout width: needs expert FFN measurements of two or more widths (d_ff)");
  std::vector<HoldoutRun> runs;
  for (const std::int64_t width : widths) {
    const std::string key = fmt::format("d_ff={}", width);
    std::vector<Measurement> test;
    for (const auto& m : select(ms, {key}, true)) {
      if (is_expert_ffn(m)) test.push_back(m);
    }
    HoldoutRun run;
    run.held_out = key;
    run.trained_on = "the other widths";
    const models::GpuProfile gpu = fitted(select(ms, {key}, false), options.bases.at(0), "all but " + key, options.gemm_waves);
    run.validation = validate(test, gpu, options.topology, options.transfer_overhead_us);
    runs.push_back(std::move(run));
  }
  return runs;
}

std::vector<HoldoutRun> holdout_by_file(const std::vector<std::vector<Measurement>>& files, const HoldoutOptions& options) {
  if (files.size() < 2) throw InputError("--holdout file: needs two or more measurement files (one held out at a time)");
  if (options.bases.size() != 1 && options.bases.size() != files.size()) {
    throw InputError(fmt::format("--base: expected one profile or one per file ({}), got {}", files.size(), options.bases.size()));
  }
  const auto base_of = [&](std::size_t i) { return options.bases.size() == 1 ? options.bases[0] : options.bases[i]; };
  std::vector<HoldoutRun> runs;
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::vector<Measurement> train;
    std::set<std::string> devices;
    std::set<std::string> bases;
    std::string names;
    for (std::size_t j = 0; j < files.size(); ++j) {
      if (j == i) continue;
      train.insert(train.end(), files[j].begin(), files[j].end());
      for (const auto& m : files[j]) devices.insert(m.device);
      bases.insert(base_of(j));
      names += (names.empty() ? "" : " + ") + (files[j].empty() ? std::string("?") : files[j].front().file);
    }
    if (bases.size() != 1) {
      throw InputError(fmt::format("--holdout file: the files fitted on without {} have different bases; a fit is relative to one",
                                   files[i].empty() ? "?" : files[i].front().file));
    }
    HoldoutRun run;
    run.held_out = files[i].empty() ? "?" : files[i].front().file;
    run.trained_on = names;
    run.same_device = std::all_of(files[i].begin(), files[i].end(), [&](const Measurement& m) { return devices.count(m.device) > 0; });
    models::GpuProfile gpu = fitted(train, *bases.begin(), names, options.gemm_waves);
    if (!run.same_device) gpu = transplant(gpu, base_of(i));
    run.validation = validate(files[i], gpu, options.topology, options.transfer_overhead_us);
    runs.push_back(std::move(run));
  }
  return runs;
}

std::string format_holdout(const std::vector<HoldoutRun>& runs, const std::string& title) {
  util::TextTable t({"held out", "fitted on", "op", "shape", "sample", "points", "MAPE", "worst", "at"});
  std::map<std::string, std::pair<double, std::size_t>> pooled;  // op -> (sum of errors, points)
  for (const auto& r : runs) {
    for (const auto& e : r.validation.ops) {
      t.add_row({r.held_out + (r.same_device ? "" : " (other GPU)"), r.trained_on, e.op, e.shape, e.sample,
                 std::to_string(e.points), fmt::format("{:.1f}%", 100 * e.mape), fmt::format("{:.1f}%", 100 * e.worst),
                 is_transfer_op(e.op) ? fmt::format("{:.0f} B", e.worst_at) : fmt::format("{:.0f} tok", e.worst_at)});
      // A transfer from a file the topology presets' links were fitted on stays
      // in-sample whatever the profile was fitted on: not a prediction, not pooled.
      if (e.sample != "held-out") continue;
      pooled[e.op].first += e.mape * static_cast<double>(e.points);
      pooled[e.op].second += e.points;
    }
  }
  std::string text = title + "\n" + t.render();
  for (const auto& [op, sum] : pooled) {
    text += fmt::format("held-out MAPE, {}: {:.1f}% over {} points\n", op, 100 * sum.first / static_cast<double>(sum.second), sum.second);
  }
  return text;
}

std::string holdout_json(const std::vector<HoldoutRun>& runs) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const auto& r : runs) {
    nlohmann::ordered_json run{{"held_out", r.held_out}, {"fitted_on", r.trained_on}, {"same_device", r.same_device},
                               {"validation", validation_object(r.validation)}};
    j.push_back(run);
  }
  return j.dump(2) + "\n";
}

}  // namespace moesim::calibrate
