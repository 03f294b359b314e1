// CALL migrate.run() / migrate.run_revert(): migrations that cannot run in one transaction.
//
// A transactional migration is applied as migrate.apply() applies it, then committed. A split
// one (COMMIT / COMMIT AND CHAIN) runs part by part, a non-transactional one statement by
// statement, each unit committed together with its record in migrate.run_progress. Statements
// that must run at top level (CREATE INDEX CONCURRENTLY, VACUUM, ...) run in a background
// worker (run_worker.cpp) while this backend waits holding no snapshot; a `-- pg_migrate:batch`
// UPDATE/DELETE runs in batches, each committed with its row count. migrate.runs holds the
// state of an unfinished run, so the next CALL resumes at the first unfinished unit.
#include "run.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

#include "catalog.hpp"
#include "core/drift_rules.hpp"
#include "core/run_mode.hpp"
#include "core/script.hpp"
#include "drift_hooks.hpp"
#include "pg/args.hpp"
#include "revert_check.hpp"
#include "run_drift.hpp"
#include "run_worker.hpp"
#include "safety_hooks.hpp"
#include "settings.hpp"

extern "C" {
#include "access/reloptions.h"
#include "catalog/namespace.h"
#include "commands/defrem.h"
#include "catalog/pg_am.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "catalog/pg_inherits.h"
#include "nodes/makefuncs.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "parser/parse_utilcmd.h"
#include "parser/scanner.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "tcop/pquery.h"
#include "utils/portal.h"
#include "utils/snapmgr.h"
}

namespace pgm {

// What resumes a run stopped part way: a half-done revert is the newest applied migration, so
// run_revert() (one step) resumes it. The pg_migrate command (its application_name) resumes
// runs with its own apply and revert.
const char* resume_call(bool up) {
  bool command = application_name && strcmp(application_name, "pg_migrate") == 0;
  if (command) return up ? "pg_migrate apply" : "pg_migrate revert";
  return up ? "CALL migrate.run()" : "CALL migrate.run_revert()";
}

namespace {

int& batch_pause_ms = settings::batch_pause_ms;  // pg_migrate.batch_pause (src/settings.cpp)

// The run lock: held at session level by the backend running CALL migrate.run() for the whole
// call. Same key as the catalog lock, own key space (see catalog.cpp).
constexpr uint32 kLockKey1 = 0x70675f6d;
constexpr uint32 kLockKey2 = 0x69677261;
constexpr uint16 kRunKeySpace = 0x6D68;
bool run_lock_held = false;

void set_run_tag(LOCKTAG& tag) { SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, kLockKey1, kLockKey2, kRunKeySpace); }

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Who runs migrations now: "migration 2 (\"add index\") in process 1234", read committed.
std::string describe_running_run() {
  static pg::Query q{
      "SELECT l.pid::text, r.version, m.name, (r.unit + 1)::text, r.units::text, r.phase "
      "FROM pg_catalog.pg_locks l LEFT JOIN migrate.runs r ON r.pid = l.pid "
      "LEFT JOIN migrate.migrations m ON m.version OPERATOR(pg_catalog.=) r.version "
      "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND l.objid = $2::oid "
      "AND l.objsubid = $3::int2 AND l.database = (SELECT oid FROM pg_catalog.pg_database "
      "WHERE datname = pg_catalog.current_database()) LIMIT 1"};
  catalog::OwnerScope owner;
  q.run({pg::int8_param(kLockKey1), pg::int8_param(kLockKey2), pg::int8_param(kRunKeySpace)});
  std::string out;
  if (pg::result_rows() == 0) {
    out = "another session";
  } else if (pg::is_null(0, 2)) {
    out = fmt::format("process {} (CALL migrate.run())", pg::text_value(0, 1));
  } else {
    out = fmt::format("process {}, which is running migration {} (\"{}\"), statement {} of {}{}",
                      pg::text_value(0, 1), pg::text_value(0, 2), pg::text_value(0, 3),
                      pg::text_value(0, 4), pg::text_value(0, 5),
                      pg::is_null(0, 6) ? "" : " (" + pg::text_value(0, 6) + ")");
  }
  pg::free_result();
  return out;
}

[[noreturn]] void fail_busy() {
  throw Error("55006", fmt::format("pg_migrate is busy: migrations are being run by {}", describe_running_run()),
              "Nothing was changed. Waiting here could hold a snapshot that the running "
              "migration's concurrent index build waits for, so pg_migrate does not wait.",
              "Retry when it has finished; SELECT * FROM migrate.progress shows how far it is.");
}


// Session-level run lock for the life of a CALL; released on every path.
class RunLock {
 public:
  RunLock() {
    LOCKTAG tag;
    set_run_tag(tag);
    LockAcquireResult got = pg::call([&] { return LockAcquire(&tag, ExclusiveLock, true, true); });
    if (got == LOCKACQUIRE_NOT_AVAIL) fail_busy();
    run_lock_held = true;
  }
  ~RunLock() {
    run_lock_held = false;
    LOCKTAG tag;
    set_run_tag(tag);
    try {
      pg::call([&] { (void)LockRelease(&tag, ExclusiveLock, true); });
    } catch (...) {
    }
  }
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
};

// A non-atomic SPI connection: the procedure commits between units.
class NonatomicSpi {
 public:
  NonatomicSpi() : exceptions_at_start_(std::uncaught_exceptions()) {
    int rc = pg::call([] { return SPI_connect_ext(SPI_OPT_NONATOMIC); });
    if (rc != SPI_OK_CONNECT)
      throw Error(sqlstate::kInternalError, fmt::format("SPI_connect_ext failed: {}", SPI_result_code_string(rc)));
  }
  ~NonatomicSpi() {
    if (std::uncaught_exceptions() > exceptions_at_start_) return;
    try {
      pg::call([] { SPI_finish(); });
    } catch (...) {
    }
  }
  NonatomicSpi(const NonatomicSpi&) = delete;
  NonatomicSpi& operator=(const NonatomicSpi&) = delete;

 private:
  int exceptions_at_start_;
};

// The transactions a run starts are READ COMMITTED whatever default_transaction_isolation a
// database or role sets: under REPEATABLE READ a batch fails (40001) on any row a writer
// changed since the batch's snapshot, where READ COMMITTED waits and re-checks it.
void read_committed() {
  (void)set_config_option("transaction_isolation", "read committed", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET,
                          true, 0, false);
}

void commit() {
  pg::call([] {
    SPI_commit();
#if PG_VERSION_NUM < 150000
    SPI_start_transaction();
#endif
    read_committed();
  });
}

// The commit that ends a unit's work (a statement, a part, a batch) runs its deferred
// constraints and triggers: an error there is that unit's, named as a statement's error is
// ("... failed at line 2 of its up script: ..."), for the caller to record as the unit's failure.
void commit_unit(const ScriptLabel& label, int line) {
  try {
    commit();
  } catch (pg::PgError& e) {
    if (!e.is_interrupt()) name_failure(e, label, line);
    throw;
  }
}

// After an error caught outside a subtransaction (bookkeeping SPI, a cancel), the transaction
// must be aborted before anything else runs in it; what the unit committed before stays.
void rollback_failed() {
  pg::call([] {
    // An error caught in the middle of a query (a cancel while SPI ran one) leaves the
    // snapshot that query pushed on the active stack, where transaction abort would have
    // popped it; SPI_rollback() then fails with "portal snapshots (0) did not account for all
    // active snapshots (1)" (XX000) instead of rolling back. Down to the CALL's own snapshot.
    Snapshot own = ActivePortal ? ActivePortal->portalSnapshot : nullptr;
    while (ActiveSnapshotSet() && GetActiveSnapshot() != own) PopActiveSnapshot();
    SPI_rollback();
#if PG_VERSION_NUM < 150000
    SPI_start_transaction();
#endif
    read_committed();
  });
}

// ---------------------------------------------------------------------------------------------
// Units of a script

struct Unit {
  size_t first;  // statement index range [first, last)
  size_t last;
  int line;
  const char* top_level = nullptr;  // statement name if it runs in the worker
  std::optional<BatchDirective> batch;
};

// Text between the previous statement (or the script start) and statement i.
std::string_view gap_before(const std::string& script, const std::vector<ScriptStatement>& st, size_t i) {
  size_t from = i == 0 ? 0 : st[i - 1].end;
  return std::string_view(script).substr(from, st[i].begin - from);
}

// Byte offset (in `sql`) of the WHERE keyword at parenthesis depth 0, found with the server's
// own scanner; npos if there is none.
size_t toplevel_where(const std::string& sql) {
  const char* text = sql.c_str();
  // The scanner returns keyword tokens from this table; any value above 255 will do.
  int n = ScanKeywords.num_keywords;
  size_t found = pg::call([&] {
    uint16* tokens = (uint16*)palloc(sizeof(uint16) * n);
    for (int k = 0; k < n; ++k) tokens[k] = 1000;
    core_yy_extra_type extra;
    core_yyscan_t scanner = scanner_init(text, &extra, &ScanKeywords, tokens);
    int depth = 0;
    size_t at = std::string::npos;
    for (;;) {
      core_YYSTYPE val;
      YYLTYPE loc = 0;
      val.keyword = nullptr;
      int tok = core_yylex(&val, &loc, scanner);
      if (tok == 0) break;
      if (tok == '(' || tok == '[') ++depth;
      else if (tok == ')' || tok == ']') --depth;
      else if (tok == 1000 && depth == 0 && val.keyword && strcmp(val.keyword, "where") == 0) {
        at = static_cast<size_t>(loc);
        break;
      }
    }
    scanner_finish(scanner);
    pfree(tokens);
    return at;
  });
  return found;
}

// Plain C walker over a batched statement's WHERE clause: true at a subquery that reads the
// table the statement changes (named alike; `context` is its RangeVar) or that has LIMIT or
// OFFSET. Each batch runs the subquery again over the rows left ("the oldest 1,000" are then
// other rows), so batches would change other rows than the statement as written does.
bool batch_unsafe_subquery_walker(Node* node, void* context) {
  if (!node) return false;
  const RangeVar* target = static_cast<const RangeVar*>(context);
  if (IsA(node, SelectStmt)) {
    SelectStmt* select = reinterpret_cast<SelectStmt*>(node);
    if (select->limitCount || select->limitOffset) return true;
  }
  if (IsA(node, RangeVar)) {
    const RangeVar* rv = reinterpret_cast<RangeVar*>(node);
    if (strcmp(rv->relname, target->relname) == 0) {
      // The same name: the same table unless the schemas say otherwise, or the names resolve to
      // two tables (one may not exist yet as the script is registered: then taken for the same).
      if (rv->schemaname && target->schemaname) {
        if (strcmp(rv->schemaname, target->schemaname) == 0) return true;
      } else {
        Oid a = RangeVarGetRelid(rv, NoLock, true);
        Oid b = RangeVarGetRelid(target, NoLock, true);
        if (!OidIsValid(a) || !OidIsValid(b) || a == b) return true;
      }
    }
  }
#if PG_VERSION_NUM >= 160000
  return raw_expression_tree_walker(node, batch_unsafe_subquery_walker, context);
#else
  // PostgreSQL < 16 declares the walker without a prototype; through void (*)() to say so.
  return raw_expression_tree_walker(
      node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(batch_unsafe_subquery_walker)), context);
#endif
}

// Why an UPDATE/DELETE cannot be batched, or "" if it can.
std::string batch_refusal(Node* node, const std::string& sql) {
  if (IsA(node, UpdateStmt)) {
    UpdateStmt* u = castNode(UpdateStmt, node);
    if (u->withClause) return "it has a WITH clause";
    if (u->fromClause) return "it has a FROM clause (join in a subquery of the WHERE clause instead)";
    if (u->returningList) return "it has a RETURNING clause";
    if (!u->whereClause) return "it has no WHERE clause: the WHERE clause must exclude rows already done, or batches never end";
    if (IsA(u->whereClause, CurrentOfExpr)) return "it uses WHERE CURRENT OF";
  } else if (IsA(node, DeleteStmt)) {
    DeleteStmt* d = castNode(DeleteStmt, node);
    if (d->withClause) return "it has a WITH clause";
    if (d->usingClause) return "it has a USING clause (use a subquery in the WHERE clause instead)";
    if (d->returningList) return "it has a RETURNING clause";
    if (!d->whereClause) return "it has no WHERE clause (use TRUNCATE to empty a table)";
    if (IsA(d->whereClause, CurrentOfExpr)) return "it uses WHERE CURRENT OF";
  } else {
    return "only UPDATE and DELETE run in batches";
  }
  Node* where = IsA(node, UpdateStmt) ? castNode(UpdateStmt, node)->whereClause : castNode(DeleteStmt, node)->whereClause;
  RangeVar* target = IsA(node, UpdateStmt) ? castNode(UpdateStmt, node)->relation : castNode(DeleteStmt, node)->relation;
  if (pg::call([&] { return batch_unsafe_subquery_walker(where, target); }))
    return "its WHERE clause has a subquery that reads the table it changes or has LIMIT/OFFSET: each batch would "
           "run it again over the rows left, and change other rows than the statement as written (batch a WHERE "
           "clause that says which rows, e.g. WHERE created < '2024-01-01')";
  if (toplevel_where(sql) == std::string::npos) return "its WHERE clause could not be located";
  return {};
}

// The table a batched UPDATE or DELETE changes.
RangeVar* batched_relation(Node* node) {
  return IsA(node, UpdateStmt) ? castNode(UpdateStmt, node)->relation : castNode(DeleteStmt, node)->relation;
}

// What a batched statement's table is: batches are ranges of one heap's blocks, so only a plain
// table (named with ONLY if it has inheritance children) can be batched.
enum class BatchTable { kPlain, kPartitioned, kInheritanceParent, kOther };

BatchTable batch_table(const RangeVar* rel, Oid relid) {
  char kind = pg::call([&] { return get_rel_relkind(relid); });
  if (kind == RELKIND_PARTITIONED_TABLE) return BatchTable::kPartitioned;
  if (rel->inh && pg::call([&] { return has_subclass(relid); })) return BatchTable::kInheritanceParent;
  return kind == RELKIND_RELATION ? BatchTable::kPlain : BatchTable::kOther;
}

// What to do instead: ONLY helps a table with inheritance children, not a partitioned one
// (whose rows are all in its partitions).
const char* batch_table_hint(BatchTable t) {
  switch (t) {
    case BatchTable::kPartitioned: return "Batch each partition on its own (one statement per partition).";
    case BatchTable::kInheritanceParent: return "Batch each child table on its own, or name the table with ONLY.";
    default: return "Batch a plain table.";
  }
}

}  // namespace

