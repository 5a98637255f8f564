#include <catch2/catch.hpp>

#include "../temp_files.h"
#include <filesystem>
#include <fstream>

#include "util/errors.h"
#include "traces/arrival_trace.h"

using namespace moesim;
using namespace moesim::traces;

namespace {

std::string write_csv(const std::string& name, const std::string& text) {
  return moesim_test::write_temp_file("moesim_arrival_test", name, text);
}

}  // namespace

TEST_CASE("timestamps convert to nanoseconds exactly", "[traces][arrivals]") {
  CHECK(parse_timestamp_ns("1970-01-01 00:00:00") == 0);
  CHECK(parse_timestamp_ns("1970-01-02 00:00:01.5") == 86401500000000LL);
  // 2023-11-16 is day 19677 after the epoch.
  CHECK(parse_timestamp_ns("2023-11-16 18:15:46.6805900") ==
        (19677LL * 86400 + 18 * 3600 + 15 * 60 + 46) * 1000000000LL + 680590000LL);
  CHECK_FALSE(parse_timestamp_ns("2023-13-16 18:15:46").has_value());
  CHECK_FALSE(parse_timestamp_ns("2023-11-16T18:15:46").has_value());
  CHECK_FALSE(parse_timestamp_ns("2023-11-16 18:15:46.").has_value());
  // Nanoseconds since 1970 must fit int64: years outside 1970..2200 are refused, not overflowed.
  CHECK_FALSE(parse_timestamp_ns("9999-11-16 18:15:46").has_value());
  CHECK_FALSE(parse_timestamp_ns("1969-12-31 23:59:59").has_value());
  CHECK(parse_timestamp_ns("2200-01-01 00:00:00").has_value());
}

TEST_CASE("Azure arrival CSV: offsets from the first arrival and token counts", "[traces][arrivals]") {
  const auto path = write_csv("ok.csv",
                              "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                              "2023-11-16 18:15:46.6805900,374,44\n"
                              "2023-11-16 18:15:50.9951690,396,109\r\n"
                              "2023-11-16 18:15:50.9951690,10,1");  // no trailing newline, a tie
  AzureArrivalReader reader(path);
  const auto a = reader.next();
  const auto b = reader.next();
  const auto c = reader.next();
  CHECK_FALSE(reader.next().has_value());
  CHECK(a->offset == 0);
  CHECK(a->input_tokens == 374);
  CHECK(b->offset == 4314579000);
  CHECK(b->output_tokens == 109);
  CHECK(c->offset == b->offset);
  CHECK(c->line == 4);
}

TEST_CASE("bad arrival rows name the file and line", "[traces][arrivals]") {
  const std::string header = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  struct Case {
    std::string body;
    std::string mentions;
  };
  for (const Case& c : {Case{"2023-11-16 18:15:46.68,374\n", "bad.csv:2: expected 3 comma-separated fields"},
                        Case{"yesterday,374,44\n", "bad.csv:2: expected a timestamp"},
                        Case{"2023-11-16 18:15:46.68,-5,44\n", "bad.csv:2: expected a non-negative integer ContextTokens"},
                        Case{"2023-11-16 18:15:46.68,5,4x\n", "GeneratedTokens, got '4x'"},
                        Case{"2023-11-16 18:15:46.68,5,4\n2023-11-16 18:15:45.00,5,4\n", "bad.csv:3: timestamp goes back"}}) {
    const auto path = write_csv("bad.csv", header + c.body);
    AzureArrivalReader reader(path);
    INFO(c.body);
    CHECK_THROWS_WITH([&] { while (reader.next()) {} }(), Catch::Contains(c.mentions));
  }
  CHECK_THROWS_WITH(AzureArrivalReader(write_csv("nohdr.csv", "a,b,c\n")), Catch::Contains("nohdr.csv:1: expected the header"));
}

TEST_CASE("the shipped Azure conversation trace matches counts made independently", "[traces][arrivals][data]") {
  // Python over the same file: 19,366 rows, 22,361,870 context and 4,088,665 generated
  // tokens, first 18:15:46.6805900, last 19:14:08.4025270 (3501.7219370 s later).
  AzureArrivalReader reader(MOESIM_SOURCE_DIR "/traces/data/azure-llm-2023-conv.csv");
  std::int64_t input = 0;
  std::int64_t output = 0;
  sim::Time last = 0;
  while (const auto r = reader.next()) {
    input += r->input_tokens;
    output += r->output_tokens;
    last = r->offset;
  }
  CHECK(reader.records_read() == 19366);
  CHECK(input == 22361870);
  CHECK(output == 4088665);
  CHECK(last == 3501721937000LL);
}
