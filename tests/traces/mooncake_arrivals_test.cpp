#include <catch2/catch.hpp>

#include "../temp_files.h"
#include <filesystem>
#include <fstream>

#include "util/errors.h"
#include "traces/arrival_trace.h"

using namespace moesim;
using namespace moesim::traces;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  return moesim_test::write_temp_file("moesim_mooncake_test", name, text);
}

}  // namespace

TEST_CASE("Mooncake JSONL: millisecond offsets and token counts", "[traces][arrivals]") {
  const auto path = write_file("ok.jsonl",
                               "{\"timestamp\": 5, \"input_length\": 6758, \"output_length\": 500, \"hash_ids\": [0, 1]}\n"
                               "\n"
                               "{\"timestamp\": 1005, \"input_length\": 10, \"output_length\": 0, \"hash_ids\": []}\r\n");
  auto reader = open_arrival_trace(path);
  CHECK(reader->format() == "mooncake");
  const auto a = reader->next();
  REQUIRE(a);
  CHECK(a->offset == 0);
  CHECK(a->input_tokens == 6758);
  CHECK(a->output_tokens == 500);
  CHECK(a->prefix_hashes == std::vector<std::uint64_t>{0, 1});
  const auto b = reader->next();
  REQUIRE(b);
  CHECK(b->offset == 1'000'000'000);
  CHECK(b->prefix_hashes.empty());
  CHECK(b->line == 3);
  CHECK_FALSE(reader->next());
  CHECK(reader->records_read() == 2);
}

TEST_CASE("Mooncake JSONL: bad lines name the file, the line and the field", "[traces][arrivals]") {
  auto first_error = [](const std::string& name, const std::string& text) {
    try {
      MooncakeArrivalReader reader(write_file(name, text));
      while (reader.next()) {}
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string ok = "{\"timestamp\": 5, \"input_length\": 1, \"output_length\": 1}\n";
  CHECK_THAT(first_error("trunc.jsonl", ok + "{\"timestamp\": 7, \"input_len"),
             Catch::Contains("trunc.jsonl:2:1:") && Catch::Contains("invalid JSON"));
  // A key twice on one line: nlohmann would keep the last without a word.
  CHECK_THAT(first_error("dup.jsonl", ok + "{\"timestamp\": 7, \"input_length\": 1, \"input_length\": 2, \"output_length\": 1}\n"),
             Catch::Contains("dup.jsonl:2: $.input_length: duplicate key 'input_length'"));
  CHECK_THAT(first_error("hash.jsonl", ok + "{\"timestamp\": 7, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [3, -1]}\n"),
             Catch::Contains("hash.jsonl:2: .hash_ids[1]: expected a non-negative integer hash, got -1"));
  CHECK_THAT(first_error("hashf.jsonl", ok + "{\"timestamp\": 7, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [2.5]}\n"),
             Catch::Contains("hashf.jsonl:2: .hash_ids[0]: expected a non-negative integer hash, got 2.5"));
  CHECK_THAT(first_error("list.jsonl", ok + "[1, 2]\n"), Catch::Contains("list.jsonl:2: expected one JSON object per line"));
  CHECK_THAT(first_error("type.jsonl", ok + "{\"timestamp\": \"7\", \"input_length\": 1, \"output_length\": 1}\n"),
             Catch::Contains("type.jsonl:2: .timestamp: expected a non-negative integer, got \"7\""));
  CHECK_THAT(first_error("neg.jsonl", ok + "{\"timestamp\": 9, \"input_length\": -1, \"output_length\": 1}\n"),
             Catch::Contains("neg.jsonl:2: .input_length"));
  CHECK_THAT(first_error("missing.jsonl", "{\"timestamp\": 9, \"input_length\": 1}\n"),
             Catch::Contains("missing.jsonl:1: missing .output_length"));
  CHECK_THAT(first_error("back.jsonl", ok + "{\"timestamp\": 4, \"input_length\": 1, \"output_length\": 1}\n"),
             Catch::Contains("back.jsonl:2: timestamp goes back in time by 1000000 ns"));
  CHECK_THAT(first_error("hash.jsonl", "{\"timestamp\": 9, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": 3}\n"),
             Catch::Contains("hash.jsonl:1: .hash_ids: expected an array"));
}

TEST_CASE("arrival trace formats are chosen by name or extension", "[traces][arrivals]") {
  CHECK_THROWS_WITH(open_arrival_trace(write_file("x.txt", "")), Catch::Contains("x.txt: cannot tell the arrival trace format"));
  CHECK_THROWS_WITH(open_arrival_trace(write_file("y.csv", ""), "parquet"), Catch::Contains("unknown arrival trace format 'parquet'"));
  CHECK(open_arrival_trace(write_file("z.jsonl", ""), "mooncake")->format() == "mooncake");
}

TEST_CASE("the shipped Mooncake trace: 12,031 requests over 3,537 s", "[traces][arrivals]") {
  // Facts of the published file (SOURCE.md): 12,031 lines, last timestamp 3,536,999 ms;
  // its README gives ≈12,035 input and ≈343 output tokens on average.
  auto reader = open_arrival_trace(MOESIM_SOURCE_DIR "/traces/data/mooncake-conversation.jsonl");
  std::optional<ArrivalRecord> last;
  double input = 0;
  double output = 0;
  while (const auto r = reader->next()) {
    input += static_cast<double>(r->input_tokens);
    output += static_cast<double>(r->output_tokens);
    last = r;
  }
  CHECK(reader->records_read() == 12031);
  REQUIRE(last);
  CHECK(last->offset == 3'536'999'000'000LL);
  CHECK(input / 12031 == Approx(12035).epsilon(0.01));
  CHECK(output / 12031 == Approx(343).epsilon(0.01));
}
