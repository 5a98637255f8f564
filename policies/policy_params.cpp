#include "policies/policy_params.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace moesim::policies {

double PolicyParams::number(const std::string& name, double fallback, double lo, double hi) {
  asked_.insert(name);
  if (!json_) return fallback;
  const auto v = json_->find(name);
  if (!v) return fallback;
  const double x = v->number();
  if (!(x >= lo && x <= hi)) {
    v->fail(fmt::format("policy '{}': parameter {} must be in [{}, {}], got {}", policy_, name, lo, hi, x));
  }
  return x;
}

std::int64_t PolicyParams::integer(const std::string& name, std::int64_t fallback, std::int64_t lo, std::int64_t hi) {
  asked_.insert(name);
  if (!json_) return fallback;
  const auto v = json_->find(name);
  if (!v) return fallback;
  const std::int64_t x = v->integer();
  if (x < lo) v->fail(fmt::format("policy '{}': parameter {} must be at least {}, got {}", policy_, name, lo, x));
  if (x > hi) v->fail(fmt::format("policy '{}': parameter {} must be at most {}, got {}", policy_, name, hi, x));
  return x;
}

std::string PolicyParams::choice(const std::string& name, const std::string& fallback,
                                 const std::vector<std::string>& options) {
  const std::string value = text(name, fallback);
  if (std::find(options.begin(), options.end(), value) != options.end()) return value;
  json_->at(name).fail(
      fmt::format("policy '{}': parameter {} must be one of {}, got '{}'", policy_, name, fmt::join(options, ", "), value));
}

bool PolicyParams::boolean(const std::string& name, bool fallback) {
  asked_.insert(name);
  if (!json_) return fallback;
  const auto v = json_->find(name);
  return v ? v->boolean() : fallback;
}

std::string PolicyParams::text(const std::string& name, const std::string& fallback) {
  asked_.insert(name);
  if (!json_) return fallback;
  const auto v = json_->find(name);
  return v ? v->string() : fallback;
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
