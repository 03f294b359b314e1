// The apply loop: running migrations' up and down scripts inside the caller's transaction.
#pragma once

#include <string>

namespace pgm {

// True while a migration's script is running in this backend (drift capture ignores its DDL).
bool in_migration();

// Refuses a nested call of a changing function from inside a migration script.
void ensure_not_in_migration(const char* function_name);

// Clears the in-migration state at transaction end (registered in _PG_init).
void reset_migration_state();

}  // namespace pgm
