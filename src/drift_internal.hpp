// Drift: what the drift_*.cpp files share (README "Drift"). The feature is split by phase:
//   drift.cpp            module init, transaction and relcache callbacks (settings: settings.cpp)
//   drift_statement.cpp  ProcessUtility hook and the text of the running statement (redacted)
//   drift_exclusions.cpp the exclusions cache and what capture watches
//   drift_capture.cpp    the event triggers: what a DDL statement touched, one row per object
//   drift_log.cpp        writing rows to migrate.drift
//   drift_snapshot.cpp   recorded snapshots, the refresh after apply/revert, schema_diff()
//   drift_snapshot_entries.cpp the snapshot's entries, built from the system caches
//   drift_fingerprint.cpp the catalog fingerprint proving that nothing changed since a snapshot
//   drift_review.cpp     acknowledge_drift() and drift_status()
// Pure rules (exclusion globs, dropped objects, statement slicing, redaction) are in
// src/core/drift_*.cpp. This header includes no other drift header.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "core/drift_rules.hpp"
#include "pg/quote.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "utils/builtins.h"
}

namespace pgm::drift {

using pg::with_plain_identifiers;  // (pg/quote.hpp)

// ---- statement text (drift_statement.cpp)
struct StatementText {
  std::optional<std::string> text;
  const char* source = nullptr;  // hook, parse, enclosing, query
};
// Installs the ProcessUtility hook (module init).
void install_statement_hook();
// Whether the library was loaded before the backend's first query (shared or session preload).
bool loaded_at_backend_start();
// Whether the hook saw the statement an event trigger fires for.
bool hook_sees_statement();
// How many utility statements the ProcessUtility hook is inside (0 outside any): a statement
// nested in another (DDL a function runs while the outer ALTER TABLE rewrites) is deeper.
int utility_depth();
// At ddl_command_start, for a statement the hook did not see: notes its text.
void stash_statement(Node* parsetree);
// The text of the statement an event trigger fires for (not yet redacted).
StatementText current_statement(Node* parsetree);
// Transaction end: the stashed parse trees are gone.
void forget_stashed_statements() noexcept;

// ---- statements that fire no event trigger (drift_capture.cpp), for the ProcessUtility hook
// REASSIGN OWNED, event trigger DDL, EXPLAIN ANALYZE of CREATE TABLE AS / SELECT INTO / CREATE
// MATERIALIZED VIEW, CLUSTER ... USING: PostgreSQL runs them without event triggers.
bool fires_no_event_trigger(Node* parsetree);
// What existed before such a statement ran: the relation an EXPLAIN ANALYZE ... CREATE would
// create (IF NOT EXISTS then creates nothing), which of the event triggers a DROP EVENT
// TRIGGER names (bit i: the i-th name; IF EXISTS of a missing one drops nothing), which of the
// roles a REASSIGN OWNED names own something in this database.
struct UnfiredBefore {
  Oid relation = InvalidOid;
  uint64 existing = 0;
};
// Plain C (PostgreSQL errors pass).
UnfiredBefore unfired_before(Node* parsetree);
// Records the statement's drift rows, as the event triggers record others'. Raises PostgreSQL
// errors only (a C++ entry point of its own): call it from the hook's frame.
void record_unfired(Node* parsetree, UnfiredBefore before);

// ---- exclusions and the watched space (drift_exclusions.cpp)
// Sets plan_cache_mode = force_generic_plan inside an OwnerScope's GUC nest level.
void use_generic_plans();
// SPI and the owner's identity for capture's internal SQL, set up only when a statement needs
// them (exclusions not cached, a restore row to check, the SQL insert fallback): capture of
// an ordinary DDL statement runs no SQL at all.
class LazySpi {
 public:
  void need() {
    if (owner_) return;
    spi_.emplace();
    owner_.emplace();
    use_generic_plans();
  }

 private:
  std::optional<pg::SpiConnection> spi_;
  std::optional<catalog::OwnerScope> owner_;  // destroyed before spi_
};
// The exclusions, cached per backend until migrate.drift_exclusions changes.
const std::vector<Exclusion>& load_exclusions(LazySpi& spi);
// Relcache invalidation (module init's callback).
void exclusions_invalidated(Oid relid) noexcept;
// pg_migrate's own schema.
constexpr const char* kOwnSchema = "migrate";
// Whether capture records changes to an object of this scope: not in a temporary schema, not
// in pg_migrate's schema, not excluded.
bool watched(const std::vector<Exclusion>& exclusions, const Scope& scope);

// ---- capture (drift_capture.cpp)
// Transaction or subtransaction abort: the table_rewrite events noted are void.
void forget_pending_rewrites() noexcept;
// Transaction end, or abort of subtransaction `subxact` (and those below it): what
// ddl_command_start noted for statements that did not reach their ddl_command_end.
void forget_start_notes() noexcept;
void forget_start_notes_since(SubTransactionId subxact) noexcept;
// Installs the object access hook that notes the relations a migration creates (module init).
void install_object_access_hook();
// Whether the relations the statement created (noted by that hook) are all a migration's
// statement touched, so its ddl_command_end need not read pg_event_trigger_ddl_commands().
bool created_relations_suffice(Node* parsetree);

}  // namespace pgm::drift
