#include "experiments/run/policy_spec.h"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace moesim::run {

PolicySpec parse_policy_spec(const std::string& spec) {
  PolicySpec p;
  p.text = spec;
  const auto colon = spec.find(':');
  p.name = spec.substr(0, colon);
  if (colon == std::string::npos) return p;
  nlohmann::json j{{"policy", p.name}};
  std::size_t at = colon + 1;
  while (at <= spec.size()) {
    const auto next = std::min(spec.find(':', at), spec.size());
    const std::string pair = spec.substr(at, next - at);
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw InputError(fmt::format("policy '{}': expected param=value, got '{}'", spec, pair));
    }
    const auto value = nlohmann::json::parse(pair.substr(eq + 1), nullptr, false);
    j[pair.substr(0, eq)] = value.is_discarded() ? nlohmann::json(pair.substr(eq + 1)) : value;
    at = next + 1;
  }
  p.params = JsonInput::parse(j.dump(), fmt::format("policy '{}'", spec));
  return p;
}

}  // namespace moesim::run
