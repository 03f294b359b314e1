// Reading SQL function arguments into C++ values.
#pragma once

#include <optional>

#include "pg/guard.hpp"

namespace pgm::pg {

// Argument n as text (detoasted); the caller has checked it is not NULL.
inline std::string text_arg(FunctionCallInfo fcinfo, int n) {
  text* t = call([&] { return PG_GETARG_TEXT_PP(n); });
  return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

// Argument n as text, or nullopt when it is NULL.
inline std::optional<std::string> optional_text_arg(FunctionCallInfo fcinfo, int n) {
  if (PG_ARGISNULL(n)) return std::nullopt;
  return text_arg(fcinfo, n);
}

}  // namespace pgm::pg
