// The migration catalog: lock, owner scope, shared reads and writes, and the SQL functions
// that change what is registered (register, unregister, baseline).
#include "catalog.hpp"

#include <cctype>

#include "catalog_record.hpp"

#include "pg/args.hpp"
#include "run.hpp"
#include "core/script.hpp"
#include "drift_hooks.hpp"
#include "safety_hooks.hpp"
#include "script_parse.hpp"
#include "xact.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/acl.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "utils/lsyscache.h"
}

namespace pgm::catalog {
namespace {

bool write_allowed = false;

// pg_migrate's advisory lock lives in its own key space: field4 values 1 and 2 are used by
// pg_advisory_lock(bigint) and pg_advisory_lock(int, int); 0x6D67 ("mg") is never produced
// by them, so no application lock can collide with it.
constexpr uint32 kLockKey1 = 0x70675f6d;  // "pg_m"
constexpr uint32 kLockKey2 = 0x69677261;  // "igra"
constexpr uint16 kLockKeySpace = 0x6D67;

Oid catalog_owner() {
  return pg::call([] {
    Oid nsp = get_namespace_oid("migrate", false);
    Oid rel = get_relname_relid("migrations", nsp);
    if (!OidIsValid(rel))
      ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                      errmsg("pg_migrate catalog table migrate.migrations is missing")));
    HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
    if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for relation %u", rel);
    Oid owner = ((Form_pg_class)GETSTRUCT(tup))->relowner;
    ReleaseSysCache(tup);
    return owner;
  });
}

// Who holds the pg_migrate lock: "process 4711", or "prepared transaction 'p1'" (a prepared
// transaction keeps its locks, with no process, until COMMIT/ROLLBACK PREPARED).
std::string lock_holders() {
  static pg::Query q{
      "SELECT pg_catalog.string_agg(l.pid::text, ', ' ORDER BY l.pid), "
      "pg_catalog.string_agg(pg_catalog.quote_literal(p.gid), ', ' ORDER BY p.gid) "
      // a prepared transaction's locks have no pid; its transaction id lock, in the same
      // (dummy) virtual transaction, leads to its gid
      "FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_locks x "
      "ON l.pid IS NULL AND x.locktype OPERATOR(pg_catalog.=) 'transactionid' "
      "AND x.virtualtransaction OPERATOR(pg_catalog.=) l.virtualtransaction "
      "LEFT JOIN pg_catalog.pg_prepared_xacts p ON p.transaction OPERATOR(pg_catalog.=) x.transactionid "
      "WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' AND l.granted AND l.classid OPERATOR(pg_catalog.=) $1::oid "
      "AND l.objid OPERATOR(pg_catalog.=) $2::oid AND l.objsubid OPERATOR(pg_catalog.=) $3::int2 "
      "AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d "
      "WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())"};
  OwnerScope owner;
  q.run({pg::int8_param(kLockKey1), pg::int8_param(kLockKey2), pg::int8_param(kLockKeySpace)});
  std::string pids = pg::result_rows() ? pg::text_value(0, 1) : std::string();
  std::string prepared = pg::result_rows() ? pg::text_value(0, 2) : std::string();
  pg::free_result();
  if (!pids.empty()) return "process " + pids;
  if (!prepared.empty()) return "prepared transaction " + prepared;
  return "another session";
}

void check_concurrent_change() {
  if (!IsolationUsesXactSnapshot()) return;
  static pg::Query q{"SELECT generation FROM migrate.catalog_state"};
  OwnerScope owner;
  q.run();
  int64 seen = pg::int8_value(0, 1);
  pg::free_result();
  Snapshot latest = pg::call([] { return GetLatestSnapshot(); });
  q.run_with_snapshot(latest);
  int64 current = pg::int8_value(0, 1);
  pg::free_result();
  if (seen != current)
    throw Error(sqlstate::kSerializationFailure,
                "could not serialize access to the pg_migrate catalog due to a concurrent change",
                "Another transaction changed the migration catalog after this transaction's "
                "snapshot was taken.",
                "Retry the transaction.");
}

}  // namespace

bool catalog_write_allowed() { return write_allowed; }

