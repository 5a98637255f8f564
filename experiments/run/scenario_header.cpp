#include "experiments/run/scenario_header.h"

#include <fmt/format.h>

#include "models/catalog.h"

namespace moesim::run {

ScenarioHeader parse_scenario_header(const JsonInput& json, const std::string& default_name,
                                     const std::optional<std::string>& default_topology) {
  ScenarioHeader h;
  h.name = json.string_or("name", default_name);
  if (const auto seed = json.find("seed")) h.seed = static_cast<std::uint64_t>(seed->integer_at_least(0));
  for (const char* moved : {"gpu", "topology"}) {
    if (const auto old = json.find(moved)) old->fail(fmt::format("'{}' belongs under \"cluster\" (\"cluster\": {{\"{}\": ...}})", moved, moved));
  }
  const JsonInput model = json.at("model");
  h.model = models::load_moe_model(model.string(), model.where());
  const JsonInput cluster = json.at("cluster");
  const JsonInput gpu = cluster.at("gpu");
  h.gpu = models::load_gpu_profile(gpu.string(), gpu.where());
  if (const auto t = cluster.find("topology")) {
    h.topology = models::parse_topology_options(*t);
  } else if (default_topology) {
    h.topology.preset = *default_topology;
  } else {
    cluster.at("topology");  // names what is missing
  }
  return h;
}

}  // namespace moesim::run
