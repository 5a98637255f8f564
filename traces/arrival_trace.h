#pragma once
// Arrival traces: when each request arrived and how many prompt and output tokens
// it had. Readers stream one record at a time (memory independent of the file):
//  * Azure LLM inference trace 2023 (Splitwise, ISCA'24): CSV with header
//    TIMESTAMP,ContextTokens,GeneratedTokens, timestamps "YYYY-MM-DD HH:MM:SS.fffffff";
//  * Mooncake FAST'25 (Kimi): JSON Lines {"timestamp": ms, "input_length",
//    "output_length", "hash_ids": [prefix-block hashes]}.
// Timestamps that go backwards are rejected with the line, not silently sorted:
// both published traces are in arrival order, so disorder means a damaged file.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/time.h"
#include "util/line_reader.h"

namespace moesim::traces {

// The most tokens one request may have on either side (docs/limits.md): far above any
// context window, small enough that tokens × KV bytes per token stays in int64.
inline constexpr std::int64_t kMaxRequestTokens = std::int64_t{1} << 24;

struct ArrivalRecord {
  sim::Time offset = 0;  // since the trace's first arrival
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::uint64_t line = 0;
  std::vector<std::uint64_t> prefix_hashes;  // Mooncake's hash_ids; empty for Azure
};

class ArrivalReader {
 public:
  explicit ArrivalReader(const std::string& path) : lines_(path) {}
  virtual ~ArrivalReader() = default;
  // Next arrival, or nullopt at the end. Throws InputError naming file and line.
  virtual std::optional<ArrivalRecord> next() = 0;
  virtual std::string format() const = 0;
  std::uint64_t records_read() const { return records_; }
  const std::string& path() const { return lines_.path(); }

 protected:
  // Checks order and token counts, and makes the record relative to the first arrival.
  ArrivalRecord accept(std::int64_t timestamp_ns, std::int64_t input, std::int64_t output);
  util::LineReader lines_;
  std::string row_;

 private:
  std::uint64_t records_ = 0;
  std::int64_t first_ns_ = 0;
  std::int64_t last_ns_ = 0;
};

class AzureArrivalReader final : public ArrivalReader {
 public:
  explicit AzureArrivalReader(const std::string& path);
  std::optional<ArrivalRecord> next() override;
  std::string format() const override { return "azure-llm-2023"; }
};

class MooncakeArrivalReader final : public ArrivalReader {
 public:
  explicit MooncakeArrivalReader(const std::string& path) : ArrivalReader(path) {}
  std::optional<ArrivalRecord> next() override;
  std::string format() const override { return "mooncake"; }
};

// Known formats: "azure-llm-2023", "mooncake"; "auto" picks by extension (.csv, .jsonl).
std::string resolve_arrival_format(const std::string& path, const std::string& format);
std::unique_ptr<ArrivalReader> open_arrival_trace(const std::string& path, const std::string& format = "auto");
// The formats open_arrival_trace() reads ("auto" aside): azure-llm-2023, mooncake.
const std::vector<std::string>& arrival_trace_formats();

// "2023-11-16 18:15:46.6805900" -> nanoseconds since 1970-01-01 (UTC); nullopt if malformed.
std::optional<std::int64_t> parse_timestamp_ns(const std::string& text);

}  // namespace moesim::traces
