// The background worker of non-transactional migrations: one statement, at top level, in a
// transaction of its own (pg_cron and pg_background run statements the same way). The caller
// (CALL migrate.run()) waits without a snapshot; results travel through a DSM segment.
#include "run_worker.hpp"

#include <cstring>

extern "C" {
#include "catalog/namespace.h"
#include "mb/pg_wchar.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "parser/analyze.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/dsm.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "utils/portal.h"
#include "utils/resowner.h"
}

namespace pgm {
namespace {

struct WorkerShared {
  Oid database;
  Oid session_user;
  Oid current_user;
  int lock_timeout_ms;
  Size search_path_offset;
  Size settings_offset;  // "name\0value\0" pairs, then "\0": the caller's settings (kCallerSettings)
  Size sql_offset;
  bool finished;  // written last by the worker
  bool ok;
  char sqlstate[6];
  char message[4096];
  char detail[2048];
  char hint[1024];
  char data[FLEXIBLE_ARRAY_MEMBER];
};

std::string copy_out(const char* s, size_t max) {
  return std::string(s, strnlen(s, max));
}

void terminate_worker_at_exit(int, Datum handle) {
  TerminateBackgroundWorker(reinterpret_cast<BackgroundWorkerHandle*>(DatumGetPointer(handle)));
}

}  // namespace

// The caller's settings that change what the statement means or how it runs, so that it runs
// in the worker as it would in the session: how literals are read (a backslash in a partial
// index's predicate), dates and times, where an index goes, the memory and parallel workers of
// an index build, commit and trigger behaviour. (search_path, lock_timeout and the role are
// passed on their own.)
constexpr const char* kCallerSettings[] = {
    "standard_conforming_strings", "backslash_quote", "escape_string_warning", "DateStyle", "IntervalStyle",
    "TimeZone", "default_tablespace", "temp_tablespaces", "maintenance_work_mem",
    "max_parallel_maintenance_workers", "work_mem", "synchronous_commit", "session_replication_role",
    "default_toast_compression", "check_function_bodies"};

TopLevelResult run_top_level(const std::string& sql, int lock_timeout_ms,
                             const std::function<void(int)>& started) {
  const char* search_path = pg::call([] { return GetConfigOption("search_path", false, false); });
  std::string sp = search_path ? search_path : "";
  std::string settings;
  for (const char* name : kCallerSettings) {
    const char* value = pg::call([&] { return GetConfigOption(name, true, false); });
    if (!value) continue;
    settings.append(name).push_back('\0');
    settings.append(value).push_back('\0');
  }
  settings.push_back('\0');
  Size size = offsetof(WorkerShared, data) + sp.size() + 1 + settings.size() + sql.size() + 1;
  // The mapping outlives the transaction: the caller commits while the worker runs.
  dsm_segment* seg = pg::call([&] {
    dsm_segment* s = dsm_create(size, 0);
    dsm_pin_mapping(s);
    return s;
  });
  WorkerShared* sh = static_cast<WorkerShared*>(dsm_segment_address(seg));
  std::memset(sh, 0, offsetof(WorkerShared, data));
  sh->database = MyDatabaseId;
  sh->session_user = GetSessionUserId();
  sh->current_user = GetUserId();
  sh->lock_timeout_ms = lock_timeout_ms;
  sh->search_path_offset = 0;
  std::memcpy(sh->data, sp.c_str(), sp.size() + 1);
  sh->settings_offset = sp.size() + 1;
  std::memcpy(sh->data + sh->settings_offset, settings.data(), settings.size());
  sh->sql_offset = sh->settings_offset + settings.size();
  std::memcpy(sh->data + sh->sql_offset, sql.c_str(), sql.size() + 1);

  BackgroundWorker worker;
  std::memset(&worker, 0, sizeof worker);
  worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
  worker.bgw_restart_time = BGW_NEVER_RESTART;
  snprintf(worker.bgw_library_name, BGW_MAXLEN, "pg_migrate");
  snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgm_run_worker_main");
  snprintf(worker.bgw_name, BGW_MAXLEN, "pg_migrate worker for PID %d", MyProcPid);
  snprintf(worker.bgw_type, BGW_MAXLEN, "pg_migrate worker");
  worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
  worker.bgw_notify_pid = MyProcPid;
  BackgroundWorkerHandle* handle = nullptr;
  bool registered = pg::call([&] { return RegisterDynamicBackgroundWorker(&worker, &handle); });
  if (!registered) {
    pg::call([&] { dsm_detach(seg); });
    throw Error("53000", "could not start a pg_migrate background worker: no free background worker slot",
                {}, "Raise max_worker_processes, or retry when fewer background workers run.");
  }
  static const char* const kResumeAfterRestart =
      "The run stopped at this statement (migrate.status() shows it interrupted once the server is back); "
      "the same call (CALL migrate.run() or migrate.run_revert()) then resumes it.";
  // If this backend is terminated while waiting (FATAL: no C++ unwinding), stop the worker too.
  pg::call([&] { before_shmem_exit(terminate_worker_at_exit, PointerGetDatum(handle)); });
  try {
    // No snapshot while waiting: a concurrent index build waits for every older snapshot.
    pg::call([] { InvalidateCatalogSnapshot(); });
    pid_t pid = 0;
    BgwHandleStatus status = pg::call([&] { return WaitForBackgroundWorkerStartup(handle, &pid); });
    if (status == BGWH_POSTMASTER_DIED)
      throw Error("57P01", "the postmaster died while a pg_migrate background worker was starting", {},
                  kResumeAfterRestart);
    if (status == BGWH_STARTED) {
      started(static_cast<int>(pid));
      pg::call([] { InvalidateCatalogSnapshot(); });
      status = pg::call([&] { return WaitForBackgroundWorkerShutdown(handle); });
      if (status == BGWH_POSTMASTER_DIED)
        throw Error("57P01", "the postmaster died while a pg_migrate background worker was running", {},
                    kResumeAfterRestart);
    }
  } catch (...) {
    // A cancel of the caller (or any failure): stop the worker, which aborts its statement,
    // and wait until it has gone; the next run resumes at the statement.
    pg::call([&] {
      TerminateBackgroundWorker(handle);
      HOLD_INTERRUPTS();
      (void)WaitForBackgroundWorkerShutdown(handle);
      RESUME_INTERRUPTS();
      cancel_before_shmem_exit(terminate_worker_at_exit, PointerGetDatum(handle));
      dsm_detach(seg);
    });
    throw;
  }
  pg::call([&] { cancel_before_shmem_exit(terminate_worker_at_exit, PointerGetDatum(handle)); });
  pg_memory_barrier();
  TopLevelResult r;
  r.reported = sh->finished;
  r.ok = sh->finished && sh->ok;
  if (sh->finished && !sh->ok) {
    r.sqlstate = copy_out(sh->sqlstate, sizeof sh->sqlstate);
    r.message = copy_out(sh->message, sizeof sh->message);
    r.detail = copy_out(sh->detail, sizeof sh->detail);
    r.hint = copy_out(sh->hint, sizeof sh->hint);
  }
  pg::call([&] { dsm_detach(seg); });
  return r;
}

}  // namespace pgm

