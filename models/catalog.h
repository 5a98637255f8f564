#pragma once
// The built-in descriptions shipped with moesim (models/data/<kind>/<name>.json,
// embedded in the binary at build time) and lookup by name or file path.
#include <string>
#include <string_view>
#include <vector>

#include "models/moe_model.h"
#include "util/json_input.h"

namespace moesim::models {

// Kinds: "models", "gpus". Names are file names without ".json", sorted.
std::vector<std::string> builtin_names(std::string_view kind);

// A built-in by name, or a user file when `name_or_path` ends in ".json". An
// unknown name is an InputError listing the known ones; `what` names the
// setting in that message (e.g. "$.cluster.gpu").
JsonInput load_description(std::string_view kind, std::string_view name_or_path, std::string_view what);

MoeModel load_moe_model(std::string_view name_or_path, std::string_view what = "model");

}  // namespace moesim::models
