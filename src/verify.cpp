// Verify: proves that a migration's down script restores the schema its up script changed.
// Inside a subtransaction that is always rolled back: snapshot, up, down, snapshot, compare
// (migrate.schema_snapshot() / migrate.snapshot_diff() of the drift feature).
#include <algorithm>
#include <map>
#include <memory>

#include "apply.hpp"
#include "xact.hpp"
#include "pg/args.hpp"
#include "catalog.hpp"
#include "pg/spi.hpp"
#include "pg/srf.hpp"
#include "policy.hpp"
#include "run.hpp"
#include "safety.hpp"
#include "safety_hooks.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/multixact.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xlog.h"
#include "catalog/pg_attribute.h"
#include "storage/bufmgr.h"
#include "utils/datum.h"
#include "utils/rel.h"
}

namespace pgm {
namespace {

struct Difference {
  std::string object, change, detail;
};

struct Verdict {
  std::string status;  // ok, differs, no_down, failed, unverifiable
  std::vector<Difference> differences;
  std::string error;
  bool up_applied = false;  // the up script's effects are kept (for later migrations)
  bool up_failed = false;   // "failed" in the up script, not the down script
};

std::string schema_snapshot() {
  static pg::Query q{"SELECT migrate.schema_snapshot()::pg_catalog.text"};
  catalog::OwnerScope owner;
  q.run();
  std::string s = pg::text_value(0, 1);
  pg::free_result();
  return s;
}

std::vector<Difference> snapshot_diff(const std::string& before, const std::string& after) {
  static pg::Query q{
      "SELECT d.object, d.change, d.detail FROM migrate.snapshot_diff($1::pg_catalog.jsonb, "
      "$2::pg_catalog.jsonb) d ORDER BY d.object"};
  catalog::OwnerScope owner;
  uint64 n = q.run({pg::text_param(before), pg::text_param(after)});
  std::vector<Difference> out;
  for (uint64 i = 0; i < n; ++i) out.push_back({pg::text_value(i, 1), pg::text_value(i, 2), pg::text_value(i, 3)});
  pg::free_result();
  return out;
}

// Where the columns of the relations a snapshot describes stand: relation identity -> its column
// identities in attnum order. Snapshot entries leave positions out (the same schema built in
// another order compares equal), but a down script that drops a column and adds it back moves
// it to the end, and `SELECT *` or an `INSERT` without a column list then see another table.
using ColumnOrders = std::map<std::string, std::vector<std::string>>;

ColumnOrders column_orders(const std::string& snapshot) {
  // The snapshot's column keys are read once (a generic plan must not parse it per column).
  static pg::Query q{
      "WITH k AS MATERIALIZED (SELECT key FROM pg_catalog.jsonb_object_keys($1::pg_catalog.jsonb) key "
      "WHERE pg_catalog.starts_with(key, 'column ')) "
      "SELECT r.ident, pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_class c "
      "JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
      "CROSS JOIN LATERAL (SELECT pg_catalog.quote_ident(n.nspname) OPERATOR(pg_catalog.||) '.' "
      "OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.relname) AS ident) r "
      "JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid "
      "AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped "
      "JOIN k ON k.key OPERATOR(pg_catalog.=) ('column ' OPERATOR(pg_catalog.||) r.ident "
      "OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(a.attname)) "
      "WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,f}'::pg_catalog.\"char\"[]) "
      "AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{pg_catalog,information_schema,pg_toast}'::pg_catalog.name[]) "
      "ORDER BY c.oid, a.attnum"};
  catalog::OwnerScope owner;
  uint64 n = q.run({pg::text_param(snapshot)});
  ColumnOrders out;
  for (uint64 i = 0; i < n; ++i) out[pg::text_value(i, 1)].push_back(pg::text_value(i, 2));
  pg::free_result();
  return out;
}

// The columns of `a` outside a longest common subsequence of a and b (the same columns in
// another order): the fewest columns that, moved, turn one order into the other. Among such
// subsequences the one keeping most columns at their index, so a column that stayed in place
// is not the one reported ((a, b, c) -> (c, b, a): a and c moved).
std::vector<std::string> moved_columns(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  size_t n = a.size();
  // Score of a kept column: n + 1, plus 1 if it keeps its index (at most 1,600 columns).
  const int32_t keep = static_cast<int32_t>(n) + 1;
  std::vector<std::vector<int32_t>> best(n + 1, std::vector<int32_t>(n + 1, 0));
  for (size_t i = n; i-- > 0;)
    for (size_t j = n; j-- > 0;) {
      int32_t v = std::max(best[i + 1][j], best[i][j + 1]);
      if (a[i] == b[j]) v = std::max(v, best[i + 1][j + 1] + keep + (i == j ? 1 : 0));
      best[i][j] = v;
    }
  std::vector<std::string> moved;
  size_t i = 0, j = 0;
  while (i < n && j < n) {
    if (a[i] == b[j] && best[i][j] == best[i + 1][j + 1] + keep + (i == j ? 1 : 0)) {
      ++i, ++j;
    } else if (best[i + 1][j] >= best[i][j + 1]) {
      moved.push_back(a[i++]);
    } else {
      ++j;
    }
  }
  while (i < n) moved.push_back(a[i++]);
  return moved;
}

// Columns of a relation in both states that moved among its other columns, as a change of the
// column's entry ("position: 2 -> 5", positions among the relation's columns).
void add_moved_columns(const ColumnOrders& before, const ColumnOrders& after, std::vector<Difference>& out) {
  bool added = false;
  for (const auto& [relation, old_columns] : before) {
    auto found = after.find(relation);
    if (found == after.end()) continue;
    const std::vector<std::string>& new_columns = found->second;
    if (old_columns == new_columns) continue;  // the usual case: the same columns in the same order
    auto common = [](const std::vector<std::string>& cols, const std::vector<std::string>& other) {
      std::vector<std::string> kept;
      for (const std::string& c : cols)
        if (std::find(other.begin(), other.end(), c) != other.end()) kept.push_back(c);
      return kept;
    };
    std::vector<std::string> kept_old = common(old_columns, new_columns), kept_new = common(new_columns, old_columns);
    if (kept_old == kept_new) continue;  // columns added or dropped, none moved
    for (const std::string& column : moved_columns(kept_old, kept_new)) {
      auto position = [&](const std::vector<std::string>& cols) {
        return std::find(cols.begin(), cols.end(), column) - cols.begin() + 1;
      };
      std::string object = "column " + relation + "." + column;
      std::string moved = fmt::format("position: {} -> {}", position(old_columns), position(new_columns));
      auto same = std::find_if(out.begin(), out.end(), [&](const Difference& d) { return d.object == object; });
      if (same != out.end()) {
        same->detail += "; " + moved;  // also changed otherwise
      } else {
        out.push_back({object, "changed", moved});
        added = true;
      }
    }
  }
  if (added)
    std::stable_sort(out.begin(), out.end(), [](const Difference& x, const Difference& y) { return x.object < y.object; });
}

std::string error_text(pg::PgError& e) {
  ErrorData* d = e.data();
  return fmt::format("{}: {}", unpack_sql_state(d->sqlerrcode), d->message ? d->message : "");
}

// Runs a script in a subtransaction; on failure rolls it back and returns the error.
std::optional<std::string> try_script(const std::string& script, const ScriptLabel& label,
                                      std::unique_ptr<pg::SubTransaction>& sub) {
  sub = std::make_unique<pg::SubTransaction>();
  try {
    run_script(script, label, safety::plan_lock_timeout_ms);
    return std::nullopt;
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) throw;  // cancel, statement_timeout, shutdown: never a verdict
    std::string msg = error_text(e);
    sub.reset();  // rolls back
    return msg;
  } catch (Error& e) {
    std::string msg = fmt::format("{}: {}", e.sqlstate(), e.message());
    sub.reset();
    return msg;
  }
}

// The tables of pg_catalog (the system catalogs), read once per call.
std::vector<Oid> system_catalogs() {
  static pg::Query q{
      "SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relnamespace = 'pg_catalog'::pg_catalog.regnamespace "
      "AND c.relkind OPERATOR(pg_catalog.=) 'r' ORDER BY c.oid"};
  uint64 n = q.run();
  std::vector<Oid> out;
  out.reserve(n);
  for (uint64 i = 0; i < n; ++i) out.push_back(static_cast<Oid>(pg::int8_value(i, 1)));
  pg::free_result();
  return out;
}

// Two versions of a pg_class row that differ only in what no schema snapshot shows: sizes and
// statistics, the file node (a rewrite), flags PostgreSQL clears lazily (relhasindex,
// relhastriggers, relhasrules, relhassubclass), relnatts (a dropped column stays counted) and
// the toast table link (a new toast table is itself a changed row).
bool same_relation(Relation pg_class_rel, HeapTuple a, HeapTuple b) {
  Form_pg_class x = (Form_pg_class)GETSTRUCT(a);
  Form_pg_class y = (Form_pg_class)GETSTRUCT(b);
  if (strcmp(NameStr(x->relname), NameStr(y->relname)) != 0 || x->relnamespace != y->relnamespace ||
      x->reltype != y->reltype || x->reloftype != y->reloftype || x->relowner != y->relowner ||
      x->relam != y->relam || x->reltablespace != y->reltablespace || x->relisshared != y->relisshared ||
      x->relpersistence != y->relpersistence || x->relkind != y->relkind || x->relchecks != y->relchecks ||
      x->relrowsecurity != y->relrowsecurity || x->relforcerowsecurity != y->relforcerowsecurity ||
      x->relispopulated != y->relispopulated || x->relreplident != y->relreplident ||
      x->relispartition != y->relispartition)
    return false;
  TupleDesc desc = RelationGetDescr(pg_class_rel);
  for (int att : {Anum_pg_class_relacl, Anum_pg_class_reloptions, Anum_pg_class_relpartbound}) {
    bool null_a, null_b;
    Datum da = heap_getattr(a, att, desc, &null_a);
    Datum db = heap_getattr(b, att, desc, &null_b);
    if (null_a != null_b) return false;
    if (!null_a && !datumIsEqual(da, db, false, -1)) return false;
  }
  return true;
}

// The identity of a catalog row across versions: its oid (first column of most catalogs), or
// for pg_attribute its relation and number. False if the catalog has no such key.
bool row_key(Oid catalog, TupleDesc desc, HeapTuple tup, Oid* key1, int32* key2) {
  if (catalog == AttributeRelationId) {
    *key1 = ((Form_pg_attribute)GETSTRUCT(tup))->attrelid;
    *key2 = ((Form_pg_attribute)GETSTRUCT(tup))->attnum;
    return true;
  }
  if (desc->natts < 1 || strcmp(NameStr(TupleDescAttr(desc, 0)->attname), "oid") != 0) return false;
  bool isnull;
  *key1 = DatumGetObjectId(heap_getattr(tup, 1, desc, &isnull));
  *key2 = 0;
  return !isnull;
}

// Every column equal (pg_class: see same_relation).
bool same_row(Oid catalog, Relation rel, HeapTuple a, HeapTuple b) {
  if (catalog == RelationRelationId) return same_relation(rel, a, b);
  TupleDesc desc = RelationGetDescr(rel);
  for (int att = 1; att <= desc->natts; ++att) {
    Form_pg_attribute f = TupleDescAttr(desc, att - 1);
    bool null_a, null_b;
    Datum da = heap_getattr(a, att, desc, &null_a);
    Datum db = heap_getattr(b, att, desc, &null_b);
    if (null_a != null_b) return false;
    if (!null_a && !datumIsEqual(da, db, f->attbyval, f->attlen)) return false;
  }
  return true;
}

// True if the system catalogs describe the same schema as before the transaction id `floor`
// was handed out: every row this transaction added since then and still there replaces an
// older row it deleted with the same identity and the same content, and vice versa; a dropped
// column's leftover pg_attribute row and pg_class fields no snapshot shows (see same_relation)
// do not count. Every snapshot entry is
// made of catalog rows, so then up and down provably left the schema as it was, without
// comparing two snapshots (which cost time in proportion to the whole schema). In-place updates
// (statistics, relhasindex) are not seen; no snapshot attribute comes from them.
// `written_from`: the WAL insert position when `floor` was read. A row written since is on a
// page whose LSN is newer (every write to a WAL-logged catalog page sets it), so only those
// pages' rows are read; the others are passed by their header. (InvalidXLogRecPtr, or a
// catalog not WAL-logged, rewritten in this transaction under wal_level = minimal: every row.)
bool catalogs_unchanged_since(TransactionId floor, XLogRecPtr written_from, const std::vector<Oid>& catalogs) {
  const Oid* rels = catalogs.data();
  size_t n = catalogs.size();
  return pg::call([&] {
    auto ours = [floor](TransactionId x) {
      return TransactionIdIsNormal(x) && TransactionIdFollowsOrEquals(x, floor) &&
             TransactionIdIsCurrentTransactionId(x);
    };
    bool changed = false;
    for (size_t i = 0; i < n && !changed; ++i) {
      Relation rel = table_open(rels[i], AccessShareLock);
      TupleDesc desc = RelationGetDescr(rel);
      bool by_lsn = !XLogRecPtrIsInvalid(written_from) && RelationNeedsWAL(rel);
      BlockNumber blocks = RelationGetNumberOfBlocks(rel);
      List* gone = NIL;   // older rows this transaction deleted or replaced
      List* added = NIL;  // rows this transaction added that are still there
      for (BlockNumber block = 0; block < blocks && !changed; ++block) {
        CHECK_FOR_INTERRUPTS();
        Buffer buffer = ReadBufferExtended(rel, MAIN_FORKNUM, block, RBM_NORMAL, nullptr);
        LockBuffer(buffer, BUFFER_LOCK_SHARE);
        if (by_lsn && BufferGetLSNAtomic(buffer) < written_from) {
          UnlockReleaseBuffer(buffer);
          continue;
        }
        Page page = BufferGetPage(buffer);
        OffsetNumber last = PageGetMaxOffsetNumber(page);
        for (OffsetNumber offset = FirstOffsetNumber; offset <= last && !changed; offset = OffsetNumberNext(offset)) {
          ItemId item = PageGetItemId(page, offset);
          if (!ItemIdIsNormal(item)) continue;
          HeapTupleData version;  // every version on the page, as a scan with SnapshotAny returns them
          version.t_data = reinterpret_cast<HeapTupleHeader>(PageGetItem(page, item));
          version.t_len = ItemIdGetLength(item);
          version.t_tableOid = rels[i];
          ItemPointerSet(&version.t_self, block, offset);
          HeapTuple tup = &version;
          HeapTupleHeader h = tup->t_data;
          bool inserted = ours(HeapTupleHeaderGetXmin(h));
          bool deleted = !(h->t_infomask & HEAP_XMAX_INVALID) && !HEAP_XMAX_IS_LOCKED_ONLY(h->t_infomask) &&
                         ours(HeapTupleHeaderGetUpdateXid(h));
          if (inserted == deleted) continue;  // untouched, or added and removed again
          if (rels[i] == AttributeRelationId && inserted && ((Form_pg_attribute)GETSTRUCT(tup))->attisdropped)
            continue;  // a column added and dropped again
          if (deleted) gone = lappend(gone, heap_copytuple(tup));
          else added = lappend(added, heap_copytuple(tup));
          // Pairs are compared below; a catalog without a row identity cannot be paired.
          Oid k1;
          int32 k2;
          if (!row_key(rels[i], desc, tup, &k1, &k2)) changed = true;
        }
        UnlockReleaseBuffer(buffer);
      }
      // Each replaced row must have a live successor with the same identity and the same
      // content (as the schema shows it), and each added row must be such a successor.
      if (!changed && list_length(gone) != list_length(added)) changed = true;
      ListCell* lc;
      foreach (lc, gone) {
        if (changed) break;
        HeapTuple old_version = (HeapTuple)lfirst(lc);
        Oid a1, b1;
        int32 a2, b2;
        (void)row_key(rels[i], desc, old_version, &a1, &a2);
        bool matched = false;
        ListCell* lc2;
        foreach (lc2, added) {
          HeapTuple new_version = (HeapTuple)lfirst(lc2);
          (void)row_key(rels[i], desc, new_version, &b1, &b2);
          if (a1 == b1 && a2 == b2) {
            matched = same_row(rels[i], rel, old_version, new_version);
            break;
          }
        }
        if (!matched) changed = true;
      }
      list_free_deep(gone);
      list_free_deep(added);
      table_close(rel, AccessShareLock);
    }
    return !changed;
  });
}

// Verifies one pending migration in the current state. On return the up script's effects
// are kept when it ran (the caller's outer subtransaction is rolled back eventually).
// Why a script cannot be tried in the rolled-back transaction verify runs in (its statements
// commit on their own under CALL migrate.run()), or "" when it can.
std::string outside_transaction(const std::string& script, const ScriptLabel& label) {
  if (script_mode(script) == ScriptMode::kNoTransaction) return "non-transactional (-- pg_migrate:no-transaction)";
  for (const ScriptStatement& s : parse_script(script, label))
    if (is_split_point(s.parsetree)) return "split into several transactions by COMMIT";
  return "";
}

Verdict verify_migration(const std::string& version, const std::string& name, bool has_down,
                         const std::vector<Oid>& catalogs) {
  Verdict v;
  std::string up = catalog::load_script(version, true);
  // Not a broken migration: one verify cannot try. Reported as such (migrate.verify()'s
  // status "unverifiable"), like a down script that needs the up script's enum value.
  {
    std::string why = outside_transaction(up, {version, name, "up"});
    if (why.empty() && has_down) {
      why = outside_transaction(catalog::load_script(version, false), {version, name, "down"});
      if (!why.empty()) why = "its down script is " + why;
    } else if (!why.empty()) {
      why = "its up script is " + why;
    }
    if (!why.empty()) {
      v.status = "unverifiable";
      v.error = why + ": its statements commit on their own under CALL migrate.run(), so it cannot be tried "
                      "in the transaction verify rolls back; try it on a copy of the database";
      return v;
    }
  }
  if (has_down) {
    // Fast path: run up and down; if the system catalogs are exactly as before, the revert is
    // proven without snapshots. Otherwise roll both back and compare snapshots (below).
    std::string down = catalog::load_script(version, false);
    TransactionId floor = pg::call([] { return ReadNextTransactionId(); });
    XLogRecPtr written_from = pg::call([] { return RecoveryInProgress() ? InvalidXLogRecPtr : GetXLogInsertRecPtr(); });
    std::unique_ptr<pg::SubTransaction> up_sub;
    if (auto err = try_script(up, {version, name, "up"}, up_sub)) {
      v.status = "failed";
      v.error = *err;
      v.up_failed = true;
      return v;
    }
    bool same = false;
    {
      std::unique_ptr<pg::SubTransaction> down_sub;
      if (!try_script(down, {version, name, "down"}, down_sub)) {
        same = catalogs_unchanged_since(floor, written_from, catalogs);
        down_sub->rollback();  // back to the state after up
      }
    }
    if (same) {
      up_sub->commit();
      v.status = "ok";
      v.up_applied = true;
      return v;
    }
    up_sub->rollback();  // back to the state before up, for the snapshot comparison
  }
  std::string before = has_down ? schema_snapshot() : std::string();
  ColumnOrders before_columns = has_down ? column_orders(before) : ColumnOrders();
  std::unique_ptr<pg::SubTransaction> up_sub;
  if (auto err = try_script(up, {version, name, "up"}, up_sub)) {
    v.status = "failed";
    v.error = *err;
    v.up_failed = true;
    return v;
  }
  if (!has_down) {
    up_sub->commit();
    v.status = "no_down";
    v.error = "the migration has no down script: it cannot be reverted";
    v.up_applied = true;
    return v;
  }
  std::string down = catalog::load_script(version, false);
  {
    std::unique_ptr<pg::SubTransaction> down_sub;
    if (auto err = try_script(down, {version, name, "down"}, down_sub)) {
      // 55P04: the down uses an enum value the up added. PostgreSQL refuses that inside the
      // transaction that added it, but a real revert runs in a later transaction: the revert
      // cannot be proven here, which is not a broken down script.
      bool unsafe_enum = err->rfind("55P04:", 0) == 0;
      v.status = unsafe_enum ? "unverifiable" : "failed";
      v.error = unsafe_enum ? fmt::format("the down script uses an enum value the up script adds, which "
                                          "PostgreSQL allows only after the up script's transaction "
                                          "committed; the revert cannot be tried in one transaction ({})",
                                          *err)
                            : *err;
    } else {
      std::string after = schema_snapshot();
      v.differences = snapshot_diff(before, after);
      add_moved_columns(before_columns, column_orders(after), v.differences);
      v.status = v.differences.empty() ? "ok" : "differs";
      down_sub->rollback();  // back to the state after up
    }
  }
  up_sub->commit();
  v.up_applied = true;
  return v;
}

}  // namespace

