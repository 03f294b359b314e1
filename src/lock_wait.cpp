// Who a migration statement waited for when lock_timeout ended its wait (lock_wait.hpp).
//
// pg_locks after the fact lists every session with a lock on the statement's tables, most of
// them harmless (a reader does not block CREATE INDEX), and not what the statement really
// queued for: a row's locker, a partition, a foreign key's parent. By the time the lock-timeout
// error is raised PostgreSQL has taken the backend off the lock's queue (LockErrorCleanup runs
// before the ereport), so the lock is sampled while it waits: a timeout of ours fires every
// half of lock_timeout during the statement and copies, in the signal handler, the lock this
// backend is queued for from its PGPROC (plain reads of its own entry). Every wait that lasts
// lock_timeout is sampled at least once. An error context callback, run as the error is raised,
// keeps the sample if it belongs to the wait that timed out. The holders are then read from the
// lock table: the sessions holding that lock in a conflicting mode (or, when none holds it,
// queued for it in one), but those whose transaction began after the wait did (they were
// queued behind the statement, and got the lock when it gave up).
//
// Without a sample (lock_timeout changed inside the statement) the mode waited for is still
// known (PGPROC keeps waitLockMode): the holders of the statement's relations in a conflicting
// mode are named. A statement that did not wait (NOWAIT) is told apart.
#include "lock_wait.hpp"

#include <algorithm>
#include <csignal>
#include <map>
#include <vector>

#include "pg/spi.hpp"
#include "script_parse.hpp"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_constraint.h"
#include "executor/spi.h"
#include "nodes/nodeFuncs.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/lsyscache.h"
#include "utils/timeout.h"
}

