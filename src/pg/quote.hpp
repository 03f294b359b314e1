// Identifiers quoted as pg_migrate records them: snapshot keys and drift identities are quoted
// with quote_all_identifiers off, whatever the session set.
#pragma once

#include "pg/pg.hpp"

extern "C" {
#include "utils/builtins.h"
}

namespace pgm::pg {

// f() (PostgreSQL code that quotes identifiers) with quote_all_identifiers off; restored also
// when f() raises an error. Plain C inside: call it within pg::call.
template <typename F>
auto with_plain_identifiers(F f) -> decltype(f()) {
  decltype(f()) volatile result{};
  bool saved = quote_all_identifiers;
  quote_all_identifiers = false;
  PG_TRY();
  { result = f(); }
  PG_FINALLY();
  { quote_all_identifiers = saved; }
  PG_END_TRY();
  return result;
}

}  // namespace pgm::pg
