// moesim settings: every scenario setting declared with util::Settings — key,
// default, accepted values, description — by section (docs/scenario-settings.md is
// this command's --markdown output).
#include <fmt/format.h>
#include <iostream>

#include "experiments/cli/command.h"
#include "models/offload/offload_config.h"
#include "models/serverless/serverless_config.h"
#include "models/serving/serving_config.h"
#include "util/text_table.h"

namespace moesim::cli {
namespace {

struct Section {
  std::string key;       // where it sits in a scenario
  std::string what;
  std::vector<util::SettingDoc> rows;
};

std::vector<Section> sections() {
  return {{"serving", "serving scenarios: how the engine batches and communicates (docs/models.md)",
           util::describe_settings(models::serving_settings())},
          {"serverless", "serving scenarios with a provisioner (moeless): the serverless runtime (docs/serverless.md)",
           util::describe_settings(models::serverless_settings())},
          {"offload", "offload scenarios: copies from the expert's home, besides the cache size (docs/offload.md)",
           util::describe_settings(models::offload_settings())}};
}

}  // namespace

int run_settings(const std::vector<std::string>& args) {
  CommandParser parser("settings", "[options]",
                       "Lists the scenario settings of each section with their defaults, accepted values and\n"
                       "meaning, as the code declares them (one declaration per setting).");
  bool as_markdown = false;
  parser.add_options()("markdown", po::bool_switch(&as_markdown), "print Markdown tables (docs/scenario-settings.md)");
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  for (const auto& s : sections()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : s.rows) rows.push_back({"`" + r.key + "`", r.default_value, r.accepted, r.description});
    if (as_markdown) {
      std::cout << fmt::format("\n## `{}`\n\n{}\n\n", s.key, s.what)
                << util::markdown_table({"key", "default", "accepted", "description"}, rows);
    } else {
      util::TextTable table({"key", "default", "accepted", "description"});
      for (auto& r : rows) {
        r[0] = r[0].substr(1, r[0].size() - 2);
        table.add_row(r);
      }
      for (std::size_t c = 1; c < 4; ++c) table.align_left(c);
      std::cout << fmt::format("\n\"{}\": {}\n", s.key, s.what) << table.render();
    }
  }
  return 0;
}

}  // namespace moesim::cli