namespace pgm {
namespace {

// Written by the timeout handler (signal context) while the statement runs; read once the
// timer is off.
struct Sample {
  volatile sig_atomic_t taken;
  LOCKTAG tag;
  LOCKMODE mode;
  TimestampTz at;
};
Sample sample;

bool sampler_registered = false;
TimeoutId sampler;

void sample_lock_wait() {
  PGPROC* proc = MyProc;
  if (!proc) return;
  LOCK* lock = proc->waitLock;
  if (!lock) return;
  sample.taken = 0;
  sample.tag = lock->tag;
  sample.mode = proc->waitLockMode;
  sample.at = GetCurrentTimestamp();
  sample.taken = 1;
}

struct LockWait {
  TimestampTz statement_start = 0;
  TimestampTz wait_start = 0;  // of the wait that timed out
  bool waited = false;  // the statement's last lock wait ended in lock_timeout
  bool exact = false;   // ... and `tag` is the lock it waited for
  LOCKTAG tag;
  LOCKMODE mode = NoLock;
};
LockWait last_wait;

// Run as a 55P03 error is raised. Plain reads of this backend's own state: nothing can fail.
void note_lock_wait(void*) {
  if (geterrcode() != ERRCODE_LOCK_NOT_AVAILABLE || !MyProc) return;
  // lock_timeout is armed at the start of every lock wait, and the timed-out wait leaves the
  // backend's wait status ERROR: otherwise the error is another 55P03 (NOWAIT) of a statement
  // that did not wait.
  // (A lock granted as the timeout fired leaves the status OK: then the sample of that wait
  // tells.)
  TimestampTz wait_start = get_timeout_start_time(LOCK_TIMEOUT);
  if (wait_start < last_wait.statement_start) return;
  bool sampled = sample.taken && sample.at >= wait_start && sample.mode == MyProc->waitLockMode;
  if (MyProc->waitStatus != PROC_WAIT_STATUS_ERROR && !sampled) return;
  last_wait.waited = true;
  last_wait.wait_start = wait_start;
  last_wait.mode = MyProc->waitLockMode;
  last_wait.exact = sampled;
  if (sampled) last_wait.tag = sample.tag;
}

pg::Param timestamptz_param(TimestampTz t) { return {TIMESTAMPTZOID, TimestampTzGetDatum(t), false}; }

// "process 1234 (RowExclusiveLock), a prepared transaction (ShareLock)".
std::string holder_list(const std::vector<std::string>& items) {
  std::string list;
  for (const std::string& i : items) list += (list.empty() ? "" : ", ") + i;
  return list;
}

// A relation as regclass would spell it for the caller, with what it is ("table public.t",
// "index t_idx"); "" if it is gone.
std::string relation_name(Oid rel, bool with_kind = true) {
  char kind = '\0';
  const char* name = pg::call([&]() -> const char* {
    char* relname = get_rel_name(rel);
    if (!relname) return nullptr;
    kind = get_rel_relkind(rel);
    if (RelationIsVisible(rel)) return quote_identifier(relname);
    return quote_qualified_identifier(get_namespace_name(get_rel_namespace(rel)), relname);
  });
  if (!name) return {};
  if (!with_kind) return name;
  const char* word = "table";
  switch (kind) {
    case RELKIND_INDEX: case RELKIND_PARTITIONED_INDEX: word = "index"; break;
    case RELKIND_VIEW: word = "view"; break;
    case RELKIND_MATVIEW: word = "materialized view"; break;
    case RELKIND_SEQUENCE: word = "sequence"; break;
    case RELKIND_FOREIGN_TABLE: word = "foreign table"; break;
    default: break;
  }
  return fmt::format("{} {}", word, name);
}

// --- The lock waited for, from the lock table.

// One session (or prepared transaction, pid 0) with the lock: its pid, and "process 1234
// (RowExclusiveLock)".
struct HolderData {
  int pid;
  bool queued;
  char* text;
};

// Plain C: the other sessions holding `tag` in a mode that conflicts with `mode`, or queued for
// it in such a mode (also while holding a weaker one: an upgrade), into `out` (HolderData*).
void lock_holders(const LOCKTAG* tag, LOCKMODE mode, List** out) {
  LockData* data = GetLockStatusData();
  for (int i = 0; i < data->nelements; ++i) {
    const LockInstanceData* l = &data->locks[i];
    if (l->pid == MyProcPid || memcmp(&l->locktag, tag, sizeof(LOCKTAG)) != 0) continue;
    StringInfoData modes;
    initStringInfo(&modes);
    for (LOCKMODE m = AccessShareLock; m <= MaxLockMode; ++m)
      if ((l->holdMask & LOCKBIT_ON(m)) && DoLockModesConflict(mode, m))
        appendStringInfo(&modes, "%s%s", modes.len ? ", " : "", GetLockmodeName(DEFAULT_LOCKMETHOD, m));
    char* who = l->pid ? psprintf("process %d", l->pid) : pstrdup("a prepared transaction");
    HolderData* h = static_cast<HolderData*>(palloc(sizeof(HolderData)));
    h->pid = l->pid;
    if (modes.len) {
      h->queued = false;
      h->text = psprintf("%s (%s)", who, modes.data);
    } else if (l->waitLockMode != NoLock && DoLockModesConflict(mode, l->waitLockMode)) {
      h->queued = true;
      h->text = psprintf("%s (%s)", who, GetLockmodeName(DEFAULT_LOCKMETHOD, l->waitLockMode));
    } else {
      continue;
    }
    *out = lappend(*out, h);
  }
}

// The sessions among `pids` whose transaction began after `since` (the statement's wait): one
// that holds the lock now took it after the statement gave up (it was queued behind it), one
// queued for it now came after it. Sessions whose transaction start the caller may not see
// (another role's, without pg_read_all_stats) are not among them.
std::vector<int> later_transactions(const std::vector<int>& pids, TimestampTz since) {
  std::vector<int> out;
  if (pids.empty()) return out;
  std::string list;
  for (int p : pids) list += (list.empty() ? "" : ",") + std::to_string(p);
  static pg::Query q{
      "SELECT a.pid FROM pg_catalog.pg_stat_activity a "
      "WHERE a.pid OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text::pg_catalog.int4[]) "
      "AND a.xact_start OPERATOR(pg_catalog.>) $2"};
  q.run({pg::text_param("{" + list + "}"), timestamptz_param(since)});
  for (uint64 i = 0; i < pg::result_rows(); ++i) out.push_back(static_cast<int>(pg::int8_value(i, 1)));
  pg::free_result();
  return out;
}

std::string describe_exact(const LOCKTAG& tag, LOCKMODE mode, TimestampTz wait_start) {
  List* found = NIL;
  const LOCKTAG* t = &tag;
  pg::call([&] { lock_holders(t, mode, &found); });
  std::vector<int> pids;
  ListCell* lc;
  foreach (lc, found) pids.push_back(static_cast<HolderData*>(lfirst(lc))->pid);
  std::vector<int> late = later_transactions(pids, wait_start);
  std::vector<std::string> held, queued;
  foreach (lc, found) {
    const HolderData* h = static_cast<HolderData*>(lfirst(lc));
    if (h->pid && std::find(late.begin(), late.end(), h->pid) != late.end()) continue;
    (h->queued ? queued : held).emplace_back(h->text);
  }
  std::sort(held.begin(), held.end());
  std::sort(queued.begin(), queued.end());
  if (held.empty() && queued.empty()) return {};
  std::string object;
  switch (static_cast<LockTagType>(tag.locktag_type)) {
    case LOCKTAG_RELATION:
      object = relation_name(tag.locktag_field2);  // "" if gone: nothing to name
      break;
    case LOCKTAG_TUPLE: {
      std::string rel = relation_name(tag.locktag_field2, false);
      object = rel.empty() ? "a row" : "a row of table " + rel;
      break;
    }
    case LOCKTAG_TRANSACTION:
      object = "a row";  // locked by the transaction waited for, whose session holds this lock
      break;
    case LOCKTAG_VIRTUALTRANSACTION:
      object = "the transaction";
      break;
    case LOCKTAG_ADVISORY:
      object = "an advisory lock";
      break;
    default:
      object = fmt::format("a {} lock", GetLockNameFromTagType(tag.locktag_type));
      break;
  }
  if (object.empty()) return {};  // the relation is gone
  if (!held.empty()) {
    bool row = tag.locktag_type == LOCKTAG_TRANSACTION || tag.locktag_type == LOCKTAG_TUPLE;
    if (tag.locktag_type == LOCKTAG_TRANSACTION || tag.locktag_type == LOCKTAG_VIRTUALTRANSACTION) {
      std::vector<std::string> pids;  // the holder of a transaction's lock is its session: no mode to show
      for (const std::string& h : held) pids.push_back(h.substr(0, h.rfind(" (")));
      held = pids;
    }
    return fmt::format("{} {} {}", object, row ? "locked by" : "held by", holder_list(held));
  }
  return fmt::format("{}, wanted by {} queued for it", object, holder_list(queued));
}

// --- Without a sample: the statement's relations.

// "process 1234 (RowExclusiveLock)" for each session but this one (or prepared transaction)
// holding relation `rel` in one of `modes` ("{...}"; every mode when empty).
std::vector<std::string> relation_holders(Oid rel, const std::string& modes, TimestampTz since) {
  static pg::Query q{
      "SELECT pg_catalog.format('%s (%s)', CASE WHEN l.pid IS NULL THEN 'a prepared transaction' "
      "ELSE 'process ' OPERATOR(pg_catalog.||) l.pid END, pg_catalog.string_agg(l.mode, ', ' ORDER BY l.mode)) "
      "FROM pg_catalog.pg_locks l WHERE l.locktype OPERATOR(pg_catalog.=) 'relation' AND l.granted "
      "AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid() "
      "AND l.relation OPERATOR(pg_catalog.=) $1::pg_catalog.text::pg_catalog.oid "
      "AND ($2::pg_catalog.text IS NULL OR l.mode OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[])) "
      "AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d "
      "WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()) "
      // Not those whose transaction began after the statement's wait (queued behind it).
      "AND NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity a WHERE a.pid OPERATOR(pg_catalog.=) l.pid "
      "AND a.xact_start OPERATOR(pg_catalog.>) $3) "
      "GROUP BY l.pid ORDER BY l.pid"};
  q.run({pg::text_param(std::to_string(rel)), modes.empty() ? pg::null_param(TEXTOID) : pg::text_param(modes),
         timestamptz_param(since)});
  std::vector<std::string> out;
  for (uint64 i = 0; i < pg::result_rows(); ++i) out.push_back(pg::text_value(i, 1));
  pg::free_result();
  return out;
}

// "{AccessExclusiveLock,...}": the modes that conflict with `mode` (pg_locks spells them so).
std::string conflicting_modes(LOCKMODE mode) {
  std::string out;
  for (LOCKMODE m = AccessShareLock; m <= MaxLockMode; ++m)
    if (DoLockModesConflict(mode, m)) out += (out.empty() ? "" : ",") + std::string(GetLockmodeName(DEFAULT_LOCKMETHOD, m));
  return "{" + out + "}";
}

bool writes_rows(Node* parsetree) {
  switch (nodeTag(parsetree)) {
    case T_InsertStmt: case T_UpdateStmt: case T_DeleteStmt:
#if PG_VERSION_NUM >= 150000
    case T_MergeStmt:
#endif
      return true;
    default:
      return false;
  }
}

// Plain C walker over a raw parse tree: every relation a query names (FROM, USING, subqueries,
// the target), looked up as the statement would look it up.
bool named_relations_walker(Node* node, void* context) {
  if (!node) return false;
  if (IsA(node, RangeVar)) {
    Oid rel = RangeVarGetRelid(reinterpret_cast<RangeVar*>(node), NoLock, true);
    List** out = static_cast<List**>(context);
    if (OidIsValid(rel)) *out = list_append_unique_oid(*out, rel);
    return false;
  }
#if PG_VERSION_NUM >= 160000
  return raw_expression_tree_walker(node, named_relations_walker, context);
#else
  // PostgreSQL < 16 declares the walker without a prototype; through void (*)() to say so.
  return raw_expression_tree_walker(
      node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(named_relations_walker)), context);
#endif
}

// Plain C: the tables `rel`'s foreign keys reference and those referencing it (an INSERT or
// UPDATE checks the referenced rows, a DELETE or UPDATE acts on the referencing ones).
List* foreign_key_partners(Oid rel, List* out) {
  Relation pg_constraint = table_open(ConstraintRelationId, AccessShareLock);
  SysScanDesc scan = systable_beginscan(pg_constraint, InvalidOid, false, nullptr, 0, nullptr);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) {
    Form_pg_constraint c = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tup));
    if (c->contype != CONSTRAINT_FOREIGN) continue;
    if (c->conrelid == rel) out = list_append_unique_oid(out, c->confrelid);
    if (c->confrelid == rel) out = list_append_unique_oid(out, c->conrelid);
  }
  systable_endscan(scan);
  table_close(pg_constraint, AccessShareLock);
  return out;
}

