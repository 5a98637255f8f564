#include "sim/json_input.h"

#include <cmath>
#include <functional>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

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

JsonInput JsonInput::parse(std::string_view text, std::string source) {
  auto src = std::make_shared<const std::string>(std::move(source));
  try {
    auto root = std::make_shared<const nlohmann::json>(nlohmann::json::parse(text));
    const nlohmann::json* value = root.get();
    return JsonInput(std::move(root), value, std::move(src), "$", std::make_shared<AskedKeys>());
  } catch (const nlohmann::json::parse_error& e) {
    // Translate the byte offset into a line and column.
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    const std::string what = e.what();
    const auto colon = what.rfind(": ");
    throw InputError(fmt::format("{}:{}:{}: invalid JSON: {}", *src, line, column,
                                 colon == std::string::npos ? what : what.substr(colon + 2)));
  }
}

JsonInput JsonInput::load_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open file", path.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse(buffer.str(), path.string());
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

std::int64_t JsonInput::integer() const {
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
