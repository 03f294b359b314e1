// Who a migration statement waited for when lock_timeout ended its wait, named in apply's retry
// notices, history rows and errors, and in plan()'s rows.
#pragma once

#include <string>

#include "pg/guard.hpp"

namespace pgm {

// SPI_execute(sql) noting the lock the statement was queued for if lock_timeout ends its wait.
// Call inside pg::call.
int execute_noting_lock_wait(const char* sql);

// After a 55P03 error of the statement last run by execute_noting_lock_wait(), once the
// waiting (sub)transaction is rolled back: whether it waited (lock_timeout ended the wait; else
// it asked not to wait: NOWAIT), and who for. "table public.users held by process 1234
// (RowExclusiveLock)": the sessions whose lock conflicts with the mode waited for; "a row of
// table users locked by process 1234"; "table t, wanted by process 1234 (AccessExclusiveLock)
// queued for it" when only a queued request blocked it. "" if nobody is left to name.
struct LockWaitReport {
  bool waited = false;
  std::string holders;
};
LockWaitReport describe_lock_wait(Node* parsetree);

}  // namespace pgm