namespace {

ExecutorCheckPerms_hook_type previous_check_perms = nullptr;

// Plain C (PostgreSQL calls it): refuses a migration's INSERT, UPDATE, DELETE or MERGE on a
// table of pg_migrate's schema, also through a function or trigger it calls. The protect
// triggers let the owner's and a superuser's writes through (drift_exclusions is managed with
// plain INSERT and DELETE); a migration applied by them must still not add a drift exclusion
// that hides what it or later DDL does, nor rewrite what pg_migrate records. Until the
// transaction ends: a deferred trigger a migration created fires at commit. pg_migrate's own
// writes (under OwnerScope) go on.
// (UPDATE privilege without updated columns is a row lock: SELECT ... FOR UPDATE/SHARE, a
// foreign key's check. A read.)
void refuse_write_to_own_table(Oid relid, AclMode required, const Bitmapset* updated) {
  if (!(required & (ACL_INSERT | ACL_DELETE)) && !((required & ACL_UPDATE) && !bms_is_empty(updated))) return;
  Oid own = get_namespace_oid("migrate", true);
  if (!OidIsValid(own) || get_rel_namespace(relid) != own) return;
  const char* name = get_rel_name(relid);
  ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                  errmsg("a write to pg_migrate's table migrate.%s cannot run %s", name ? name : "?",
                         in_migration() ? "inside a migration"
                                        : "in a transaction that ran migrations (a deferred trigger a migration created?)"),
                  errdetail("What pg_migrate records and watches (history, drift, snapshots, drift exclusions) is "
                            "not changed by the migrations it records."),
                  errhint("Run the statement on its own, outside pg_migrate, as the extension's owner.")));
}

#if PG_VERSION_NUM >= 160000
bool check_migration_writes(List* range_table, List* perm_infos, bool ereport_on_violation) {
  if (previous_check_perms && !previous_check_perms(range_table, perm_infos, ereport_on_violation)) return false;
  if ((in_migration() || migration_ran_in_transaction()) && !write_allowed) {
    ListCell* lc;
    foreach (lc, perm_infos) {
      RTEPermissionInfo* perm = static_cast<RTEPermissionInfo*>(lfirst(lc));
      refuse_write_to_own_table(perm->relid, perm->requiredPerms, perm->updatedCols);
    }
  }
  return true;
}
#else
bool check_migration_writes(List* range_table, bool ereport_on_violation) {
  if (previous_check_perms && !previous_check_perms(range_table, ereport_on_violation)) return false;
  if ((in_migration() || migration_ran_in_transaction()) && !write_allowed) {
    ListCell* lc;
    foreach (lc, range_table) {
      RangeTblEntry* rte = static_cast<RangeTblEntry*>(lfirst(lc));
      if (rte->rtekind == RTE_RELATION) refuse_write_to_own_table(rte->relid, rte->requiredPerms, rte->updatedCols);
    }
  }
  return true;
}
#endif

}  // namespace

void install_executor_hook() {
  previous_check_perms = ExecutorCheckPerms_hook;
  ExecutorCheckPerms_hook = check_migration_writes;
}

void check_name(const std::string& what, const std::string& name, const char* hint) {
  if (name.find_first_not_of(" \t\r\n") == std::string::npos)
    throw Error(sqlstate::kInvalidParameterValue, fmt::format("name of {} must not be empty", what), {},
                hint ? hint : "");
  size_t at = control_character_at(name);
  if (at != std::string::npos)
    throw Error(sqlstate::kInvalidParameterValue, fmt::format("name of {} contains a control character", what),
                fmt::format("U+{:04X} at byte {}.", code_point_at(name, at), at + 1),
                "A name is one line of plain text, shown in status tables and terminals: write it without newlines, "
                "tabs or escape sequences.");
}

void ensure_caller_may_read(const char* table) {
  bool allowed = pg::call([&] {
    Oid nsp = get_namespace_oid("migrate", true);
    Oid rel = OidIsValid(nsp) ? get_relname_relid(table, nsp) : InvalidOid;
    return !OidIsValid(rel) || pg_class_aclcheck(rel, GetUserId(), ACL_SELECT) == ACLCHECK_OK;
  });
  if (!allowed)
    throw Error(sqlstate::kInsufficientPrivilege, fmt::format("permission denied for table {}", table), {},
                "GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO <role>; (README \"Privileges\": a monitoring role "
                "has USAGE on schema migrate and SELECT on its tables).");
}

