// The migration catalog (tables in schema migrate): the lock that serializes changes, the
// owner scope internal SQL runs in, and the reads and writes every feature shares.
#pragma once

#include <optional>

#include "core/version.hpp"
#include "pg/spi.hpp"

namespace pgm::catalog {

// Internal SQL runs as the catalog's owner with search_path = pg_catalog, pg_temp, so a
// deploy role needs no privilege on the tables and cannot redirect the SQL. Restored on exit
// (on an error path the transaction abort restores user and settings).
class OwnerScope {
 public:
  OwnerScope();
  ~OwnerScope();
  OwnerScope(const OwnerScope&) = delete;
  OwnerScope& operator=(const OwnerScope&) = delete;
  // The caller's current user name (recorded in history).
  const std::string& caller_role() const { return caller_role_; }

 private:
  Oid saved_user_;
  int saved_sec_context_;
  int guc_nest_level_;
  bool saved_write_allowed_;
  int exceptions_at_start_;
  std::string caller_role_;
};

// True while OwnerScope is active: the protect trigger lets the functions' writes through.
bool catalog_write_allowed();

// Installs the executor check that keeps a migration's statements from writing pg_migrate's
// tables (from _PG_init).
void install_executor_hook();

// Takes pg_migrate's transaction-scoped lock (own advisory key space); waits for a holder.
// A lock timeout names the holding pids. Then checks, under REPEATABLE READ or SERIALIZABLE,
// that no concurrent transaction changed the catalog after this transaction's snapshot.
void lock_catalog();

// Refuses (42501, "permission denied for table <table>") a caller without SELECT on
// migrate.<table>: functions that read the catalog as its owner show a caller only what the
// tables would (README "Privileges": a monitoring role has USAGE and SELECT).
void ensure_caller_may_read(const char* table);

// Records that the catalog changed (see migrate.catalog_state).
void bump_generation(bool applied_state_only = false);
// This backend's bump_generation() calls so far, and those that changed more than the applied
// state (registrations, baseline, repair...): migrate.sync_confirm() compares them with what
// they were at the sync of the same transaction.
uint64_t generation_bumps();
uint64_t registration_bumps();
int64 current_generation();

// The caller's current user name.
std::string current_role_name();

// Refuses (22023) an empty name, or one with a control character (a newline, an escape
// sequence a terminal would act on), of the migration or baseline `what` ("migration 3").
void check_name(const std::string& what, const std::string& name, const char* hint = nullptr);

struct MigrationInfo {
  std::string version;
  std::string name;
  std::string checksum;
  bool has_down = false;
  bool applied = false;
};

// A registered migration by canonical version.
std::optional<MigrationInfo> find_migration(const std::string& version);

// Up or down script of a registered migration.
std::string load_script(const std::string& version, bool up);

// Up or down script of one registered migration.
std::string load_script(const std::string& version, bool up);

// Scripts of several migrations in one query, in the order of `versions`.
std::vector<std::string> load_scripts(const std::vector<std::string>& versions, bool up);

// One finished migration of an apply or revert call, recorded in batches.
struct StepRecord {
  std::string version;
  std::string name;
  std::string checksum;
  double duration_ms;
  TimestampTz started_at;
  std::string detail = {};  // revert: jsonb text for history.detail ("" for none)
};

// Records finished migrations: history rows (apply or revert) and the applied state, in one query.
void record_steps(const std::vector<StepRecord>& steps, bool up, const std::string& role);

// Newest applied version, or the baseline's, if any.
std::optional<Version> newest_applied_version();

}  // namespace pgm::catalog

namespace pgm::catalog {

// History row for a retry after a lock timeout (action 'retry', details in jsonb).
void record_retry(const std::string& version, const std::string& name, const char* which,
                  int attempt, int line, const std::string& holders, double delay_ms);

}  // namespace pgm::catalog
