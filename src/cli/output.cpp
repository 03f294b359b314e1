#include "cli/output.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pgm::cli {

namespace {

// Columns are as wide as their text in characters, not bytes (UTF-8 names line up); a
// control character (a newline in a file name) is shown as "?" so a row stays one line.
size_t chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string one_line(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  return out;
}

}  // namespace

std::string table(const std::vector<std::vector<std::string>>& input) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(input.size());
  for (const auto& r : input) {
    rows.emplace_back();
    for (const std::string& cell : r) rows.back().push_back(one_line(cell));
  }
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], chars(r[i]));
    }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - chars(r[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string count_of(size_t n, const char* singular, const char* plural) {
  return fmt::format("{} {}", n, n == 1 ? singular : plural);
}

std::string ms(double v) { return fmt::format("{:.1f} ms", v); }

}  // namespace pgm::cli