void verify_check_before_apply(const std::string& version, const std::string& name) {
  if (!policy::effective_require_verified_revert(safety::require_verified_revert)) return;
  pg::SpiConnection spi;
  std::optional<catalog::MigrationInfo> m = catalog::find_migration(version);
  if (!m || !m->has_down)
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                fmt::format("migration {} (\"{}\") has no down script and pg_migrate.require_verified_revert is on",
                            version, name),
                "Only migrations whose revert is verified are applied.",
                "Register it with a down script, or set pg_migrate.require_verified_revert = off.");
  Verdict v;
  {
    std::vector<SessionObject> session_before = session_objects();
    pg::SubTransaction all;
    v = verify_migration(version, name, true, system_catalogs());
    all.rollback();
    script_leftovers().clear();
    drop_created_since(session_before);  // also what dynamic SQL prepared
  }
  if (v.status == "ok") return;
  // The gate judges the revert. An up script that fails is not a revert that does not verify:
  // its own error (SQLSTATE, migration and line), as the apply without the gate gives it. (A
  // lock timeout stays the gate's refusal below: the apply must not go on unverified.)
  if (v.up_failed && v.error.size() > 7 && v.error[5] == ':' && v.error.rfind("55P03:", 0) != 0)
    throw Error(v.error.substr(0, 5), v.error.substr(7));
  // A busy table, not a broken down script: trying the revert waited longer than its lock
  // timeout (pg_migrate.plan_lock_timeout). Reported as the lock timeout it is.
  if (v.status == "failed" && v.error.rfind("55P03:", 0) == 0)
    throw Error(sqlstate::kLockNotAvailable,
                fmt::format("the revert of migration {} (\"{}\") could not be tried: a lock it needs is held "
                            "(pg_migrate.require_verified_revert is on)",
                            version, name),
                v.error.substr(7),
                "Apply it again when the table is not busy; the up and down scripts were tried in a transaction "
                "that was rolled back, waiting at most pg_migrate.plan_lock_timeout for each lock.");
  std::string detail;
  if (v.status == "failed" || v.status == "unverifiable") {
    detail = v.error;
  } else {
    std::vector<std::string> lines;
    for (const Difference& d : v.differences) lines.push_back(fmt::format("{} {}: {}", d.object, d.change, d.detail));
    detail = fmt::format("After up and down these objects differ from before:\n{}", fmt::join(lines, "\n"));
  }
  throw Error(sqlstate::kObjectNotInPrerequisiteState,
              fmt::format("the revert of migration {} (\"{}\") does not verify and "
                          "pg_migrate.require_verified_revert is on",
                          version, name),
              detail,
              v.status == "unverifiable"
                  ? fmt::format("Such a migration cannot be tried in a transaction that is rolled back; set "
                                "pg_migrate.require_verified_revert = off to apply it (see migrate.verify('{}')).",
                                version)
                  : fmt::format("Fix the down script so it undoes everything the up script does (see "
                                "migrate.verify('{}')), or set pg_migrate.require_verified_revert = off.",
                                version));
}

}  // namespace pgm