std::string current_role_name() {
  Oid user = GetUserId();
  const char* name = pg::call([&] { return GetUserNameFromId(user, false); });
  return name;
}

OwnerScope::OwnerScope() : exceptions_at_start_(std::uncaught_exceptions()) {
  GetUserIdAndSecContext(&saved_user_, &saved_sec_context_);
  caller_role_ = current_role_name();
  Oid owner = catalog_owner();
  guc_nest_level_ = pg::call([] { return NewGUCNestLevel(); });
  pg::call([] {
    pg::set_internal_sql_settings();
    // Identities built by internal SQL (quote_ident) must match snapshot keys, which are quoted
    // with it off.
    (void)set_config_option("quote_all_identifiers", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                            false);
  });
  SetUserIdAndSecContext(owner, saved_sec_context_ | SECURITY_LOCAL_USERID_CHANGE);
  saved_write_allowed_ = write_allowed;
  write_allowed = true;
}

OwnerScope::~OwnerScope() {
  write_allowed = saved_write_allowed_;
  // Always, also while unwinding: a caller that catches the error and commits (a procedure)
  // must not go on, or start its next transaction, as the catalog owner.
  SetUserIdAndSecContext(saved_user_, saved_sec_context_);
  if (std::uncaught_exceptions() > exceptions_at_start_) return;  // abort restores the GUCs
  int level = guc_nest_level_;
  try {
    pg::call([&] { AtEOXact_GUC(true, level); });
  } catch (...) {
  }
}

void lock_catalog() {
  check_no_run_in_progress();  // fail fast while CALL migrate.run() runs (see run.cpp)
  LOCKTAG tag;
  SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, kLockKey1, kLockKey2, kLockKeySpace);
  LockAcquireResult got = pg::call([&] { return LockAcquire(&tag, ExclusiveLock, false, true); });
  if (got == LOCKACQUIRE_NOT_AVAIL) {
    // Learn who holds it before waiting: after a lock timeout the backend must abort first.
    std::string holders = lock_holders();
    try {
      pg::call([&] { (void)LockAcquire(&tag, ExclusiveLock, false, false); });
    } catch (pg::PgError& e) {
      if (e.sqlerrcode() == ERRCODE_LOCK_NOT_AVAILABLE) {
        bool prepared = holders.rfind("prepared transaction ", 0) == 0;
        std::string who = holders;
        who[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(who[0])));
        std::string message =
            fmt::format("could not acquire the pg_migrate lock: held by {} (lock_timeout expired)", holders);
        std::string detail =
            prepared ? fmt::format("{} ran a pg_migrate function and keeps its locks until COMMIT PREPARED or "
                                   "ROLLBACK PREPARED.",
                                   who)
                     : fmt::format("{} is running a pg_migrate function in a transaction that has not ended yet.",
                                   who);
        ErrorData* edata = e.data();
        const char* m = message.c_str();
        const char* d = detail.c_str();
        pg::call([&] {
          edata->message = MemoryContextStrdup(GetMemoryChunkContext(edata), m);
          edata->detail = MemoryContextStrdup(GetMemoryChunkContext(edata), d);
          edata->hint = MemoryContextStrdup(GetMemoryChunkContext(edata),
                                            "Retry when that transaction has ended, or raise lock_timeout.");
        });
      }
      throw;
    }
  }
  check_no_run_in_progress();  // a run may have started while this backend waited
  check_concurrent_change();
}

namespace {
uint64_t bumps = 0, registration_changes = 0;
}  // namespace

void bump_generation(bool applied_state_only) {
  static pg::Query q{"UPDATE migrate.catalog_state SET generation = generation + 1"};
  OwnerScope owner;
  q.run();
  ++bumps;
  if (!applied_state_only) ++registration_changes;
}

uint64_t generation_bumps() { return bumps; }
uint64_t registration_bumps() { return registration_changes; }

