// Who a migration statement waited for when lock_timeout ended its wait, named in apply's retry
// notices, history rows and errors, and in plan()'s rows.
#pragma once

#include <string>

#include "pg/guard.hpp"

namespace pgm {

// SPI_execute(sql) noting the lock the statement was queued for if lock_timeout ends its wait.
// Call inside pg::call.
int execute_noting_lock_wait(const char* sql);

// After a lock timeout, once the waiting (sub)transaction is rolled back: "table public.users
// held by process 1234 (RowExclusiveLock)" for the sessions whose lock on a table the statement
// names conflicts with the mode it waited for; "a row of table users held by process 1234
// (RowShareLock)" when an INSERT, UPDATE or DELETE waited for a row (the sessions that can hold
// row locks on it); every holder of those tables when the statement did not wait (NOWAIT); ""
// if nobody is left to name.
std::string describe_lock_holders(Node* parsetree);

}  // namespace pgm