namespace {

// The statement changes pg_migrate's own schema (reached through search_path: a name that
// says `migrate.` is refused at register): refused as a migration's transactional statement
// is by the event triggers, which in this worker run outside any migration. Plain C.
void refuse_own_schema(Node* stmt) {
  Oid own = get_namespace_oid("migrate", true);
  if (!OidIsValid(own)) return;
  const char* what = nullptr;
  char* name = nullptr;
  auto schema_of = [](RangeVar* rv) { Oid rel = RangeVarGetRelid(rv, NoLock, true); return OidIsValid(rel) ? get_rel_namespace(rel) : InvalidOid; };
  if (IsA(stmt, IndexStmt)) {
    IndexStmt* s = castNode(IndexStmt, stmt);
    if (schema_of(s->relation) == own) { what = "creates an index on table"; name = s->relation->relname; }
  } else if (IsA(stmt, DropStmt)) {
    DropStmt* s = castNode(DropStmt, stmt);
    ListCell* lc;
    if (s->removeType == OBJECT_INDEX)
      foreach (lc, s->objects) {
        RangeVar* rv = makeRangeVarFromNameList(castNode(List, lfirst(lc)));
        if (schema_of(rv) == own) { what = "drops index"; name = rv->relname; }
      }
  } else if (IsA(stmt, ReindexStmt)) {
    ReindexStmt* s = castNode(ReindexStmt, stmt);
    if (s->relation && schema_of(s->relation) == own) { what = "reindexes"; name = s->relation->relname; }
    if (s->kind == REINDEX_OBJECT_SCHEMA && s->name && get_namespace_oid(s->name, true) == own) { what = "reindexes schema"; name = pstrdup(s->name); }
  } else if (IsA(stmt, AlterTableStmt)) {
    AlterTableStmt* s = castNode(AlterTableStmt, stmt);
    if (schema_of(s->relation) == own) { what = "alters table"; name = s->relation->relname; }
  }
  if (what)
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("a migration %s %s in pg_migrate's schema migrate", what, name),
                    errdetail("pg_migrate's catalog is changed only by its own functions and ALTER EXTENSION pg_migrate UPDATE."),
                    errhint("Create the object in another schema (check the migration's search_path).")));
}