int64 current_generation() {
  static pg::Query q{"SELECT generation FROM migrate.catalog_state"};
  OwnerScope owner;
  q.run();
  int64 g = pg::result_rows() > 0 ? pg::int8_value(0, 1) : -1;
  pg::free_result();
  return g;
}

std::optional<MigrationInfo> find_migration(const std::string& version) {
  static pg::Query q{
      "SELECT name, checksum, down_sql IS NOT NULL, applied_seq IS NOT NULL "
      "FROM migrate.migrations WHERE version = $1"};
  OwnerScope owner;
  q.run({pg::text_param(version)});
  if (pg::result_rows() == 0) {
    pg::free_result();
    return std::nullopt;
  }
  MigrationInfo m;
  m.version = version;
  m.name = pg::text_value(0, 1);
  m.checksum = pg::text_value(0, 2);
  m.has_down = pg::bool_value(0, 3);
  m.applied = pg::bool_value(0, 4);
  pg::free_result();
  return m;
}

std::string load_script(const std::string& version, bool up) {
  return load_scripts({version}, up).front();
}

std::vector<std::string> load_scripts(const std::vector<std::string>& versions, bool up) {
  if (std::optional<std::vector<std::string>> direct = load_scripts_directly(versions, up)) return *direct;
  static pg::Query up_q{
      "SELECT m.up_sql FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS v(version, ord) "
      "JOIN migrate.migrations m USING (version) ORDER BY v.ord"};
  static pg::Query down_q{
      "SELECT m.down_sql FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS v(version, ord) "
      "JOIN migrate.migrations m USING (version) ORDER BY v.ord"};
  OwnerScope owner;
  uint64 rows = (up ? up_q : down_q).run({pg::text_array_param(versions)});
  std::vector<std::string> scripts;
  scripts.reserve(rows);
  for (uint64 i = 0; i < rows; ++i) scripts.push_back(pg::text_value(i, 1));
  pg::free_result();
  if (scripts.size() != versions.size())
    throw Error(sqlstate::kSerializationFailure, "a migration disappeared from the catalog during apply");
  return scripts;
}

namespace {
// A database still at 0.1.0 (before ALTER EXTENSION pg_migrate UPDATE) has no migrate.scripts
// and no history.script_checksum: its history is written as 0.1.0 wrote it.
bool scripts_table_exists() {
  return pg::call([] {
    Oid nsp = get_namespace_oid("migrate", true);
    return OidIsValid(nsp) && OidIsValid(get_relname_relid("scripts", nsp));
  });
}
}  // namespace

