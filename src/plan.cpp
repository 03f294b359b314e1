// Plan: a dry run of the pending migrations. Every statement runs inside one subtransaction
// that is always rolled back, each under a bounded lock_timeout, and reports its lint
// findings, the locks it took (this backend's own pg_locks entries), the tables it rewrote
// (relfilenode before/after) and how long it took.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "apply.hpp"
#include "lock_wait.hpp"
#include "xact.hpp"
#include "pg/args.hpp"
#include "catalog.hpp"
#include "core/script.hpp"
#include "pg/spi.hpp"
#include "run.hpp"
#include "pg/srf.hpp"
#include "safety.hpp"
#include "settings.hpp"

extern "C" {
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "access/transam.h"
#include "access/genam.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/indexing.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "catalog/pg_inherits.h"
#include "access/relation.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/rel.h"
#include "catalog/namespace.h"
#include "utils/regproc.h"
#include "utils/relcache.h"
}

namespace pgm::safety {

}  // namespace pgm::safety

namespace pgm {
namespace {

using safety::StatementLint;

struct PlanRow {
  std::string version, name;
  int line = 0;
  std::string statement;
  std::string status;
  std::vector<std::string> locks, rewrites, findings;
  std::optional<double> duration_ms;
  std::optional<std::string> error;
};

int lock_rank(const std::string& mode) {
  static const char* modes[] = {"AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock",
                                "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"};
  for (int i = 0; i < 8; ++i)
    if (mode == modes[i]) return i + 1;
  return 0;
}

using LockSet = std::set<std::pair<Oid, std::string>>;

// Up to this many relation locks, each statement reads all of this backend's (pg_locks); past
// it, only those on the relations it names, their partitions and indexes (its own lock table):
// a dry run keeps every lock it takes, and reading them all for every statement made a plan of
// a pg_dump-sized script quadratic (3,450 statements: 53 s; 27,600: about an hour).
constexpr size_t kLocksScannedWhole = 500;

// The modes this backend holds on each of `relids`, from its local lock table.
LockSet locks_on(const std::set<Oid>& relids) {
  LockSet out;
  for (Oid o : relids)
    for (LOCKMODE mode = AccessShareLock; mode <= AccessExclusiveLock; ++mode) {
      bool held = pg::call([&] {
        LOCKTAG tag;
        SET_LOCKTAG_RELATION(tag, MyDatabaseId, o);
#if PG_VERSION_NUM >= 170000
        return LockHeldByMe(&tag, mode, false);
#else
        return LockHeldByMe(&tag, mode);
#endif
      });
      if (held) out.insert({o, GetLockmodeName(DEFAULT_LOCKMETHOD, mode)});
    }
  return out;
}

// `relids` with their partitions and inheritors (locked with them) and the indexes of all.
std::set<Oid> with_inheritors_and_indexes(const std::set<Oid>& relids) {
  std::set<Oid> out;
  for (Oid o : relids) {
    List* all = pg::call([&] { return find_all_inheritors(o, NoLock, nullptr); });
    ListCell* lc;
    foreach (lc, all) out.insert(lfirst_oid(lc));
  }
  std::set<Oid> tables = out;
  for (Oid o : tables) {
    List* indexes = pg::call([&]() -> List* {
      if (get_rel_relkind(o) == RELKIND_INDEX || get_rel_relkind(o) == RELKIND_PARTITIONED_INDEX) return NIL;
      Relation rel = try_relation_open(o, NoLock);  // (locked by the statement, or gone)
      if (!rel) return NIL;
      List* l = RelationGetIndexList(rel);
      relation_close(rel, NoLock);
      return l;
    });
    ListCell* lc;
    foreach (lc, indexes) out.insert(lfirst_oid(lc));
  }
  return out;
}

// Statements that create or change no relation but what they name or create (functions,
// types, schemas, settings, comments and grants on other objects): a pg_dump script is full
// of them, and reading every lock for each would make its plan quadratic again.
bool locks_no_existing_relation(Node* n) {
  switch (nodeTag(n)) {
    case T_CreateFunctionStmt:
    case T_AlterFunctionStmt:
    case T_DefineStmt:
    case T_CreateDomainStmt:
    case T_CreateEnumStmt:
    case T_AlterEnumStmt:
    case T_CompositeTypeStmt:
    case T_VariableSetStmt:
    case T_CreateSeqStmt:
    case T_CreateStmt:
    case T_CreateConversionStmt:
    case T_CreateCastStmt:
    case T_AlterOwnerStmt:
      return true;
    case T_CreateSchemaStmt:
      return castNode(CreateSchemaStmt, n)->schemaElts == NIL;
    case T_CommentStmt:
      return castNode(CommentStmt, n)->objtype != OBJECT_COLUMN && castNode(CommentStmt, n)->objtype != OBJECT_TABCONSTRAINT &&
             castNode(CommentStmt, n)->objtype != OBJECT_TRIGGER && castNode(CommentStmt, n)->objtype != OBJECT_POLICY &&
             castNode(CommentStmt, n)->objtype != OBJECT_RULE;
    case T_GrantStmt:
      return castNode(GrantStmt, n)->targtype == ACL_TARGET_OBJECT && castNode(GrantStmt, n)->objtype != OBJECT_TABLE &&
             castNode(GrantStmt, n)->objtype != OBJECT_SEQUENCE;
    default:
      return false;
  }
}

// Relations a statement names that lock_targets() does not list (it lists what lint and runs
// need), for the plan's report past kLocksScannedWhole: views, materialized views, REINDEX,
// COMMENT, GRANT, policies, triggers and statistics on a table, the partition of ATTACH.
std::vector<RangeVar*> more_lock_targets(Node* n) {
  std::vector<RangeVar*> out;
  auto from_names = [&](List* names) {  // [[catalog.]schema.]relation
    out.push_back(pg::call([&] { return makeRangeVarFromNameList(names); }));
  };
  auto without_last = [&](List* names) {  // [...relation, part]: the relation
    if (list_length(names) >= 2) from_names(pg::call([&] { return list_truncate(list_copy(names), list_length(names) - 1); }));
  };
  ListCell* lc;
  switch (nodeTag(n)) {
    case T_ViewStmt: out.push_back(castNode(ViewStmt, n)->view); break;
    case T_RefreshMatViewStmt: out.push_back(castNode(RefreshMatViewStmt, n)->relation); break;
    case T_ReindexStmt:
      if (castNode(ReindexStmt, n)->relation) out.push_back(castNode(ReindexStmt, n)->relation);
      break;
    case T_CreatePolicyStmt: out.push_back(castNode(CreatePolicyStmt, n)->table); break;
    case T_AlterPolicyStmt: out.push_back(castNode(AlterPolicyStmt, n)->table); break;
    case T_CopyStmt:
      if (castNode(CopyStmt, n)->relation) out.push_back(castNode(CopyStmt, n)->relation);
      break;
    case T_CreateStatsStmt:
      foreach (lc, castNode(CreateStatsStmt, n)->relations)
        if (IsA(lfirst(lc), RangeVar)) out.push_back(static_cast<RangeVar*>(lfirst(lc)));
      break;
    case T_GrantStmt: {
      GrantStmt* g = castNode(GrantStmt, n);
      if (g->targtype == ACL_TARGET_OBJECT && (g->objtype == OBJECT_TABLE || g->objtype == OBJECT_SEQUENCE))
        foreach (lc, g->objects) out.push_back(static_cast<RangeVar*>(lfirst(lc)));
      break;
    }
    case T_CommentStmt: {
      CommentStmt* c = castNode(CommentStmt, n);
      if (c->objtype == OBJECT_TABLE || c->objtype == OBJECT_VIEW || c->objtype == OBJECT_MATVIEW ||
          c->objtype == OBJECT_INDEX || c->objtype == OBJECT_SEQUENCE || c->objtype == OBJECT_FOREIGN_TABLE)
        from_names(castNode(List, c->object));
      else if (c->objtype == OBJECT_COLUMN)
        without_last(castNode(List, c->object));
      break;
    }
    case T_DropStmt: {  // DROP TRIGGER / POLICY / RULE ... ON t
      DropStmt* d = castNode(DropStmt, n);
      if (d->removeType == OBJECT_TRIGGER || d->removeType == OBJECT_POLICY || d->removeType == OBJECT_RULE)
        foreach (lc, d->objects) without_last(static_cast<List*>(lfirst(lc)));
      break;
    }
    case T_AlterTableStmt:
      foreach (lc, castNode(AlterTableStmt, n)->cmds) {
        AlterTableCmd* cmd = static_cast<AlterTableCmd*>(lfirst(lc));
        if ((cmd->subtype == AT_AttachPartition || cmd->subtype == AT_DetachPartition) && cmd->def &&
            IsA(cmd->def, PartitionCmd))
          out.push_back(castNode(PartitionCmd, cmd->def)->name);
      }
      break;
    default:
      break;
  }
  return out;
}

// This backend's granted relation locks in the current database.
LockSet held_locks() {
  static pg::Query q{
      "SELECT l.relation::pg_catalog.int8, l.mode FROM pg_catalog.pg_locks l "
      "WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.granted "
      "AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d "
      "WHERE d.datname = pg_catalog.current_database())"};
  catalog::OwnerScope owner;
  LockSet out;
  uint64 n = q.run();
  for (uint64 i = 0; i < n; ++i) out.insert({static_cast<Oid>(pg::int8_value(i, 1)), pg::text_value(i, 2)});
  pg::free_result();
  return out;
}

struct RelRow {
  std::string name;
  int64 filenode;
  std::string kind;
  bool system;
};

// A catalog, TOAST or information_schema relation: not reported. Plain C.
bool is_system_relation(Form_pg_class c) {
  if (c->relnamespace == PG_CATALOG_NAMESPACE || IsToastNamespace(c->relnamespace) || c->relkind == RELKIND_TOASTVALUE)
    return true;
  char* nsp = get_namespace_name(c->relnamespace);
  return nsp && strcmp(nsp, "information_schema") == 0;
}

// One pg_class row by OID, as of `snapshot` (nullptr: the catalog snapshot). Plain C: the
// name is palloc'd; false when there is no such row.
bool class_row(Oid relid, Snapshot snapshot, char** name, int64* filenode, char* kind, bool* system) {
  Relation rel = table_open(RelationRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_class_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = systable_beginscan(rel, ClassOidIndexId, true, snapshot, 1, &key);
  HeapTuple tup = systable_getnext(scan);
  bool found = HeapTupleIsValid(tup);
  if (found) {
    Form_pg_class c = (Form_pg_class)GETSTRUCT(tup);
    char* nsp = get_namespace_name(c->relnamespace);
    *name = psprintf("%s.%s", quote_identifier(nsp ? nsp : "?"), quote_identifier(NameStr(c->relname)));
    *filenode = c->relfilenode;
    *kind = c->relkind;
    *system = is_system_relation(c);
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  return found;
}

// Name, relfilenode and kind of relations, now or as of `snapshot`: one index lookup each (a
// query over pg_class scanned it whole for every statement, and a long plan creates many).
std::map<Oid, RelRow> relations(const std::set<Oid>& oids, Snapshot snapshot) {
  std::map<Oid, RelRow> out;
  for (Oid o : oids) {
    char* name = nullptr;
    int64 filenode = 0;
    char kind = 0;
    bool system = false;
    if (pg::call([&] { return class_row(o, snapshot, &name, &filenode, &kind, &system); }))
      out[o] = {name, filenode, std::string(1, kind), system};
  }
  return out;
}

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Runs one statement in a subtransaction that is kept (later statements depend on it; the
// whole plan is rolled back at the end). Returns false if it failed.
struct RelNow {
  bool found;
  int64 filenode;
  bool system;
};

// A relation's current relfilenode from the syscache; system and TOAST relations flagged.
RelNow rel_now(Oid relid) {
  RelNow r{};
  pg::call([&] {
    HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(tup)) return;
    Form_pg_class c = (Form_pg_class)GETSTRUCT(tup);
    r.found = true;
    r.filenode = c->relfilenode;
    r.system = is_system_relation(c);
    ReleaseSysCache(tup);
  });
  return r;
}

bool plan_statement(const std::string& script, const StatementLint& sl, PlanRow& row,
                    std::map<Oid, int64>& known_filenodes, bool& scan_all_locks) {
  std::string sql = statement_text(script, sl.stmt);
  const char* text = sql.c_str();
  std::set<Oid> named;  // relations the statement names, resolved before it runs
  std::vector<RangeVar*> targets = lock_targets(sl.stmt.parsetree);
  std::vector<RangeVar*> more = more_lock_targets(sl.stmt.parsetree);
  targets.insert(targets.end(), more.begin(), more.end());
  for (RangeVar* rv : targets) {
    Oid relid = pg::call([&] { return RangeVarGetRelid(rv, NoLock, true); });
    if (OidIsValid(relid)) named.insert(relid);
  }
  // Past kLocksScannedWhole, the locks on what it names; one that names no relation this plan
  // knows of reads them all, as before, unless it is a kind that locks no existing relation.
  bool scan_all = scan_all_locks || (named.empty() && !locks_no_existing_relation(sl.stmt.parsetree));
  std::set<Oid> watched = scan_all ? std::set<Oid>{} : with_inheritors_and_indexes(named);
  LockSet before = scan_all ? held_locks() : locks_on(watched);
  Snapshot snap = pg::call([] { return RegisterSnapshot(GetLatestSnapshot()); });
  bool ok = true;
  try {
    pg::SubTransaction sub;
    MigrationRunningScope running;
    safety::set_plan_lock_timeout();
    auto start = std::chrono::steady_clock::now();
    int rc = pg::call([&] { return execute_noting_lock_wait(text); });
    row.duration_ms = elapsed_ms(start);
    if (rc < 0) throw Error(sqlstate::kFeatureNotSupported, fmt::format("cannot run here ({})", SPI_result_code_string(rc)));
    pg::free_result();

    LockSet after = scan_all ? held_locks() : locks_on(watched);
    if (after.size() > kLocksScannedWhole) scan_all_locks = false;  // for the statements after it
    std::set<Oid> touched = named;  // relations the statement named or newly locked
    for (const auto& l : after)
      if (!before.count(l)) touched.insert(l.first);
    // Rewrites: relfilenode now (syscache) against the value after the previous statement,
    // or, for a relation this plan had not locked yet, against the snapshot taken before.
    std::set<Oid> locked, unknown, rewritten;
    std::map<Oid, RelNow> current;
    for (const auto& l : after) locked.insert(l.first);
    for (Oid o : locked) {
      RelNow r = rel_now(o);
      if (!r.found || r.system) continue;
      current[o] = r;
      if (!known_filenodes.count(o)) unknown.insert(o);
    }
    std::set<Oid> then_oids = unknown;
    then_oids.insert(touched.begin(), touched.end());
    std::map<Oid, RelRow> then = relations(then_oids, snap);
    for (const auto& [o, r] : current) {
      int64 prev = known_filenodes.count(o) ? known_filenodes[o] : then.count(o) ? then[o].filenode : 0;
      if (prev != 0 && prev != r.filenode && !safety::created_in_transaction(o)) rewritten.insert(o);
    }
    std::set<Oid> now_oids = touched;
    now_oids.insert(rewritten.begin(), rewritten.end());
    std::map<Oid, RelRow> now = relations(now_oids, nullptr);
    std::map<Oid, bool> created;
    for (Oid o : touched) created[o] = safety::created_in_transaction(o);
    // Per relation the statement locked (or names): the strongest mode held after it, marked
    // "(already held)" when an earlier statement of the plan had taken that mode already.
    std::map<std::string, std::string> shown;  // sorted by name
    for (Oid o : touched) {
      if (created[o]) continue;
      const RelRow* rel = now.count(o) ? &now[o] : then.count(o) ? &then[o] : nullptr;
      if (!rel || rel->system) continue;
      std::string strongest, strongest_new;
      for (const auto& l : after) {
        if (l.first != o) continue;
        if (lock_rank(l.second) > lock_rank(strongest)) strongest = l.second;
        if (!before.count(l) && lock_rank(l.second) > lock_rank(strongest_new)) strongest_new = l.second;
      }
      if (strongest.empty()) continue;
      if (strongest_new == strongest) shown[rel->name] = strongest;
      else if (strongest_new.empty()) shown[rel->name] = strongest + " (already held)";
      else shown[rel->name] = fmt::format("{} ({} already held)", strongest_new, strongest);
    }
    for (const auto& [name, mode] : shown) row.locks.push_back(fmt::format("{}: {}", name, mode));
    for (Oid o : rewritten) {
      if (!now.count(o)) continue;
      const RelRow& b = now[o];
      row.rewrites.push_back(b.kind == "i" ? fmt::format("{} (index)", b.name) : b.name);
    }
    // Indexes an ALTER COLUMN ... TYPE rebuilds are dropped and built again under their name
    // (a new OID, created by this transaction): no relfilenode to compare, the name tells.
    for (Oid o : touched) {
      auto was = then.find(o);
      if (was == then.end() || was->second.kind != "i" || was->second.system || rel_now(o).found) continue;
      const char* name = was->second.name.c_str();
      Oid again = pg::call([&] {
#if PG_VERSION_NUM >= 160000
        List* names = stringToQualifiedNameList(name, nullptr);
#else
        List* names = stringToQualifiedNameList(name);
#endif
        return RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
      });
      // (An index whose definition stays compatible keeps its storage: TryReuseIndex gives the
      // new one the old relfilenode, and nothing is built.)
      if (OidIsValid(again) && safety::created_in_transaction(again) && rel_now(again).filenode != was->second.filenode)
        row.rewrites.push_back(fmt::format("{} (index)", was->second.name));
    }
    // Reading only what a statement names, forget the other relations' files: statements in
    // between may have rewritten them unseen (a later one would report their rewrite).
    if (!scan_all) {
      for (auto it = known_filenodes.begin(); it != known_filenodes.end();)
        it = current.count(it->first) ? std::next(it) : known_filenodes.erase(it);
    }
    for (const auto& [o, r] : current) known_filenodes[o] = r.filenode;
    std::sort(row.rewrites.begin(), row.rewrites.end());
    sub.commit();
    row.status = "ok";
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) {  // cancel, statement_timeout, shutdown: never a "failed" row
      name_failure(e, ScriptLabel{row.version, row.name, "up"}, row.line);  // (as apply names it)
      throw;
    }
    ok = false;
    ErrorData* edata = e.data();
    if (e.sqlerrcode() == ERRCODE_LOCK_NOT_AVAILABLE) {
      row.status = "lock_timeout";
      LockWaitReport wait = describe_lock_wait(sl.stmt.parsetree);
      std::string error = wait.waited ? fmt::format("lock_timeout ({} ms) expired", safety::plan_lock_timeout_ms)
                                      : std::string("lock not available (NOWAIT)");
      if (!wait.holders.empty()) error += ": " + wait.holders;
      row.error = error;
    } else {
      row.status = "failed";
      row.error = fmt::format("{}: {}", unpack_sql_state(edata->sqlerrcode), edata->message ? edata->message : "");
    }
  } catch (Error& e) {
    ok = false;
    row.status = "failed";
    row.error = e.message();
  }
  pg::call([&] { UnregisterSnapshot(snap); });
  return ok;
}

}  // namespace
}  // namespace pgm

using namespace pgm;

PGM_FUNCTION(pgm_plan) {
  ensure_not_in_migration("migrate.plan");
  std::optional<std::string> target = pg::optional_text_arg(fcinfo, 0);
  pg::ResultSet out(fcinfo);
  std::vector<PlanRow> rows;
  {
    pg::SpiConnection spi;
    // As apply would: fail fast while CALL migrate.run() runs (planning its migration from the
    // start would run its statements, and hold locks and a snapshot its build waits for), and
    // refuse over a revert stopped part way.
    check_no_run_in_progress();
    check_opposite_runs(true);
    std::vector<MigrationStep> migrations = select_pending(target ? std::optional<Version>(Version::parse(*target)) : std::nullopt);
    std::vector<SessionObject> session_before = session_objects();
    pg::RoundContext per_migration("pg_migrate plan migration");  // parse trees, lookups
    pg::SubTransaction all;  // always rolled back: nothing the dry run does persists
    SessionLeftovers& leftovers = script_leftovers();  // PREPARE outlives the rollback
    leftovers.clear();
    bool stopped = false;
    std::map<Oid, int64> known_filenodes;  // relfilenodes after the previous statement
    bool scan_all_locks = true;  // (kLocksScannedWhole)
    for (const MigrationStep& m : migrations) {
      pg::RoundContext::Scope round = per_migration.round();
      std::string script = catalog::load_script(m.version, true);
      try {
        refuse_checksum_mismatch(m, script);  // as apply refuses it, before anything runs
      } catch (const Error& e) {
        PlanRow r{m.version, m.name, 1, "", "failed"};
        r.error = e.message();
        rows.push_back(std::move(r));
        stopped = true;
        continue;
      }
      std::optional<safety::LintRow> syntax;
      std::vector<StatementLint> stmts = safety::lint_statements(script, &syntax);
      if (syntax) {
        PlanRow r{m.version, m.name, syntax->line, syntax->statement, "failed"};
        r.findings.push_back(safety::finding_label(syntax->finding));
        r.error = syntax->finding.message;
        rows.push_back(std::move(r));
        stopped = true;
        continue;
      }
      std::vector<ScriptStatement> parsed;
      for (const StatementLint& sl : stmts) parsed.push_back(sl.stmt);
      // A migration CALL migrate.run() stopped part way resumes where it stopped: its finished
      // statements are not tried again (they would fail on what they did), the rest is planned.
      std::optional<std::vector<bool>> finished = finished_statements(m, script, parsed);
      if (!finished) {
        if (std::optional<Error> unfinished = unfinished_run_error(m.version)) {  // of another script
          for (const StatementLint& sl : stmts) {
            PlanRow r{m.version, m.name, sl.stmt.line, one_line_preview(statement_text(script, sl.stmt)), "skipped"};
            r.error = "not planned: " + unfinished->message();
            rows.push_back(std::move(r));
          }
          stopped = true;
          continue;
        }
      }
      leftovers.note(parsed);
      int nest_level = pg::call([] { return NewGUCNestLevel(); });
      for (size_t i = 0; i < stmts.size(); ++i) {
        const StatementLint& sl = stmts[i];
        PlanRow r{m.version, m.name, sl.stmt.line, one_line_preview(statement_text(script, sl.stmt))};
        for (const lint::Finding& f : sl.findings) r.findings.push_back(safety::finding_label(f));
        if (stopped) {
          r.status = "skipped";
        } else if (finished && (*finished)[i]) {
          r.status = "skipped";
          r.error = "not planned: finished before CALL migrate.run() stopped (it resumes after it)";
        } else if (top_level_statement(sl.stmt.parsetree) || is_split_point(sl.stmt.parsetree)) {
          // Runs at top level or ends a part under CALL migrate.run(); a dry run cannot do it.
          r.status = "skipped";
          r.error = is_split_point(sl.stmt.parsetree)
                        ? "not planned: ends a part under CALL migrate.run() (a dry run is one transaction)"
                        : "not planned: runs on its own under CALL migrate.run() (a dry run is one transaction)";
        } else if (!plan_statement(script, sl, r, known_filenodes, scan_all_locks)) {
          stopped = true;
        }
        rows.push_back(std::move(r));
      }
      if (!stopped) pg::call([&] { AtEOXact_GUC(false, nest_level); });
      leftovers.clear();  // as apply does after each migration
    }
    all.rollback();
    leftovers.clear();
    drop_created_since(session_before);  // also what dynamic SQL prepared
  }
  auto array = [](const std::vector<std::string>& items) {
    std::string lit = "{";
    for (const std::string& s : items) {
      if (lit.size() > 1) lit += ",";
      lit += "\"";
      for (char c : s) {
        if (c == '"' || c == '\\') lit += '\\';
        lit += c;
      }
      lit += "\"";
    }
    lit += "}";
    const char* p = lit.c_str();
    return pg::Cell{pg::call([&] {
                      return OidFunctionCall3(F_ARRAY_IN, CStringGetDatum(p), ObjectIdGetDatum(TEXTOID),
                                              Int32GetDatum(-1));
                    }),
                    false};
  };
  for (const PlanRow& r : rows)
    out.add_row({pg::Cell::text(r.version), pg::Cell::text(r.name), pg::Cell::int4(r.line), pg::Cell::text(r.statement),
                 pg::Cell::text(r.status), array(r.locks), array(r.rewrites),
                 r.duration_ms ? pg::Cell::float8(*r.duration_ms) : pg::Cell::null_value(), array(r.findings),
                 pg::Cell::text_or_null(r.error ? &*r.error : nullptr)});
  return out.done();
}
