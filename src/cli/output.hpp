// Text output helpers: aligned tables and plural words.
#pragma once

#include <string>
#include <vector>

namespace pgm::cli {

// Left-aligned columns separated by two spaces; the first row is the header.
std::string table(const std::vector<std::vector<std::string>>& rows);

// "1 migration", "2 migrations".
std::string count_of(size_t n, const char* singular, const char* plural);

// Milliseconds with one decimal.
std::string ms(double v);

}  // namespace pgm::cli
