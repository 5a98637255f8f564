#pragma once
// Arrival traces: when each request arrived and how many prompt and output tokens
// it had. Reader for the Azure LLM inference trace 2023 (Splitwise, ISCA'24):
// CSV with header TIMESTAMP,ContextTokens,GeneratedTokens, timestamps
// "YYYY-MM-DD HH:MM:SS.fffffff" in time order. Streaming: one line at a time.
// Timestamps that go backwards are rejected (with the line), not silently sorted.
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

#include "sim/time.h"

namespace moesim::traces {

struct ArrivalRecord {
  sim::Time offset = 0;  // since the trace's first arrival
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::uint64_t line = 0;
};

class AzureArrivalReader {
 public:
  explicit AzureArrivalReader(const std::string& path);
  // Next arrival, or nullopt at the end. Throws InputError naming file and line.
  std::optional<ArrivalRecord> next();
  std::uint64_t records_read() const { return records_; }

 private:
  std::string path_;
  std::ifstream in_;
  std::uint64_t line_ = 0;
  std::uint64_t records_ = 0;
  std::int64_t first_ns_ = 0;
  std::int64_t last_ns_ = 0;
};

// "2023-11-16 18:15:46.6805900" -> nanoseconds since 1970-01-01 (UTC); nullopt if malformed.
std::optional<std::int64_t> parse_timestamp_ns(const std::string& text);

}  // namespace moesim::traces