// The relations whose locks the statement may have waited for: those lock_targets() lists
// (and an index's table: dropping or altering an index locks its table first); for INSERT,
// UPDATE, DELETE and MERGE also every relation the query names and their foreign-key partners.
std::vector<Oid> statement_relations(Node* parsetree) {
  std::vector<Oid> rels;
  auto add = [&](Oid r) {
    if (OidIsValid(r) && std::find(rels.begin(), rels.end(), r) == rels.end()) rels.push_back(r);
  };
  for (RangeVar* rv : lock_targets(parsetree)) {
    Oid rel = pg::call([&] { return RangeVarGetRelid(rv, NoLock, true); });
    if (!OidIsValid(rel)) continue;
    add(rel);
    add(pg::call([&] { return get_rel_relkind(rel) == RELKIND_INDEX ? IndexGetRelation(rel, true) : InvalidOid; }));
  }
  if (writes_rows(parsetree)) {
    List* named = pg::call([&] {
      List* out = NIL;
      (void)named_relations_walker(parsetree, &out);
      return out;
    });
    ListCell* lc;
    foreach (lc, named) add(lfirst_oid(lc));
    std::vector<Oid> direct = rels;
    for (Oid r : direct) {
      List* partners = pg::call([&] { return foreign_key_partners(r, NIL); });
      foreach (lc, partners) add(lfirst_oid(lc));
    }
  }
  return rels;
}