void refuse_batched_partitioned(const std::string& script, const std::vector<ScriptStatement>& st,
                                const ScriptLabel& label) {
  if (script_mode(script) != ScriptMode::kNoTransaction) return;
  for (size_t i = 0; i < st.size(); ++i) {
    std::optional<BatchDirective> batch;
    try {
      batch = find_batch_directive(gap_before(script, st, i));
    } catch (const std::invalid_argument&) {
      continue;  // (split_units refuses it, with the reason)
    }
    Node* node = st[i].parsetree;
    if (!batch || !(IsA(node, UpdateStmt) || IsA(node, DeleteStmt))) continue;
    RangeVar* rel = batched_relation(node);
    Oid relid = pg::call([&] { return RangeVarGetRelid(rel, NoLock, true); });
    if (!OidIsValid(relid)) continue;
    BatchTable table = batch_table(rel, relid);
    if (table != BatchTable::kPartitioned && table != BatchTable::kInheritanceParent) continue;
    throw Error(sqlstate::kFeatureNotSupported,
                fmt::format("{} script of {}: the statement at line {} cannot run in batches: its table is {}",
                            label.which, label.describe(), st[i].line,
                            table == BatchTable::kInheritanceParent ? "a table with inheritance children"
                                                                    : "partitioned"),
                fmt::format("Statement: {}", one_line_preview(statement_text(script, st[i]))),
                batch_table_hint(table));
  }
}

namespace {

std::vector<Unit> split_units(const std::string& script, const std::vector<ScriptStatement>& st,
                              ScriptMode mode, const ScriptLabel& label) {
  std::vector<Unit> units;
  // A batch directive after the last statement (or in a script without one) batches nothing:
  // the statement it was meant for would run unbatched, otherwise than written.
  {
    size_t tail = std::min(st.empty() ? size_t(0) : st.back().end, script.size());
    std::optional<BatchDirective> trailing;
    try {
      trailing = find_batch_directive(std::string_view(script).substr(tail));
    } catch (const std::invalid_argument& e) {
      // A malformed one: its line is where its text is.
      size_t at = script.find("pg_migrate:batch", tail);
      int line = 1 + static_cast<int>(std::count(script.begin(), script.begin() + (at == std::string::npos ? tail : at), '\n'));
      throw Error(sqlstate::kSyntaxError,
                  fmt::format("{} script of {}: bad batch directive at line {}: {}", label.which, label.describe(),
                              line, e.what()));
    }
    if (trailing)
      throw Error(sqlstate::kSyntaxError,
                  fmt::format("{} script of {}: the batch directive at line {} is followed by no statement", label.which,
                              label.describe(),
                              1 + std::count(script.begin(), script.begin() + tail, '\n') + trailing->line_offset),
                  {}, "Put \"-- pg_migrate:batch <rows>\" on the line right before the UPDATE or DELETE it batches.");
  }
  if (mode == ScriptMode::kNoTransaction) {
    for (size_t i = 0; i < st.size(); ++i) {
      Unit u{i, i + 1, st[i].line};
      u.top_level = top_level_statement(st[i].parsetree);
      try {
        u.batch = find_batch_directive(gap_before(script, st, i));
      } catch (const std::invalid_argument& e) {
        throw Error(sqlstate::kSyntaxError,
                    fmt::format("{} script of {}: bad batch directive before line {}: {}", label.which,
                                label.describe(), st[i].line, e.what()));
      }
      if (u.batch) {
        std::string why = batch_refusal(st[i].parsetree, statement_text(script, st[i]));
        if (!why.empty())
          throw Error(sqlstate::kFeatureNotSupported,
                      fmt::format("{} script of {}: the statement at line {} cannot run in batches: {}",
                                  label.which, label.describe(), st[i].line, why),
                      fmt::format("Statement: {}", one_line_preview(statement_text(script, st[i]))),
                      "A batched statement is an UPDATE or DELETE of one table without WITH, "
                      "FROM/USING or RETURNING, whose WHERE clause excludes the rows already done, "
                      "e.g. UPDATE t SET b = a WHERE b IS NULL.");
      }
      if (u.top_level && IsA(st[i].parsetree, IndexStmt) && castNode(IndexStmt, st[i].parsetree)->idxname == nullptr)
        throw Error(sqlstate::kFeatureNotSupported,
                    fmt::format("{} script of {}: CREATE INDEX CONCURRENTLY at line {} needs an index name",
                                label.which, label.describe(), st[i].line),
                    {}, "Name the index: after a failed or interrupted build pg_migrate finds the "
                        "INVALID index by its name and drops it before the retry.");
      units.push_back(u);
    }
  } else {
    size_t first = 0;
    for (size_t i = 0; i <= st.size(); ++i) {
      if (i == st.size() || is_split_point(st[i].parsetree)) {
        if (i > first) units.push_back({first, i, st[first].line});
        first = i + 1;
      }
    }
    for (size_t i = 0; i < st.size(); ++i) {
      bool has_batch = false;
      try {
        has_batch = find_batch_directive(gap_before(script, st, i)).has_value();
      } catch (const std::invalid_argument&) {
        has_batch = true;
      }
      if (has_batch)
        throw Error(sqlstate::kFeatureNotSupported,
                    fmt::format("{} script of {}: the batch directive before line {} needs a non-transactional script",
                                label.which, label.describe(), st[i].line),
                    {}, "Begin the script with the line \"-- pg_migrate:no-transaction\".");
    }
  }
  return units;
}

// ---------------------------------------------------------------------------------------------
// Catalog state of a run

struct RunRow {
  bool exists = false;
  std::string direction;
  std::string checksum;
  int unit = -1;
  std::string phase;
  std::string invalid_index;
  int64 rows_done = 0;
  std::string error;  // "SQLSTATE: message" of the failure that stopped it, if one was reported
  TimestampTz started_at = 0;
  double unit_ms = 0;  // a batched statement's time in earlier calls (0.7.0's catalog; 0 before)
};

RunRow read_run(const std::string& version) {
  static pg::Query q{
      "SELECT direction, checksum, unit::int8, phase, invalid_index, rows_done, error, "
      "started_at, pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.->>) 'unit_ms' "  // NULL before 0.7.0
      "FROM migrate.runs r WHERE version OPERATOR(pg_catalog.=) $1"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version)});
  RunRow r;
  if (pg::result_rows() > 0) {
    r.exists = true;
    r.direction = pg::text_value(0, 1);
    r.checksum = pg::text_value(0, 2);
    r.unit = pg::is_null(0, 3) ? -1 : static_cast<int>(pg::int8_value(0, 3));
    r.phase = pg::text_value(0, 4);
    r.invalid_index = pg::text_value(0, 5);
    r.rows_done = pg::int8_value(0, 6);
    r.error = pg::is_null(0, 7) ? std::string() : pg::text_value(0, 7);
    bool isnull;
    Datum started = pg::datum_value(0, 8, &isnull);
    r.started_at = isnull ? GetCurrentTimestamp() : DatumGetTimestampTz(started);
    if (!pg::is_null(0, 9)) r.unit_ms = std::stod(pg::text_value(0, 9));
  }
  pg::free_result();
  return r;
}

std::set<int> finished_units(const std::string& version, const char* direction) {
  static pg::Query q{
      "SELECT unit::int8 FROM migrate.run_progress WHERE version OPERATOR(pg_catalog.=) $1 "
      "AND direction OPERATOR(pg_catalog.=) $2"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version), pg::text_param(direction)});
  std::set<int> out;
  for (uint64 i = 0; i < pg::result_rows(); ++i) out.insert(static_cast<int>(pg::int8_value(i, 1)));
  pg::free_result();
  return out;
}

// migrate.runs, or InvalidOid while the catalog predates 0.2.0 (the library is replaced before
// ALTER EXTENSION UPDATE).
Oid runs_relid() {
  return pg::call([] {
    Oid nsp = get_namespace_oid("migrate", true);
    return OidIsValid(nsp) ? get_relname_relid("runs", nsp) : InvalidOid;
  });
}

// True if migrate.runs has `column` (the library may be newer than the catalog).
bool runs_have_column(const char* column) {
  Oid runs = runs_relid();
  return OidIsValid(runs) && pg::call([&] { return get_attnum(runs, column) != InvalidAttrNumber; });
}

// True if migrate.runs has 0.7.0's unit_ms.
bool runs_have_unit_ms() { return runs_have_column("unit_ms"); }

// runs.preexisting: the newest snapshot's and acknowledgement's ids, and per differing key its
// entry as recorded and live (the parameters: text[] of keys, recorded and live entries).
#define PGM_PREEXISTING_JSON(keys, recorded, live)                                                          \
  "pg_catalog.jsonb_build_object("                                                                         \
  "  'snapshot', (SELECT pg_catalog.max(s.id) FROM migrate.schema_snapshots s), "                         \
  "  'acknowledgement', (SELECT pg_catalog.max(a.id) FROM migrate.drift_acknowledgements a), "            \
  "  'entries', COALESCE((SELECT pg_catalog.jsonb_object_agg(u.k, pg_catalog.jsonb_build_array("          \
  "     u.r::pg_catalog.jsonb, u.l::pg_catalog.jsonb)) "                                                   \
  "   FROM ROWS FROM (pg_catalog.unnest(" keys "::pg_catalog.text[]), pg_catalog.unnest(" recorded          \
  "::pg_catalog.text[]), pg_catalog.unnest(" live "::pg_catalog.text[])) u(k, r, l)), '{}'::pg_catalog.jsonb))"

// `before`: what differed from the newest snapshot as the run starts, kept with the run
// (0.11.0's catalog) for the call that finishes it, which may be another one.
void start_run(const std::string& version, const char* direction, const std::string& checksum, size_t units,
               const PreexistingDifferences& before) {
  static pg::Query q{
      "INSERT INTO migrate.runs (version, direction, checksum, units, pid) VALUES ($1, $2, $3, $4::int, $5::int)"};
  static pg::Query q_keeping{
      "INSERT INTO migrate.runs (version, direction, checksum, units, pid, preexisting) "
      "SELECT $1, $2, $3, $4::int, $5::int, " PGM_PREEXISTING_JSON("$6", "$7", "$8")};
  bool keeping = runs_have_column("preexisting");
  {
    catalog::OwnerScope owner;
    if (keeping)
      q_keeping.run({pg::text_param(version), pg::text_param(direction), pg::text_param(checksum),
                     pg::int8_param(static_cast<int64>(units)), pg::int8_param(MyProcPid),
                     pg::text_array_param(before.keys), pg::nullable_text_array_param(before.recorded),
                     pg::nullable_text_array_param(before.live)});
    else
      q.run({pg::text_param(version), pg::text_param(direction), pg::text_param(checksum),
             pg::int8_param(static_cast<int64>(units)), pg::int8_param(MyProcPid)});
  }
  // The catalog's state changes (a run that stops part way leaves the migration between states):
  // a folder found in sync before is not known to be now (pg_migrate apply's no-op fast path).
  catalog::bump_generation(true);
}

// Keeps `before` with the unfinished run of `version` (one started before 0.11.0, resumed).
void keep_preexisting(const std::string& version, const PreexistingDifferences& before) {
  static pg::Query q{"UPDATE migrate.runs SET preexisting = " PGM_PREEXISTING_JSON("$2", "$3", "$4")
                     " WHERE version OPERATOR(pg_catalog.=) $1"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version), pg::text_array_param(before.keys), pg::nullable_text_array_param(before.recorded),
         pg::nullable_text_array_param(before.live)});
}

// What differed from the newest snapshot when the run of `version` started, as start_run()
// kept it. Empty (the snapshot after the run then takes earlier drift in, as before 0.11.0)
// when it was not kept, or when acknowledge_drift() ran since (it made the live schema the
// reference: the values kept would bring acknowledged drift back). Snapshots recorded since by
// callbacks or repeatables change nothing here: an entry is kept only while it is live as it
// was when the run started.
PreexistingDifferences recorded_preexisting(const std::string& version, bool& kept_nothing) {
  PreexistingDifferences out;
  kept_nothing = false;
  if (!runs_have_column("preexisting")) return out;
  // A run started before 0.11.0 (its row updated in place) has no value at all.
  static pg::Query legacy{
      "SELECT r.preexisting IS NULL FROM migrate.runs r WHERE r.version OPERATOR(pg_catalog.=) $1"};
  {
    catalog::OwnerScope owner;
    kept_nothing = legacy.run({pg::text_param(version)}) > 0 && pg::bool_value(0, 1);
    pg::free_result();
  }
  if (kept_nothing) return out;
  static pg::Query q{
      "SELECT e.key, "
      " CASE WHEN pg_catalog.jsonb_typeof(e.value OPERATOR(pg_catalog.->) 0) OPERATOR(pg_catalog.=) 'null' THEN NULL "
      "      ELSE (e.value OPERATOR(pg_catalog.->) 0)::pg_catalog.text END, "
      " CASE WHEN pg_catalog.jsonb_typeof(e.value OPERATOR(pg_catalog.->) 1) OPERATOR(pg_catalog.=) 'null' THEN NULL "
      "      ELSE (e.value OPERATOR(pg_catalog.->) 1)::pg_catalog.text END "
      "FROM migrate.runs r, "
      " pg_catalog.jsonb_each(r.preexisting OPERATOR(pg_catalog.->) 'entries') e "
      "WHERE r.version OPERATOR(pg_catalog.=) $1 "
      " AND COALESCE((r.preexisting OPERATOR(pg_catalog.->>) 'acknowledgement')::pg_catalog.int8, 0) "
      "     OPERATOR(pg_catalog.=) COALESCE((SELECT pg_catalog.max(a.id) FROM migrate.drift_acknowledgements a), 0)"};
  catalog::OwnerScope owner;
  uint64 n = q.run({pg::text_param(version)});
  for (uint64 i = 0; i < n; ++i) {
    out.keys.push_back(pg::text_value(i, 1));
    out.recorded.push_back(pg::is_null(i, 2) ? std::nullopt : std::optional<std::string>(pg::text_value(i, 2)));
    out.live.push_back(pg::is_null(i, 3) ? std::nullopt : std::optional<std::string>(pg::text_value(i, 3)));
  }
  pg::free_result();
  return out;
}

void resume_run(const std::string& version) {
  static pg::Query q{
      "UPDATE migrate.runs SET pid = $2::int, error = NULL, failed_at = NULL, worker_pid = NULL "
      "WHERE version OPERATOR(pg_catalog.=) $1"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version), pg::int8_param(MyProcPid)});
}

