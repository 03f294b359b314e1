// Gate settings a deploy role cannot weaken (see policy.cpp and README "Settings").
#pragma once

#include "pg/pg.hpp"

namespace pgm::policy {

// Called first in _PG_init: when the library is loaded inside a session, reads the gates'
// database and role settings (pg_db_role_setting).
void init();

// GUC check and assign hooks of the three gates.
bool check_lint_blocks_apply(bool* newval, void** extra, GucSource source);
void assign_lint_blocks_apply(bool newval, void* extra);
bool check_require_verified_revert(bool* newval, void** extra, GucSource source);
void assign_require_verified_revert(bool newval, void* extra);
bool check_out_of_order(bool* newval, void** extra, GucSource source);
void assign_out_of_order(bool newval, void* extra);

// The value a gate has for pg_migrate: the setting, unless a non-superuser weakened it past the
// DBA's value in a way the check hook could not refuse (connection options).
bool effective_lint_blocks_apply(bool value);
bool effective_require_verified_revert(bool value);
bool effective_out_of_order(bool value);

// pg_migrate.lint_large_table_rows: under a DBA's lint_blocks_apply = on, a value above the DBA's
// (or the built-in 100,000) weakens that gate; only a superuser may set one.
bool check_lint_large_table_rows(int* newval, void** extra, GucSource source);
void assign_lint_large_table_rows(int newval, void* extra);
int effective_lint_large_table_rows(int value);

}  // namespace pgm::policy
