// JsonInput's reading errors: unknown keys in the objects a reader opened are named
// with their path and the keys that object knows.
#include <catch2/catch.hpp>

#include "sim/json_input.h"

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