// Marks unit `unit` as started (committed by the caller before it runs).
void set_unit(const std::string& version, int unit, int line, const std::string& phase, bool keep_counts) {
#define PGM_SET_UNIT                                                                                      \
  "UPDATE migrate.runs SET unit = $2::int, line = $3::int, phase = $4, "                                  \
  "unit_started_at = pg_catalog.clock_timestamp(), worker_pid = NULL, "                                   \
  "rows_done = CASE WHEN $5 THEN rows_done ELSE 0 END, "                                                  \
  "rows_total = CASE WHEN $5 THEN rows_total END, batches = CASE WHEN $5 THEN batches ELSE 0 END"
  static pg::Query q{PGM_SET_UNIT " WHERE version OPERATOR(pg_catalog.=) $1"};
  static pg::Query with_ms{PGM_SET_UNIT ", unit_ms = CASE WHEN $5 THEN unit_ms END "
                                        "WHERE version OPERATOR(pg_catalog.=) $1"};
#undef PGM_SET_UNIT
  bool has_ms = runs_have_unit_ms();
  catalog::OwnerScope owner;
  (has_ms ? with_ms : q).run({pg::text_param(version), pg::int8_param(unit), pg::int8_param(line), pg::text_param(phase),
         {BOOLOID, BoolGetDatum(keep_counts), false}});
}

void set_phase(const std::string& version, const std::string& phase) {
  static pg::Query q{"UPDATE migrate.runs SET phase = $2 WHERE version OPERATOR(pg_catalog.=) $1"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version), pg::text_param(phase)});
}

void set_worker(const std::string& version, int pid) {
  static pg::Query q{"UPDATE migrate.runs SET worker_pid = $2::int WHERE version OPERATOR(pg_catalog.=) $1"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version), pg::int8_param(pid)});
}

void set_invalid_index(const std::string& version, const std::string* name) {
  static pg::Query q{"UPDATE migrate.runs SET invalid_index = $2 WHERE version OPERATOR(pg_catalog.=) $1"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version), pg::nullable_text_param(name)});
}

void set_rows_total(const std::string& version, int64 total) {
  static pg::Query q{"UPDATE migrate.runs SET rows_total = $2 WHERE version OPERATOR(pg_catalog.=) $1"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version), pg::int8_param(total)});
}

// A committed batch: its rows, and the statement's time so far over all calls (`unit_ms`).
void add_batch(const std::string& version, int64 rows, double unit_ms) {
  static pg::Query q{
      "UPDATE migrate.runs SET rows_done = rows_done + $2, batches = batches + 1 "
      "WHERE version OPERATOR(pg_catalog.=) $1"};
  static pg::Query with_ms{
      "UPDATE migrate.runs SET rows_done = rows_done + $2, batches = batches + 1, unit_ms = $3 "
      "WHERE version OPERATOR(pg_catalog.=) $1"};
  bool has_ms = runs_have_unit_ms();
  catalog::OwnerScope owner;
  if (has_ms)
    with_ms.run({pg::text_param(version), pg::int8_param(rows), {FLOAT8OID, Float8GetDatum(unit_ms), false}});
  else
    q.run({pg::text_param(version), pg::int8_param(rows)});
}

// The time the finished statements (parts, batches) of a run took, over all its calls.
double units_ms(const std::string& version, const char* direction) {
  static pg::Query q{
      "SELECT COALESCE(pg_catalog.sum(duration_ms), 0)::pg_catalog.float8 FROM migrate.run_progress "
      "WHERE version OPERATOR(pg_catalog.=) $1 AND direction OPERATOR(pg_catalog.=) $2"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version), pg::text_param(direction)});
  double ms = pg::float8_value(0, 1);
  pg::free_result();
  return ms;
}

// `unit_ms`: the time the current unit took in this call and earlier ones, counted in its
// duration when a later call finishes it (0.7.0's catalog on).
void record_failure(const std::string& version, const std::string& error, std::optional<double> unit_ms = std::nullopt) {
  static pg::Query q{
      "UPDATE migrate.runs SET error = $2, failed_at = pg_catalog.clock_timestamp(), worker_pid = NULL "
      "WHERE version OPERATOR(pg_catalog.=) $1"};
  static pg::Query with_ms{
      "UPDATE migrate.runs SET error = $2, failed_at = pg_catalog.clock_timestamp(), worker_pid = NULL, "
      "unit_ms = $3 WHERE version OPERATOR(pg_catalog.=) $1"};
  // A cancel, statement_timeout or termination (class 57) interrupts the run: no failure is
  // recorded, so status says "interrupted" (the caller saw the error), and a statement it may
  // have let finish is looked for on resume.
  bool interrupted = error.rfind("57", 0) == 0;
  bool has_ms = unit_ms && runs_have_unit_ms();
  catalog::OwnerScope owner;
  pg::Param message = interrupted ? pg::null_param(TEXTOID) : pg::text_param(error);
  if (has_ms) with_ms.run({pg::text_param(version), message, pg::float8_param(*unit_ms)});
  else q.run({pg::text_param(version), message});
}

void finish_unit(const std::string& version, const char* direction, int unit, int line, double ms,
                 std::optional<int64> rows) {
  static pg::Query q{
      "INSERT INTO migrate.run_progress (version, direction, unit, line, duration_ms, rows) "
      "VALUES ($1, $2, $3::int, $4::int, $5, $6)"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version), pg::text_param(direction), pg::int8_param(unit), pg::int8_param(line),
         pg::float8_param(ms), rows ? pg::int8_param(*rows) : pg::null_param(INT8OID)});
}

void end_run(const std::string& version) {
  static pg::Query q1{"DELETE FROM migrate.run_progress WHERE version OPERATOR(pg_catalog.=) $1"};
  static pg::Query q2{"DELETE FROM migrate.runs WHERE version OPERATOR(pg_catalog.=) $1"};
  catalog::OwnerScope owner;
  q1.run({pg::text_param(version)});
  q2.run({pg::text_param(version)});
}

std::string error_text(const std::string& sqlstate, const std::string& message) {
  return sqlstate + ": " + message;
}

// ---------------------------------------------------------------------------------------------
// Indexes of concurrent builds

struct IndexState {
  bool exists = false;
  bool valid = false;
  Oid oid = InvalidOid;
  bool is_index = false;  // (the name may be taken by a table, a sequence, ...)
  bool matches = false;   // is the index the statement builds (table, method, keys, uniqueness)
  std::string qualified;  // schema-qualified, quoted
};

// Whether index `index` of `table` is what `stmt` builds: same table, access method,
// uniqueness, key columns and expressions, INCLUDE columns, ordering, operator classes named,
// their options, collations and predicate, with the statement's keys and predicate
// transformed as DefineIndex transforms them (a key "((t.a))" or "((a::int))" on an int column
// is the column a; "WHERE true" is no predicate). An index of that name that differs was not
// built by the statement.
bool index_matches(IndexStmt* stmt, Oid table, Oid index) {
  // transformIndexStmt may fail (the statement no longer fits the table): then it does not match.
  try {
    pg::SubTransaction sub;
    bool same = pg::call([&] {
      LockRelationOid(table, AccessShareLock);  // (transformIndexStmt expects a lock)
      IndexStmt* t = transformIndexStmt(table, static_cast<IndexStmt*>(copyObjectImpl(stmt)), "");
      HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
      if (!HeapTupleIsValid(tup)) return false;
      Form_pg_index ix = (Form_pg_index)GETSTRUCT(tup);
      bool match = ix->indrelid == table && ix->indisunique == t->unique &&
                   ix->indnkeyatts == list_length(t->indexParams) &&
                   heap_attisnull(tup, Anum_pg_index_indpred, nullptr) ==
                       (t->whereClause == nullptr || make_ands_implicit((Expr*)t->whereClause) == NIL);
#if PG_VERSION_NUM >= 150000
      match = match && ix->indnullsnotdistinct == t->nulls_not_distinct;
#endif
      match = match && ix->indnatts == ix->indnkeyatts + list_length(t->indexIncludingParams);
      // The stored expressions and predicate, as DefineIndex stored the transformed ones.
      bool isnull;
      Datum d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indexprs, &isnull);
      List* exprs = isnull ? NIL : (List*)stringToNode(TextDatumGetCString(d));
      d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indpred, &isnull);
      Node* pred = isnull ? nullptr : (Node*)stringToNode(TextDatumGetCString(d));
      List* want_pred = t->whereClause ? make_ands_implicit((Expr*)t->whereClause) : NIL;
      match = match && (pred == nullptr ? want_pred == NIL : equal(pred, make_ands_explicit(want_pred)));
      d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indclass, &isnull);
      oidvector* opclasses = isnull ? nullptr : (oidvector*)DatumGetPointer(d);
      d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indoption, &isnull);
      int2vector* options = isnull ? nullptr : (int2vector*)DatumGetPointer(d);
      d = SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indcollation, &isnull);
      oidvector* collations = isnull ? nullptr : (oidvector*)DatumGetPointer(d);
      int i = 0, e = 0;
      ListCell* lc;
      foreach (lc, t->indexParams) {
        if (!match) break;
        IndexElem* elem = lfirst_node(IndexElem, lc);
        int k = i++;
        AttrNumber key = ix->indkey.values[k];
        Oid want_collation = InvalidOid;
        if (elem->name) {
          match = key == get_attnum(table, elem->name);
          if (match) {
            Oid type;
            int32 typmod;
            get_atttypetypmodcoll(table, key, &type, &typmod, &want_collation);
          }
        } else {
          // As ComputeIndexAttrs: a key whose expression is a column (under COLLATE) is the
          // column; another expression is stored as it was transformed.
          Node* expr = elem->expr;
          while (expr && IsA(expr, CollateExpr)) expr = (Node*)((CollateExpr*)expr)->arg;
          if (expr && IsA(expr, Var) && ((Var*)expr)->varattno != InvalidAttrNumber)
            match = key == ((Var*)expr)->varattno;
          else
            match = key == 0 && e < list_length(exprs) && equal(expr, list_nth(exprs, e++));
          want_collation = exprCollation(elem->expr);  // a COLLATE clause's, else the expression's
        }
        // The collation: a COLLATE of the key, else the column's or expression's (as
        // ComputeIndexAttrs chooses it).
        if (elem->collation != NIL) want_collation = get_collation_oid(elem->collation, false);
        if (match && collations) match = collations->values[k] == want_collation;
        // Operator class options (opclass (siglen = 32)), as index_create stored them; none
        // written, none stored.
        if (match) {
          HeapTuple att = SearchSysCache2(ATTNUM, ObjectIdGetDatum(index), Int16GetDatum(k + 1));
          bool null_options = true;
          Datum stored = HeapTupleIsValid(att) ? SysCacheGetAttr(ATTNUM, att, Anum_pg_attribute_attoptions, &null_options)
                                              : (Datum)0;
          if (elem->opclassopts == NIL) {
            match = null_options;
          } else {
            Datum wanted = transformRelOptions((Datum)0, elem->opclassopts, nullptr, nullptr, false, false);
            match = !null_options && equal(untransformRelOptions(stored), untransformRelOptions(wanted));
          }
          if (HeapTupleIsValid(att)) ReleaseSysCache(att);
        }
        // ASC/DESC and NULLS FIRST/LAST, as index_create records them.
        bool desc = elem->ordering == SORTBY_DESC;
        bool nulls_first = elem->nulls_ordering == SORTBY_NULLS_DEFAULT ? desc : elem->nulls_ordering == SORTBY_NULLS_FIRST;
        int16 want = (desc ? INDOPTION_DESC : 0) | (nulls_first ? INDOPTION_NULLS_FIRST : 0);
        if (match && options) match = options->values[k] == want;
        // A named operator class: the index's has that name.
        if (match && elem->opclass != NIL && opclasses) {
          HeapTuple oc = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclasses->values[k]));
          match = HeapTupleIsValid(oc) &&
                  strcmp(NameStr(((Form_pg_opclass)GETSTRUCT(oc))->opcname), strVal(llast(elem->opclass))) == 0;
          if (HeapTupleIsValid(oc)) ReleaseSysCache(oc);
        }
      }
      // INCLUDE columns, by attribute number.
      foreach (lc, t->indexIncludingParams) {
        if (!match) break;
        IndexElem* elem = lfirst_node(IndexElem, lc);
        match = elem->name && ix->indkey.values[i++] == get_attnum(table, elem->name);
      }
      ReleaseSysCache(tup);
      if (match) {
        const char* method = t->accessMethod ? t->accessMethod : DEFAULT_INDEX_TYPE;
        Oid am = InvalidOid;
        HeapTuple rel = SearchSysCache1(RELOID, ObjectIdGetDatum(index));
        if (HeapTupleIsValid(rel)) {
          am = ((Form_pg_class)GETSTRUCT(rel))->relam;
          ReleaseSysCache(rel);
        }
        HeapTuple amtup = SearchSysCache1(AMOID, ObjectIdGetDatum(am));
        match = HeapTupleIsValid(amtup) && strcmp(NameStr(((Form_pg_am)GETSTRUCT(amtup))->amname), method) == 0;
        if (HeapTupleIsValid(amtup)) ReleaseSysCache(amtup);
      }
      return match;
    });
    sub.commit();
    return same;
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) throw;
    return false;
  }
}

// The index a CREATE INDEX CONCURRENTLY builds, resolved like the statement resolves it (its
// table under the caller's search_path; the index lives in the table's schema).
IndexState index_state(IndexStmt* stmt) {
  IndexState st;
  // The worker's catalog changes happened after this transaction started.
  pg::call([] { AcceptInvalidationMessages(); });
  RangeVar* rel = stmt->relation;
  const char* idxname = stmt->idxname;
  Oid table = pg::call([&] { return RangeVarGetRelid(rel, NoLock, true); });
  if (!OidIsValid(table)) return st;
  Oid nsp = pg::call([&] { return get_rel_namespace(table); });
  Oid index = pg::call([&] { return get_relname_relid(idxname, nsp); });
  const char* qualified = pg::call([&] { return quote_qualified_identifier(get_namespace_name(nsp), idxname); });
  st.qualified = qualified;
  if (!OidIsValid(index)) return st;
  st.exists = true;
  st.oid = index;
  st.is_index = pg::call([&] { return get_rel_relkind(index) == RELKIND_INDEX; });
  if (!st.is_index) return st;
  st.matches = index_matches(stmt, table, index);
  st.valid = pg::call([&] {
    HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
    bool valid = false;
    if (HeapTupleIsValid(tup)) {
      valid = ((Form_pg_index)GETSTRUCT(tup))->indisvalid;
      ReleaseSysCache(tup);
    }
    return valid;
  });
  pg::call([] { InvalidateCatalogSnapshot(); });
  return st;
}

// True while another session builds index `index` (pg_stat_progress_create_index): its INVALID
// index must not be taken for a leftover of this run's.
bool being_built_elsewhere(Oid index) {
  static pg::Query q{
      "SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_progress_create_index p "
      "WHERE p.index_relid OPERATOR(pg_catalog.=) $1 AND p.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid() "
      "AND p.datid OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d "
      "WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()) "
      // an earlier worker of this run still ending (one run at a time: no other's exists)
      "AND NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity a WHERE a.pid OPERATOR(pg_catalog.=) p.pid "
      "AND a.backend_type OPERATOR(pg_catalog.=) 'pg_migrate worker')"};
  bool building;
  {
    catalog::OwnerScope owner;  // (other roles' builds show their index to the catalog owner only)
    q.run({{OIDOID, ObjectIdGetDatum(index), false}});
    building = pg::int8_value(0, 1) > 0;
    pg::free_result();
  }
  return building;
}

