// migrate.run_callback(event, script, file): runs one of Flyway's SQL callbacks (afterMigrate.sql
// and the like, README "Callbacks") as a migration runs: as the caller, under the pg_migrate
// lock, statement by statement with the failing line named, its DDL not counted as drift, the
// schema snapshot refreshed, and recorded in history (action 'callback', version 'C') with its
// text kept in migrate.scripts. The pg_migrate command decides when each event's files run.
#include <chrono>

#include "apply.hpp"
#include "catalog.hpp"
#include "core/migration_files.hpp"
#include "drift_hooks.hpp"
#include "pg/args.hpp"
#include "pg/spi.hpp"
#include "run.hpp"
#include "safety_hooks.hpp"
#include "script_parse.hpp"
#include "xact.hpp"

using namespace pgm;

namespace {

// A callback as migrate.run_callback() is about to run it, its checks passed.
struct CheckedCallback {
  std::string event, script;
  std::optional<std::string> file;
  ScriptLabel label;
  std::vector<ScriptStatement> statements;
};

// What run_callback() checks before it runs any of a callback (the arguments, a syntax error,
// a statement that cannot run in a transaction, COMMIT, the no-transaction directive, the lint
// gate); check_callback() makes the same checks and runs nothing, for a dry run.
CheckedCallback checked_callback(FunctionCallInfo fcinfo) {
  if (PG_ARGISNULL(0)) throw Error(sqlstate::kInvalidParameterValue, "callback event must not be NULL");
  if (PG_ARGISNULL(1)) throw Error(sqlstate::kInvalidParameterValue, "callback script must not be NULL");
  std::string event = pg::text_arg(fcinfo, 0);
  std::string script = pg::text_arg(fcinfo, 1);
  std::optional<std::string> file = pg::optional_text_arg(fcinfo, 2);
  if (!files::is_callback_event(event))
    throw Error(sqlstate::kInvalidParameterValue, fmt::format("\"{}\" is not a callback event pg_migrate runs", event),
                fmt::format("The events are {}.", files::callback_event_list()));
  if (file && file->empty()) throw Error(sqlstate::kInvalidParameterValue, "callback file name must not be empty");
  if (file) catalog::check_name("callback file", *file);
  // Named by its file where it has one: that is what a user finds and fixes.
  CheckedCallback c{event, script, file, ScriptLabel{"C", file ? *file : event, "SQL"}, {}};
  const char* outside_hint =
      "A callback runs inside the transaction of the apply. Run what must run outside a transaction "
      "(VACUUM, CREATE INDEX CONCURRENTLY) as a non-transactional migration, or after pg_migrate apply.";
  std::string run_mode;
  try {
    run_mode = checked_run_mode(c.script, c.label, &c.statements);
  } catch (const Error& e) {
    // The check's hint is about migrations, which may be non-transactional; a callback may not.
    if (e.sqlstate() != sqlstate::kActiveSqlTransaction) throw;
    throw Error(e.sqlstate(), e.message(), e.detail(), outside_hint);
  }
  if (run_mode != "transaction")
    throw Error(sqlstate::kFeatureNotSupported,
                fmt::format("{} is {}", c.label.describe(),
                            run_mode == "split" ? "split by COMMIT" : "non-transactional (-- pg_migrate:no-transaction)"),
                {}, fmt::format("Remove the {}. {}", run_mode == "split" ? "COMMIT points" : "directive", outside_hint));
  // The gate a migration passes before it runs: error-level lint findings under
  // pg_migrate.lint_blocks_apply (as the DBA's policy makes it effective).
  lint_check_before_running(c.label.describe(), c.script);
  return c;
}

}  // namespace

PGM_FUNCTION(pgm_check_callback) {
  pg::SpiConnection spi;
  (void)checked_callback(fcinfo);
  PG_RETURN_VOID();
}

PGM_FUNCTION(pgm_run_callback) {
  ensure_not_in_migration("migrate.run_callback");
  pg::SpiConnection spi;
  CheckedCallback c = checked_callback(fcinfo);
  catalog::lock_catalog();
  const std::string& event = c.event;
  const std::string& script = c.script;
  const std::optional<std::string>& file = c.file;
  ScriptLabel& label = c.label;
  std::vector<ScriptStatement>& statements = c.statements;
  std::vector<SessionObject> session_before = session_objects();
  drift_expect_migrations();
  auto start = std::chrono::steady_clock::now();
  // Under pg_migrate.lock_timeout with a migration's retries (each a 'retry' history row), in
  // a subtransaction per attempt; what it prepared is dropped when it ends.
  std::string sha = sha256_hex(script);
  MigrationStep step{"C", event, sha, false};
  SessionLeftovers leftovers;
  run_part_with_retries(step, script, statements, label, leftovers);
  leftovers.clear();
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  drop_created_since(session_before);
  // Like every script that ran, its text is kept in migrate.scripts (by SHA-256) and history
  // points to it.
  static pg::Query record{
      "WITH s AS (INSERT INTO migrate.scripts (checksum, script) VALUES ($5, $6) ON CONFLICT (checksum) DO NOTHING) "
      "INSERT INTO migrate.history (version, name, action, role, duration_ms, checksum, detail, script_checksum) "
      "VALUES ('C', $1, 'callback', $2, $3, $5, pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
      "'callback', $1, 'file', $4::text)), $5)"};
  std::string role = catalog::current_role_name();  // the caller's, before the owner switch
  {
    catalog::OwnerScope owner;
    record.run({pg::text_param(event), pg::text_param(role), pg::float8_param(ms),
                pg::nullable_text_param(file ? &*file : nullptr), pg::text_param(sha), pg::text_param(script)});
  }
  // A callback of DML only (log rows, refresh a table) leaves the newest snapshot as it is.
  if (drift_migrations_ran_no_utility()) drift_forget_migrations();
  else drift_record_snapshot("callback");
  PG_RETURN_FLOAT8(ms);
}