using namespace pgm;

PGM_FUNCTION(pgm_verify) {
  ensure_not_in_migration("migrate.verify");
  std::optional<std::string> only;
  if (!PG_ARGISNULL(0)) only = Version::parse(pg::text_arg(fcinfo, 0)).canonical();
  struct Row {
    std::string version, name, status;
    std::optional<std::string> object, change, detail;
  };
  std::vector<Row> rows;
  {
    pg::SpiConnection spi;
    if (only) {
      std::optional<catalog::MigrationInfo> m = catalog::find_migration(*only);
      if (!m)
        throw Error(sqlstate::kUndefinedObject, fmt::format("migration {} is not registered", *only), {},
                    "See migrate.status() for the registered versions.");
      if (m->applied)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    fmt::format("migration {} (\"{}\") is already applied", *only, m->name),
                    "migrate.verify() runs a pending migration's up script and then its down script.",
                    fmt::format("Revert it first (migrate.revert_to), then verify it.", *only));
    }
    // Earlier pending migrations are applied (up only) first: the one verified sees the
    // schema it will meet when apply runs it.
    std::vector<MigrationStep> pending = select_pending(only ? std::optional<Version>(Version::parse(*only)) : std::nullopt);
    if (only && (pending.empty() || pending.back().version != *only))
      throw Error(sqlstate::kObjectNotInPrerequisiteState,
                  fmt::format("migration {} is not pending: it is at or below the baseline", *only));
    std::vector<Oid> catalogs = system_catalogs();
    std::vector<SessionObject> session_before = session_objects();
    pg::RoundContext per_migration("pg_migrate verify migration");  // parse trees, lookups
    pg::SubTransaction all;  // always rolled back
    bool stopped = false;
    std::string stop_reason = "an earlier migration failed";
    for (const MigrationStep& m : pending) {
      pg::RoundContext::Scope round = per_migration.round();
      bool check = !only || m.version == *only;
      if (stopped) {
        if (check) rows.push_back({m.version, m.name, "skipped", {}, {}, stop_reason});
        continue;
      }
      if (!check) {
        std::string up = catalog::load_script(m.version, true);
        if (std::string why = outside_transaction(up, {m.version, m.name, "up"}); !why.empty()) {
          stopped = true;
          rows.push_back({*only, pending.back().name, "skipped", {}, {},
                          fmt::format("earlier pending migration {} cannot be tried in a transaction (it is {}), "
                                      "and this one may depend on it",
                                      m.version, why)});
          break;
        }
        std::unique_ptr<pg::SubTransaction> sub;
        if (auto err = try_script(up, {m.version, m.name, "up"}, sub)) {
          stopped = true;
          rows.push_back({*only, pending.back().name, "skipped", {}, {},
                          fmt::format("earlier pending migration {} failed: {}", m.version, *err)});
          break;
        }
        sub->commit();
        continue;
      }
      Verdict v = verify_migration(m.version, m.name, m.has_down, catalogs);
      if (v.status == "differs") {
        for (const Difference& d : v.differences) rows.push_back({m.version, m.name, v.status, d.object, d.change, d.detail});
      } else {
        rows.push_back({m.version, m.name, v.status, {}, {},
                        v.error.empty() ? std::nullopt : std::optional<std::string>(v.error)});
      }
      if (!v.up_applied) {
        stopped = true;
        if (v.status == "unverifiable")
          stop_reason = fmt::format("earlier migration {} could not be tried in a transaction, and this one may "
                                    "depend on it",
                                    m.version);
      }
    }
    all.rollback();
    script_leftovers().clear();  // a rollback does not undo what the scripts prepared
    drop_created_since(session_before);  // nor what they prepared through dynamic SQL
  }
  pg::ResultSet out(fcinfo);
  for (const Row& r : rows)
    out.add_row({pg::Cell::text(r.version), pg::Cell::text(r.name), pg::Cell::text(r.status),
                 pg::Cell::text_or_null(r.object ? &*r.object : nullptr),
                 pg::Cell::text_or_null(r.change ? &*r.change : nullptr),
                 pg::Cell::text_or_null(r.detail ? &*r.detail : nullptr)});
  return out.done();
}