void record_steps(const std::vector<StepRecord>& steps, bool up, const std::string& role) {
  if (steps.empty()) return;
  static pg::Query apply_0_1_q{
      "WITH d AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), "
      "pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::float8[]), pg_catalog.unnest($5::timestamptz[])) "
      "WITH ORDINALITY AS d(version, name, checksum, duration_ms, started_at, ord)), "
      "h AS (INSERT INTO migrate.history (version, name, action, performed_at, role, duration_ms, checksum) "
      "SELECT version, name, 'apply', started_at, $6, duration_ms, checksum FROM d ORDER BY ord "
      "RETURNING id, version, performed_at, performed_by) "
      "UPDATE migrate.migrations m SET applied_seq = h.id, applied_at = h.performed_at, "
      "applied_by = h.performed_by FROM h WHERE m.version = h.version AND m.version = ANY ($1::text[])"};
  static pg::Query revert_0_1_q{
      "WITH d AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), "
      "pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::float8[]), pg_catalog.unnest($5::timestamptz[]), "
      "pg_catalog.unnest($7::text[])) "
      "WITH ORDINALITY AS d(version, name, checksum, duration_ms, started_at, detail, ord)), "
      "h AS (INSERT INTO migrate.history (version, name, action, performed_at, role, duration_ms, checksum, detail) "
      "SELECT version, name, 'revert', started_at, $6, duration_ms, checksum, NULLIF(detail, '')::jsonb "
      "FROM d ORDER BY ord RETURNING version) "
      "UPDATE migrate.migrations m SET applied_seq = NULL, applied_at = NULL, applied_by = NULL "
      "FROM h WHERE m.version = h.version AND m.version = ANY ($1::text[])"};
  // One statement per batch: history rows in order, then the migrations' applied state.
  static pg::Query apply_q{
      "WITH d AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), "
      "pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::float8[]), pg_catalog.unnest($5::timestamptz[])) "
      "WITH ORDINALITY AS d(version, name, checksum, duration_ms, started_at, ord)), "
      "s AS (INSERT INTO migrate.scripts (checksum, script) SELECT DISTINCT m.checksum, m.up_sql "
      "FROM d JOIN migrate.migrations m ON m.version = d.version AND m.version = ANY ($1::text[]) "
      "ON CONFLICT (checksum) DO NOTHING), "
      "h AS (INSERT INTO migrate.history (version, name, action, performed_at, role, duration_ms, checksum, "
      "script_checksum) "
      "SELECT version, name, 'apply', started_at, $6, duration_ms, checksum, checksum FROM d ORDER BY ord "
      "RETURNING id, version, performed_at, performed_by) "
      "UPDATE migrate.migrations m SET applied_seq = h.id, applied_at = h.performed_at, "
      "applied_by = h.performed_by FROM h WHERE m.version = h.version AND m.version = ANY ($1::text[])"};
  static pg::Query revert_q{
      "WITH d AS (SELECT * FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), "
      "pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::float8[]), pg_catalog.unnest($5::timestamptz[]), "
      "pg_catalog.unnest($7::text[])) "
      "WITH ORDINALITY AS d(version, name, checksum, duration_ms, started_at, detail, ord)), "
      "dd AS (SELECT d.*, m.down_sql, migrate.checksum(m.down_sql) AS down_checksum "
      "FROM d JOIN migrate.migrations m ON m.version = d.version AND m.version = ANY ($1::text[])), "
      "s AS (INSERT INTO migrate.scripts (checksum, script) SELECT DISTINCT down_checksum, down_sql FROM dd "
      "ON CONFLICT (checksum) DO NOTHING), "
      "h AS (INSERT INTO migrate.history (version, name, action, performed_at, role, duration_ms, checksum, "
      "detail, script_checksum) "
      "SELECT version, name, 'revert', started_at, $6, duration_ms, checksum, "
      "NULLIF(detail, '')::jsonb, down_checksum FROM dd ORDER BY ord "
      "RETURNING version) "
      "UPDATE migrate.migrations m SET applied_seq = NULL, applied_at = NULL, applied_by = NULL "
      "FROM h WHERE m.version = h.version AND m.version = ANY ($1::text[])"};
  OwnerScope owner;
  if (up) {  // directly where the catalog is laid out as catalog_record.cpp writes it
    std::vector<AppliedRecord> raw;
    raw.reserve(steps.size());
    for (const StepRecord& r : steps)
      raw.push_back({r.version.c_str(), static_cast<int>(r.version.size()), r.name.c_str(),
                     static_cast<int>(r.name.size()), r.checksum.c_str(), static_cast<int>(r.checksum.size()),
                     r.duration_ms, r.started_at});
    if (record_applied_directly(raw, role)) return;
  }
  std::vector<std::string> versions, names, checksums, details;
  std::vector<double> durations;
  std::vector<TimestampTz> started;
  for (const StepRecord& r : steps) {
    details.push_back(r.detail);
    versions.push_back(r.version);
    names.push_back(r.name);
    checksums.push_back(r.checksum);
    durations.push_back(r.duration_ms);
    started.push_back(r.started_at);
  }
  bool keep_scripts = scripts_table_exists();
  if (up)
    (keep_scripts ? apply_q : apply_0_1_q).run({pg::text_array_param(versions), pg::text_array_param(names), pg::text_array_param(checksums),
                 pg::float8_array_param(durations), pg::timestamptz_array_param(started), pg::text_param(role)});
  else
    (keep_scripts ? revert_q : revert_0_1_q).run({pg::text_array_param(versions), pg::text_array_param(names), pg::text_array_param(checksums),
                  pg::float8_array_param(durations), pg::timestamptz_array_param(started), pg::text_param(role),
                  pg::text_array_param(details)});
}