// Parses, plans and runs `sql` as one top-level statement (like exec_simple_query). Parse
// trees and plans live in `context`: a concurrent build commits and starts transactions of
// its own, so transaction memory would not outlive it.
void execute_top_level(const char* sql, MemoryContext context) {
  MemoryContext old = MemoryContextSwitchTo(context);
  List* parsetrees = pg_parse_query(sql);
  if (list_length(parsetrees) != 1)
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                    errmsg("pg_migrate worker expects exactly one statement, got %d", list_length(parsetrees))));
  RawStmt* parsetree = linitial_node(RawStmt, parsetrees);
  refuse_own_schema(parsetree->stmt);
  bool snapshot_set = false;
  if (analyze_requires_snapshot(parsetree)) {
    PushActiveSnapshot(GetTransactionSnapshot());
    snapshot_set = true;
  }
#if PG_VERSION_NUM >= 150000
  List* querytrees = pg_analyze_and_rewrite_fixedparams(parsetree, sql, nullptr, 0, nullptr);
#else
  List* querytrees = pg_analyze_and_rewrite(parsetree, sql, nullptr, 0, nullptr);
#endif
  List* plans = pg_plan_queries(querytrees, sql, CURSOR_OPT_PARALLEL_OK, nullptr);
  if (snapshot_set) PopActiveSnapshot();
  CommandTag tag = CreateCommandTag(parsetree->stmt);
  Portal portal = CreatePortal("", true, true);
  portal->visible = false;
  PortalDefineQuery(portal, nullptr, sql, tag, plans, nullptr);
  PortalStart(portal, nullptr, 0, InvalidSnapshot);
  int16 format = 0;
  PortalSetResultFormat(portal, 1, &format);
  DestReceiver* receiver = CreateDestReceiver(DestNone);
  QueryCompletion qc;
  InitializeQueryCompletion(&qc);
  (void)PortalRun(portal, FETCH_ALL, true /* top level */, true, receiver, receiver, &qc);
  receiver->rDestroy(receiver);
  PortalDrop(portal, false);
  MemoryContextSwitchTo(old);
}