// ---------------------------------------------------------------------------------------------
// Running one migration unit by unit

struct RunContext {
  MigrationStep step;
  bool up;
  const char* direction;
  std::string script;
  ScriptLabel label;
  std::vector<ScriptStatement> statements;
  MemoryContext scratch;
  // Prepared statements and WITH HOLD cursors its parts created: the later parts may use them;
  // removed when the migration ends or stops.
  SessionLeftovers leftovers;
  // The unit running now: when this call started it, and its time in earlier calls (a unit an
  // earlier call stopped in: its time counts in the migration's duration).
  std::chrono::steady_clock::time_point unit_started = std::chrono::steady_clock::now();
  double unit_earlier_ms = 0;
};

// Records the failure of the running unit, with its time so far.
void record_unit_failure(RunContext& rc, const std::string& error) {
  record_failure(rc.step.version, error, rc.unit_earlier_ms + ms_since(rc.unit_started));
}

// Records only the running unit's time so far (an interrupt: the error an earlier call recorded,
// if any, stays; 0.7.0's catalog on).
void record_unit_time(RunContext& rc) {
  static pg::Query q{"UPDATE migrate.runs SET unit_ms = $2 WHERE version OPERATOR(pg_catalog.=) $1"};
  if (!runs_have_unit_ms()) return;
  catalog::OwnerScope owner;
  q.run({pg::text_param(rc.step.version), pg::float8_param(rc.unit_earlier_ms + ms_since(rc.unit_started))});
}

[[noreturn]] void raise_failure(RunContext& rc, const Unit& u, const std::string& sqlstate,
                                const std::string& message, const std::string& detail,
                                const std::string& hint) {
  record_unit_failure(rc, error_text(sqlstate, message));
  commit();
  throw Error(sqlstate, message, detail, hint);
}

// Runs a statement at top level in a worker, recording its pid while it runs.
TopLevelResult run_in_worker(RunContext& rc, const std::string& sql, int lock_timeout_ms = 0) {
  commit();  // no snapshot while the worker runs
  return run_top_level(sql, lock_timeout_ms, [&](int pid) {
    set_worker(rc.step.version, pid);
    commit();
  });
}

// The hint of a failed statement: fix, then resume. A down script is fixed with repair():
// register refuses a new down script for an applied migration.
std::string fix_then_resume(const RunContext& rc, const std::string& where) {
  return fmt::format("Fix the cause{}, then {} again: it resumes {}.",
                     rc.up ? std::string()
                           : fmt::format(" (a fixed down script is stored with SELECT migrate.repair('{}', down => ...))",
                                         rc.step.version),
                     resume_call(rc.up), where);
}

std::string failure_message(const RunContext& rc, const Unit& u, const std::string& what) {
  return fmt::format("{} failed at line {} of its {} script: {}", rc.label.describe(), u.line,
                     rc.label.which, what);
}

// Drops an INVALID index left by a failed concurrent build (status shows it meanwhile).
void drop_invalid_index(RunContext& rc, const Unit& u, const std::string& qualified) {
  set_invalid_index(rc.step.version, &qualified);
  set_phase(rc.step.version, "dropping invalid index " + qualified);
  commit();
  TopLevelResult r = run_in_worker(rc, "DROP INDEX CONCURRENTLY IF EXISTS " + qualified);
  if (!r.ok)
    raise_failure(rc, u, r.reported ? r.sqlstate : "57P01",
                  failure_message(rc, u, fmt::format("could not drop the INVALID index {} left by a failed "
                                                     "concurrent build: {}",
                                                     qualified, r.reported ? r.message : "its worker was terminated")),
                  r.detail, fmt::format("Drop it with DROP INDEX CONCURRENTLY, then {} again.", resume_call(rc.up)));
  set_invalid_index(rc.step.version, nullptr);
  commit();
  std::string note = fmt::format("{}: dropped the INVALID index {} left by a failed concurrent build",
                                 rc.label.describe(), qualified);
  const char* n = note.c_str();
  pg::call([&] { ereport(NOTICE, (errmsg_internal("%s", n))); });
}

// INVALID indexes a failed or interrupted REINDEX ... CONCURRENTLY of an index or table left
// on its table (named <index>_ccnew or <index>_ccold, with an optional number).
std::vector<std::string> reindex_leftovers(Node* node) {
  if (!IsA(node, ReindexStmt)) return {};
  ReindexStmt* stmt = castNode(ReindexStmt, node);
  if (!stmt->relation || (stmt->kind != REINDEX_OBJECT_INDEX && stmt->kind != REINDEX_OBJECT_TABLE)) return {};
  RangeVar* rv = stmt->relation;
  bool is_index = stmt->kind == REINDEX_OBJECT_INDEX;
  Oid table = pg::call([&] {
    AcceptInvalidationMessages();
    Oid rel = RangeVarGetRelid(rv, NoLock, true);
    if (OidIsValid(rel) && is_index) rel = IndexGetRelation(rel, true);
    return rel;
  });
  if (!OidIsValid(table)) return {};
  static pg::Query q{
      "SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) "
      "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE i.indrelid = $1::pg_catalog.oid AND NOT i.indisvalid AND c.relname ~ '_cc(new|old)[0-9]*$' ORDER BY 1"};
  catalog::OwnerScope owner;
  q.run({pg::int8_param(table)});
  std::vector<std::string> out;
  for (uint64 i = 0; i < pg::result_rows(); ++i) out.push_back(pg::text_value(i, 1));
  pg::free_result();
  return out;
}

// True if every index a DROP INDEX CONCURRENTLY names is gone (it finished before an interruption).
bool dropped_already(Node* node) {
  if (!IsA(node, DropStmt) || castNode(DropStmt, node)->removeType != OBJECT_INDEX) return false;
  List* objects = castNode(DropStmt, node)->objects;
  ListCell* lc;
  foreach (lc, objects) {
    List* names = (List*)lfirst(lc);
    Oid index = pg::call([&] {
      AcceptInvalidationMessages();
      return RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
    });
    if (OidIsValid(index)) return false;
  }
  return true;
}

// The indexes a DROP INDEX names, as written.
std::string dropped_index_names(Node* node) {
  std::string out;
  ListCell* lc;
  foreach (lc, castNode(DropStmt, node)->objects) {
    List* names = (List*)lfirst(lc);
    const char* name = pg::call([&] { return NameListToString(names); });
    out += (out.empty() ? "" : ", ") + std::string(name);
  }
  return out;
}

// For ALTER TABLE parent DETACH PARTITION part CONCURRENTLY: "" if part is no longer a partition
// of parent, the FINALIZE statement if its detach is pending; nullopt for other statements or
// while it is attached as before.
std::optional<std::string> detach_to_finalize(Node* node) {
#if PG_VERSION_NUM >= 140000
  if (!IsA(node, AlterTableStmt)) return std::nullopt;
  AlterTableStmt* at = castNode(AlterTableStmt, node);
  if (list_length(at->cmds) != 1) return std::nullopt;
  AlterTableCmd* cmd = linitial_node(AlterTableCmd, at->cmds);
  if (cmd->subtype != AT_DetachPartition || !cmd->def || !IsA(cmd->def, PartitionCmd) ||
      !castNode(PartitionCmd, cmd->def)->concurrent)
    return std::nullopt;
  RangeVar* part_rv = castNode(PartitionCmd, cmd->def)->name;
  struct State {
    bool found;
    bool attached;
    bool pending;
    char* sql;
  } st{false, false, false, nullptr};
  pg::call([&] {
    Oid parent = RangeVarGetRelid(at->relation, NoLock, true);
    Oid part = RangeVarGetRelid(part_rv, NoLock, true);
    if (!OidIsValid(parent) || !OidIsValid(part)) return;
    st.found = true;
    Relation inh = table_open(InheritsRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(part));
    SysScanDesc scan = systable_beginscan(inh, InheritsRelidSeqnoIndexId, true, nullptr, 1, &key);
    HeapTuple tup;
    while (HeapTupleIsValid(tup = systable_getnext(scan))) {
      Form_pg_inherits i = reinterpret_cast<Form_pg_inherits>(GETSTRUCT(tup));
      if (i->inhparent != parent) continue;
      st.attached = true;
      st.pending = i->inhdetachpending;
    }
    systable_endscan(scan);
    table_close(inh, AccessShareLock);
    if (st.pending)
      st.sql = psprintf("ALTER TABLE %s DETACH PARTITION %s FINALIZE",
                        quote_qualified_identifier(get_namespace_name(get_rel_namespace(parent)), get_rel_name(parent)),
                        quote_qualified_identifier(get_namespace_name(get_rel_namespace(part)), get_rel_name(part)));
  });
  if (!st.found) return std::nullopt;
  if (!st.attached) return std::string();
  if (st.pending) return std::string(st.sql);
#else
  (void)node;
#endif
  return std::nullopt;
}

// A top-level statement that locks what it works on against reads and writes: VACUUM FULL,
// CLUSTER, REINDEX without CONCURRENTLY.
bool blocks_reads_and_writes(Node* node) {
  if (IsA(node, ClusterStmt)) return true;
  auto has_option = [](List* options, const char* name) {
    ListCell* lc;
    foreach (lc, options) {
      DefElem* opt = static_cast<DefElem*>(lfirst(lc));
      if (std::strcmp(opt->defname, name) == 0) return opt->arg == nullptr || pg::call([&] { return defGetBoolean(opt); });
    }
    return false;
  };
  if (IsA(node, VacuumStmt)) return has_option(castNode(VacuumStmt, node)->options, "full");
  if (IsA(node, ReindexStmt)) return !has_option(castNode(ReindexStmt, node)->params, "concurrently");
  return false;
}

void run_top_level_unit(RunContext& rc, const Unit& u, int index, bool started_before,
                        const std::string& last_error, std::optional<std::string>& skipped) {
  const ScriptStatement& s = rc.statements[u.first];
  std::string sql = statement_text(rc.script, s);
  Node* node = s.parsetree;
  skipped.reset();
  constexpr const char* kFinishedBefore = "had finished before the run was interrupted";
  IndexStmt* build = IsA(node, IndexStmt) ? castNode(IndexStmt, node) : nullptr;
  // Only an interrupted statement (cancel, termination, a worker that ended without a result:
  // class 57) may have finished unrecorded. One that failed with its own error did not: the
  // index found, or the index missing, was so before it ran ("already exists", "does not
  // exist"), and it runs again.
  bool may_have_finished = started_before && (last_error.empty() || last_error.rfind("57", 0) == 0);
  bool dropped = dropped_already(node);
  if (may_have_finished && dropped) {
    skipped = kFinishedBefore;
    return;
  }
  // DETACH PARTITION CONCURRENTLY commits in two steps: interrupted after the first, the
  // partition is left "detach pending", and only FINALIZE completes it (running the statement
  // again fails); interrupted after the second, it is detached already.
  if (started_before) {
    if (std::optional<std::string> finalize = detach_to_finalize(node)) {
      if (finalize->empty()) {
        if (may_have_finished) {
          skipped = kFinishedBefore;
          return;
        }
      } else {
        sql = *finalize;
      }
    }
  }
  // It failed with its own error and its target is still as it was: fail the same way without
  // running it. Running it would clear the recorded error, and an interruption of that attempt
  // would then make the state found here look like the statement's own work.
  auto refuse_again = [&](const char* sqlstate, const std::string& what) {
    set_unit(rc.step.version, index, u.line, u.top_level, false);  // (status names this statement)
    raise_failure(rc, u, sqlstate, failure_message(rc, u, what), "It failed the same way when the run was last tried.",
                  fmt::format("Fix the cause, then {} again; or forget the run with migrate.run_forget() and change the "
                                "migration.", resume_call(rc.up)));
  };
  if (started_before && !may_have_finished && dropped && !castNode(DropStmt, node)->missing_ok)
    refuse_again(sqlstate::kUndefinedObject, "index " + dropped_index_names(node) + " does not exist");
  if (started_before)
    for (const std::string& leftover : reindex_leftovers(node)) drop_invalid_index(rc, u, leftover);
  // A build starts only while its index name is free (below), so on a retry an index of that
  // name is this run's: finished if valid and what the statement builds, else the INVALID
  // leftover of a failed or interrupted attempt. Not so when the last attempt was refused
  // because the name was taken (42P07), nor for an index another session is building.
  bool name_was_taken = last_error.rfind(sqlstate::kDuplicateTable, 0) == 0;
  if (build) {
    IndexState st = index_state(build);
    if (st.exists && st.valid && st.matches && may_have_finished) {
      // The build finished before the run was interrupted; only its record is missing.
      skipped = kFinishedBefore;
      return;
    }
    if (st.exists && !st.valid && started_before && !name_was_taken && !being_built_elsewhere(st.oid)) {
      drop_invalid_index(rc, u, st.qualified);
      st = index_state(build);
    }
    if (st.exists && st.valid && build->if_not_exists) {
      // What the statement would do: nothing, with PostgreSQL's notice.
      skipped = fmt::format("was skipped: relation \"{}\" already exists", build->idxname);
      return;
    }
    // Another index has the name (one that was there, or is being built by another session):
    // the statement would fail on it. It is left as it is.
    if (st.exists) {
      set_unit(rc.step.version, index, u.line, u.top_level, false);  // (status names this statement)
      raise_failure(rc, u, sqlstate::kDuplicateTable,
                    failure_message(rc, u, fmt::format("relation \"{}\" already exists", build->idxname)),
                    !st.is_index ? fmt::format("{} is not an index; it is left as it is.", st.qualified)
                                 : fmt::format("{} {} was made before this statement ran{}; it is left as it is.",
                                               st.valid ? "Index" : "The INVALID index", st.qualified,
                                               st.valid && !st.matches ? " (it differs from the statement's)" : ""),
                    fmt::format("Drop or rename that index, or forget the run (migrate.run_forget()) and give the "
                                "migration's index another name; then {} again.", resume_call(rc.up)));
    }
  }
  set_unit(rc.step.version, index, u.line, u.top_level, false);
  commit();
  TopLevelResult r;
  std::optional<Error> no_worker;  // no worker to run it (no free slot): a failure of this statement
  // VACUUM FULL, CLUSTER and REINDEX without CONCURRENTLY lock the tables they rewrite against
  // reads and writes: waiting for that lock behind a long transaction would queue every other
  // session behind them, so they wait under pg_migrate.lock_timeout with the retries, as a
  // transactional statement does. (A concurrent build or drop waits without blocking anyone.)
  bool blocking = blocks_reads_and_writes(node);
  std::string gave_up;
  double waited = 0;
  std::mt19937 random(static_cast<unsigned>(MyProcPid) ^
                      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  for (int attempt = 1;; ++attempt) {
    auto tried = std::chrono::steady_clock::now();
    try {
      r = run_in_worker(rc, sql, blocking ? settings::lock_timeout_ms : 0);
    } catch (Error& e) {
      no_worker = e;
    } catch (pg::PgError& e) {
      name_failure(e, rc.label, u.line);  // a cancel or timeout while the worker ran: which statement
      throw;
    }
    waited += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tried).count();
    if (no_worker || !blocking || r.ok || !r.reported || r.sqlstate != "55P03") break;
    double delay = 0;
    if (!announce_retry(rc.step, rc.label, u.line, attempt, waited, std::uniform_real_distribution<double>(0, 1)(random),
                        "", true, &delay, &gave_up))
      break;
    commit();
    try {
      pg::sleep_ms(static_cast<long>(delay));
    } catch (pg::PgError& stopped) {
      name_failure(stopped, rc.label, u.line);
      throw;
    }
    waited += delay;
  }
  if (no_worker)
    raise_failure(rc, u, no_worker->sqlstate(), failure_message(rc, u, no_worker->message()), no_worker->detail(),
                  no_worker->hint());
  if (r.ok && build && build->if_not_exists) {
    // IF NOT EXISTS did nothing if the name was taken while the build waited for its lock:
    // only the index the statement builds, valid, counts.
    IndexState st = index_state(build);
    if (!st.exists || !st.valid || !st.matches)
      raise_failure(rc, u, sqlstate::kDuplicateTable,
                    failure_message(rc, u, fmt::format("relation \"{}\" already exists", build->idxname)),
                    "The name was taken while the build waited for its lock, so IF NOT EXISTS built nothing.",
                    fmt::format("Drop or rename that relation, then {} again.", resume_call(rc.up)));
  }
  if (r.ok) return;
  std::string sqlstate = r.reported ? r.sqlstate : "57P01";
  std::string what = r.reported ? r.message : "its background worker ended without a result (terminated, or it could not connect: see the server log)";
  // The name was free when the build started: an INVALID index of that name is what the build
  // left, unless another session is building one (it took the name first, and this build failed
  // on it: 42P07).
  if (build && sqlstate != sqlstate::kDuplicateTable) {
    IndexState st = index_state(build);
    if (st.exists && !st.valid && !being_built_elsewhere(st.oid)) {
      // Never leave the INVALID index behind silently: record why, then drop it.
      record_unit_failure(rc, error_text(sqlstate, what));
      commit();
      drop_invalid_index(rc, u, st.qualified);
      what += fmt::format(" (the INVALID index {} it left was dropped)", st.qualified);
    }
  }
  std::vector<std::string> leftovers = reindex_leftovers(node);
  if (!leftovers.empty()) {
    record_unit_failure(rc, error_text(sqlstate, what));
    commit();
    for (const std::string& leftover : leftovers) drop_invalid_index(rc, u, leftover);
    what += fmt::format(" (the INVALID {} it left {} dropped)", fmt::join(leftovers, ", "),
                        leftovers.size() == 1 ? "was" : "were");
  }
  std::string detail = r.detail;
  if (!gave_up.empty()) detail += (detail.empty() ? "" : "\n") + gave_up;
  if (!detail.empty()) detail += "\n";
  detail += fmt::format("Statement: {}", one_line_preview(sql));
  raise_failure(rc, u, sqlstate, failure_message(rc, u, what), detail,
                !gave_up.empty() ? fmt::format("Retry when the table is less busy ({} resumes at this statement), or raise "
                                               "pg_migrate.lock_timeout, pg_migrate.lock_retries or pg_migrate.lock_retry_total.",
                                               resume_call(rc.up))
                : r.hint.empty() ? fix_then_resume(rc, "at this statement")
                                 : r.hint);
}

