#include "util/errors.h"

#include <fmt/format.h>

namespace moesim {

void require_input(bool ok, const std::string& what, const std::string& expected, const std::string& got) {
  if (!ok) throw InputError(fmt::format("{} must be {}, got {}", what, expected, got));
}

}  // namespace moesim
