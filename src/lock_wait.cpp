// Who a migration statement waited for when lock_timeout ended its wait (lock_wait.hpp).
// pg_locks after the fact lists every session with a lock on the statement's tables, most of
// them harmless (a reader does not block CREATE INDEX). By the time the lock-timeout error is
// raised PostgreSQL has taken the backend off the lock's queue; what is left of the wait is the
// mode it wanted (PGPROC's waitLockMode, set at every wait) and when lock_timeout was last
// armed: an error context callback, which runs as the error is raised, reads both. Holders are
// then those whose mode conflicts with the one wanted. An INSERT, UPDATE or DELETE that wanted
// anything but its table's RowExclusiveLock waited for a row (its locker's transaction, or the
// row's tuple lock): the sessions that can hold row locks on the table are named.
#include "lock_wait.hpp"

#include <algorithm>
#include <vector>

#include "pg/spi.hpp"
#include "script_parse.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/lsyscache.h"
#include "utils/timeout.h"
}

namespace pgm {
namespace {

struct LockWait {
  TimestampTz statement_start = 0;
  bool seen = false;  // the statement's last lock wait ended in lock_timeout
  LOCKMODE mode = NoLock;
};
LockWait last_wait;

// Plain reads of this backend's own state: nothing here can fail.
void note_lock_wait(void*) {
  if (geterrcode() != ERRCODE_LOCK_NOT_AVAILABLE || !MyProc) return;
  // lock_timeout is armed at the start of every lock wait; not since the statement started:
  // the error is another 55P03 (NOWAIT, SKIP LOCKED's neighbours) of a statement that did not wait.
  if (get_timeout_start_time(LOCK_TIMEOUT) < last_wait.statement_start) return;
  last_wait.mode = MyProc->waitLockMode;
  last_wait.seen = true;
}

// A relation's name as regclass would spell it for the caller; nullptr if it is gone.
std::string relation_name(Oid rel) {
  const char* name = pg::call([&]() -> const char* {
    char* relname = get_rel_name(rel);
    if (!relname) return nullptr;
    if (RelationIsVisible(rel)) return quote_identifier(relname);
    return quote_qualified_identifier(get_namespace_name(get_rel_namespace(rel)), relname);
  });
  return name ? std::string(name) : std::string();
}

// "{AccessExclusiveLock,...}": the modes that conflict with `mode` (pg_locks spells them so).
std::string conflicting_modes(LOCKMODE mode) {
  std::string out;
  for (LOCKMODE m = AccessShareLock; m <= MaxLockMode; ++m)
    if (DoLockModesConflict(mode, m)) out += (out.empty() ? "" : ",") + std::string(GetLockmodeName(DEFAULT_LOCKMETHOD, m));
  return "{" + out + "}";
}

// "1234 (RowExclusiveLock), 5678 (ShareLock)": the holders of relation `rel`'s lock in one of
// `modes` ("{...}"; every mode when empty), other than this backend.
std::string relation_holders(Oid rel, const std::string& modes) {
  static pg::Query q{
      "SELECT pg_catalog.string_agg(DISTINCT pg_catalog.format('%s (%s)', l.pid, l.mode), ', ') "
      "FROM pg_catalog.pg_locks l WHERE l.locktype OPERATOR(pg_catalog.=) 'relation' AND l.granted "
      "AND l.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid() "
      "AND l.relation OPERATOR(pg_catalog.=) $1::pg_catalog.text::pg_catalog.oid "
      "AND ($2::pg_catalog.text IS NULL OR l.mode OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[])) "
      "AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid FROM pg_catalog.pg_database d "
      "WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())"};
  q.run({pg::text_param(std::to_string(rel)), modes.empty() ? pg::null_param(TEXTOID) : pg::text_param(modes)});
  std::string out = pg::result_rows() > 0 ? pg::text_value(0, 1) : std::string();
  pg::free_result();
  return out;
}

// "table users held by process 1234 (RowExclusiveLock)" for each relation the statement
// names (and an index's table: dropping or altering an index locks its table first) that a
// session holds in one of `modes` ("" for every mode); `row` says "a row of table ...".
std::string holders_of_statement_tables(Node* parsetree, const std::string& modes, bool row) {
  std::vector<std::string> lines;
  for (RangeVar* rv : lock_targets(parsetree)) {
    Oid rel = pg::call([&] { return RangeVarGetRelid(rv, NoLock, true); });
    if (!OidIsValid(rel)) continue;
    std::vector<Oid> rels{rel};
    Oid table = pg::call([&] { return get_rel_relkind(rel) == RELKIND_INDEX ? IndexGetRelation(rel, true) : InvalidOid; });
    if (OidIsValid(table)) rels.push_back(table);
    for (Oid r : rels) {
      std::string holders = relation_holders(r, modes);
      std::string name = holders.empty() ? std::string() : relation_name(r);
      std::string line = fmt::format("{}table {} held by process {}", row ? "a row of " : "", name, holders);
      if (!name.empty() && std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& l : lines) out += (out.empty() ? "" : "; ") + l;
  return out;
}

bool writes_rows(Node* parsetree) {
  switch (nodeTag(parsetree)) {
    case T_InsertStmt: case T_UpdateStmt: case T_DeleteStmt:
      return true;
    default:
      return false;
  }
}

}  // namespace

int execute_noting_lock_wait(const char* sql) {
  last_wait.seen = false;
  last_wait.statement_start = GetCurrentTimestamp();
  ErrorContextCallback callback;
  callback.callback = note_lock_wait;
  callback.arg = nullptr;
  callback.previous = error_context_stack;
  error_context_stack = &callback;
  int rc = SPI_execute(sql, false, 0);  // an error longjmps to the caller's guard, which restores the stack
  error_context_stack = callback.previous;
  return rc;
}

std::string describe_lock_holders(Node* parsetree) {
  bool seen = last_wait.seen;
  LOCKMODE mode = last_wait.mode;
  last_wait.seen = false;
  if (!seen) return holders_of_statement_tables(parsetree, "", false);
  // A row: the sessions that may hold row locks on the table (a reader's AccessShareLock cannot).
  if (writes_rows(parsetree) && mode != RowExclusiveLock)
    return holders_of_statement_tables(parsetree, "{RowShareLock,RowExclusiveLock}", true);
  return holders_of_statement_tables(parsetree, conflicting_modes(mode), false);
}

}  // namespace pgm
