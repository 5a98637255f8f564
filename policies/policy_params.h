#pragma once
// The parameters of one policy as given in a scenario ({"policy": name, ...}):
// typed getters with defaults and ranges, errors that name the policy, the
// parameter and the constraint, and a check that no unknown parameter was given.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "util/json_input.h"

namespace moesim::policies {

class PolicyParams {
 public:
  PolicyParams(std::string policy, std::optional<JsonInput> json) : policy_(std::move(policy)), json_(std::move(json)) {}
  double number(const std::string& name, double fallback, double lo, double hi);
  // At most `hi`: policies narrow their integers to int, so the default bound keeps
  // 4294967297 from wrapping to 1 (docs/limits.md).
  std::int64_t integer(const std::string& name, std::int64_t fallback, std::int64_t lo, std::int64_t hi = 1 << 30);
  std::string text(const std::string& name, const std::string& fallback);
  bool boolean(const std::string& name, bool fallback);
  // One of `options` (the fallback among them); anything else is an error listing them.
  std::string choice(const std::string& name, const std::string& fallback, const std::vector<std::string>& options);
  // Throws if the JSON holds a key no getter asked for (after all getters ran).
  void reject_unknown() const;
  const std::string& policy() const { return policy_; }

 private:
  std::string policy_;
  std::optional<JsonInput> json_;
  std::set<std::string> asked_{"policy"};
};

}  // namespace moesim::policies
