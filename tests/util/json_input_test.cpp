// JsonInput's reading errors: unknown keys in the objects a reader opened are named
// with their path and the keys that object knows.
#include <catch2/catch.hpp>

#include "util/json_input.h"

using namespace moesim;

TEST_CASE("keys nobody asked for are rejected with their path and the known ones", "[sim][json]") {
  const auto json = JsonInput::parse(R"({"a": 1, "inner": {"x": 2, "y": 3, "typo": 4}, "comment": "free text"})", "s.json");
  CHECK(json.number_or("a", 0) == 1);
  const auto inner = json.at("inner");
  CHECK(inner.number_or("x", 0) == 2);
  CHECK_FALSE(inner.find("z"));  // asked for but absent: still a known key
  CHECK(inner.has("y"));
  CHECK_THROWS_WITH(json.reject_unknown_keys(),
                    Catch::Contains("s.json: $.inner.typo: unknown key 'typo' (known here: x, y, z)"));
  CHECK_THROWS_WITH(inner.reject_unknown_keys(), Catch::Contains("$.inner.typo"));
  CHECK(inner.number_or("typo", 0) == 4);
  CHECK_NOTHROW(json.reject_unknown_keys());  // "comment" is always allowed
}

TEST_CASE("objects read whole or by iteration are not reported", "[sim][json]") {
  const auto json = JsonInput::parse(R"({"grid": {"$.p": [1], "$.q": [2]}, "opaque": {"any": 1},
                                         "list": [{"k": 1}, {"k": 2, "extra": 3}]})", "s.json");
  CHECK(json.at("grid").members().size() == 2);  // iterating the members reads them all
  (void)json.at("opaque").raw();                  // passed on whole: its keys are someone else's
  const auto items = json.at("list").items();
  for (const auto& item : items) CHECK(item.number_or("k", 0) > 0);
  CHECK_THROWS_WITH(json.reject_unknown_keys(), Catch::Contains("$.list[1].extra: unknown key 'extra' (known here: k)"));
}

TEST_CASE("hostile JSON: duplicate keys, numbers beyond double, integers that would wrap, durations off the clock",
          "[sim][json][reliability]") {
  // nlohmann would keep the last of two equal keys without a word.
  CHECK_THROWS_WITH(JsonInput::parse(R"({"a": {"list": [1, {"k": 1, "k": 2}]}})", "d.json"),
                    Catch::Contains("d.json: $.a.list[1].k: duplicate key 'k'"));
  CHECK_NOTHROW(JsonInput::parse(R"({"k": 1, "o": {"k": 2}, "l": [{"k": 3}, {"k": 4}]})", "ok.json"));
  CHECK_THROWS_WITH(JsonInput::parse(R"({"x": 1e400})", "big.json"),
                    Catch::Contains("big.json: invalid JSON: number overflow") && Catch::Contains("1e400"));
  const auto json = JsonInput::parse(
      R"({"wrap": 4294967297, "huge": 18446744073709551615, "f": 3.0, "tiny_s": 1e-300, "ms": 5, "zero": 0})", "n.json");
  CHECK_THROWS_WITH(json.at("wrap").integer_in(1, 1024), Catch::Contains("$.wrap: expected an integer in [1, 1024], got 4294967297"));
  CHECK_THROWS_WITH(json.at("huge").integer(), Catch::Contains("expected an integer <= 9223372036854775807"));
  CHECK(json.at("f").integer_in(1, 4) == 3);
  CHECK_THROWS_WITH(json.at("tiny_s").duration(1.0), Catch::Contains("$.tiny_s: expected a duration in [1e-09, 1e+08]"));
  CHECK(json.at("ms").duration(1e-3) == 5.0);  // returned in its own unit
  CHECK_THROWS(json.at("zero").duration(1e-3));
  CHECK(json.at("zero").duration(1e-3, true) == 0.0);
  CHECK_THROWS_WITH(json.at("wrap").rate_per_s(), Catch::Contains("expected a rate in [1e-08, 1e+06] per second"));
  // A gap of 1/rate must stay inside the clock: 1e-300 per second was an internal error.
  CHECK_THROWS_WITH(json.at("tiny_s").rate_per_s(), Catch::Contains("$.tiny_s: expected a rate in [1e-08, 1e+06]"));
  CHECK_THROWS_WITH(json.at("tiny_s").rate_per_s(true), Catch::Contains("expected 0 or a rate in [1e-08, 1e+06]"));
  CHECK(json.at("zero").rate_per_s(true) == 0.0);
}

TEST_CASE("JSON files: a directory or an endless device is refused by name, not read until memory runs out",
          "[sim][json][reliability]") {
  CHECK_THROWS_WITH(JsonInput::load_file("/tmp"), Catch::Contains("/tmp: is a directory, expected a file"));
  CHECK_THROWS_WITH(JsonInput::load_file("/dev/zero"), Catch::Contains("/dev/zero: larger than the 512 MiB accepted"));
  CHECK_THROWS_WITH(JsonInput::load_file("/nonexistent/x.json"), Catch::Contains("/nonexistent/x.json: cannot open file"));
}
