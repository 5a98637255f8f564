#include "util/json_input.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "util/input_file.h"

namespace moesim {

struct JsonInput::AskedKeys {
  std::mutex mutex;  // copies of one document may be read from several threads
  std::unordered_map<const nlohmann::json*, std::set<std::string, std::less<>>> keys;
};

void JsonInput::note_asked(std::string_view key) const {
  const std::lock_guard lock(asked_->mutex);
  asked_->keys[value_].emplace(key);
}

namespace {

// The first member of an opened object, at or below `value`, that was never asked for.
void check_asked(const nlohmann::json& value, const std::string& path,
                 const std::unordered_map<const nlohmann::json*, std::set<std::string, std::less<>>>& asked,
                 const std::function<void(const std::string&, const std::string&)>& report) {
  if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) check_asked(value[i], fmt::format("{}[{}]", path, i), asked, report);
    return;
  }
  if (!value.is_object()) return;
  const auto opened = asked.find(&value);
  if (opened == asked.end()) return;  // passed on whole
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (it.key() == "comment") continue;
    if (opened->second.count(it.key()) == 0) {
      report(fmt::format("{}.{}", path, it.key()),
             fmt::format("unknown key '{}' (known here: {})", it.key(), fmt::join(opened->second, ", ")));
    }
    check_asked(it.value(), fmt::format("{}.{}", path, it.key()), asked, report);
  }
}

}  // namespace

void JsonInput::reject_unknown_keys() const {
  std::unordered_map<const nlohmann::json*, std::set<std::string, std::less<>>> asked;
  {
    const std::lock_guard lock(asked_->mutex);
    asked = asked_->keys;
  }
  check_asked(*value_, path_, asked, [&](const std::string& where, const std::string& message) {
    throw InputError(fmt::format("{}: {}: {}", source(), where, message));
  });
}

namespace {

// "line:column" of a byte offset in `text`, 1-based.
std::string line_column(std::string_view text, std::size_t byte) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("{}:{}", line, column);
}

// Tracks the JSON path while nlohmann's parser walks a document, to reject a key
// that appears twice in one object: nlohmann keeps the last and drops the first
// without a word, so a scenario with two "rate_per_s" would silently run one.
class DuplicateKeyCheck {
 public:
  explicit DuplicateKeyCheck(const std::string& source) : source_(source) {}
  bool operator()(int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        frames_.push_back(Frame{event == Event::object_start, {}, {}, 0});
        break;
      case Event::key: {
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) {
          throw InputError(fmt::format("{}: {}: duplicate key '{}' (each key may appear once per object)", source_,
                                       path(), f.key));
        }
        break;
      }
      case Event::object_end:
      case Event::array_end:
        frames_.pop_back();
        advance();
        break;
      case Event::value:
        advance();
        break;
    }
    return true;
  }

 private:
  // An open object or array: where the parser is inside it (the current key or
  // element index). Paths are spelled out only for an error, not per container.
  struct Frame {
    bool object;
    std::set<std::string, std::less<>> keys;
    std::string key;
    std::size_t index;
  };
  std::string path() const {
    std::string p = "$";
    for (const Frame& f : frames_) p += f.object ? "." + f.key : fmt::format("[{}]", f.index);
    return p;
  }
  void advance() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }
  const std::string& source_;
  std::vector<Frame> frames_;
};

}  // namespace

