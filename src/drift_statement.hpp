// Drift capture: the statement text recorded with each drift row.
#pragma once

#include <string>

namespace pgm::drift {

// The statement text with credentials redacted (src/core/drift_redact.hpp says what), using
// PostgreSQL's core scanner for the token locations. standard_strings: the session's
// standard_conforming_strings when it ran the statement (internal SQL pins it on since).
std::string redact_statement(const std::string& text, bool standard_strings);

}  // namespace pgm::drift
