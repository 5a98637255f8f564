#include "traces/arrival_trace.h"

#include <charconv>
#include <fmt/format.h>

#include "sim/errors.h"

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
  if (at + len > s.size()) return false;
  const char* b = s.data() + at;
  const auto [p, ec] = std::from_chars(b, b + len, out);
  return ec == std::errc() && p == b + len;
}

}  // namespace

std::optional<std::int64_t> parse_timestamp_ns(const std::string& t) {
  std::int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (t.size() < 19 || t[4] != '-' || t[7] != '-' || t[10] != ' ' || t[13] != ':' || t[16] != ':') return std::nullopt;
  if (!parse_int(t, 0, 4, y) || !parse_int(t, 5, 2, mo) || !parse_int(t, 8, 2, d) || !parse_int(t, 11, 2, h) ||
      !parse_int(t, 14, 2, mi) || !parse_int(t, 17, 2, s)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
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

AzureArrivalReader::AzureArrivalReader(const std::string& path) : path_(path), in_(path) {
  if (!in_) throw InputError(fmt::format("{}: cannot open file", path));
  std::string header;
  std::getline(in_, header);
  ++line_;
  if (!header.empty() && header.back() == '\r') header.pop_back();
  if (header != "TIMESTAMP,ContextTokens,GeneratedTokens") {
    throw InputError(fmt::format("{}:1: expected the header 'TIMESTAMP,ContextTokens,GeneratedTokens', got '{}'", path, header));
  }
}

std::optional<ArrivalRecord> AzureArrivalReader::next() {
  std::string row;
  while (std::getline(in_, row)) {
    ++line_;
    if (!row.empty() && row.back() == '\r') row.pop_back();
    if (row.empty()) continue;
    const auto c1 = row.find(',');
    const auto c2 = c1 == std::string::npos ? std::string::npos : row.find(',', c1 + 1);
    if (c2 == std::string::npos || row.find(',', c2 + 1) != std::string::npos) {
      throw InputError(fmt::format("{}:{}: expected 3 comma-separated fields (timestamp, context tokens, generated tokens), got '{}'",
                                   path_, line_, row));
    }
    const auto ts = parse_timestamp_ns(row.substr(0, c1));
    if (!ts) {
      throw InputError(fmt::format("{}:{}: expected a timestamp 'YYYY-MM-DD HH:MM:SS[.fffffff]', got '{}'", path_, line_,
                                   row.substr(0, c1)));
    }
    std::int64_t input = 0;
    std::int64_t output = 0;
    if (!parse_int(row, c1 + 1, c2 - c1 - 1, input) || input < 0) {
      throw InputError(fmt::format("{}:{}: expected a non-negative integer ContextTokens, got '{}'", path_, line_,
                                   row.substr(c1 + 1, c2 - c1 - 1)));
    }
    if (!parse_int(row, c2 + 1, row.size() - c2 - 1, output) || output < 0) {
      throw InputError(fmt::format("{}:{}: expected a non-negative integer GeneratedTokens, got '{}'", path_, line_,
                                   row.substr(c2 + 1)));
    }
    if (records_ == 0) first_ns_ = last_ns_ = *ts;
    if (*ts < last_ns_) {
      throw InputError(fmt::format("{}:{}: timestamp goes back in time by {} ns (rows must be in arrival order)", path_,
                                   line_, last_ns_ - *ts));
    }
    last_ns_ = *ts;
    ++records_;
    return ArrivalRecord{*ts - first_ns_, input, output, line_};
  }
  return std::nullopt;
}

}  // namespace moesim::traces