int64 scalar_int8(const std::string& sql) {
  const char* q = sql.c_str();
  pg::execute(q, true, 0);
  int64 v = pg::result_rows() ? pg::int8_value(0, 1) : 0;
  pg::free_result();
  return v;
}

// The batched statement's table, waited for as its batches wait: under pg_migrate.lock_timeout,
// with the retries. Counting its rows (at the start, at the end of each pass) and reading its
// size then never wait without a limit behind another session's lock.
// Not LOCK TABLE, which wants SELECT on the whole table (before PostgreSQL 16): a query that
// reads no column needs SELECT on any one, as the counting does.
std::string wait_for_table_sql(const std::string& lock_target) {
  return fmt::format("SELECT FROM {} LIMIT 0", lock_target);
}

void wait_for_table(RunContext& rc, const Unit& u, const std::string& lock_target) {
  std::string sql = wait_for_table_sql(lock_target);
  std::vector<ScriptStatement> st = parse_script(sql, rc.label);
  st[0].line = u.line;
  run_part_with_retries(rc.step, sql, st, rc.label, rc.leftovers);
}

// A batch's error (or that of the queries around the batches) is the statement's: it shows the
// statement as written, not the block-range rewrite or the lock, which the context names.
void show_written_statement(pg::PgError& e, const std::string& statement, const std::string& what,
                            const std::vector<std::string>& internal_queries) {
  ErrorData* ed = e.data();
  const char* text = statement.c_str();
  // SPI's context quotes the query that ran (the rewrite, the counting): left out, whatever
  // lines it spans; the other lines stay.
  std::string context = ed->context ? ed->context : "";
  for (const std::string& q : internal_queries)
    for (std::string quoted = "SQL statement \"" + q + "\""; ;) {
      size_t at = context.find(quoted);
      if (at == std::string::npos) break;
      size_t len = quoted.size() + (at + quoted.size() < context.size() && context[at + quoted.size()] == '\n' ? 1 : 0);
      context.erase(at, len);
    }
  while (!context.empty() && context.back() == '\n') context.pop_back();
  context = context.empty() ? what : context + "\n" + what;
  const char* c = context.c_str();
  pg::call([&] {
    MemoryContext cxt = GetMemoryChunkContext(ed);
    ed->internalquery = MemoryContextStrdup(cxt, text);
    ed->internalpos = 0;
    ed->cursorpos = 0;
    ed->context = MemoryContextStrdup(cxt, c);
  });
}

// A batched statement failed (a batch, or what runs between them): its transaction is rolled
// back and the failure recorded for the run, the error showing the statement as written.
void record_batched_failure(RunContext& rc, const Unit& u, Oid relid, pg::PgError& e, const std::string& statement,
                            const std::string& what, const std::vector<std::string>& internal_queries) {
  show_written_statement(e, statement, what, internal_queries);
  ErrorData* ed = e.data();
  // Column privileges that allow the statement do not allow its batches without ctid (a role
  // with SELECT on the table reads it anyway: then the hint would mislead).
  if (ed->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE && !ed->hint)
    pg::call([&] {
      if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) == ACLCHECK_OK) return;
      ed->hint = MemoryContextStrdup(GetMemoryChunkContext(ed),
                                     "If the role has column privileges only: each batch reads a range of the "
                                     "table's blocks by ctid, which needs GRANT SELECT (ctid) on it too.");
    });
  // A batch's error names the migration and line already (run_statements); one of the queries
  // between the batches is named here the same way.
  if (ed->message && std::string(ed->message).rfind(rc.label.describe() + " failed at line ", 0) != 0)
    name_failure(e, rc.label, u.line);
  std::string text = error_text(unpack_sql_state(ed->sqlerrcode), ed->message ? ed->message : "");
  rollback_failed();
  record_unit_failure(rc, text);
  commit();
}

void run_batched_unit(RunContext& rc, const Unit& u, int index, const RunRow& run, bool started_before) {
  const ScriptStatement& s = rc.statements[u.first];
  std::string sql = statement_text(rc.script, s);
  size_t where = toplevel_where(sql);
  Node* node = s.parsetree;
  RangeVar* rel = batched_relation(node);
  // ctid batches need one heap: no partitioned table, no inheritance children (unless ONLY).
  // (The refusals below are this statement's: progress and run_forget name it and its line.)
  set_unit(rc.step.version, index, u.line, fmt::format("batches of {} rows", u.batch->rows),
           started_before && run.unit == index);
  Oid relid = pg::call([&] { return RangeVarGetRelid(rel, NoLock, true); });
  if (!OidIsValid(relid))
    raise_failure(rc, u, "42P01", failure_message(rc, u, fmt::format("relation \"{}\" does not exist", rel->relname)),
                  {}, fix_then_resume(rc, "at this statement"));
  if (BatchTable table = batch_table(rel, relid); table != BatchTable::kPlain) {
    std::string named = pg::call([&] {  // as resolved, with its schema
      return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
    });
    raise_failure(rc, u, sqlstate::kFeatureNotSupported,
                  failure_message(rc, u, fmt::format("{} cannot be {} in batches: it is {}", named,
                                                     IsA(node, UpdateStmt) ? "updated" : "deleted from",
                                                     table == BatchTable::kPartitioned ? "a partitioned table"
                                                     : table == BatchTable::kInheritanceParent
                                                         ? "a table with inheritance children"
                                                         : "not a plain table")),
                  {}, batch_table_hint(table));
  }
  const char* schema = rel->schemaname;
  const char* name = rel->relname;
  std::string table = pg::call([&] { return quote_qualified_identifier(schema, name); });
  const std::string shown_table = table;  // in messages
  if (!rel->inh) table = "ONLY " + table;
  const std::string lock_target = table;
  if (rel->alias) table += std::string(" AS ") + pg::call([&] { return quote_identifier(rel->alias->aliasname); });
  // A newline after it: the WHERE clause may end in a -- comment.
  std::string cond = sql.substr(where + 5) + "\n";
  std::string prefix = sql.substr(0, where);
  std::string exists_sql = fmt::format("SELECT pg_catalog.count(*) FROM (SELECT FROM {} WHERE ({}) LIMIT 1) s", table, cond);
  std::string count_sql = fmt::format("SELECT pg_catalog.count(*) FROM {} WHERE ({})", table, cond);
  std::string size_sql = fmt::format(
      "SELECT (pg_catalog.pg_relation_size({}::pg_catalog.oid) OPERATOR(pg_catalog./) {})::pg_catalog.int8", relid, BLCKSZ);
  long pause = u.batch->pause_ms >= 0 ? u.batch->pause_ms : batch_pause_ms;

  bool resuming = started_before && run.unit == index;
  // The batches earlier calls committed took this long (their time is recorded with each batch).
  double earlier_ms = rc.unit_earlier_ms;
  set_unit(rc.step.version, index, u.line, fmt::format("batches of {} rows", u.batch->rows), resuming);
  commit();
  int64 rows_done = resuming ? run.rows_done : 0;
  // What runs between the batches fails as a batch does: recorded, the statement shown.
  MemoryContext loop_outer = nullptr;  // the context to go back to from the loop's scratch
  auto between_batches = [&](const char* what, auto&& work) {
    try {
      wait_for_table(rc, u, lock_target);
      work();
    } catch (pg::PgError& e) {
      if (loop_outer) MemoryContextSwitchTo(loop_outer);
      record_batched_failure(rc, u, relid, e, sql, fmt::format("batched statement, {}", what),
                             {wait_for_table_sql(lock_target), count_sql, exists_sql, size_sql});
      throw;
    }
  };
  // Counted again when a call resumes the statement: the rows may have changed since (a failed
  // call's cause fixed, writers). The runaway check below compares what this call changes with
  // what matched when it started, not with the count of the first call.
  const int64 done_before = rows_done;
  between_batches("counting the rows it matches", [&] { set_rows_total(rc.step.version, scalar_int8(count_sql) + rows_done); });
  commit();
  int64 initial_total = 0;
  {
    static pg::Query q{"SELECT rows_total FROM migrate.runs WHERE version OPERATOR(pg_catalog.=) $1"};
    catalog::OwnerScope owner;
    q.run({pg::text_param(rc.step.version)});
    initial_total = pg::int8_value(0, 1);
    pg::free_result();
  }
  // Each batch is the statement restricted to a range of blocks, [first, first + blocks): a TID
  // range scan, so rows done are never scanned again. The first range holds about <rows>
  // matching rows at the density counted at the start; each next one is resized by the rows
  // that matched in the previous one, within 1/4 to 2 times the first.
  int64 nblocks = 0;
  between_batches("reading the table's size", [&] { nblocks = scalar_int8(size_sql); });
  double remaining = static_cast<double>(std::max<int64>(initial_total - rows_done, 0));
  double density = nblocks > 0 && remaining > 0 ? remaining / static_cast<double>(nblocks) : 50.0;
  const double first_blocks = std::max(1.0, static_cast<double>(u.batch->rows) / density);
  const double min_blocks = std::max(1.0, first_blocks / 4), max_blocks = first_blocks * 2;
  double blocks = first_blocks;
  auto started = std::chrono::steady_clock::now();
  int64 first = 0;
  bool matched_in_pass = false;
  int empty_passes = 0;
  for (;;) {
    MemoryContext outer = MemoryContextSwitchTo(rc.scratch);
    loop_outer = outer;
    int64 n = 0;
    bool more = true;
    if (first < nblocks) {
      // Up to the table's end as read last (a block number past it is not a valid tid when a
      // sparse table makes the range large; growth is read again at the end of the range).
      int64 end = std::min(first + static_cast<int64>(blocks), nblocks);
      // The user's statement limited to those blocks; its WHERE clause decides which rows.
      std::string batch_sql = fmt::format(
          "{} WHERE ctid OPERATOR(pg_catalog.>=) '({},0)'::pg_catalog.tid AND ctid OPERATOR(pg_catalog.<) "
          "'({},0)'::pg_catalog.tid AND ({})",
          prefix, first, end, cond);
      std::vector<ScriptStatement> batch_stmts = parse_script(batch_sql, rc.label);
      batch_stmts[0].line = u.line;
      try {
        run_part_with_retries(rc.step, batch_sql, batch_stmts, rc.label, rc.leftovers);
        n = static_cast<int64>(SPI_processed);
        if (n > 0) add_batch(rc.step.version, n, earlier_ms + ms_since(started));
        commit_unit(rc.label, u.line);  // (a deferred constraint fails here: the batch is not done)
      } catch (pg::PgError& e) {
        MemoryContextSwitchTo(outer);
        record_batched_failure(rc, u, relid, e, sql, fmt::format("batched statement, the batch over blocks {} to {} of {}",
                                                          first, end - 1, shown_table), {batch_sql});
        throw;
      }
      rows_done += n;
      if (n > 0) matched_in_pass = true;
      first = end;
      // Aim the next range at <rows> rows. An empty range (dead or non-matching rows) does not
      // grow the next: a dense region may follow.
      if (n > 0)
        blocks = std::clamp(blocks * std::clamp(static_cast<double>(u.batch->rows) / static_cast<double>(n), 0.25, 2.0),
                            min_blocks, max_blocks);
      if (first >= nblocks)  // the table grew meanwhile?
        between_batches("reading the table's size", [&] { nblocks = scalar_int8(size_sql); });
    } else {
      // End of a pass: rows a writer changed or inserted behind the cursor may match now.
      between_batches("looking for rows left at the end of a pass", [&] { more = scalar_int8(exists_sql) > 0; });
      commit();
      first = 0;
      between_batches("reading the table's size", [&] { nblocks = scalar_int8(size_sql); });
      // Rows still match after whole passes that changed none: something keeps the statement
      // from changing them (a trigger returning NULL, a rule, a row security policy), or its
      // WHERE clause still matches what it wrote. Three such passes in a row end the run.
      if (more && !matched_in_pass && ++empty_passes >= 3) {
        MemoryContextSwitchTo(outer);
        raise_failure(rc, u, sqlstate::kObjectNotInPrerequisiteState,
                      failure_message(rc, u, "whole passes over the table changed none of the rows the batched "
                                             "statement still matches"),
                      "A trigger that returns NULL, a rule or a row security policy may keep the statement from "
                      "changing them, or its WHERE clause matches the rows it has written.",
                      "The WHERE clause must stop matching a row once the statement has changed it. Fix the "
                      "cause, then CALL migrate.run() again: it resumes with the rows not done yet.");
      }
      if (matched_in_pass) empty_passes = 0;
      matched_in_pass = false;
    }
    const int64 matched_at_start = std::max<int64>(initial_total - done_before, 0);
    if (rows_done - done_before > 2 * matched_at_start + 10 * u.batch->rows) {
      MemoryContextSwitchTo(outer);
      raise_failure(rc, u, sqlstate::kObjectNotInPrerequisiteState,
                    failure_message(rc, u, fmt::format("the batched statement changed {} rows{}, more than twice "
                                                       "the {} that matched when it {} (plus ten batches)",
                                                       rows_done - done_before, done_before > 0 ? " since it resumed" : "",
                                                       matched_at_start, done_before > 0 ? "resumed" : "started")),
                    "Its WHERE clause probably still matches rows it already changed, or writers keep adding rows "
                    "it matches, so it would never end.",
                    "Make the WHERE clause exclude rows already done (e.g. WHERE b IS NULL for SET b = ...); if "
                    "writers add matching rows, give new rows the value first (a default or a trigger), then run "
                    "the migration again: it resumes.");
    }
    MemoryContextSwitchTo(outer);
    pg::call([&] { MemoryContextReset(rc.scratch); });
    if (!more) break;
    try {
      if (n > 0 && pause > 0) pg::sleep_ms(pause);
      else if (first == 0 && !matched_in_pass && empty_passes > 0) pg::sleep_ms(std::max<long>(pause, 10));
    } catch (pg::PgError& e) {
      name_failure(e, rc.label, u.line);  // a cancel or timeout in the pause between batches
      throw;
    }
  }
  finish_unit(rc.step.version, rc.direction, index, u.line, earlier_ms + ms_since(started), rows_done);
  commit();
}

