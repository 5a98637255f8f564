// JSON-path overrides and the sweep's point grid.
#include <catch2/catch.hpp>
#include <set>

#include "experiments/workflows/json_path.h"
#include "experiments/workflows/sweep.h"
#include "util/errors.h"

using moesim::InputError;
using moesim::workflows::set_at_path;
using moesim::workflows::why_missing;

TEST_CASE("set_at_path replaces existing values by member and index", "[sweep]") {
  auto doc = nlohmann::json::parse(R"({"a": {"b": [1, {"c": 2}]}, "d": "x"})");
  set_at_path(doc, "$.a.b[1].c", 7, "s.json");
  set_at_path(doc, "d", "y", "s.json");
  set_at_path(doc, "$.a.b[0]", {{"k", 1}}, "s.json");
  CHECK(doc == nlohmann::json::parse(R"({"a": {"b": [{"k": 1}, {"c": 7}]}, "d": "y"})"));
}

TEST_CASE("set_at_path refuses paths the document does not have, saying where they end", "[sweep]") {
  auto doc = nlohmann::json::parse(R"({"a": {"b": [1, 2]}})");
  CHECK(why_missing(doc, "$.a.b[1]").empty());
  CHECK(why_missing(doc, "$.a.x") == "no member 'x' at $.a");
  CHECK(why_missing(doc, "$.a.b[2]") == "$.a.b has 2 elements, not 3");
  CHECK(why_missing(doc, "$.a.b.c") == "$.a.b is a array, not an object");
  CHECK_THROWS_WITH(set_at_path(doc, "$.a.typo", 1, "s.json"), Catch::Contains("s.json: path $.a.typo does not exist"));
  CHECK_THROWS_AS(set_at_path(doc, "$.a[", 1, "s.json"), InputError);
  CHECK_THROWS_AS(set_at_path(doc, "$", 1, "s.json"), InputError);
  CHECK(doc == nlohmann::json::parse(R"({"a": {"b": [1, 2]}})"));  // untouched
}

TEST_CASE("sweep points: every combination once, last axis fastest, seeds innermost", "[sweep]") {
  moesim::workflows::SweepSpec spec;
  spec.axes = {{"$.x", {1, 2, 3}, 0}, {"$.y", {"a", "b"}, 1}};
  spec.policies = {"p", "q"};
  spec.seeds = {5, 6};
  const auto points = moesim::workflows::sweep_points(spec);
  REQUIRE(points.size() == 3 * 2 * 2 * 2);
  std::set<std::string> keys;
  for (std::size_t i = 0; i < points.size(); ++i) {
    CHECK(points[i].index == i);
    keys.insert(points[i].key);
  }
  CHECK(keys.size() == points.size());
  CHECK(points[0].overrides.values[0].second == 1);
  CHECK(points[0].overrides.values[1].second == "a");
  CHECK(points[0].overrides.policy == "p");
  CHECK(*points[0].overrides.seed == 5);
  CHECK(*points[1].overrides.seed == 6);
  CHECK(points[2].overrides.policy == "q");
  CHECK(points[4].overrides.values[1].second == "b");
  CHECK(points[8].overrides.values[0].second == 2);
  CHECK(points.back().overrides.values[0].second == 3);
}

TEST_CASE("zipped axes move in step: the product runs over groups", "[sweep]") {
  moesim::workflows::SweepSpec spec;
  // machines and rate zipped (group 0), spread its own axis (group 1).
  spec.axes = {{"$.machines", {1, 2, 4}, 0}, {"$.rate", {10, 20, 40}, 0}, {"$.spread", {0.0, 0.1}, 1}};
  CHECK(spec.is_zipped(spec.axes[0]));
  CHECK_FALSE(spec.is_zipped(spec.axes[2]));
  const auto points = moesim::workflows::sweep_points(spec);
  REQUIRE(points.size() == 3 * 2);
  for (const auto& p : points) {
    CHECK(p.overrides.values[1].second.get<int>() == 10 * p.overrides.values[0].second.get<int>());
  }
  CHECK(points[1].overrides.values[2].second == 0.1);
  CHECK(points[2].overrides.values[0].second == 2);
  CHECK(points.back().overrides.values[1].second == 40);
}

TEST_CASE("a sweep without axes' companions runs the scenario's own policy and seed", "[sweep]") {
  moesim::workflows::SweepSpec spec;
  spec.axes = {{"$.x", {1, 2}}};
  const auto points = moesim::workflows::sweep_points(spec);
  REQUIRE(points.size() == 2);
  CHECK(points[0].overrides.policy.empty());
  CHECK_FALSE(points[0].overrides.seed.has_value());
}