nlohmann::json parse_json_value(std::string_view text, const std::string& source) {
  try {
    return nlohmann::json::parse(text, DuplicateKeyCheck(source));
  } catch (const nlohmann::json::parse_error& e) {
    const std::string what = e.what();
    const auto colon = what.rfind(": ");
    throw InputError(fmt::format("{}:{}: invalid JSON: {}", source, line_column(text, e.byte),
                                 colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (const nlohmann::json::exception& e) {
    // out_of_range 406: a number beyond double range (1e400) — no byte offset given.
    const std::string what = e.what();
    const auto bracket = what.find("] ");
    throw InputError(fmt::format("{}: invalid JSON: {} (numbers must lie within ±1.8e308)", source,
                                 bracket == std::string::npos ? what : what.substr(bracket + 2)));
  }
}

JsonInput JsonInput::parse(std::string_view text, std::string source) {
  auto src = std::make_shared<const std::string>(std::move(source));
  auto root = std::make_shared<const nlohmann::json>(parse_json_value(text, *src));
  const nlohmann::json* value = root.get();
  return JsonInput(std::move(root), value, std::move(src), "$", std::make_shared<AskedKeys>());
}

JsonInput JsonInput::load_file(const std::filesystem::path& path) {
  return parse(util::read_input_file(path.string(), kMaxJsonBytes, "JSON document"), path.string());
}

void JsonInput::fail(const std::string& message) const { throw InputError(where() + ": " + message); }

void JsonInput::check(bool ok, const std::string& expected) const {
  if (!ok) fail(fmt::format("expected {}, got {}", expected, describe()));
}

std::string JsonInput::describe() const {
  std::string text = value_->dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

bool JsonInput::has(std::string_view key) const {
  if (!value_->is_object()) return false;
  note_asked(key);
  return value_->find(std::string(key)) != value_->end();
}

std::optional<JsonInput> JsonInput::find(std::string_view key) const {
  check(value_->is_object(), "an object");
  note_asked(key);
  const auto it = value_->find(std::string(key));
  if (it == value_->end()) return std::nullopt;
  return child(&*it, fmt::format("{}.{}", path_, key));
}

JsonInput JsonInput::at(std::string_view key) const {
  auto found = find(key);
  if (!found) fail(fmt::format("missing required field '{}'", key));
  return *found;
}

std::vector<JsonInput> JsonInput::items() const {
  check(value_->is_array(), "an array");
  std::vector<JsonInput> out;
  for (std::size_t i = 0; i < value_->size(); ++i) {
    out.push_back(child(&(*value_)[i], fmt::format("{}[{}]", path_, i)));
  }
  return out;
}

std::vector<std::pair<std::string, JsonInput>> JsonInput::members() const {
  check(value_->is_object(), "an object");
  std::vector<std::pair<std::string, JsonInput>> out;
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    note_asked(it.key());
    out.emplace_back(it.key(), child(&it.value(), fmt::format("{}.{}", path_, it.key())));
  }
  return out;
}

double JsonInput::number() const {
  check(value_->is_number(), "a number");
  const double v = value_->get<double>();
  check(std::isfinite(v), "a finite number");
  return v;
}

double JsonInput::positive_number() const {
  const double v = number();
  check(v > 0.0, "a positive number");
  return v;
}

double JsonInput::non_negative_number() const {
  const double v = number();
  check(v >= 0.0, "a number >= 0");
  return v;
}

double JsonInput::number_in(double lo, double hi) const {
  const double v = number();
  check(v >= lo && v <= hi, fmt::format("a number in [{}, {}]", lo, hi));
  return v;
}

double JsonInput::duration(double unit_s, bool allow_zero) const {
  const double v = number();
  const double s = v * unit_s;
  const bool ok = (allow_zero && v == 0.0) || (s >= 1e-9 && s <= kMaxDurationSeconds);
  check(ok, fmt::format("{}a duration in [{:g}, {:g}] (1 ns to {:g} s)", allow_zero ? "0 or " : "", 1e-9 / unit_s,
                        kMaxDurationSeconds / unit_s, kMaxDurationSeconds));
  return v;
}

std::string JsonInput::choice(const std::vector<std::string>& names) const {
  const std::string value = string();
  if (std::find(names.begin(), names.end(), value) == names.end()) {
    fail(fmt::format("unknown value '{}' (known: {})", value, fmt::join(names, ", ")));
  }
  return value;
}

double JsonInput::rate_per_s(bool allow_zero) const {
  const double v = number();
  check(((allow_zero && v == 0.0) || v >= kMinRatePerSecond) && v <= kMaxRatePerSecond,
        fmt::format("{}a rate in [{:g}, {:g}] per second", allow_zero ? "0 or " : "", kMinRatePerSecond,
                    kMaxRatePerSecond));
  return v;
}

std::int64_t JsonInput::integer() const {
  // An unsigned value beyond int64 would wrap in get<int64_t>().
  check(!value_->is_number_unsigned() || value_->get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX),
        "an integer <= 9223372036854775807");
  check(value_->is_number_integer() || (value_->is_number_float() && std::trunc(value_->get<double>()) ==
                                                                           value_->get<double>() &&
                                        std::abs(value_->get<double>()) < 9.0e15),
        "an integer");
  return value_->is_number_integer() ? value_->get<std::int64_t>() : static_cast<std::int64_t>(value_->get<double>());
}

std::int64_t JsonInput::integer_at_least(std::int64_t lo) const {
  const std::int64_t v = integer();
  check(v >= lo, fmt::format("an integer >= {}", lo));
  return v;
}

std::int64_t JsonInput::integer_in(std::int64_t lo, std::int64_t hi) const {
  const std::int64_t v = integer();
  check(v >= lo && v <= hi, fmt::format("an integer in [{}, {}]", lo, hi));
  return v;
}

std::int64_t JsonInput::integer_in_or(std::string_view key, std::int64_t lo, std::int64_t hi, std::int64_t fallback) const {
  const auto v = find(key);
  return v ? v->integer_in(lo, hi) : fallback;
}

std::string JsonInput::string() const {
  check(value_->is_string(), "a string");
  return value_->get<std::string>();
}

std::string JsonInput::path_relative_to_source() const {
  std::filesystem::path p = string();
  if (p.is_relative()) p = std::filesystem::path(source()).parent_path() / p;
  return p.lexically_normal().string();
}

bool JsonInput::boolean() const {
  check(value_->is_boolean(), "true or false");
  return value_->get<bool>();
}

double JsonInput::number_or(std::string_view key, double fallback) const {
  const auto v = find(key);
  return v ? v->number() : fallback;
}

std::int64_t JsonInput::integer_or(std::string_view key, std::int64_t fallback) const {
  const auto v = find(key);
  return v ? v->integer() : fallback;
}

std::string JsonInput::string_or(std::string_view key, std::string fallback) const {
  const auto v = find(key);
  return v ? v->string() : std::move(fallback);
}

bool JsonInput::boolean_or(std::string_view key, bool fallback) const {
  const auto v = find(key);
  return v ? v->boolean() : fallback;
}

}  // namespace moesim