void run_transactional_unit(RunContext& rc, const Unit& u, int index) {
  set_unit(rc.step.version, index, u.line, u.last - u.first > 1 ? "running part" : "running statement", false);
  commit();
  auto started = std::chrono::steady_clock::now();
  std::vector<ScriptStatement> part(rc.statements.begin() + u.first, rc.statements.begin() + u.last);
  MemoryContext outer = MemoryContextSwitchTo(rc.scratch);
  try {
    run_part_with_retries(rc.step, rc.script, part, rc.label, rc.leftovers);
    finish_unit(rc.step.version, rc.direction, index, u.line, rc.unit_earlier_ms + ms_since(started), std::nullopt);
    commit_unit(rc.label, u.line);  // (a deferred constraint fails here: the unit failed, not finished)
  } catch (pg::PgError& e) {
    MemoryContextSwitchTo(outer);
    ErrorData* ed = e.data();
    std::string text = error_text(unpack_sql_state(ed->sqlerrcode), ed->message ? ed->message : "");
    if (!ed->hint && !e.is_interrupt()) {  // say what resumes the run (the error keeps its own hint)
      std::string hint = fix_then_resume(rc, u.last - u.first > 1 ? fmt::format("with this part (from line {})", u.line)
                                                                  : std::string("at this statement"));
      const char* h = hint.c_str();
      pg::call([&] { ed->hint = MemoryContextStrdup(GetMemoryChunkContext(ed), h); });
    }
    rollback_failed();
    record_unit_failure(rc, text);
    commit();
    throw;
  } catch (Error& e) {
    MemoryContextSwitchTo(outer);
    record_unit_failure(rc, error_text(e.sqlstate(), e.message()));
    commit();
    throw;
  }
  MemoryContextSwitchTo(outer);
  pg::call([&] { MemoryContextReset(rc.scratch); });
}

void run_migration_units(const MigrationStep& step, bool up, const std::string& mode, MemoryContext scratch) {
  RunContext rc{step, up, up ? "up" : "down", catalog::load_script(step.version, up),
                ScriptLabel{step.version, step.name, up ? "up" : "down"}, {}, scratch};
  // Parse trees live for the whole migration (the scratch context is reset per unit).
  rc.statements = parse_script(rc.script, rc.label);
  ScriptMode smode = mode == "no-transaction" ? ScriptMode::kNoTransaction : ScriptMode::kTransaction;
  check_statements(rc.statements, rc.script, rc.label, smode);
  std::vector<Unit> units = split_units(rc.script, rc.statements, smode, rc.label);
  std::string checksum = sha256_hex(rc.script);
  RunRow run = read_run(step.version);
  std::set<int> done;
  // Its statements commit on their own (and some run in a worker): the snapshot after it is
  // taken whole, keeping what differed before it started (kept with the run for a later call
  // that resumes it).
  PreexistingDifferences before;
  if (run.exists) {
    if (run.direction != rc.direction)
      throw Error(sqlstate::kObjectNotInPrerequisiteState,
                  fmt::format("{} has an unfinished {} run", rc.label.describe(), run.direction),
                  {}, fmt::format("Finish it with {} first.", resume_call(run.direction == "up")));
    if (run.checksum != checksum)
      throw Error(sqlstate::kObjectNotInPrerequisiteState,
                  fmt::format("the {} script of {} changed since its run started", rc.label.which,
                              rc.label.describe()),
                  {}, "Register the script the run started with.");
    done = finished_units(step.version, rc.direction);
    bool kept_nothing = false;
    before = recorded_preexisting(step.version, kept_nothing);
    if (kept_nothing) {
      // Started before 0.11.0, which kept nothing of what differed then: what differs now is
      // kept as drift, but for the objects its statements name, which its finished statements
      // may have changed. A change of the migration's can show as drift that way (one it makes
      // to an object it does not name: a function, a type); lost, drift would not show at all.
      keep_unnamed_differences(before, drift_preexisting_differences(), rc.statements, true);
      keep_preexisting(step.version, before);  // for a call after this one, if it stops again
      std::string note = fmt::format(
          "{}: its run started before pg_migrate 0.11.0, which kept no record of the drift before it: the {} "
          "difference{} from the newest snapshot outside the tables and indexes its statements name stay "
          "schema differences after it; review them (migrate.schema_diff()) and acknowledge_drift()",
          rc.label.describe(), before.keys.size(), before.keys.size() == 1 ? "" : "s");
      const char* n = note.c_str();
      pg::call([&] { ereport(NOTICE, (errmsg_internal("%s", n))); });
    }
    // The script may have been registered again since the run stopped (the failed statement
    // fixed): the statements still to run are linted as a new run's are (lint_blocks_apply).
    if (up)
      lint_check_before_running(fmt::format("migration {} (\"{}\")", step.version, step.name), rc.script,
                                [&](int line) {
                                  for (size_t i = 0; i < units.size(); ++i) {
                                    int next = i + 1 < units.size() ? units[i + 1].line : INT_MAX;
                                    if (line >= units[i].line && line < next) return !done.count(static_cast<int>(i));
                                  }
                                  return true;
                                });
    resume_run(step.version);
    std::string note =
        done.size() >= units.size()
            ? fmt::format("{}: all {} statements of its {} script had finished before the run was interrupted; "
                          "recording it", rc.label.describe(), units.size(), rc.label.which)
            : fmt::format("{}: resuming its {} script at statement {} of {}", rc.label.describe(), rc.label.which,
                          done.size() + 1, units.size());
    const char* n = note.c_str();
    pg::call([&] { ereport(NOTICE, (errmsg_internal("%s", n))); });
  } else {
    if (up) {
      refuse_checksum_mismatch(step, rc.script);
      lint_check_before_apply(step.version, step.name, rc.script);
      verify_check_before_apply(step.version, step.name);
    }
    before = drift_preexisting_differences();
    start_run(step.version, rc.direction, checksum, units.size(), before);
  }
  commit();
  auto start = std::chrono::steady_clock::now();
  TimestampTz started_at = GetCurrentTimestamp();
  std::exception_ptr failure;
  try {
  for (size_t i = 0; i < units.size(); ++i) {
    if (done.count(static_cast<int>(i))) continue;
    const Unit& u = units[i];
    bool started_before = run.exists && run.unit == static_cast<int>(i);
    rc.unit_started = std::chrono::steady_clock::now();
    rc.unit_earlier_ms = started_before ? run.unit_ms : 0;
    if (u.top_level) {
      std::optional<std::string> skipped;  // why it did not run
      try {
        run_top_level_unit(rc, u, static_cast<int>(i), started_before, run.error, skipped);
      } catch (pg::PgError& e) {
        // A cancel or timeout while it ran (or waited for its worker): the time it took so far
        // counts in the duration when a later call finishes it. Recorded, then the error goes on.
        if (!e.is_interrupt()) throw;
        // Named like every other failure of the unit, where the cancel came while pg_migrate
        // itself waited (dropping an INVALID index a build left, say): no statement of the
        // script had named it.
        ErrorData* ed = e.data();
        std::string label = rc.label.describe();
        if (ed->message && std::strstr(ed->message, label.c_str()) == nullptr) {
          std::string named = failure_message(rc, u, ed->message);
          const char* m = named.c_str();
          pg::call([&] { ed->message = MemoryContextStrdup(GetMemoryChunkContext(ed), m); });
        }
        rollback_failed();
        record_unit_time(rc);
        commit();
        throw;
      }
      finish_unit(step.version, rc.direction, static_cast<int>(i), u.line,
                  rc.unit_earlier_ms + ms_since(rc.unit_started), std::nullopt);
      commit();
      if (skipped) {
        std::string note = fmt::format("{}: {} at line {} {}", rc.label.describe(), u.top_level, u.line, *skipped);
        const char* n = note.c_str();
        pg::call([&] { ereport(NOTICE, (errmsg_internal("%s", n))); });
      }
    } else if (u.batch) {
      run_batched_unit(rc, u, static_cast<int>(i), run, started_before);
    } else {
      run_transactional_unit(rc, u, static_cast<int>(i));
    }
  }
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    (void)rc.leftovers.clear_after_failure();  // the failed unit is rolled back and its state recorded by now
    std::rethrow_exception(failure);
  }
  rc.leftovers.clear();
  // The migration is applied (or reverted) only now, after its last unit committed. A resumed
  // run started with the first call, and took the time of all its statements.
  double duration = run.exists ? units_ms(step.version, rc.direction) : ms_since(start);
  catalog::StepRecord record{step.version, step.name, step.checksum, duration,
                             run.exists ? run.started_at : started_at};
  // A revert: did the down script restore what the apply found? (as migrate.revert() checks)
  if (!up) record.detail = check_revert_leftovers({{step.version, step.name}}, {step.version})[0];
  catalog::record_steps({record}, up, catalog::current_role_name());
  end_run(step.version);
  catalog::bump_generation();
  // What other sessions changed while it ran (captured as drift since the run started) stays
  // a difference too: the whole snapshot would take it into the reference.
  keep_unnamed_differences(before, drift_captured_since(record.started_at), rc.statements, false);
  drift_record_snapshot(up ? "apply" : "revert", &before);
  commit();
}

// Modes of migrations that do not run in one transaction: version -> (up_mode, down_mode).
struct Modes {
  std::string up;
  std::string down;
};

std::map<std::string, Modes> special_modes() {
  static pg::Query q{
      "SELECT version, up_mode, down_mode FROM migrate.migrations "
      "WHERE up_mode OPERATOR(pg_catalog.<>) 'transaction' OR down_mode OPERATOR(pg_catalog.<>) 'transaction'"};
  catalog::OwnerScope owner;
  q.run();
  std::map<std::string, Modes> out;
  for (uint64 i = 0; i < pg::result_rows(); ++i)
    out[pg::text_value(i, 1)] = {pg::text_value(i, 2), pg::text_value(i, 3)};
  pg::free_result();
  return out;
}

}  // namespace

// False while the catalog predates 0.2.0.
bool run_catalog_present() { return OidIsValid(runs_relid()); }

// The migrations whose run has started and not ended, oldest first.
struct UnfinishedRun {
  std::string version, name, direction;
};
// Whether migrate.runs holds no row this transaction sees: the usual answer, found without
// planning the query below (in a new session, as a deploy's, that costs about 2 ms).
bool no_runs(Oid relid) {
  return pg::call([&] {
    Relation rel = table_open(relid, AccessShareLock);
    if (rel->rd_rel->relkind != RELKIND_RELATION) {  // not laid out as created: the query answers
      table_close(rel, AccessShareLock);
      return false;
    }
    // What the query would see: the transaction snapshot with this transaction's commands.
    PushCopiedSnapshot(GetTransactionSnapshot());
    UpdateActiveSnapshotCommandId();
    TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, nullptr);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    bool empty = !table_scan_getnextslot(scan, ForwardScanDirection, slot);
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(scan);
    PopActiveSnapshot();
    table_close(rel, AccessShareLock);
    return empty;
  });
}

std::vector<UnfinishedRun> unfinished_runs() {
  Oid runs = runs_relid();
  if (!OidIsValid(runs) || no_runs(runs)) return {};
  static pg::Query q{
      "SELECT r.version, m.name, r.direction FROM migrate.runs r JOIN migrate.migrations m USING (version) "
      "ORDER BY r.started_at"};
  std::vector<UnfinishedRun> out;
  catalog::OwnerScope owner;
  q.run();
  for (uint64 i = 0; i < pg::result_rows(); ++i)
    out.push_back({pg::text_value(i, 1), pg::text_value(i, 2), pg::text_value(i, 3)});
  pg::free_result();
  return out;
}

