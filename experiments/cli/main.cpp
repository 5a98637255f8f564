// moesim: discrete-event simulator for Mixture-of-Experts LLM serving.
// Dispatches `moesim <command> ...` to the command table; maps errors to exit
// codes: 2 for bad usage or bad input, 3 for internal errors.
#include <fmt/format.h>

#include <iostream>
#include <string>
#include <vector>

#include "experiments/cli/command.h"
#include "moesim_version.h"
#include "util/errors.h"

namespace {

void print_usage(std::ostream& out) {
  out << "moesim " << MOESIM_VERSION << ": discrete-event simulator for Mixture-of-Experts LLM serving\n\n"
      << "Usage: moesim <command> [options]\n"
      << "       moesim <command> --help\n\n"
      << "Commands:\n";
  for (const auto& c : moesim::cli::commands()) out << fmt::format("  {:<10} {}\n", c.name, c.summary);
  out << "\nOptions:\n  -h, --help     show this help\n  -V, --version  show the version\n";
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string& first = args[0];
  if (first == "--help" || first == "-h" || first == "help") {
    print_usage(std::cout);
    return 0;
  }
  if (first == "--version" || first == "-V") {
    std::cout << "moesim " << MOESIM_VERSION << "\n";
    return 0;
  }
  for (const auto& c : moesim::cli::commands()) {
    if (first != c.name) continue;
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
      return c.run(rest);
    } catch (const moesim::cli::UsageError& e) {
      std::cerr << "moesim " << c.name << ": " << e.what() << "\nTry 'moesim " << c.name << " --help'.\n";
      return 2;
    } catch (const moesim::InputError& e) {
      std::cerr << "moesim " << c.name << ": " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "moesim " << c.name << ": internal error: " << e.what() << "\n";
      return 3;
    }
  }
  std::cerr << "moesim: unknown command '" << first << "'";
  if (first.rfind('-', 0) == 0) std::cerr << " (options go after a command)";
  std::cerr << "\n\n";
  print_usage(std::cerr);
  return 2;
}
