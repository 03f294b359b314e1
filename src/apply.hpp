// The apply loop: running migrations' up and down scripts inside the caller's transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/version.hpp"
#include "script_parse.hpp"
#include "xact.hpp"  // ensure_not_in_migration, MigrationRunningScope (for apply's users)

namespace pgm {

struct MigrationStep {
  std::string version;
  std::string name;
  std::string checksum;
  bool has_down;
  // Whether its up script runs in one transaction, where the pending read saw it (else nullopt:
  // refuse_non_transactional() asks the catalog).
  std::optional<bool> up_transactional = std::nullopt;
};

// Pending migrations as apply selects them: above the baseline, in version order, up to
// `target` (which must be registered). Throws if one of them is older than the newest applied
// migration and pg_migrate.out_of_order is off. Needs an SPI connection and the catalog lock
// (apply) or a rolled-back subtransaction (plan, verify).
std::vector<MigrationStep> select_pending(const std::optional<Version>& target);

// Runs a parsed script statement by statement as the caller, under lock_timeout_ms (0: the
// session's), in a GUC nest level that undoes the script's settings. Errors name the migration
// and line; on failure `failed` is the index of the failing statement. The prepared statements
// and WITH HOLD cursors it creates are removed when it ends (script_leftovers()); with
// `leftovers`, only noted there, for the caller to remove.
void run_statements(const std::string& script, const std::vector<ScriptStatement>& statements,
                    const ScriptLabel& label, int lock_timeout_ms, int& failed,
                    SessionLeftovers* leftovers = nullptr);

// Refuses to apply a migration whose stored up script does not hash to its recorded checksum
// (a row pg_migrate did not write: an owner's INSERT, a dump edited before its restore), which
// validate() reports: what runs is what the checksum vouches for.
void refuse_checksum_mismatch(const MigrationStep& step, const std::string& up_script);

// revert() and run_revert(): refuses (nothing reverted) when a migration has no down script.
void refuse_missing_down_scripts(const std::vector<MigrationStep>& steps);

// revert_to() and run_revert_to(): the target is a registered migration, the baseline or 0.
void ensure_revert_target(const Version& target);

// Parses, checks and runs a whole script as the caller (plan and verify).
void run_script(const std::string& script, const ScriptLabel& label, int lock_timeout_ms);

// CALL migrate.run() (src/run.cpp): one transactional migration applied (up) or reverted and
// recorded as migrate.apply() / migrate.revert() do it, in the current transaction.
void run_transactional_step(const MigrationStep& step, bool up);

// Prefixes a statement's error with the migration and line ("migration 3 (\"x\") failed at line
// 4 of its up script: ..."); SQLSTATE, DETAIL and HINT stay.
void name_failure(pg::PgError& e, const ScriptLabel& label, int line);
// After a lock timeout of `step` at `line` (attempt `attempt`, `waited` ms so far): false when
// the retries are spent (`gave_up` then says so); else the retry is reported (NOTICE) and
// recorded in history, and `delay` is the backoff to sleep before it. `holders`: who held the
// lock ("" if unknown); `lock_waited`: lock_timeout ended a wait (else NOWAIT found it taken).
bool announce_retry(const MigrationStep& step, const ScriptLabel& label, int line, int attempt, double waited,
                    double random_unit, const std::string& holders, bool lock_waited, double* delay,
                    std::string* gave_up);

// CALL migrate.run(): statements of one part under pg_migrate.lock_timeout with apply's retries.
void run_part_with_retries(const MigrationStep& step, const std::string& script,
                           const std::vector<ScriptStatement>& statements, const ScriptLabel& label,
                           SessionLeftovers& migration_leftovers);

}  // namespace pgm
