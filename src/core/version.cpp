#include "core/version.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace pgm {
namespace {

// Digits of one part at most: parts are stored as numeric, whose integer part has at most
// 131,072 digits.
constexpr size_t kMaxPartDigits = 131072;
// Characters of a new version's canonical spelling at most (Version::parse_new).
constexpr size_t kMaxVersionLength = 255;

[[noreturn]] void reject(std::string_view text, std::string_view why) {
  std::string shown = text.size() > 60 ? std::string(text.substr(0, 60)) + "..." : std::string(text);
  throw Error(sqlstate::kInvalidParameterValue, fmt::format("invalid migration version \"{}\"", shown),
              std::string(why),
              "A version is one or more unsigned integers separated by dots, such as 1, 1.2 or "
              "20261120093000.");
}

// Compares two digit strings without leading zeros as unbounded unsigned integers.
int compare_numbers(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

Version Version::parse(std::string_view text) {
  if (text.empty()) reject(text, "The version is empty.");
  Version v;
  size_t start = 0;
  while (true) {
    size_t dot = text.find('.', start);
    std::string_view part = text.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (part.empty()) reject(text, "A version part between dots is empty.");
    for (char c : part) {
      if (c < '0' || c > '9')
        reject(text, fmt::format("\"{}\" is not an unsigned integer.", part));
    }
    size_t nz = part.find_first_not_of('0');
    if (nz != std::string_view::npos && part.size() - nz > kMaxPartDigits)
      reject(text, fmt::format("A version part has at most {} digits; this one has {}.", kMaxPartDigits, part.size() - nz));
    v.parts_.emplace_back(nz == std::string_view::npos ? std::string("0") : std::string(part.substr(nz)));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  // Trailing zero parts do not change the order ("1.0" == "1"); drop them for one canonical form.
  while (v.parts_.size() > 1 && v.parts_.back() == "0") v.parts_.pop_back();
  for (size_t i = 0; i < v.parts_.size(); ++i) {
    if (i) v.canonical_ += '.';
    v.canonical_ += v.parts_[i];
  }
  return v;
}

Version Version::parse_new(std::string_view text) {
  Version v = parse(text);
  // The canonical spelling is the catalog's primary key: a longer one failed on the index row
  // size (54000, with PostgreSQL's hint to index an MD5 of the column) or was stored as a
  // version no tool could show. (Only new versions: one an older release stored still parses.)
  if (v.canonical_.size() > kMaxVersionLength)
    reject(text, fmt::format("A version has at most {} characters (leading zeros and trailing .0 parts not "
                             "counted); this one has {}.",
                             kMaxVersionLength, v.canonical_.size()));
  return v;
}

std::string Version::sql_array() const {
  std::string out = "{";
  for (size_t i = 0; i < parts_.size(); ++i) {
    if (i) out += ',';
    out += parts_[i];
  }
  return out + "}";
}

int compare(const Version& a, const Version& b) {
  size_t n = std::max(a.parts_.size(), b.parts_.size());
  static const std::string zero = "0";
  for (size_t i = 0; i < n; ++i) {
    const std::string& x = i < a.parts_.size() ? a.parts_[i] : zero;
    const std::string& y = i < b.parts_.size() ? b.parts_[i] : zero;
    if (int c = compare_numbers(x, y)) return c;
  }
  return 0;
}

}  // namespace pgm

#include "core/no_pg.hpp"
