#include "policies/policy_params.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace moesim::policies {

void PolicyParams::declare(const std::string& name, std::string default_value, std::string accepted,
                           const std::string& description) {
  asked_.insert(name);
  declared_.push_back({name, std::move(default_value), std::move(accepted), description});
}

double PolicyParams::number(const std::string& name, double fallback, double lo, double hi, const std::string& description) {
  declare(name, fmt::format("{}", fallback), fmt::format("number in [{}, {}]", lo, hi), description);
  if (!json_) return fallback;
  const auto v = json_->find(name);
  if (!v) return fallback;
  const double x = v->number();
  if (!(x >= lo && x <= hi)) {
    v->fail(fmt::format("policy '{}': parameter {} must be in [{}, {}], got {}", policy_, name, lo, hi, x));
  }
  return x;
}

std::int64_t PolicyParams::integer(const std::string& name, std::int64_t fallback, std::int64_t lo, std::int64_t hi,
                                   const std::string& description) {
  declare(name, std::to_string(fallback), fmt::format("integer in [{}, {}]", lo, hi), description);
  if (!json_) return fallback;
  const auto v = json_->find(name);
  if (!v) return fallback;
  const std::int64_t x = v->integer();
  if (x < lo) v->fail(fmt::format("policy '{}': parameter {} must be at least {}, got {}", policy_, name, lo, x));
  if (x > hi) v->fail(fmt::format("policy '{}': parameter {} must be at most {}, got {}", policy_, name, hi, x));
  return x;
}

std::string PolicyParams::choice(const std::string& name, const std::string& fallback,
                                 const std::vector<std::string>& options, const std::string& description) {
  declare(name, fallback, fmt::format("{}", fmt::join(options, " | ")), description);
  if (!json_) return fallback;
  const auto v = json_->find(name);
  if (!v) return fallback;
  const std::string value = v->string();
  if (std::find(options.begin(), options.end(), value) != options.end()) return value;
  v->fail(fmt::format("policy '{}': parameter {} must be one of {}, got '{}'", policy_, name, fmt::join(options, ", "), value));
}

bool PolicyParams::boolean(const std::string& name, bool fallback, const std::string& description) {
  declare(name, fallback ? "true" : "false", "true | false", description);
  if (!json_) return fallback;
  const auto v = json_->find(name);
  return v ? v->boolean() : fallback;
}

void PolicyParams::reject_unknown() const {
  if (!json_) return;
  for (const auto& [key, value] : json_->members()) {
    if (asked_.count(key) == 0) {
      std::string known;
      for (const auto& k : asked_) {
        if (k != "policy") known += (known.empty() ? "" : ", ") + k;
      }
      value.fail(fmt::format("policy '{}' has no parameter '{}' (its parameters: {})", policy_, key,
                             known.empty() ? "none" : known));
    }
  }
}

}  // namespace moesim::policies
