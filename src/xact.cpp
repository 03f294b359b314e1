#include "xact.hpp"

#include "pg/guard.hpp"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "storage/proc.h"
}

namespace pgm {
namespace {

bool migration_running = false;
// The (sub)transaction whose effects include a migration's statements: a subtransaction that
// commits hands it to its parent, one rolled back (plan(), verify()) takes it along.
SubTransactionId migration_ran_in = InvalidSubTransactionId;

void on_transaction_end(XactEvent event, void*) {
  // (PREPARE TRANSACTION ends it in this session too: the next transaction is another's.)
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
      event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PREPARE) {
    migration_running = false;
    migration_ran_in = InvalidSubTransactionId;
  }
}

void on_subtransaction_end(SubXactEvent event, SubTransactionId sub, SubTransactionId parent, void*) {
  if (sub != migration_ran_in) return;
  if (event == SUBXACT_EVENT_COMMIT_SUB) migration_ran_in = parent;
  else if (event == SUBXACT_EVENT_ABORT_SUB) migration_ran_in = InvalidSubTransactionId;
}

}  // namespace

bool in_migration() { return migration_running; }

bool migration_ran_in_transaction() { return migration_ran_in != InvalidSubTransactionId; }

MigrationRunningScope::MigrationRunningScope() : saved_(migration_running) {
  migration_running = true;
  if (migration_ran_in == InvalidSubTransactionId) migration_ran_in = GetCurrentSubTransactionId();
}
MigrationRunningScope::~MigrationRunningScope() { migration_running = saved_; }

void ensure_not_in_migration(const char* function_name) {
  if (migration_running)
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                fmt::format("{}() cannot be called from inside a migration", function_name),
                {}, "Migrations are applied by migrate.apply(); a migration script must not call pg_migrate's changing functions.");
  // On a hot standby every write fails deep inside (the catalog lock, the first INSERT): refuse
  // at once, saying why. Reads (status, validate, current_version, drift_status, schema_diff)
  // work there.
  if (RecoveryInProgress())
    throw Error("25006", fmt::format("{}() cannot run on a standby server", function_name),
                "This server is a hot standby in recovery: it replays the primary's changes and "
                "accepts no writes.",
                "Run it on the primary; the standby shows the result once it has replayed it.");
  if (XactReadOnly)
    throw Error("25006", fmt::format("{}() cannot run in a read-only transaction", function_name),
                {}, "Run it in a read-write transaction (default_transaction_read_only is on?).");
}

LocalTransactionId current_local_transaction() {
#if PG_VERSION_NUM >= 170000
  return MyProc->vxid.lxid;
#else
  return MyProc->lxid;
#endif
}

void xact_init() {
  RegisterXactCallback(on_transaction_end, nullptr);
  RegisterSubXactCallback(on_subtransaction_end, nullptr);
}

}  // namespace pgm