// "table users held by process 1234 (RowExclusiveLock)" for each of the statement's relations
// that a session holds in one of `modes` ("" for every mode); "a row of table users held by
// ..." with `row` (the row may be a foreign key's, of a partner table).
std::string holders_of_statement_tables(Node* parsetree, const std::string& modes, bool row, TimestampTz since) {
  std::vector<std::string> lines;
  for (Oid r : statement_relations(parsetree)) {
    std::vector<std::string> holders = relation_holders(r, modes, since);
    std::string name = holders.empty() ? std::string() : relation_name(r);
    if (name.empty()) continue;
    std::string line = fmt::format("{}{} held by {}", row ? "a row of " : "", name, holder_list(holders));
    if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "; ") + l;
  return out;
}

}  // namespace

int execute_noting_lock_wait(const char* sql) {
  last_wait = LockWait{};
  last_wait.statement_start = GetCurrentTimestamp();
  sample.taken = 0;
#if PG_VERSION_NUM >= 150000
  bool sampling = LockTimeout > 0;
#else
  bool sampling = false;  // no repeating timeout before PostgreSQL 15: the relations' holders
#endif
  if (sampling) {
    if (!sampler_registered) {
      sampler = RegisterTimeout(USER_TIMEOUT, sample_lock_wait);
      sampler_registered = true;
    }
#if PG_VERSION_NUM >= 150000
    // Two ticks fall in every stretch of lock_timeout. Each wakes a waiting ProcSleep, which
    // with log_lock_waits logs "still waiting" again once deadlock_timeout has passed: few
    // ticks, few such lines.
    int every = LockTimeout / 2 > 0 ? LockTimeout / 2 : 1;
    enable_timeout_every(sampler, TimestampTzPlusMilliseconds(last_wait.statement_start, every), every);
#endif
  }
  ErrorContextCallback callback;
  callback.callback = note_lock_wait;
  callback.arg = nullptr;
  callback.previous = error_context_stack;
  error_context_stack = &callback;
  volatile int rc = 0;
  PG_TRY();
  { rc = SPI_execute(sql, false, 0); }
  PG_FINALLY();
  {
    if (sampling) disable_timeout(sampler, false);
  }
  PG_END_TRY();
  error_context_stack = callback.previous;
  return rc;
}

