// The in-migration state of this backend's transaction, in one leaf module: apply, plan and
// verify set it while migration statements run; catalog, drift and every changing function
// read it. It depends on no other pg_migrate module, so none of them depends on another
// through it (apply <-> catalog <-> drift had an include and call cycle here).
#pragma once

#include "pg/pg.hpp"

namespace pgm {

// True while a migration's script is running in this backend (drift capture ignores its DDL).
bool in_migration();

// True in a transaction whose effects include a migration's statements, until it ends (its
// deferred triggers fire at commit, after the statements ran).
bool migration_ran_in_transaction();

// Marks the backend as running migration statements for the scope's life (apply, revert,
// plan, verify), so drift capture does not record their DDL.
class MigrationRunningScope {
 public:
  MigrationRunningScope();
  ~MigrationRunningScope();
  MigrationRunningScope(const MigrationRunningScope&) = delete;
  MigrationRunningScope& operator=(const MigrationRunningScope&) = delete;

 private:
  bool saved_;
};

// Refuses a changing function: called from inside a migration script, on a hot standby, or in
// a read-only transaction.
void ensure_not_in_migration(const char* function_name);

// This backend's local transaction id: what was remembered under another one is stale.
LocalTransactionId current_local_transaction();

// Registers the transaction callback that clears the state at transaction end (from _PG_init).
void xact_init();

}  // namespace pgm
