// Non-transactional, split and batched migrations: CALL migrate.run() and its state
// (README "Indexes and data on busy tables").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apply.hpp"
#include "core/error.hpp"
#include "script_parse.hpp"

namespace pgm {

// A script's mode as stored in migrate.migrations.up_mode/down_mode: "transaction", "split"
// (COMMIT points) or "no-transaction". Throws for a misplaced directive and for batch
// directives that cannot work (with the reason). `statements` is the parsed script.
std::string script_run_mode(const std::string& script, const std::vector<ScriptStatement>& statements,
                            const ScriptLabel& label);

// Throws for a "-- pg_migrate:no-transaction" directive that is not the script's first line.
void refuse_misplaced_directive(const std::string& script, const ScriptLabel& label);
// Refuses a comment line that looks like a pg_migrate directive but is none (a misspelt one
// would be a plain comment). Checked as a script is registered only: scripts registered before
// the check existed still run and resume.
void refuse_unknown_directive(const std::string& script, const ScriptLabel& label);

// Registration (register, sync): refuses a batched UPDATE/DELETE of a table that exists and is
// partitioned, or has inheritance children without ONLY (batches are ranges of one heap's
// blocks). A table that does not exist yet is checked when the statement runs.
void refuse_batched_partitioned(const std::string& script, const std::vector<ScriptStatement>& statements,
                                const ScriptLabel& label);

// The mode of a script from its first line (check_runnable needs it before the statements).
ScriptMode script_mode(const std::string& script);

// Parses a script, checks every statement can run in a migration of its mode, and returns its
// run mode (script_run_mode). `parsed`, if given, receives the statements.
std::string checked_run_mode(const std::string& script, const ScriptLabel& label,
                             std::vector<ScriptStatement>* parsed = nullptr);

// checked_run_mode() with the checks registration adds (refuse_unknown_directive(),
// refuse_batched_partitioned()): a script about to replace a registered one (a changed down
// script through sync or repair) or a dry run's trial of a registration.
std::string checked_registration_mode(const std::string& script, const ScriptLabel& label,
                                      std::vector<ScriptStatement>* parsed = nullptr);

// migrate.apply / revert / revert_to: refuses (nothing done) if one of the migrations runs
// statement by statement (non-transactional or split in that direction).
void refuse_non_transactional(const std::vector<MigrationStep>& steps, bool up);

// Called by catalog::lock_catalog() before and after it takes the catalog lock: fails fast,
// naming the running migration, while another session runs CALL migrate.run() (waiting could
// hold a snapshot that its concurrent index build waits for).
void check_no_run_in_progress();

// register: records the modes (migrate.migrations.up_mode/down_mode) after the insert or
// update. A catalog not yet updated to 0.2.0 (the library is replaced before ALTER EXTENSION
// UPDATE) has no such columns: transactional scripts register as before, others are refused.
void store_run_modes(const std::string& version, const std::string& up_mode, const std::string& down_mode,
                     bool replaced);

// register (replace) and unregister: refuse a migration whose run has started and not ended.
void ensure_no_unfinished_run(const std::string& version);
// register (and sync) replacing the up script of a migration whose apply run stopped part
// way: the run goes on with the new script when the statements it finished are the new
// script's first ones, unchanged but for formatting and comments (their effect stays); the
// next CALL migrate.run() resumes with the rest of the new script. Otherwise the run's error
// (ensure_no_unfinished_run), saying which finished statement differs.
// The same for a down script repaired while a revert run of it is unfinished (up = false).
// Whether a revert run of it is unfinished (a removed down script is refused then; a changed one
// is adopted as above, or refused).
bool unfinished_revert_run(const std::string& version);

void adopt_script_for_unfinished_run(const std::string& version, const std::string& name, const std::string& new_script,
                                     bool up = true);
// The same check without throwing (plan() reports it and goes on).
std::optional<Error> unfinished_run_error(const std::string& version);

// "CALL migrate.run()" / "CALL migrate.run_revert()", or to the pg_migrate command "pg_migrate
// apply" / "pg_migrate revert": what resumes an unfinished run.
const char* resume_call(bool up);

// plan(): per statement of the up script, whether the unfinished CALL migrate.run() of the
// migration finished it (a resumed run starts after those); nullopt if there is no such run
// of this very script.
std::optional<std::vector<bool>> finished_statements(const MigrationStep& step, const std::string& script,
                                                     const std::vector<ScriptStatement>& statements);

// CALL migrate.run() and plan() (up) refuse while a revert by run_revert() stopped part way, and
// run_revert() while an apply did: the other direction would build on a half-done step.
void check_opposite_runs(bool up);

// apply(), revert() and revert_to(): refuse while any migration's run has started and not ended
// (reverting below a half-applied migration, or applying over a half-reverted one, would leave
// a state no history describes).
void ensure_no_unfinished_runs();


}  // namespace pgm
