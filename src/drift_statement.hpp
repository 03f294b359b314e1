// Drift capture: the statement text recorded with each drift row.
#pragma once

#include <string>

namespace pgm::drift {

// The statement text with credentials redacted (src/core/drift_redact.hpp says what), using
// PostgreSQL's core scanner for the token locations.
std::string redact_statement(const std::string& text);

}  // namespace pgm::drift