LockWaitReport describe_lock_wait(Node* parsetree) {
  LockWait wait = last_wait;
  last_wait = LockWait{};
  LockWaitReport out;
  out.waited = wait.waited;
  if (wait.exact) {
    out.holders = describe_exact(wait.tag, wait.mode, wait.wait_start);
  } else if (wait.waited) {
    // A row: an INSERT, UPDATE, DELETE or MERGE waits for a row's locker's transaction
    // (ShareLock) or its tuple lock (ExclusiveLock, AccessExclusiveLock), modes it never takes
    // on a table: the sessions that may hold row locks (a reader's AccessShareLock cannot).
    bool row = writes_rows(parsetree) && (wait.mode == ShareLock || wait.mode == ExclusiveLock ||
                                          wait.mode == AccessExclusiveLock);
    out.holders = row ? holders_of_statement_tables(parsetree, "{RowShareLock,RowExclusiveLock}", true, wait.wait_start)
                      : holders_of_statement_tables(parsetree, conflicting_modes(wait.mode), false, wait.wait_start);
  } else if (IsA(parsetree, LockStmt)) {
    // LOCK TABLE ... NOWAIT: the mode it asked for.
    out.holders = holders_of_statement_tables(parsetree, conflicting_modes(castNode(LockStmt, parsetree)->mode), false,
                                              wait.statement_start);
  }
  return out;
}

}  // namespace pgm
