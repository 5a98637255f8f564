#pragma once
// Line-at-a-time reading of text inputs (traces, CSV measurements, JSON Lines):
// strips a trailing '\r', skips blank lines, and knows the 1-based line number for
// error messages ("file:line"); plus field splitting and exact number parsing.
#include <charconv>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "util/errors.h"
#include "util/input_file.h"

namespace moesim::util {

class LineReader {
 public:
  // Lines longer than this are an error, not a string grown until memory runs out
  // (a file without newlines, /dev/zero); docs/limits.md.
  static constexpr std::size_t kMaxLineBytes = std::size_t{16} << 20;

  explicit LineReader(std::string path) : path_(std::move(path)) {
    require_not_directory(path_);
    in_.open(path_, std::ios::binary);
    if (!in_) throw InputError(fmt::format("{}: cannot open file", path_));
  }
  // The next non-blank line into `line`; false at the end of the file.
  bool next(std::string& line) {
    while (read_line(line)) {
      ++line_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) return true;
    }
    return false;
  }
  const std::string& path() const { return path_; }
  std::uint64_t line() const { return line_; }
  // "file:line: message", as an exception to throw.
  InputError error(std::string_view message) const { return InputError(fmt::format("{}:{}: {}", path_, line_, message)); }

 private:
  // std::getline with a length limit; false when nothing is left.
  bool read_line(std::string& line) {
    line.clear();
    std::streambuf* buf = in_.rdbuf();
    for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
      if (c == '\n') return true;
      if (line.size() == kMaxLineBytes) {
        throw InputError(fmt::format("{}:{}: line longer than {} MiB (docs/limits.md)", path_, line_ + 1, kMaxLineBytes >> 20));
      }
      line.push_back(static_cast<char>(c));
    }
    return !line.empty();
  }
  std::string path_;
  std::ifstream in_;
  std::uint64_t line_ = 0;
};

// The whole of `text` as a number (no spaces, no trailing characters); false otherwise.
template <class T>
bool parse_number(std::string_view text, T& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

// Splits `row` at `separator` into views (no quoting: the trace formats we read have none).
inline void split_fields(std::string_view row, char separator, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t at = row.find(separator, start);
    out.push_back(row.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return;
    start = at + 1;
  }
}

}  // namespace moesim::util
