#include "models/catalog.h"

#include <algorithm>
#include <fmt/format.h>

#include "models/builtin_data.h"
#include "util/errors.h"

namespace moesim::models {

std::vector<std::string> builtin_names(std::string_view kind) {
  std::vector<std::string> names;
  for (const BuiltinFile& f : builtin_files()) {
    if (f.kind == kind) names.emplace_back(f.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

JsonInput load_description(std::string_view kind, std::string_view name_or_path, std::string_view what) {
  const std::string key(name_or_path);
  if (key.size() > 5 && key.ends_with(".json")) return JsonInput::load_file(key);
  for (const BuiltinFile& f : builtin_files()) {
    if (f.kind == kind && f.name == key) {
      return JsonInput::parse(f.text, fmt::format("<built-in {}/{}.json>", kind, f.name));
    }
  }
  throw InputError(fmt::format("{}: unknown {} '{}' (known: {}; or give a path to a .json file)", what,
                               kind == "gpus" ? "GPU profile" : "model", key, fmt::join(builtin_names(kind), ", ")));
}

MoeModel load_moe_model(std::string_view name_or_path, std::string_view what) {
  return parse_moe_model(load_description("models", name_or_path, what));
}

}  // namespace moesim::models
