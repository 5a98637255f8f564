#include "traces/arrival_trace.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/errors.h"
#include "util/json_input.h"

namespace moesim::traces {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool parse_int(const std::string& s, std::size_t at, std::size_t len, std::int64_t& out) {
  return at + len <= s.size() && util::parse_number(std::string_view(s).substr(at, len), out);
}

}  // namespace

std::optional<std::int64_t> parse_timestamp_ns(const std::string& t) {
  std::int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (t.size() < 19 || t[4] != '-' || t[7] != '-' || t[10] != ' ' || t[13] != ':' || t[16] != ':') return std::nullopt;
  if (!parse_int(t, 0, 4, y) || !parse_int(t, 5, 2, mo) || !parse_int(t, 8, 2, d) || !parse_int(t, 11, 2, h) ||
      !parse_int(t, 14, 2, mi) || !parse_int(t, 17, 2, s)) {
    return std::nullopt;
  }
  // Years are bounded so that nanoseconds since 1970 stay in int64 (up to 2262).
  if (y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::int64_t frac_ns = 0;
  if (t.size() > 19) {
    if (t[19] != '.' || t.size() == 20 || t.size() > 29) return std::nullopt;
    std::int64_t frac = 0;
    const std::size_t digits = t.size() - 20;
    if (!parse_int(t, 20, digits, frac)) return std::nullopt;
    frac_ns = frac;
    for (std::size_t i = digits; i < 9; ++i) frac_ns *= 10;
  }
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return ((days * 24 + h) * 60 + mi) * 60 * 1'000'000'000LL + s * 1'000'000'000LL + frac_ns;
}

ArrivalRecord ArrivalReader::accept(std::int64_t timestamp_ns, std::int64_t input, std::int64_t output) {
  // Token counts feed KV-cache byte counts (tokens × bytes per token): bounded here,
  // in the reader's own type, so that product cannot overflow (docs/limits.md).
  if (input > kMaxRequestTokens || output > kMaxRequestTokens) {
    throw lines_.error(fmt::format("{} tokens in one request; at most {} accepted (docs/limits.md)",
                                   std::max(input, output), kMaxRequestTokens));
  }
  if (records_ == 0) first_ns_ = last_ns_ = timestamp_ns;
  if (timestamp_ns < last_ns_) {
    throw lines_.error(fmt::format("timestamp goes back in time by {} ns (rows must be in arrival order)", last_ns_ - timestamp_ns));
  }
  last_ns_ = timestamp_ns;
  ++records_;
  return ArrivalRecord{timestamp_ns - first_ns_, input, output, lines_.line(), {}};
}

AzureArrivalReader::AzureArrivalReader(const std::string& path) : ArrivalReader(path) {
  if (!lines_.next(row_) || row_ != "TIMESTAMP,ContextTokens,GeneratedTokens") {
    throw lines_.error(fmt::format("expected the header 'TIMESTAMP,ContextTokens,GeneratedTokens', got '{}'", row_));
  }
}

std::optional<ArrivalRecord> AzureArrivalReader::next() {
  if (!lines_.next(row_)) return std::nullopt;
  const std::string& row = row_;
  const auto c1 = row.find(',');
  const auto c2 = c1 == std::string::npos ? std::string::npos : row.find(',', c1 + 1);
  if (c2 == std::string::npos || row.find(',', c2 + 1) != std::string::npos) {
    throw lines_.error(fmt::format("expected 3 comma-separated fields (timestamp, context tokens, generated tokens), got '{}'", row));
  }
  const auto ts = parse_timestamp_ns(row.substr(0, c1));
  if (!ts) throw lines_.error(fmt::format("expected a timestamp 'YYYY-MM-DD HH:MM:SS[.fffffff]' with YYYY in 1970..2200, got '{}'", row.substr(0, c1)));
  std::int64_t input = 0;
  std::int64_t output = 0;
  if (!parse_int(row, c1 + 1, c2 - c1 - 1, input) || input < 0) {
    throw lines_.error(fmt::format("expected a non-negative integer ContextTokens, got '{}'", row.substr(c1 + 1, c2 - c1 - 1)));
  }
  if (!parse_int(row, c2 + 1, row.size() - c2 - 1, output) || output < 0) {
    throw lines_.error(fmt::format("expected a non-negative integer GeneratedTokens, got '{}'", row.substr(c2 + 1)));
  }
  return accept(*ts, input, output);
}

std::optional<ArrivalRecord> MooncakeArrivalReader::next() {
  if (!lines_.next(row_)) return std::nullopt;
  const auto doc = parse_json_value(row_, fmt::format("{}:{}", lines_.path(), lines_.line()));
  if (!doc.is_object()) throw lines_.error("expected one JSON object per line");
  auto integer = [&](const char* key) {
    const auto it = doc.find(key);
    if (it == doc.end()) throw lines_.error(fmt::format("missing .{} (expected a non-negative integer)", key));
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0) {
      throw lines_.error(fmt::format(".{}: expected a non-negative integer, got {}", key, it->dump()));
    }
    return it->get<std::int64_t>();
  };
  const std::int64_t ms = integer("timestamp");
  if (ms > std::numeric_limits<std::int64_t>::max() / 1'000'000) {
    throw lines_.error(fmt::format(".timestamp: {} ms is beyond the 292-year clock (at most {} ms)", ms,
                                   std::numeric_limits<std::int64_t>::max() / 1'000'000));
  }
  const std::int64_t input = integer("input_length");
  const std::int64_t output = integer("output_length");
  std::vector<std::uint64_t> hashes;
  if (const auto it = doc.find("hash_ids"); it != doc.end()) {
    if (!it->is_array()) {
      throw lines_.error(fmt::format(".hash_ids: expected an array of prefix-block hashes, got {}", it->dump()));
    }
    hashes.reserve(it->size());
    for (std::size_t i = 0; i < it->size(); ++i) {
      const auto& h = (*it)[i];
      if (!h.is_number_integer() || (!h.is_number_unsigned() && h.get<std::int64_t>() < 0)) {
        throw lines_.error(fmt::format(".hash_ids[{}]: expected a non-negative integer hash, got {}", i, h.dump()));
      }
      hashes.push_back(h.get<std::uint64_t>());
    }
  }
  ArrivalRecord record = accept(ms * 1'000'000, input, output);
  record.prefix_hashes = std::move(hashes);
  return record;
}

const std::vector<std::string>& arrival_trace_formats() {
  static const std::vector<std::string> formats{"azure-llm-2023", "mooncake"};
  return formats;
}

std::string resolve_arrival_format(const std::string& path, const std::string& format) {
  if (format != "auto") return format;
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext == ".csv") return "azure-llm-2023";
  if (ext == ".jsonl") return "mooncake";
  throw InputError(fmt::format("{}: cannot tell the arrival trace format from the extension (.csv: azure-llm-2023, .jsonl: mooncake)", path));
}

std::unique_ptr<ArrivalReader> open_arrival_trace(const std::string& path, const std::string& format) {
  const std::string f = resolve_arrival_format(path, format);
  if (f == "azure-llm-2023") return std::make_unique<AzureArrivalReader>(path);
  if (f == "mooncake") return std::make_unique<MooncakeArrivalReader>(path);
  throw InputError(fmt::format("unknown arrival trace format '{}' (known: {})", format, fmt::join(arrival_trace_formats(), ", ")));
}

}  // namespace moesim::traces
