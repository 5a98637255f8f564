#pragma once
// Error types shared by every layer. InputError means "the user gave us something
// invalid" (exit code 2 at the CLI); anything else escaping to the CLI is a bug.
#include <stdexcept>
#include <string>

namespace moesim {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws InputError("<what> must be <expected>, got <value>") unless ok.
void require_input(bool ok, const std::string& what, const std::string& expected, const std::string& got);

}  // namespace moesim