// CALL migrate.run() over a half-reverted migration, or run_revert() over a half-applied one,
// would build on a half-done step.
void check_opposite_runs(bool up) {
  for (const UnfinishedRun& r : unfinished_runs())
    if (r.direction != (up ? "up" : "down"))
      throw Error(sqlstate::kObjectNotInPrerequisiteState,
                  fmt::format("migration {} (\"{}\") is partially {}", r.version, r.name, up ? "reverted" : "applied"),
                  "Nothing was changed.",
                  fmt::format("Finish {} first with {}.", up ? "the revert" : "it", resume_call(!up)));
}

namespace {

void check_call_context(FunctionCallInfo fcinfo, const char* name) {
  Node* ctx = fcinfo->context;
  if (ctx == nullptr || !IsA(ctx, CallContext) || castNode(CallContext, ctx)->atomic)
    throw Error(sqlstate::kInvalidTransactionTermination,
                fmt::format("{} must be called with CALL outside a transaction block", name),
                "It commits after every migration, statement and batch.",
                "Run it on its own (not inside BEGIN ... COMMIT, a function or a procedure with a SET clause); "
                "migrate.apply() applies transactional migrations inside a transaction.");
}

void run_steps_units(const std::vector<MigrationStep>& steps, bool up) {
  std::map<std::string, Modes> modes = special_modes();
  // One context per migration (its parse trees) and one per unit or batch, reset as they end:
  // memory stays flat however many migrations, statements and batches run.
  MemoryContext migration = pg::call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_migrate run migration", ALLOCSET_DEFAULT_SIZES);
  });
  MemoryContext unit = pg::call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_migrate run unit", ALLOCSET_DEFAULT_SIZES);
  });
  commit();
  for (const MigrationStep& step : steps) {
    auto it = modes.find(step.version);
    std::string mode = it == modes.end() ? "transaction" : (up ? it->second.up : it->second.down);
    MemoryContext outer = MemoryContextSwitchTo(migration);
    if (mode == "transaction") {
      run_transactional_step(step, up);
      commit();
    } else {
      run_migration_units(step, up, mode, unit);
    }
    MemoryContextSwitchTo(outer);
    pg::call([&] {
      MemoryContextReset(migration);
      MemoryContextReset(unit);
    });
  }
}

std::vector<MigrationStep> applied_steps_newest_first() {
  static pg::Query q{
      "SELECT m.version, m.name, m.checksum, m.down_sql IS NOT NULL FROM migrate.migrations m "
      "WHERE m.applied_seq IS NOT NULL ORDER BY m.applied_seq DESC"};
  catalog::OwnerScope owner;
  uint64 rows = q.run();
  std::vector<MigrationStep> out;
  for (uint64 i = 0; i < rows; ++i)
    out.push_back({pg::text_value(i, 1), pg::text_value(i, 2), pg::text_value(i, 3), pg::bool_value(i, 4)});
  pg::free_result();
  return out;
}

void revert_units(std::vector<MigrationStep> steps) {
  refuse_missing_down_scripts(steps);
  run_steps_units(steps, false);
}

}  // namespace

ScriptMode script_mode(const std::string& script) {
  return has_no_transaction_directive(script) ? ScriptMode::kNoTransaction : ScriptMode::kTransaction;
}

std::string checked_run_mode(const std::string& script, const ScriptLabel& label,
                             std::vector<ScriptStatement>* parsed) {
  std::vector<ScriptStatement> local;
  std::vector<ScriptStatement>& stmts = parsed ? *parsed : local;
  stmts = parse_script(script, label);
  // Before the statements are checked: with the directive on a later line, a CREATE INDEX
  // CONCURRENTLY was refused as "cannot run inside a migration", which did not say why.
  refuse_misplaced_directive(script, label);
  check_statements(stmts, script, label, script_mode(script));
  return script_run_mode(script, stmts, label);
}

std::string checked_registration_mode(const std::string& script, const ScriptLabel& label,
                                      std::vector<ScriptStatement>* parsed) {
  std::vector<ScriptStatement> local;
  std::vector<ScriptStatement>& stmts = parsed ? *parsed : local;
  refuse_unknown_directive(script, label);
  std::string mode = checked_run_mode(script, label, &stmts);
  refuse_batched_partitioned(script, stmts, label);
  return mode;
}

void refuse_unknown_directive(const std::string& script, const ScriptLabel& label) {
  if (std::optional<UnknownDirective> d = find_unknown_directive(script))
    throw Error(sqlstate::kSyntaxError,
                fmt::format("{} script of {} has an unknown or misspelled pg_migrate directive at line {}: \"{}\"",
                            label.which, label.describe(), d->line, one_line_preview(d->text, 60)),
                {}, "The directives are \"-- pg_migrate:no-transaction\" (the first line), "
                    "\"-- pg_migrate:batch <rows> [pause <ms>ms]\" and \"-- pg_migrate:ignore <rule>\".");
}

void refuse_misplaced_directive(const std::string& script, const ScriptLabel& label) {
  if (has_misplaced_no_transaction_directive(script))
    throw Error(sqlstate::kSyntaxError,
                fmt::format("{} script of {} has a misplaced or misspelled \"-- pg_migrate:no-transaction\" directive",
                            label.which, label.describe()),
                {}, "The directive must be the first line of the script, exactly \"-- pg_migrate:no-transaction\".");
}

std::string script_run_mode(const std::string& script, const std::vector<ScriptStatement>& statements,
                            const ScriptLabel& label) {
  refuse_misplaced_directive(script, label);
  ScriptMode mode = script_mode(script);
  std::vector<Unit> units = split_units(script, statements, mode, label);
  if (mode == ScriptMode::kNoTransaction) return "no-transaction";
  for (const ScriptStatement& s : statements)
    if (is_split_point(s.parsetree)) return "split";
  return "transaction";
}

void store_run_modes(const std::string& version, const std::string& up_mode, const std::string& down_mode,
                     bool replaced) {
  bool special = up_mode != "transaction" || down_mode != "transaction";
  if (!special && !replaced) return;  // the column defaults say it already
  if (!run_catalog_present()) {
    if (!special) return;
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                fmt::format("migration {} needs pg_migrate 0.2.0's catalog: its {} script is {}", version,
                            up_mode != "transaction" ? "up" : "down",
                            (up_mode != "transaction" ? up_mode : down_mode) == "split"
                                ? "split by COMMIT"
                                : "non-transactional"),
                "Nothing was registered.", "Run ALTER EXTENSION pg_migrate UPDATE first.");
  }
  static pg::Query q{
      "UPDATE migrate.migrations SET up_mode = $2, down_mode = $3 WHERE version OPERATOR(pg_catalog.=) $1"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version), pg::text_param(up_mode), pg::text_param(down_mode)});
}

void refuse_non_transactional(const std::vector<MigrationStep>& steps, bool up) {
  if (steps.empty() || !run_catalog_present()) return;
  // Apply's pending read saw each up mode: nothing to ask when all run in one transaction.
  if (up && std::all_of(steps.begin(), steps.end(), [](const MigrationStep& s) { return s.up_transactional == true; }))
    return;
  std::map<std::string, Modes> modes = special_modes();
  if (modes.empty()) return;
  for (const MigrationStep& s : steps) {
    auto it = modes.find(s.version);
    if (it == modes.end()) continue;
    const std::string& mode = up ? it->second.up : it->second.down;
    if (mode == "transaction") continue;
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                fmt::format("migration {} (\"{}\") cannot be {} by migrate.{}(): its {} script is {}",
                            s.version, s.name, up ? "applied" : "reverted", up ? "apply" : "revert",
                            up ? "up" : "down",
                            mode == "split" ? "split into several transactions by COMMIT"
                                            : "non-transactional (-- pg_migrate:no-transaction)"),
                fmt::format("migrate.{}() runs migrations in one transaction. Nothing was {}.",
                            up ? "apply" : "revert", up ? "applied" : "reverted"),
                up ? "Apply with CALL migrate.run(), which commits statement by statement, or with the "
                     "pg_migrate command (pg_migrate apply)."
                   : "Revert with CALL migrate.run_revert() or migrate.run_revert_to(), or with the "
                     "pg_migrate command (pg_migrate revert).");
  }
}

void check_no_run_in_progress() {
  if (run_lock_held) return;
  LOCKTAG tag;
  set_run_tag(tag);
  LockAcquireResult got = pg::call([&] { return LockAcquire(&tag, ShareLock, false, true); });
  if (got == LOCKACQUIRE_NOT_AVAIL) fail_busy();
  pg::call([&] { (void)LockRelease(&tag, ShareLock, false); });
}

std::optional<std::vector<bool>> finished_statements(const MigrationStep& step, const std::string& script,
                                                     const std::vector<ScriptStatement>& statements) {
  if (!run_catalog_present()) return std::nullopt;
  RunRow run = read_run(step.version);
  if (!run.exists || run.direction != "up" || run.checksum != sha256_hex(script)) return std::nullopt;
  ScriptLabel label{step.version, step.name, "up"};
  std::vector<Unit> units = split_units(script, statements, script_mode(script), label);
  std::set<int> done = finished_units(step.version, "up");
  std::vector<bool> out(statements.size(), false);
  for (int u : done)
    if (u >= 0 && static_cast<size_t>(u) < units.size())
      for (size_t i = units[u].first; i < units[u].last && i < out.size(); ++i) out[i] = true;
  return out;
}

std::optional<Error> unfinished_run_error(const std::string& version) {
  if (!run_catalog_present()) return std::nullopt;
  static pg::Query q{
      "SELECT direction, (SELECT pg_catalog.count(*) FROM migrate.run_progress p "
      "WHERE p.version OPERATOR(pg_catalog.=) r.version)::text, units::text FROM migrate.runs r "
      "WHERE version OPERATOR(pg_catalog.=) $1"};
  std::string dir, done, units;
  {
    // Closed before returning: a caller that goes on (plan()) must get its search_path back.
    catalog::OwnerScope owner;
    q.run({pg::text_param(version)});
    if (pg::result_rows() == 0) {
      pg::free_result();
      return std::nullopt;
    }
    dir = pg::text_value(0, 1);
    done = pg::text_value(0, 2);
    units = pg::text_value(0, 3);
    pg::free_result();
  }
  return Error(sqlstate::kObjectNotInPrerequisiteState,
               fmt::format("migration {} has an unfinished {} run ({} of {} statements done)", version,
                           dir == "up" ? "apply" : "revert", done, units),
               done == "0" ? "None of its statements finished, but the run stopped in one (see migrate.progress): "
                             "it resumes there, and clears what that statement may have left (an interrupted "
                             "concurrent index build's INVALID index)."
                           : "Its finished statements took effect; changing or removing it now would leave them behind.",
               dir == "up" ? fmt::format("Finish it with {}, or replace the statement that failed (and those after "
                                         "it) keeping the finished ones as they are.",
                                         resume_call(true))
                           : fmt::format("Finish it with {}, or repair the down script: replace the statement that "
                                         "failed (and those after it) keeping the finished ones as they are.",
                                         resume_call(false)));
}

void ensure_no_unfinished_run(const std::string& version) {
  if (std::optional<Error> e = unfinished_run_error(version)) throw *e;
}

bool unfinished_revert_run(const std::string& version) {
  RunRow run = read_run(version);
  return run.exists && run.direction == "down";
}

void adopt_script_for_unfinished_run(const std::string& version, const std::string& name, const std::string& new_up,
                                     bool up) {
  // (new_up: the new script of the run's direction, the down script for a revert run)
  RunRow run = read_run(version);
  if (!run.exists) return;
  std::optional<Error> refusal = unfinished_run_error(version);
  auto refuse = [&](const std::string& why) {
    throw Error(refusal->sqlstate(), refusal->message(), refusal->detail() + " " + why, refusal->hint());
  };
  if (run.direction != (up ? "up" : "down")) throw *refusal;
  std::string old_up = catalog::load_script(version, up);
  if (sha256_hex(old_up) != run.checksum) throw *refusal;
  ScriptLabel label{version, name, up ? "up" : "down"};
  std::vector<ScriptStatement> old_statements = parse_script(old_up, label);
  std::vector<ScriptStatement> new_statements = parse_script(new_up, label);
  ScriptMode mode = script_mode(old_up);
  if (script_mode(new_up) != mode) refuse("The new script does not run the same way (the no-transaction directive differs).");
  // Split by COMMIT, non-transactional or one transaction: units are counted the same way only
  // in the same mode (a script without its COMMITs runs whole, its finished part again).
  if (script_run_mode(new_up, new_statements, label) != script_run_mode(old_up, old_statements, label))
    refuse("The new script does not run the same way (split by COMMIT, statement by statement, or as one "
           "transaction).");
  std::vector<Unit> old_units = split_units(old_up, old_statements, mode, label);
  std::vector<Unit> new_units = split_units(new_up, new_statements, mode, label);
  auto unit_text = [](const std::string& script, const std::vector<ScriptStatement>& st, const Unit& u) {
    return script.substr(st[u.first].begin, st[u.last - 1].end - st[u.first].begin);
  };
  // Unit u (one of the old script's) is in the new script at the same place, unchanged but for
  // formatting and comments.
  auto unchanged = [&](int u) {
    return static_cast<size_t>(u) < new_units.size() &&
           script_checksum(unit_text(old_up, old_statements, old_units[u])) ==
               script_checksum(unit_text(new_up, new_statements, new_units[u]));
  };
  // What took effect stays as it is: every finished statement (and one a batched run is part
  // way through) must be in the new script, at the same place, unchanged but for formatting.
  const std::set<int> finished = finished_units(version, up ? "up" : "down");
  std::set<int> kept = finished;
  if (run.rows_done > 0 && run.unit >= 0) kept.insert(run.unit);
  // A statement that runs at top level (CREATE INDEX CONCURRENTLY, ...) and was interrupted, or
  // whose failed build's INVALID index is still there, may have left work only its own retry
  // recognises and clears: it stays too. (One that failed and whose leftover was dropped may
  // be changed: that is the fix.)
  if (run.unit >= 0 && static_cast<size_t>(run.unit) < old_units.size() && old_units[run.unit].top_level &&
      !kept.count(run.unit) && (run.error.empty() || !run.invalid_index.empty()))
    kept.insert(run.unit);
  for (int u : kept) {
    if (u < 0 || static_cast<size_t>(u) >= old_units.size()) throw *refusal;
    if (unchanged(u)) continue;
    // The statement that failed part way through its batches: those batches committed, so it
    // is not replaced (the hint of the other refusals, to replace the failed statement, is not
    // for it).
    if (u == run.unit && run.rows_done > 0)
      throw Error(refusal->sqlstate(), refusal->message(),
                  fmt::format("{} Statement {} (line {} of the script the run started with) is a batched statement "
                              "that failed after {} rows were changed in committed batches: it stays as it is.",
                              refusal->detail(), u + 1, old_units[u].line, run.rows_done),
                  fmt::format("Make it succeed (fix the data or what blocked it), then {}; the statements after it "
                              "may be replaced.",
                              resume_call(up)));
    if (u == run.unit && !finished.count(u))  // the interrupted top-level statement kept above
      refuse(fmt::format("Statement {} (line {} of the script the run started with) was interrupted at top level "
                         "(a concurrent build or drop), and may have left work only it recognises and clears when it "
                         "runs again (an INVALID index): it stays as it is until the run finishes it, or "
                         "migrate.run_forget() gives the run up (then drop what it left).",
                         u + 1, old_units[u].line));
    refuse(fmt::format("Statement {} (line {} of the script the run started with) took effect, and the new script "
                       "does not have it at that place unchanged.",
                       u + 1, old_units[u].line));
  }
  static pg::Query adopt{
      "UPDATE migrate.runs SET checksum = $2, units = $3::int WHERE version OPERATOR(pg_catalog.=) $1"};
  // The statement the run stopped at was replaced: the new one starts afresh (its rows counted
  // anew, not taken for one that ran before an interruption).
  static pg::Query fresh_unit{
      "UPDATE migrate.runs SET unit = NULL, line = NULL, phase = NULL, unit_started_at = NULL, worker_pid = NULL, "
      "rows_done = 0, rows_total = NULL, batches = 0, error = NULL, failed_at = NULL "
      "WHERE version OPERATOR(pg_catalog.=) $1"};
  bool stopped_unit_replaced = run.unit >= 0 && !kept.count(run.unit) &&
                               static_cast<size_t>(run.unit) < old_units.size() && !unchanged(run.unit);
  {
    catalog::OwnerScope owner;
    adopt.run({pg::text_param(version), pg::text_param(sha256_hex(new_up)),
               pg::text_param(std::to_string(new_units.size()))});
    if (stopped_unit_replaced) fresh_unit.run({pg::text_param(version)});
  }
  // It resumes at the first statement not finished (one a batched run is part way through
  // counts as not finished, though it is kept).
  int resumes_at = 0;
  while (finished.count(resumes_at)) ++resumes_at;
  std::string note = fmt::format(
      "migration {} (\"{}\"): its unfinished {} run goes on with the new script: the {} finished "
      "statement{} {} unchanged, {} resumes at statement {}",
      version, name, up ? "apply" : "revert", finished.size(), finished.size() == 1 ? "" : "s",
      finished.size() == 1 ? "is" : "are", resume_call(up), resumes_at + 1);
  const char* n = note.c_str();
  pg::call([&] { ereport(NOTICE, (errmsg_internal("%s", n))); });
}

