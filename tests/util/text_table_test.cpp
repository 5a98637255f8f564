// The terminal table: widths in code points, numbers right-aligned, prose columns left-aligned.
#include <catch2/catch.hpp>

#include "util/text_table.h"

using moesim::util::TextTable;

TEST_CASE("text table pads by code points and aligns columns as asked", "[report]") {
  TextTable t({"metric", "value"});
  t.add_row({"µs", "7"});
  t.add_row({"longer", "12.5"});
  SECTION("values right-aligned by default") {
    CHECK(t.render() ==
          "metric  value\n"
          "-------------\n"
          "µs          7\n"
          "longer   12.5\n");
  }
  SECTION("a left-aligned value column") {
    t.align_left(1);
    CHECK(t.render() ==
          "metric  value\n"
          "-------------\n"
          "µs      7\n"
          "longer  12.5\n");
  }
  CHECK_THROWS_AS(t.align_left(2), std::invalid_argument);
  CHECK_THROWS_AS(t.add_row({"one cell"}), std::invalid_argument);
}
