// Drift (README "Drift"): DDL run outside migrations recorded into migrate.drift as it happens,
// recorded schema snapshots, schema_diff(), acknowledgements and the CI status. This file holds
// the feature's module init (its settings are in settings.cpp); drift_internal.hpp lists where each phase lives.
#include "drift_internal.hpp"
#include "drift_log.hpp"
#include "drift_snapshot.hpp"
#include "module_init.hpp"
#include "pg/rows.hpp"

extern "C" {
#include "access/xact.h"
#include "tcop/pquery.h"
#include "utils/inval.h"
#include "utils/syscache.h"
}

namespace pgm {
namespace {

void on_xact(XactEvent event, void*) {
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
      event == XACT_EVENT_PREPARE) {
    drift::forget_pending_rewrites();
    // The stashed parse trees belong to statements of this transaction; their memory is gone
    // afterwards and a later tree may get the same address.
    drift::forget_stashed_statements();
    // (A commit inside a running statement, DROP INDEX CONCURRENTLY's, keeps its notes: the
    // statement's sql_drop still needs them. A portal is active only then.)
    if (event != XACT_EVENT_COMMIT || ActivePortal == nullptr) drift::forget_start_notes();
    drift::reset_snapshot_tracking();
  }
}

void on_subxact(SubXactEvent event, SubTransactionId subxact, SubTransactionId, void*) {
  if (event != SUBXACT_EVENT_ABORT_SUB) return;
  drift::forget_pending_rewrites();
  drift::forget_start_notes_since(subxact);
  // An apply or revert whose (sub)transaction is rolled back (a savepoint around it) must not
  // leave its tracking to a snapshot recorded later in the transaction.
  drift::forget_snapshot_tracking_of(subxact);
}

// A schema renamed (pg_migrate's own, or one renamed to "migrate"): where migrate.drift is
// must be looked up again, as a new session would.
void on_namespace_invalidation(Datum, int, uint32) { drift::forget_log_layout(InvalidOid); }

void on_relcache_invalidation(Datum, Oid relid) {
  drift::exclusions_invalidated(relid);
  drift::forget_log_layout(relid);
  pg::rows::forget_direct_table(relid);
}

}  // namespace

void drift_init() {
  drift::install_statement_hook();
  drift::install_object_access_hook();
  CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0);
  CacheRegisterSyscacheCallback(NAMESPACEOID, on_namespace_invalidation, (Datum)0);
  RegisterXactCallback(on_xact, nullptr);
  RegisterSubXactCallback(on_subxact, nullptr);
}

}  // namespace pgm
