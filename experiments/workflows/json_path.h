#pragma once
// Setting one value inside a scenario by JSON path ("$.cluster.topology.machines",
// "$.workload.arrivals.time_scale", "$.stages[2].rate"): what sweeps and plans vary.
// The path must already exist in the document: a typo must not add a key the
// scenario reader would ignore, which would run the base scenario under a new name.
#include <nlohmann/json.hpp>
#include <string>

namespace moesim::workflows {

// Throws InputError "<source>: path <path> does not exist (no member 'x' at $.a)".
void set_at_path(nlohmann::json& document, const std::string& path, const nlohmann::json& value,
                 const std::string& source);
// Empty when the path names an existing value, else why not ("no member 'x' at $.a").
std::string why_missing(const nlohmann::json& document, const std::string& path);

}  // namespace moesim::workflows
