#include "experiments/workflows/json_path.h"

#include <fmt/format.h>

#include <cctype>
#include <variant>
#include <vector>

#include "util/errors.h"

namespace moesim::workflows {
namespace {

using Step = std::variant<std::string, std::size_t>;  // member name or array index

std::vector<Step> parse_path(const std::string& path) {
  std::size_t i = 0;
  if (path.rfind("$", 0) == 0) i = 1;
  std::vector<Step> steps;
  while (i < path.size()) {
    if (path[i] == '.') {
      const std::size_t start = ++i;
      while (i < path.size() && path[i] != '.' && path[i] != '[') ++i;
      if (i == start) throw InputError(fmt::format("bad JSON path '{}': empty member name at character {}", path, start));
      steps.emplace_back(path.substr(start, i - start));
    } else if (path[i] == '[') {
      const std::size_t start = ++i;
      while (i < path.size() && std::isdigit(static_cast<unsigned char>(path[i]))) ++i;
      if (i == start || i >= path.size() || path[i] != ']') {
        throw InputError(fmt::format("bad JSON path '{}': expected [<index>] at character {}", path, start - 1));
      }
      steps.emplace_back(static_cast<std::size_t>(std::stoull(path.substr(start, i - start))));
      ++i;
    } else if (steps.empty() && i == 0) {
      // "cluster.gpu" without the leading "$."
      const std::size_t start = i;
      while (i < path.size() && path[i] != '.' && path[i] != '[') ++i;
      steps.emplace_back(path.substr(start, i - start));
    } else {
      throw InputError(fmt::format("bad JSON path '{}': unexpected '{}' at character {}", path, path[i], i));
    }
  }
  if (steps.empty()) throw InputError(fmt::format("bad JSON path '{}': names no value (expected e.g. $.cluster.gpu)", path));
  return steps;
}

std::string step_text(const Step& step) {
  if (const auto* name = std::get_if<std::string>(&step)) return "." + *name;
  return fmt::format("[{}]", std::get<std::size_t>(step));
}

// The value at `path`, or the first missing step's description in `missing`.
template <class Json>
Json* walk(Json& document, const std::string& path, std::string& missing) {
  Json* node = &document;
  std::string where = "$";
  for (const Step& step : parse_path(path)) {
    if (const auto* name = std::get_if<std::string>(&step)) {
      if (!node->is_object() || !node->contains(*name)) {
        missing = node->is_object() ? fmt::format("no member '{}' at {}", *name, where)
                                    : fmt::format("{} is a {}, not an object", where, node->type_name());
        return nullptr;
      }
      node = &(*node)[*name];
    } else {
      const std::size_t index = std::get<std::size_t>(step);
      if (!node->is_array() || index >= node->size()) {
        missing = node->is_array() ? fmt::format("{} has {} elements, not {}", where, node->size(), index + 1)
                                   : fmt::format("{} is a {}, not an array", where, node->type_name());
        return nullptr;
      }
      node = &(*node)[index];
    }
    where += step_text(step);
  }
  return node;
}

}  // namespace

void set_at_path(nlohmann::json& document, const std::string& path, const nlohmann::json& value,
                 const std::string& source) {
  std::string missing;
  nlohmann::json* node = walk(document, path, missing);
  if (node == nullptr) throw InputError(fmt::format("{}: path {} does not exist ({})", source, path, missing));
  *node = value;
}

std::string why_missing(const nlohmann::json& document, const std::string& path) {
  std::string missing;
  walk(document, path, missing);
  return missing;
}

}  // namespace moesim::workflows
