// moesim policies: every registered policy with its parameters and defaults.
#include <fmt/format.h>
#include <iostream>

#include "experiments/cli/command.h"
#include "policies/registry.h"

namespace moesim::cli {

int run_policies(const std::vector<std::string>& args) {
  CommandParser parser("policies", "[options]",
                       "Lists the registered policies by kind (placement, predictor, dispatch) with their\n"
                       "parameters and defaults. Scenarios select them as {\"policy\": name, parameters...}\n"
                       "under \"placement\", \"predictor\" and \"dispatch\".");
  po::variables_map vm;
  if (!parser.parse(args, vm)) return 0;
  std::string kind;
  for (const auto& p : policies::policy_catalog()) {
    if (p.kind != kind) {
      kind = p.kind;
      std::cout << fmt::format("\n{}:\n", kind);
    }
    std::cout << fmt::format("  {:<20} {}\n", p.name, p.description);
    for (const auto& param : p.params) {
      std::cout << fmt::format("  {:<20}   {} = {}  ({})\n", "", param.name, param.default_value, param.description);
    }
  }
  return 0;
}

}  // namespace moesim::cli
