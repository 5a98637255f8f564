#pragma once
// Reading user JSON (scenarios, catalogs, profiles) with errors that say where:
// every value carries its source name and JSON path, so a wrong type or a missing
// field becomes "gpu.json: $.peak_flops.bf16: expected a positive number, got "fast"".
// All errors are InputError (exit code 2 at the CLI).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "util/errors.h"

namespace moesim {

// One JSON value, checked as JsonInput::parse checks a document (a key twice in one
// object, a number beyond double range, a syntax error: InputError naming `source`
// and, for syntax, line:column): for JSON Lines readers, which keep plain values.
nlohmann::json parse_json_value(std::string_view text, const std::string& source);

class JsonInput {
 public:
  // Parses text; `source` names it in errors (a file name, "<built-in mixtral-8x7b>").
  static JsonInput parse(std::string_view text, std::string source);
  // Reads at most kMaxJsonBytes (docs/limits.md); a directory, a device without end
  // (/dev/zero) or a larger file is an InputError, not an allocation until bad_alloc.
  static JsonInput load_file(const std::filesystem::path& path);
  static constexpr std::size_t kMaxJsonBytes = std::size_t{512} << 20;

  const std::string& source() const { return *source_; }
  const std::string& path() const { return path_; }
  std::string where() const { return source() + ": " + path_; }
  const nlohmann::json& raw() const { return *value_; }

  bool has(std::string_view key) const;
  JsonInput at(std::string_view key) const;                       // required member
  std::optional<JsonInput> find(std::string_view key) const;       // optional member
  std::vector<JsonInput> items() const;                           // array elements
  std::vector<std::pair<std::string, JsonInput>> members() const;  // object members, in file order

  double number() const;
  double positive_number() const;      // > 0, finite
  double non_negative_number() const;  // >= 0, finite
  double number_in(double lo, double hi) const;
  // A duration written in units of `unit_s` seconds (1 for "_s" keys, 1e-3 for
  // "_ms", 1e-6 for "_us"), returned as written (in its unit). Accepted: 0 when allow_zero, else
  // [1 ns, kMaxDurationSeconds] — every duration then fits the engine's integer-ns
  // clock with room for sums of many (docs/limits.md).
  double duration(double unit_s, bool allow_zero = false) const;
  static constexpr double kMaxDurationSeconds = 1e8;  // about 3 years
  // A rate in events per second, [kMinRatePerSecond, kMaxRatePerSecond] (or 0 when
  // allow_zero): the mean gap stays at least 1 µs, far above the clock's 1 ns, and at
  // most the longest duration, so gaps stay far inside the clock's 292 years
  // (docs/limits.md).
  double rate_per_s(bool allow_zero = false) const;
  static constexpr double kMaxRatePerSecond = 1e6;
  static constexpr double kMinRatePerSecond = 1.0 / kMaxDurationSeconds;
  std::int64_t integer() const;
  std::int64_t integer_at_least(std::int64_t lo) const;
  // An integer in [lo, hi], checked in int64 before any caller narrows it (so that
  // 4294967297 is refused rather than read as 1 by a cast to int).
  std::int64_t integer_in(std::int64_t lo, std::int64_t hi) const;
  std::int64_t integer_in_or(std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t fallback) const;
  std::string string() const;
  // A string naming a file: relative paths are taken relative to the folder of the
  // JSON document it appears in, so scenarios can point at files beside them.
  std::string path_relative_to_source() const;
  bool boolean() const;
  // A string that must be one of `names`; anything else fails listing them.
  std::string choice(const std::vector<std::string>& names) const;
  // An enum value by its name.
  template <class E>
  E choice(const std::vector<std::pair<std::string, E>>& names) const {
    std::vector<std::string> keys;
    for (const auto& n : names) keys.push_back(n.first);
    const std::string name = choice(keys);
    for (const auto& n : names) {
      if (n.first == name) return n.second;
    }
    return names.front().second;  // not reached: choice() accepted one of them
  }

  // Optional members with defaults.
  double number_or(std::string_view key, double fallback) const;
  std::int64_t integer_or(std::string_view key, std::int64_t fallback) const;
  std::string string_or(std::string_view key, std::string fallback) const;
  bool boolean_or(std::string_view key, bool fallback) const;

  // Every key a reader looked up (found or not) is remembered per object. This throws
  // InputError naming the first member, in this value's subtree, of an object the
  // reader opened but never asked for — a typo ("rate_per_sec") that would otherwise
  // be ignored and silently leave a default in place — and the keys that object
  // does know. "comment" members are always allowed; objects the reader never
  // opened (passed on whole) are not checked.
  void reject_unknown_keys() const;

  // Throws InputError("<where>: <message>").
  [[noreturn]] void fail(const std::string& message) const;
  void check(bool ok, const std::string& expected) const;

 private:
  struct AskedKeys;  // per document: the keys looked up in each object
  JsonInput(std::shared_ptr<const nlohmann::json> root, const nlohmann::json* value,
            std::shared_ptr<const std::string> source, std::string path, std::shared_ptr<AskedKeys> asked)
      : root_(std::move(root)), value_(value), source_(std::move(source)), path_(std::move(path)), asked_(std::move(asked)) {}
  JsonInput child(const nlohmann::json* value, std::string path) const {
    return JsonInput(root_, value, source_, std::move(path), asked_);
  }
  void note_asked(std::string_view key) const;
  std::string describe() const;  // the value as found, for "got ..."

  std::shared_ptr<const nlohmann::json> root_;  // keeps the document alive
  const nlohmann::json* value_;
  std::shared_ptr<const std::string> source_;
  std::string path_;
  std::shared_ptr<AskedKeys> asked_;
};

// The name of an enum value in a choice table ("?" when it has none).
template <class E>
std::string choice_name(const std::vector<std::pair<std::string, E>>& names, E value) {
  for (const auto& n : names) {
    if (n.second == value) return n.first;
  }
  return "?";
}

}  // namespace moesim
