#pragma once
// moesim sweep: a grid of scenario variants (JSON path × values) × policies × seeds.
// Every point is independent and seeded, so results do not depend on how many
// threads or MPI ranks ran them, or on whether the sweep was resumed.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/workflows/scenario_variant.h"

namespace moesim::workflows {

struct SweepAxis {
  std::string path;
  std::vector<nlohmann::json> values;
  // Axes of one group move together (a "zip": the i-th values of each); every
  // "grid" axis is a group of its own, and the sweep is the product of groups.
  std::size_t group = 0;
};

struct SweepSpec {
  std::string source;  // the sweep file, for errors
  ScenarioDocument scenario;
  std::vector<SweepAxis> axes;
  std::vector<std::string> policies;  // empty: the scenario's own placement
  std::vector<std::uint64_t> seeds;   // empty: the scenario's seed
  // Whether `a` shares its group with another axis.
  bool is_zipped(const SweepAxis& a) const {
    std::size_t n = 0;
    for (const auto& b : axes) n += b.group == a.group ? 1 : 0;
    return n > 1;
  }
  // Everything that decides the results (scenario document included): a resumed
  // sweep must match it exactly.
  nlohmann::json identity() const;
};

struct SweepPoint {
  std::size_t index = 0;
  Overrides overrides;
  std::string key;  // canonical text of the overrides: what resuming matches on
};

// {"scenario": file, "grid": {path: [values], ...}, "zip": {path: [values], ...},
//  "policies": [...], "seeds": [...]}: the product of the grid axes and the zip
// (whose lists, of one length, are walked in step; e.g. GPUs and arrival rate).
// Throws InputError naming the JSON path for bad specs, empty grids, zips of
// unequal lengths and paths the scenario does not have.
SweepSpec load_sweep_spec(const std::string& path);
std::vector<SweepPoint> sweep_points(const SweepSpec& spec);
// Builds every point's scenario once, so that a bad value fails before any run.
void check_points(const SweepSpec& spec, const std::vector<SweepPoint>& points);

// One point's outcome: {"index", "key", "parameters", "policy", "seed", "metrics"}
// or, when the variant cannot run (e.g. the placement does not fit), "error".
nlohmann::ordered_json run_point(const SweepSpec& spec, const SweepPoint& point);

// Runs `points` on `threads` workers; `on_done` is called (serialised) with each result.
void run_points(const SweepSpec& spec, const std::vector<SweepPoint>& points, int threads,
                const std::function<void(const nlohmann::ordered_json&)>& on_done);

// Results sorted by index -> outputs.
std::string sweep_json(const SweepSpec& spec, const std::vector<nlohmann::ordered_json>& results);
std::string sweep_csv(const SweepSpec& spec, const std::vector<nlohmann::ordered_json>& results);
std::string sweep_table(const SweepSpec& spec, const std::vector<nlohmann::ordered_json>& results,
                        const std::vector<std::string>& metrics);

}  // namespace moesim::workflows
