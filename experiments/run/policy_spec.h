#pragma once
// A policy named on the command line: "name" or "name:param=value:param=value"
// (values parsed as JSON when they are JSON, else taken as strings).
#include <optional>
#include <string>

#include "util/json_input.h"

namespace moesim::run {

struct PolicySpec {
  std::string name;
  std::optional<JsonInput> params;  // {"policy": name, param: value, ...}; nullopt = defaults
  std::string text;                 // as given, for tables
};

PolicySpec parse_policy_spec(const std::string& spec);

}  // namespace moesim::run
