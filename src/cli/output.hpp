// Text output helpers: aligned tables and plural words.
#pragma once

#include <string>
#include <vector>

namespace pgm::cli {

// Left-aligned columns separated by two spaces; the first row is the header.
std::string table(const std::vector<std::vector<std::string>>& rows);

// Text from the catalog or the folder (names, file names, notes) as one printable line: control
// characters escaped as psql and git show them (\n, \t, \r, \x1b; DEL \x7f; C1 controls as
// \u009b), so a name cannot move the cursor or colour the terminal.
std::string printable(const std::string& s);
// The same for whole messages: newlines (and tabs) kept.
std::string terminal_safe(const std::string& s);

// "1 migration", "2 migrations".
std::string count_of(size_t n, const char* singular, const char* plural);

// Milliseconds with one decimal.
std::string ms(double v);

}  // namespace pgm::cli
