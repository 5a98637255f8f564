#pragma once
// A setting is declared once, beside its struct: its JSON key, the accepted range,
// the unit conversion and a description. From that one declaration come the reader
// (from_json), the echo that reads back to the same value (to_json) and the rows of
// the documentation tables (`moesim settings`, docs/scenario-settings.md). The
// default is the struct's own member initialiser, so it is written nowhere else.
// (ns-3's AddAttribute and SimGrid's model declarations follow the same idea;
// docs/architecture.md, "Parameters".)
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/json_input.h"

namespace moesim::util {

template <class C>
struct Setting {
  std::string key;
  std::string accepted;     // "[1, 16777216]", "continuous | static-buckets", ...
  std::string description;  // what it is; the source of its default where one applies
  std::function<void(const JsonInput&, C&)> read;
  std::function<nlohmann::ordered_json(const C&)> write;
};

template <class C>
using Settings = std::vector<Setting<C>>;

// A row of a documentation table: the default is the echo of a default-built struct.
struct SettingDoc {
  std::string key;
  std::string default_value;
  std::string accepted;
  std::string description;
};

// Every declared key present in `json` is read into `c`; absent keys keep c's value.
template <class C>
void read_settings(const JsonInput& json, const Settings<C>& settings, C& c) {
  for (const auto& s : settings) {
    if (const auto v = json.find(s.key)) s.read(*v, c);
  }
}

template <class C>
nlohmann::ordered_json write_settings(const Settings<C>& settings, const C& c) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& s : settings) j[s.key] = s.write(c);
  return j;
}

template <class C>
std::vector<SettingDoc> describe_settings(const Settings<C>& settings, const C& defaults = C{}) {
  std::vector<SettingDoc> rows;
  for (const auto& s : settings) rows.push_back({s.key, s.write(defaults).dump(), s.accepted, s.description});
  return rows;
}

// ---- declarations by kind ----------------------------------------------------------

// An integer member in [lo, hi], checked in int64 before narrowing (docs/limits.md).
template <class C, class T>
Setting<C> integer_setting(std::string key, T C::*member, std::int64_t lo, std::int64_t hi, std::string description) {
  return {std::move(key), fmt::format("integer in [{}, {}]", lo, hi), std::move(description),
          [=](const JsonInput& v, C& c) { c.*member = static_cast<T>(v.integer_in(lo, hi)); },
          [=](const C& c) { return nlohmann::ordered_json(static_cast<std::int64_t>(c.*member)); }};
}

// A real number written in the key's unit; the member holds it times `scale`
// (1e9 for "_gb_per_s" read into bytes per second).
template <class C>
Setting<C> number_setting(std::string key, double C::*member, double lo, double hi, std::string description,
                          double scale = 1.0) {
  return {std::move(key), fmt::format("number in [{:g}, {:g}]", lo, hi), std::move(description),
          [=](const JsonInput& v, C& c) { c.*member = v.number_in(lo, hi) * scale; },
          [=](const C& c) { return nlohmann::ordered_json(c.*member / scale); }};
}

// A duration written in units of `unit_ns` nanoseconds (1e9 for "_s", 1e6 for
// "_ms", 1e3 for "_us"), held as integer nanoseconds (rounded to nearest).
template <class C>
Setting<C> duration_setting(std::string key, std::int64_t C::*member, double unit_ns, bool allow_zero,
                            std::string description) {
  const double unit_s = unit_ns * 1e-9;
  return {std::move(key),
          fmt::format("{}duration in [{:g}, {:g}]", allow_zero ? "0 or a " : "", 1.0 / unit_ns,
                      JsonInput::kMaxDurationSeconds / unit_s),
          std::move(description),
          [=](const JsonInput& v, C& c) {
            c.*member = static_cast<std::int64_t>(std::nearbyint(v.duration(unit_s, allow_zero) * unit_ns));
          },
          [=](const C& c) { return nlohmann::ordered_json(static_cast<double>(c.*member) / unit_ns); }};
}

// A duration, or `unset_word` (the default, std::nullopt) to let the model derive it:
// e.g. a transfer's software start-up from the topology's fitted links.
template <class C>
Setting<C> optional_duration_setting(std::string key, std::optional<std::int64_t> C::*member, double unit_ns,
                                     std::string unset_word, std::string description) {
  const double unit_s = unit_ns * 1e-9;
  return {std::move(key),
          fmt::format("\"{}\" or 0 or a duration in [{:g}, {:g}]", unset_word, 1.0 / unit_ns,
                      JsonInput::kMaxDurationSeconds / unit_s),
          std::move(description),
          [=](const JsonInput& v, C& c) {
            if (v.raw().is_string()) {
              v.choice(std::vector<std::string>{unset_word});  // anything else: an error naming the word
              c.*member = std::nullopt;
            } else {
              c.*member = static_cast<std::int64_t>(std::nearbyint(v.duration(unit_s, true) * unit_ns));
            }
          },
          [=](const C& c) {
            const auto& value = c.*member;
            return value ? nlohmann::ordered_json(static_cast<double>(*value) / unit_ns) : nlohmann::ordered_json(unset_word);
          }};
}

// Bytes given in GiB, checked as a double before the cast (1e300 GiB fits no int64).
template <class C>
Setting<C> gib_setting(std::string key, std::int64_t C::*member, double lo, double hi, std::string description) {
  constexpr double kGiB = 1073741824.0;
  return {std::move(key), fmt::format("GiB in [{:g}, {:g}]", lo, hi), std::move(description),
          [=](const JsonInput& v, C& c) { c.*member = static_cast<std::int64_t>(v.number_in(lo, hi) * kGiB); },
          [=](const C& c) { return nlohmann::ordered_json(static_cast<double>(c.*member) / kGiB); }};
}

template <class C>
Setting<C> boolean_setting(std::string key, bool C::*member, std::string description) {
  return {std::move(key), "true | false", std::move(description),
          [=](const JsonInput& v, C& c) { c.*member = v.boolean(); },
          [=](const C& c) { return nlohmann::ordered_json(c.*member); }};
}

// An enum member named in JSON by one of `names`.
template <class C, class E>
Setting<C> choice_setting(std::string key, E C::*member, std::vector<std::pair<std::string, E>> names,
                          std::string description) {
  std::string accepted;
  for (const auto& n : names) accepted += (accepted.empty() ? "" : " | ") + n.first;
  return {std::move(key), accepted, std::move(description),
          [=](const JsonInput& v, C& c) { c.*member = v.choice(names); },
          [=](const C& c) { return nlohmann::ordered_json(choice_name(names, c.*member)); }};
}

}  // namespace moesim::util
