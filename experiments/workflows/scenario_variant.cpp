#include "experiments/workflows/scenario_variant.h"

#include <fmt/format.h>

#include "experiments/workflows/json_path.h"
#include "util/json_input.h"

namespace moesim::workflows {

ScenarioDocument load_scenario_document(const std::string& path) {
  return {path, JsonInput::load_file(path).raw()};
}

void check_override_path(const ScenarioDocument& scenario, const std::string& path, const JsonInput& where) {
  if (const std::string why = why_missing(scenario.json, path); !why.empty()) {
    where.fail(fmt::format("{} has no value at this path ({})", scenario.path, why));
  }
}

run::Scenario make_variant(const ScenarioDocument& base, const Overrides& overrides) {
  nlohmann::json document = base.json;
  for (const auto& [path, value] : overrides.values) set_at_path(document, path, value, base.path);
  run::Scenario s = run::parse_scenario(JsonInput::parse(document.dump(), base.path));
  if (!overrides.policy.empty()) s = s.with_placement(overrides.policy);
  if (overrides.seed) {
    s.seed = *overrides.seed;
    s.resolved["seed"] = s.seed;
  }
  return s;
}

}  // namespace moesim::workflows