// Cut at a character boundary (in the database encoding): a cut inside a character would be
// stored in the catalog as an invalid string.
void copy_field(char* dest, size_t size, const char* src) {
  if (!src) {
    dest[0] = '\0';
    return;
  }
  size_t len = strlen(src);
  if (len >= size) len = static_cast<size_t>(pg_mbcliplen(src, static_cast<int>(len), static_cast<int>(size - 1)));
  memcpy(dest, src, len);
  dest[len] = '\0';
}

void worker_main(Datum arg) {
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  CurrentResourceOwner = ResourceOwnerCreate(nullptr, "pg_migrate worker");
  dsm_segment* seg = dsm_attach(DatumGetUInt32(arg));
  if (seg == nullptr)
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("pg_migrate worker could not attach to its shared memory segment")));
  pgm::WorkerShared* sh = static_cast<pgm::WorkerShared*>(dsm_segment_address(seg));
  BackgroundWorkerInitializeConnectionByOid(sh->database, sh->session_user, 0);
  // The caller's privileges (SET ROLE / SECURITY DEFINER callers included).
  SetUserIdAndSecContext(sh->current_user, 0);
  const char* sql = sh->data + sh->sql_offset;
  MemoryContext context = AllocSetContextCreate(TopMemoryContext, "pg_migrate worker statement", ALLOCSET_DEFAULT_SIZES);
  PG_TRY();
  {
    SetCurrentStatementStartTimestamp();
    StartTransactionCommand();
    SetConfigOption("application_name", "pg_migrate worker", PGC_USERSET, PGC_S_SESSION);
    SetConfigOption("search_path", sh->data + sh->search_path_offset, PGC_USERSET, PGC_S_SESSION);
    // The caller's own values (PGC_SUSET: session_replication_role is a superuser's setting,
    // which the caller had, or it would have its default).
    for (const char* p = sh->data + sh->settings_offset; *p;) {
      const char* name = p;
      const char* value = name + strlen(name) + 1;
      SetConfigOption(name, value, PGC_SUSET, PGC_S_SESSION);
      p = value + strlen(value) + 1;
    }
    char timeout[32];
    snprintf(timeout, sizeof timeout, "%d", sh->lock_timeout_ms);
    SetConfigOption("lock_timeout", timeout, PGC_USERSET, PGC_S_SESSION);
    // The statement belongs to a migration: drift capture must not record it.
    SetConfigOption("pg_migrate.drift_capture", "off", PGC_SUSET, PGC_S_SESSION);
    pgstat_report_activity(STATE_RUNNING, sql);
    debug_query_string = sql;
    execute_top_level(sql, context);
    CommitTransactionCommand();
    pgstat_report_activity(STATE_IDLE, nullptr);
    sh->ok = true;
  }
  PG_CATCH();
  {
    MemoryContextSwitchTo(TopMemoryContext);
    ErrorData* edata = CopyErrorData();
    strlcpy(sh->sqlstate, unpack_sql_state(edata->sqlerrcode), sizeof sh->sqlstate);
    copy_field(sh->message, sizeof sh->message, edata->message);
    copy_field(sh->detail, sizeof sh->detail, edata->detail);
    copy_field(sh->hint, sizeof sh->hint, edata->hint);
    EmitErrorReport();
    FlushErrorState();
    AbortCurrentTransaction();
    sh->ok = false;
  }
  PG_END_TRY();
  pg_memory_barrier();
  sh->finished = true;
  dsm_detach(seg);
}

}  // namespace

// Background-worker entry (rule 1): nothing C++ may escape into the postmaster's child code.
extern "C" PGDLLEXPORT void pgm_run_worker_main(Datum arg);
extern "C" void pgm_run_worker_main(Datum arg) {
  try {
    worker_main(arg);
  } catch (...) {
    // worker_main creates no C++ objects that throw; should anything get here, end the worker
    // without a report: the caller then says the worker ended without a result.
  }
  proc_exit(0);
}
