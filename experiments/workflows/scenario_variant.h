#pragma once
// A scenario document plus overrides: the unit of work of sweeps and plans. The
// variant is parsed exactly like a scenario file (same checks, same error paths,
// file references relative to the original file).
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/run/scenario.h"

namespace moesim::workflows {

struct ScenarioDocument {
  std::string path;  // where it was read from: names it in errors, anchors relative paths
  nlohmann::json json;
};

ScenarioDocument load_scenario_document(const std::string& path);
// Throws InputError at `where` (the spec's entry for that path) unless `path`
// names an existing value of the scenario: a typo must not pass as a new key.
void check_override_path(const ScenarioDocument& scenario, const std::string& path, const JsonInput& where);

struct Overrides {
  std::vector<std::pair<std::string, nlohmann::json>> values;  // JSON path -> value
  std::string policy;                                           // empty: the scenario's own placement
  std::optional<std::uint64_t> seed;                            // nullopt: the scenario's seed
};

// Throws InputError naming the path or value when the variant is not a valid scenario.
run::Scenario make_variant(const ScenarioDocument& base, const Overrides& overrides);

}  // namespace moesim::workflows
