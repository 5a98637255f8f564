// moesim policies: every registered policy with its parameters, defaults and ranges,
// as the policies' factories declare them (docs/policies.md's tables are this
// command's --markdown output).
#include <fmt/format.h>
#include <iostream>

#include "experiments/cli/command.h"
#include "policies/registry.h"
#include "util/text_table.h"

namespace moesim::cli {
namespace {

std::string markdown() {
  std::string out;
  std::string kind;
  std::vector<std::vector<std::string>> rows;
  const auto flush = [&] {
    if (!rows.empty()) out += fmt::format("\n**{}**\n\n", kind) + util::markdown_table({"policy", "parameter", "default", "accepted", "description"}, rows);
    rows.clear();
  };
  for (const auto& p : policies::policy_catalog()) {
    if (p.kind != kind) {
      flush();
      kind = p.kind;
    }
    if (p.params.empty()) rows.push_back({"`" + p.name + "`", "—", "", "", p.description});
    for (const auto& param : p.params) {
      rows.push_back({"`" + p.name + "`", "`" + param.name + "`", param.default_value, param.accepted, param.description});
    }
  }
  flush();
  return out;
}

}  // namespace

int run_policies(const std::vector<std::string>& args) {
  CommandParser parser("policies", "[options]",
                       "Lists the registered policies by kind (placement, predictor, dispatch, cache,\n"
                       "provisioner) with their parameters, defaults and accepted values. Scenarios select\n"
                       "them as {\"policy\": name, parameters...}; compare and place take name:param=value.");
  bool as_markdown = false;
  parser.add_options()("markdown", po::bool_switch(&as_markdown), "print Markdown tables (docs/policies.md)");
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  if (as_markdown) {
    std::cout << markdown();
    return 0;
  }
  std::string kind;
  for (const auto& p : policies::policy_catalog()) {
    if (p.kind != kind) {
      kind = p.kind;
      std::cout << fmt::format("\n{}:\n", kind);
    }
    std::cout << fmt::format("  {:<20} {}\n", p.name, p.description);
    for (const auto& param : p.params) {
      std::cout << fmt::format("  {:<20}   {} = {}  [{}]  {}\n", "", param.name, param.default_value, param.accepted,
                               param.description);
    }
  }
  return 0;
}

}  // namespace moesim::cli