void ensure_no_unfinished_runs() {
  std::vector<UnfinishedRun> runs = unfinished_runs();
  if (runs.empty()) return;
  const UnfinishedRun& r = runs.front();
  bool up = r.direction == "up";
  // (stopped in its first statement: nothing of it took effect, but the run is not over)
  bool none_finished = finished_units(r.version, r.direction.c_str()).empty();
  throw Error(sqlstate::kObjectNotInPrerequisiteState,
              none_finished ? fmt::format("migration {} (\"{}\") has a stopped {} run", r.version, r.name,
                                          up ? "apply" : "revert")
                            : fmt::format("migration {} (\"{}\") is partially {}", r.version, r.name,
                                          up ? "applied" : "reverted"),
              none_finished
                  ? fmt::format("CALL migrate.{}() stopped in its first statement, which it resumes; applying or "
                                "reverting other migrations now would run them out of order. Nothing was changed.",
                                up ? "run" : "run_revert")
                  : fmt::format("Its finished statements took effect (CALL migrate.{}() stopped part way); applying "
                                "or reverting other migrations now would build on a half-done step. Nothing was "
                                "changed.",
                                up ? "run" : "run_revert"),
              fmt::format("Finish it with {}, or see migrate.progress and migrate.run_forget().", resume_call(up)));
}

}  // namespace pgm

using namespace pgm;

PGM_FUNCTION(pgm_run) {
  check_call_context(fcinfo, "migrate.run()");
  ensure_not_in_migration("migrate.run");
  std::optional<Version> target;
  if (!PG_ARGISNULL(0)) target = Version::parse(pg::text_arg(fcinfo, 0));
  NonatomicSpi spi;
  // The catalog lock first: waiting for a migrate.apply() in flight, this call must not hold
  // the run lock yet, or that apply (its transaction locking the catalog again) would take
  // this waiting call for a run in progress and fail (55006).
  catalog::lock_catalog();  // waits for a migrate.apply() in flight
  RunLock lock;
  check_opposite_runs(true);
  std::vector<MigrationStep> steps = select_pending(target);
  // A target below a migration stopped part way would apply others after its committed
  // statements, out of version order: that migration is finished first.
  if (target && !steps.empty()) {
    for (const UnfinishedRun& r : unfinished_runs())  // (all "up": check_opposite_runs passed)
      if (std::none_of(steps.begin(), steps.end(), [&](const MigrationStep& s) { return s.version == r.version; }))
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    fmt::format("migration {} is partially applied, above the target {}", r.version,
                                target->canonical()),
                    "Applying migrations up to the target would run them after its committed statements. Nothing "
                    "was changed.",
                    fmt::format("Finish it first with CALL migrate.run('{}'), or see migrate.progress and "
                                "migrate.run_forget().", r.version));
  }
  run_steps_units(steps, true);
  PG_RETURN_VOID();
}

namespace {

Datum run_revert(FunctionCallInfo fcinfo, bool to_target) {
  check_call_context(fcinfo, to_target ? "migrate.run_revert_to()" : "migrate.run_revert()");
  ensure_not_in_migration(to_target ? "migrate.run_revert_to" : "migrate.run_revert");
  if (PG_ARGISNULL(0))
    throw Error(sqlstate::kInvalidParameterValue, to_target ? "target version must not be NULL" : "steps must not be NULL");
  std::optional<Version> target;
  int32 steps = 0;
  if (to_target) {
    target = Version::parse(pg::text_arg(fcinfo, 0));
  } else {
    steps = PG_GETARG_INT32(0);
    if (steps < 1)
      throw Error(sqlstate::kInvalidParameterValue, fmt::format("steps must be at least 1, not {}", steps));
  }
  NonatomicSpi spi;
  catalog::lock_catalog();  // (before the run lock: see migrate.run())
  RunLock lock;
  check_opposite_runs(false);
  if (to_target) ensure_revert_target(*target);
  std::vector<MigrationStep> applied = applied_steps_newest_first();
  std::vector<MigrationStep> chosen;
  if (to_target) {
    for (MigrationStep& s : applied)
      if (*target < Version::parse(s.version)) chosen.push_back(std::move(s));
  } else {
    // A revert run stopped part way (the newest applied migration's: reverts go newest first)
    // was started by a call that counted it among its steps, and may have reverted newer ones
    // before it: the same call repeated after the fix (the hint says "run it again") would
    // otherwise revert one more migration than asked. It finishes that run and stops.
    if (steps > 1 && !applied.empty() && read_run(applied[0].version).direction == "down") {
      std::string note = fmt::format(
          "migration {} (\"{}\") has a stopped revert run: this call finishes it and reverts nothing more (the "
          "call that started the run counted it among its steps); revert again to revert further",
          applied[0].version, applied[0].name);
      const char* n = note.c_str();
      pg::call([&] { ereport(NOTICE, (errmsg_internal("%s", n))); });
      steps = 1;
    }
    if (static_cast<size_t>(steps) > applied.size())
      throw Error(sqlstate::kInvalidParameterValue,
                  fmt::format("cannot revert {} migration{}: only {} {} applied", steps, steps == 1 ? "" : "s",
                              applied.size(), applied.size() == 1 ? "is" : "are"),
                  "Nothing was reverted.");
    applied.resize(steps);
    chosen = std::move(applied);
  }
  revert_units(std::move(chosen));
  PG_RETURN_VOID();
}

}  // namespace

PGM_FUNCTION(pgm_run_revert) { return run_revert(fcinfo, false); }

PGM_FUNCTION(pgm_run_revert_to) { return run_revert(fcinfo, true); }

// migrate.run_forget(version): the way out of a run that cannot finish (its failing statement
// cannot be made to succeed): forgets its state, so the migration is pending (or applied, for
// a revert) again and can be replaced or unregistered. What its finished statements did stays:
// the caller undoes it by hand. Recorded in history (action 'forget_run').
namespace {

// What the unit an unfinished run stopped in left behind, as sentences for run_forget's
// warning: a concurrent build's INVALID index, REINDEX CONCURRENTLY's leftovers (nothing if
// another session is building it), and an index an interrupted DROP INDEX CONCURRENTLY left
// INVALID (still there, no longer used by queries).
std::vector<std::string> unfinished_build_leftovers(const std::string& version, const std::string& name) {
  RunRow run = read_run(version);
  if (!run.exists || run.unit < 0) return {};
  bool up = run.direction == "up";
  std::string script = catalog::load_script(version, up);
  ScriptLabel label{version, name, up ? "up" : "down"};
  std::vector<ScriptStatement> statements = parse_script(script, label);
  std::vector<Unit> units = split_units(script, statements, script_mode(script), label);
  if (static_cast<size_t>(run.unit) >= units.size() || !units[run.unit].top_level) return {};
  Node* node = statements[units[run.unit].first].parsetree;
  std::vector<std::string> out;
  if (IsA(node, IndexStmt) && castNode(IndexStmt, node)->concurrent && castNode(IndexStmt, node)->idxname) {
    IndexState st = index_state(castNode(IndexStmt, node));
    if (st.exists && st.is_index && !st.valid && !being_built_elsewhere(st.oid)) out.push_back(st.qualified);
  }
  for (const std::string& leftover : reindex_leftovers(node)) out.push_back(leftover);
  for (std::string& index : out)
    index = fmt::format("its interrupted build left the INVALID index {}: drop it (DROP INDEX CONCURRENTLY {}) "
                        "before the migration runs again", index, index);
  if (IsA(node, DropStmt) && castNode(DropStmt, node)->removeType == OBJECT_INDEX && castNode(DropStmt, node)->concurrent) {
    ListCell* lc;
    foreach (lc, castNode(DropStmt, node)->objects) {
      List* names = (List*)lfirst(lc);
      const char* invalid = pg::call([&]() -> const char* {
        Oid index = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
        if (!OidIsValid(index)) return nullptr;
        HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
        if (!HeapTupleIsValid(tup)) return nullptr;
        bool valid = ((Form_pg_index)GETSTRUCT(tup))->indisvalid;
        ReleaseSysCache(tup);
        return valid ? nullptr
                     : quote_qualified_identifier(get_namespace_name(get_rel_namespace(index)), get_rel_name(index));
      });
      if (invalid)
        out.push_back(fmt::format("its interrupted DROP INDEX CONCURRENTLY left the index {} INVALID (queries no longer "
                                  "use it): finish the drop (DROP INDEX CONCURRENTLY {}) or rebuild it (REINDEX INDEX "
                                  "CONCURRENTLY {})",
                                  invalid, invalid, invalid));
    }
  }
  return out;
}

}  // namespace

PGM_FUNCTION(pgm_run_forget) {
  ensure_not_in_migration("migrate.run_forget");
  if (PG_ARGISNULL(0)) throw Error(sqlstate::kInvalidParameterValue, "version must not be NULL");
  Version version = Version::parse(pg::text_arg(fcinfo, 0));
  pg::SpiConnection spi;
  catalog::lock_catalog();
  static pg::Query read{
      "SELECT r.direction, m.name, m.checksum, (pg_catalog.jsonb_build_object('direction', r.direction, "
      "'statements', r.units, 'finished', (SELECT pg_catalog.jsonb_agg(p.line ORDER BY p.unit) "
      "FROM migrate.run_progress p WHERE p.version OPERATOR(pg_catalog.=) r.version), 'error', r.error) "
      // A batched statement stopped part way: its committed batches stay, and are said.
      "OPERATOR(pg_catalog.||) CASE WHEN r.rows_done OPERATOR(pg_catalog.>) 0 AND NOT EXISTS (SELECT FROM migrate.run_progress f "
      "WHERE f.version OPERATOR(pg_catalog.=) r.version AND f.unit OPERATOR(pg_catalog.=) r.unit) THEN pg_catalog.jsonb_build_object("
      "'partly_done', pg_catalog.jsonb_build_object('line', r.line, 'rows_done', r.rows_done, 'batches', r.batches)) "
      "ELSE '{}'::pg_catalog.jsonb END)::text "
      "FROM migrate.runs r JOIN migrate.migrations m USING (version) WHERE r.version OPERATOR(pg_catalog.=) $1"};
  static pg::Query record{
      "INSERT INTO migrate.history (version, name, action, role, checksum, detail) "
      "VALUES ($1, $2, 'forget_run', $3, $4, $5::jsonb)"};
  std::string role = catalog::current_role_name();
  std::string name, checksum, detail;
  {
    catalog::OwnerScope owner;
    read.run({pg::text_param(version.canonical())});
    if (pg::result_rows() == 0) {
      pg::free_result();
      throw Error(sqlstate::kUndefinedObject,
                  fmt::format("migration {} has no unfinished run", version.canonical()),
                  {}, "SELECT * FROM migrate.progress lists the unfinished runs.");
    }
    name = pg::text_value(0, 2);
    checksum = pg::text_value(0, 3);
    detail = pg::text_value(0, 4);
    pg::free_result();
    record.run({pg::text_param(version.canonical()), pg::text_param(name), pg::text_param(role),
                pg::text_param(checksum), pg::text_param(detail)});
  }
  std::vector<std::string> leftovers = unfinished_build_leftovers(version.canonical(), name);
  end_run(version.canonical());
  catalog::bump_generation();
  std::string note = fmt::format(
      "forgot the unfinished run of migration {} (\"{}\"): {}; what its finished statements did "
      "was not undone",
      version.canonical(), name, detail);
  // A build the run was interrupted in leaves an INVALID index that only the run knew was its
  // own: once forgotten, a new run takes it for someone else's and stops on its name.
  for (const std::string& leftover : leftovers) note += "; " + leftover;
  const char* n = note.c_str();
  pg::call([&] { ereport(WARNING, (errmsg_internal("%s", n))); });
  std::string result = "forgotten";
  const char* r = result.c_str();
  MemoryContext caller = spi.caller_context();
  return pg::call([&] {
    MemoryContext old = MemoryContextSwitchTo(caller);
    Datum d = PointerGetDatum(cstring_to_text(r));
    MemoryContextSwitchTo(old);
    return d;
  });
}
