// Migration versions: dot-separated unsigned integers compared part by part numerically.
// Pure C++ (no PostgreSQL header).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pgm {

class Version {
 public:
  // Parses "1", "1.2", "20261120093000", "01.10". Throws pgm::Error (22023) naming the text.
  static Version parse(std::string_view text);
  // parse() for a version about to be registered (register, baseline, sync): also at most 255
  // characters in canonical form.
  static Version parse_new(std::string_view text);

  // Canonical spelling: leading zeros of each part and trailing ".0" parts removed,
  // so every pair of spellings that compare equal has one canonical form ("1.0" -> "1").
  const std::string& canonical() const { return canonical_; }
  // The parts as a PostgreSQL numeric[] literal, e.g. "{1,10}", whose array order is version order.
  std::string sql_array() const;
  const std::vector<std::string>& parts() const { return parts_; }

  friend int compare(const Version& a, const Version& b);
  friend bool operator<(const Version& a, const Version& b) { return compare(a, b) < 0; }
  friend bool operator==(const Version& a, const Version& b) { return compare(a, b) == 0; }
  friend bool operator!=(const Version& a, const Version& b) { return compare(a, b) != 0; }

 private:
  std::vector<std::string> parts_;  // digits only, no leading zeros ("0" for zero)
  std::string canonical_;
};

int compare(const Version& a, const Version& b);

}  // namespace pgm
