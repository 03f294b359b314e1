#include "cli/output.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pgm::cli {

namespace {

// Columns are as wide as their text in characters, not bytes (UTF-8 names line up); control
// characters (a newline in a file name) are escaped (printable()) so a row stays one line.
size_t chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string escaped(const std::string& s, bool keep_newlines) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (keep_newlines && (c == '\n' || c == '\t')) {
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned char>(s[++i]));  // C1 control (U+0080..U+009F)
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

std::string table(const std::vector<std::vector<std::string>>& input) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(input.size());
  for (const auto& r : input) {
    rows.emplace_back();
    for (const std::string& cell : r) rows.back().push_back(printable(cell));
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

std::string printable(const std::string& s) { return escaped(s, false); }
std::string terminal_safe(const std::string& s) { return escaped(s, true); }

std::string count_of(size_t n, const char* singular, const char* plural) {
  return fmt::format("{} {}", n, n == 1 ? singular : plural);
}

std::string ms(double v) { return fmt::format("{:.1f} ms", v); }

}  // namespace pgm::cli