void record_retry(const std::string& version, const std::string& name, const char* which,
                  int attempt, int line, const std::string& holders, double delay_ms) {
  static pg::Query q{
      "INSERT INTO migrate.history (version, name, action, role, checksum, detail) "
      "SELECT $1, $2, 'retry', $3, (SELECT m.checksum FROM migrate.migrations m WHERE m.version = $1), "
      "pg_catalog.jsonb_build_object('script', $4, "
      "'attempt', $5::int, 'line', $6::int, 'waited_for', NULLIF($7, ''), 'delay_ms', "
      "pg_catalog.round($8::numeric))"};  // (a callback, version 'C', has no migrations row)
  std::string role = current_role_name();
  OwnerScope owner;
  q.run({pg::text_param(version), pg::text_param(name), pg::text_param(role), pg::text_param(which),
         pg::int8_param(attempt), pg::int8_param(line), pg::text_param(holders),
         pg::float8_param(delay_ms)});
}

std::optional<Version> newest_applied_version() {
  static pg::Query q{
      "SELECT coalesce((SELECT version FROM migrate.migrations WHERE applied_seq IS NOT NULL "
      "ORDER BY version_parts DESC LIMIT 1), (SELECT version FROM migrate.baseline))"};
  OwnerScope owner;
  q.run();
  bool none = pg::is_null(0, 1);
  std::string v = none ? std::string() : pg::text_value(0, 1);
  pg::free_result();
  if (none) return std::nullopt;
  return Version::parse(v);
}

}  // namespace pgm::catalog

// ---------------------------------------------------------------------------------------
// SQL functions that change what is registered.

namespace pgm {
namespace {

[[noreturn]] void reject_null(const char* what) {
  throw Error(sqlstate::kInvalidParameterValue, fmt::format("{} must not be NULL", what));
}

// `fresh`: a version about to be registered (the length limit of Version::parse_new).
Version version_arg(FunctionCallInfo fcinfo, int n, const char* what, bool fresh = false) {
  if (PG_ARGISNULL(n)) reject_null(what);
  std::string text = pg::text_arg(fcinfo, n);
  return fresh ? Version::parse_new(text) : Version::parse(text);
}

// The result text in `context`: inside an SPI connection that must be the connection's
// caller_context(), since SPI_finish (when the SpiConnection goes) frees SPI's own context.
Datum text_result(const std::string& s, MemoryContext context = CurrentMemoryContext) {
  const char* p = s.c_str();
  int len = static_cast<int>(s.size());
  return pg::call([&] {
    MemoryContext old = MemoryContextSwitchTo(context);
    Datum d = PointerGetDatum(cstring_to_text_with_len(p, len));
    MemoryContextSwitchTo(old);
    return d;
  });
}

// Parses a script and checks every statement can run in a migration; returns its run mode
// (up_mode/down_mode: transaction, split or no-transaction).
// `parsed`: the statements, kept for lint (a 10 MB script is not parsed twice).
std::string check_script(const std::string& script, const ScriptLabel& label,
                         std::vector<ScriptStatement>* parsed = nullptr) {
  std::vector<ScriptStatement> local;
  std::vector<ScriptStatement>& stmts = parsed ? *parsed : local;
  stmts = parse_script(script, label);
  if (stmts.empty()) {
    // Empty and comment-only scripts are no-op migrations (as in diesel, golang-migrate...).
    std::string note = fmt::format("{} script of {} contains no SQL statement: it runs as a no-op",
                                   label.which, label.describe());
    const char* n = note.c_str();
    pg::call([&] { ereport(NOTICE, (errmsg_internal("%s", n))); });
  }
  refuse_unknown_directive(script, label);
  refuse_misplaced_directive(script, label);  // before the statements (as checked_run_mode)
  ScriptMode mode = script_mode(script);
  check_statements(stmts, script, label, mode);
  std::string run_mode = script_run_mode(script, stmts, label);
  refuse_batched_partitioned(script, stmts, label);
  return run_mode;
}

}  // namespace
}  // namespace pgm

using namespace pgm;

