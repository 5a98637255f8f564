#pragma once
// Plain-text tables for terminal reports: a header, a rule, and left-aligned
// first column with right-aligned numeric columns.
#include <string>
#include <vector>

namespace moesim::util {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header);
  // Throws std::invalid_argument when the row's width differs from the header's.
  void add_row(std::vector<std::string> cells);
  // Columns after the first are right-aligned (numbers line up); a column of prose,
  // such as a summary's values, reads better left-aligned.
  void align_left(std::size_t column);
  std::string render() const;

 private:
  std::vector<std::string> header_;
  std::vector<bool> left_;
  std::vector<std::vector<std::string>> rows_;
};

// A GitHub-flavoured Markdown table ('|' in cells escaped), for generated docs.
std::string markdown_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// Number of terminal columns a UTF-8 string occupies (one per code point).
std::size_t display_width(const std::string& s);

}  // namespace moesim::util
