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

// One parameter as its factory declares it: `moesim policies` and the parameter
// tables of docs/policies.md are generated from these, so a parameter's name,
// default, range and description live in one line of the policy's own file.
struct ParamInfo {
  std::string name;
  std::string default_value;
  std::string accepted;
  std::string description;
};

class PolicyParams {
 public:
  PolicyParams(std::string policy, std::optional<JsonInput> json) : policy_(std::move(policy)), json_(std::move(json)) {}
  double number(const std::string& name, double fallback, double lo, double hi, const std::string& description);
  // In [lo, hi]: policies narrow their integers to int, so the bound keeps
  // 4294967297 from wrapping to 1 (docs/limits.md).
  std::int64_t integer(const std::string& name, std::int64_t fallback, std::int64_t lo, std::int64_t hi,
                       const std::string& description);
  bool boolean(const std::string& name, bool fallback, const std::string& description);
  // One of `options` (the fallback among them); anything else is an error listing them.
  std::string choice(const std::string& name, const std::string& fallback, const std::vector<std::string>& options,
                     const std::string& description);
  // Throws if the JSON holds a key no getter asked for (after all getters ran).
  void reject_unknown() const;
  const std::string& policy() const { return policy_; }
  // Every parameter the factory asked for, in its order.
  const std::vector<ParamInfo>& declared() const { return declared_; }

 private:
  void declare(const std::string& name, std::string default_value, std::string accepted, const std::string& description);

  std::string policy_;
  std::optional<JsonInput> json_;
  std::set<std::string> asked_{"policy"};
  std::vector<ParamInfo> declared_;
};

}  // namespace moesim::policies