PGM_FUNCTION(pgm_register) {
  Version version = version_arg(fcinfo, 0, "migration version", true);
  if (PG_ARGISNULL(1)) reject_null("migration name");
  if (PG_ARGISNULL(2)) reject_null("up script");
  std::string name = pg::text_arg(fcinfo, 1);
  std::string up = pg::text_arg(fcinfo, 2);
  std::optional<std::string> down;
  if (!PG_ARGISNULL(3)) down = pg::text_arg(fcinfo, 3);
  catalog::check_name("migration " + version.canonical(), name);
  ensure_not_in_migration("migrate.register");

  std::vector<ScriptStatement> up_statements;
  std::string up_mode = check_script(up, {version.canonical(), name, "up"}, &up_statements);
  std::string down_mode = down ? check_script(*down, {version.canonical(), name, "down"}) : "transaction";
  std::string checksum = sha256_hex(up);
  lint_report_on_register(version.canonical(), name, up, up_statements);

  pg::SpiConnection spi;
  catalog::lock_catalog();
  std::optional<catalog::MigrationInfo> existing = catalog::find_migration(version.canonical());
  std::string result;
  if (!existing) {
    static pg::Query insert{
        "INSERT INTO migrate.migrations (version, version_parts, name, up_sql, down_sql, checksum) "
        "VALUES ($1, $2, $3, $4, $5, $6)"};
    {
      catalog::OwnerScope owner;
      insert.run({pg::text_param(version.canonical()), pg::numeric_array_param(version.sql_array()),
                  pg::text_param(name), pg::text_param(up), pg::nullable_text_param(down ? &*down : nullptr),
                  pg::text_param(checksum)});
    }
    store_run_modes(version.canonical(), up_mode, down_mode, false);
    result = "registered";
  } else {
    std::string old_down = catalog::load_script(version.canonical(), false);
    bool same_down = existing->has_down == down.has_value() && (!down || *down == old_down);
    if (existing->checksum == checksum && existing->name == name && same_down) {
      result = "unchanged";
    } else if (existing->applied) {
      if (existing->checksum != checksum)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    fmt::format("migration {} is already applied with checksum {}; the new up script "
                                "has checksum {}",
                                version.canonical(), existing->checksum, checksum),
                    "An applied migration is never changed by register.",
                    "Write a new migration with a higher version for the further change.");
      throw Error(sqlstate::kObjectNotInPrerequisiteState,
                  fmt::format("migration {} is already applied; its {} cannot be changed",
                              version.canonical(), existing->name != name ? "name" : "down script"),
                  "An applied migration is never changed by register.",
                  "Revert it first, or write a new migration.");
    } else {
      static pg::Query update{
          "UPDATE migrate.migrations SET name = $2, up_sql = $3, down_sql = $4, checksum = $5, "
          "registered_at = pg_catalog.now(), registered_by = session_user WHERE version = $1"};
      adopt_script_for_unfinished_run(version.canonical(), name, up);
      {
        catalog::OwnerScope owner;
        update.run({pg::text_param(version.canonical()), pg::text_param(name), pg::text_param(up),
                    pg::nullable_text_param(down ? &*down : nullptr), pg::text_param(checksum)});
      }
      store_run_modes(version.canonical(), up_mode, down_mode, true);
      std::string note =
          existing->checksum == checksum
              ? fmt::format("pending migration {} was replaced: its up script is unchanged (checksum {}), its name "
                            "or down script changed",
                            version.canonical(), checksum)
              : fmt::format("pending migration {} was replaced (checksum {} -> {})", version.canonical(),
                            existing->checksum, checksum);
      const char* n = note.c_str();
      pg::call([&] { ereport(NOTICE, (errmsg_internal("%s", n))); });
      result = "replaced";
    }
  }
  if (result != "unchanged") catalog::bump_generation();
  return text_result(result, spi.caller_context());
}

PGM_FUNCTION(pgm_unregister) {
  Version version = version_arg(fcinfo, 0, "migration version");
  ensure_not_in_migration("migrate.unregister");
  pg::SpiConnection spi;
  catalog::lock_catalog();
  std::optional<catalog::MigrationInfo> existing = catalog::find_migration(version.canonical());
  if (!existing)
    throw Error(sqlstate::kUndefinedObject,
                fmt::format("migration {} is not registered", version.canonical()));
  if (existing->applied)
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                fmt::format("migration {} (\"{}\") is applied and cannot be unregistered",
                            version.canonical(), existing->name),
                {}, "Revert it first with migrate.revert or migrate.revert_to.");
  ensure_no_unfinished_run(version.canonical());
  static pg::Query del{"DELETE FROM migrate.migrations WHERE version = $1"};
  {
    catalog::OwnerScope owner;
    del.run({pg::text_param(version.canonical())});
  }
  catalog::bump_generation();
  return text_result("unregistered", spi.caller_context());
}

PGM_FUNCTION(pgm_baseline) {
  Version version = version_arg(fcinfo, 0, "baseline version", true);
  if (PG_ARGISNULL(1)) reject_null("baseline name");
  std::string name = pg::text_arg(fcinfo, 1);
  catalog::check_name("baseline " + version.canonical(), name, "Name what the baseline stands for, such as 'existing schema'.");
  ensure_not_in_migration("migrate.baseline");
  pg::SpiConnection spi;
  catalog::lock_catalog();
  static pg::Query state{
      "SELECT (SELECT version FROM migrate.baseline), "
      "(SELECT version FROM migrate.migrations WHERE applied_seq IS NOT NULL "
      " ORDER BY version_parts DESC LIMIT 1)"};
  std::string existing_baseline, newest_applied;
  {
    catalog::OwnerScope owner;
    state.run();
    existing_baseline = pg::text_value(0, 1);
    newest_applied = pg::text_value(0, 2);
    pg::free_result();
  }
  if (!existing_baseline.empty())
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                fmt::format("the database already has a baseline (version {})", existing_baseline));
  if (!newest_applied.empty())
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                fmt::format("cannot baseline at {}: migrations are already applied (newest: {})",
                            version.canonical(), newest_applied),
                {}, "A baseline adopts a database that pg_migrate has not migrated yet.");
  static pg::Query insert{
      "WITH b AS (INSERT INTO migrate.baseline (version, version_parts, name) VALUES ($1, $2, $3) "
      "RETURNING version) INSERT INTO migrate.history (version, name, action, role, duration_ms) "
      "SELECT b.version, $3, 'baseline', $4, 0 FROM b"};
  {
    catalog::OwnerScope owner;
    insert.run({pg::text_param(version.canonical()), pg::numeric_array_param(version.sql_array()),
                pg::text_param(name), pg::text_param(owner.caller_role())});
  }
  catalog::bump_generation();
  drift_record_snapshot("baseline");
  return text_result(version.canonical(), spi.caller_context());
}

PGM_FUNCTION(pgm_checksum) {
  return text_result(sha256_hex(pg::text_arg(fcinfo, 0)));
}

PGM_FUNCTION(pgm_canonical_version) {
  return text_result(Version::parse_new(pg::text_arg(fcinfo, 0)).canonical());  // (as register checks it)
}

// Trigger on pg_migrate's tables: rows change only through pg_migrate's functions, and the
// history never changes.
PGM_FUNCTION(pgm_protect_catalog) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    throw Error("39P01", "migrate.protect_catalog() must be called as a trigger");
  TriggerData* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
  std::string table = pg::call([&] { return RelationGetRelationName(trig->tg_relation); });
  bool history = table == "history" || table == "scripts";
  if (history || !catalog::catalog_write_allowed()) {
    std::string detail, hint;
    if (history) {
      detail = table == "scripts" ? "Every script that was applied or reverted is kept."
                                  : "The history is append-only.";
    } else if (table == "catalog_page_sums") {
      detail = "The catalog fingerprint's page cache is written by pg_migrate.";
    } else if (table == "drift" || table == "drift_acknowledgements" || table == "schema_snapshots") {
      detail = table == "schema_snapshots" ? "Snapshots are recorded by pg_migrate."
                                           : "The drift log records DDL as it happens.";
      hint = "Use migrate.acknowledge_drift() to mark drift as reviewed.";
    } else {
      hint = "Use the migrate.* functions (register, apply, revert, baseline, unregister).";
    }
    throw Error("42501", fmt::format("migrate.{} cannot be changed directly", table), detail, hint);
  }
  if (TRIGGER_FIRED_BY_TRUNCATE(trig->tg_event)) return PointerGetDatum(nullptr);
  return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(trig->tg_event) ? trig->tg_newtuple : trig->tg_trigtuple);
}
