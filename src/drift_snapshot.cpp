// Drift: recording schema snapshots (migrate.schema_snapshots). A whole snapshot
// (migrate.schema_snapshot()) costs time proportional to the schema; after apply and revert
// the new snapshot is the previous one with the entries of the objects the migrations touched
// refreshed from the live catalog (migrate.record_refreshed_snapshot()), so an apply pays for what
// it changed. Statements whose effect the event triggers cannot describe object by object make
// the snapshot a whole one.
#include "drift_snapshot.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <optional>
#include <unordered_set>

#include "core/script.hpp"
#include "catalog.hpp"
#include "xact.hpp"
#include "core/drift_rules.hpp"
#include "drift_fingerprint.hpp"
#include "drift_hooks.hpp"
#include "drift_internal.hpp"
#include "settings.hpp"
#include "pg/rows.hpp"
#include "pg/spi.hpp"
#include "pg/srf.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_event_trigger.h"
#include "catalog/pg_language.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "utils/syscache.h"
#include "utils/fmgroids.h"
#include "commands/extension.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
}

namespace pgm {
namespace drift {
namespace {

struct Tracking {
  std::vector<std::string> classids;  // decimal OIDs (passed as text[]::oid[])
  std::vector<std::string> objids;
  std::vector<std::string> rel_names, type_names, nsp_names, proc_names;
  std::vector<std::string> drop_keys, drop_prefixes;
  // What the lists hold, tagged by list: an apply of thousands of migrations tracks thousands
  // of objects, and a linear search per object made that quadratic.
  std::unordered_set<std::string> seen;
  bool whole = false;
  bool any = false;
};
Tracking* tracking = nullptr;  // lives for the backend (TopMemoryContext is not involved)
// Set from the ProcessUtility hook, which must not allocate or throw: a plain flag.
bool whole_requested = false;
// Set by drift_expect_migrations() (apply/revert), cleared at transaction end.
bool migrations_expected = false;
// Utility statements (DDL, SET, ...) the migrations ran since then, counted by the hook.
uint64_t utility_statements = 0;
// The command the migrations started with: catalog rows written from it on are theirs. And
// the subtransaction they started in: if it is rolled back, so is all of this.
std::optional<CommandId> migrations_start;
SubTransactionId migrations_subxact = InvalidSubTransactionId;
// For a catalog updated from 0.2.0, which has no proof yet: the catalog fingerprint when the
// migrations started, if a whole comparison found the newest snapshot exact then.
std::optional<uint64_t> fingerprint_at_start;

Tracking& state() {
  if (!tracking) tracking = new Tracking();
  return *tracking;
}

void add_unique(Tracking& t, std::vector<std::string>& v, char tag, const std::string& s) {
  if (t.seen.insert(tag + s).second) v.push_back(s);
}

// Quoted as snapshot keys are, whatever the session's quote_all_identifiers (the snapshot is
// built with it off): a key of a dropped object must match the entry it removes.
std::string quote(const std::string& name) {
  const char* n = name.c_str();
  const char* q = pg::call([&] { return with_plain_identifiers([&] { return quote_identifier(n); }); });
  return std::string(q);
}

}  // namespace

void track_snapshot_object(Oid classid, Oid objid) {
  if (!OidIsValid(classid) || !OidIsValid(objid)) return;
  Tracking& t = state();
  t.any = true;
  std::string c = std::to_string(classid), o = std::to_string(objid);
  if (!t.seen.insert("o" + c + "/" + o).second) return;
  t.classids.push_back(std::move(c));
  t.objids.push_back(std::move(o));
}

void track_snapshot_drop(const std::string& object_type, const std::vector<std::string>& address_names) {
  Tracking& t = state();
  t.any = true;
  SnapshotDrop d = snapshot_drop(object_type, address_names, quote);
  if (d.whole) t.whole = true;
  for (const std::string& k : d.keys) add_unique(t, t.drop_keys, 'k', k);
  for (const std::string& p : d.prefixes) add_unique(t, t.drop_prefixes, 'p', p);
  switch (d.owner_kind) {
    case 'r': add_unique(t, t.rel_names, 'r', d.owner); break;
    case 't': add_unique(t, t.type_names, 't', d.owner); break;
    case 'n': add_unique(t, t.nsp_names, 'n', d.owner); break;
    case 'p': add_unique(t, t.proc_names, 'f', d.owner); break;
    default: break;
  }
}

void track_snapshot_relation_parts(Oid relid, std::initializer_list<const char*> parts) {
  if (!OidIsValid(relid)) return;
  char* nsp = nullptr;
  char* rel = nullptr;
  pg::call([&] {
    rel = get_rel_name(relid);
    if (rel) nsp = get_namespace_name(get_rel_namespace(relid));
  });
  if (!rel || !nsp) return;
  Tracking& t = state();
  t.any = true;
  std::string qualified = quote(nsp) + "." + quote(rel);
  for (const char* part : parts) add_unique(t, t.drop_prefixes, 'p', std::string(part) + qualified + ".");
}

namespace {

// Plain C: the relation an ALTER TABLE / ALTER INDEX names (an index's table), and every
// inheritor of it, with their indexes and the sequences they own, as "schema\0name" pairs:
// kinds[i] is 'r' (relation), 'i' (index) or 'S' (sequence). No lock is taken: the statement
// takes its own next.
struct RelatedNames {
  Oid table;  // the relation (an index's table): refreshed whether or not the statement succeeds
  int count;
  char* kinds;
  char** schemas;
  char** names;
};

void add_related(RelatedNames* out, int* capacity, char kind, Oid relid) {
  char* name = get_rel_name(relid);
  char* nsp = name ? get_namespace_name(get_rel_namespace(relid)) : nullptr;
  if (!name || !nsp) return;
  if (out->count == *capacity) {
    *capacity *= 2;
    out->kinds = static_cast<char*>(repalloc(out->kinds, *capacity));
    out->schemas = static_cast<char**>(repalloc(out->schemas, sizeof(char*) * *capacity));
    out->names = static_cast<char**>(repalloc(out->names, sizeof(char*) * *capacity));
  }
  out->kinds[out->count] = kind;
  out->schemas[out->count] = nsp;
  out->names[out->count] = name;
  out->count++;
}

void related_names(RangeVar* rv, RelatedNames* out) {
  int capacity = 16;
  out->count = 0;
  out->kinds = static_cast<char*>(palloc(capacity));
  out->schemas = static_cast<char**>(palloc(sizeof(char*) * capacity));
  out->names = static_cast<char**>(palloc(sizeof(char*) * capacity));
  Oid relid = RangeVarGetRelid(rv, NoLock, true);
  if (!OidIsValid(relid)) return;
  if (get_rel_relkind(relid) == RELKIND_INDEX || get_rel_relkind(relid) == RELKIND_PARTITIONED_INDEX)
    relid = IndexGetRelation(relid, true);
  if (!OidIsValid(relid)) return;
  out->table = relid;
  List* rels = find_all_inheritors(relid, NoLock, nullptr);
  ListCell* lc;
  foreach (lc, rels) {
    Oid rel = lfirst_oid(lc);
    add_related(out, &capacity, 'r', rel);
    Relation index_rel = table_open(IndexRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(rel));
    SysScanDesc scan = systable_beginscan(index_rel, IndexIndrelidIndexId, true, nullptr, 1, &key);
    HeapTuple tup;
    while (HeapTupleIsValid(tup = systable_getnext(scan)))
      add_related(out, &capacity, 'i', reinterpret_cast<Form_pg_index>(GETSTRUCT(tup))->indexrelid);
    systable_endscan(scan);
    table_close(index_rel, AccessShareLock);
    ListCell* sc;
    List* sequences = getOwnedSequences(rel);
    foreach (sc, sequences) add_related(out, &capacity, 'S', lfirst_oid(sc));
  }
}

}  // namespace

void track_snapshot_relation_before_alter(Node* parsetree) {
  if (!parsetree || !IsA(parsetree, AlterTableStmt)) return;
  RangeVar* rv = reinterpret_cast<AlterTableStmt*>(parsetree)->relation;
  if (!rv) return;
  RelatedNames related{};
  pg::call([&] { related_names(rv, &related); });
  if (related.count == 0) return;
  // (A statement that then fails inside a DO block's handler fires no ddl_command_end: the
  // table is refreshed anyway, or its entries would go.)
  track_snapshot_object(RelationRelationId, related.table);
  Tracking& t = state();
  t.any = true;
  for (int i = 0; i < related.count; ++i) {
    std::string qualified = quote(related.schemas[i]) + "." + quote(related.names[i]);
    switch (related.kinds[i]) {
      case 'r':
        for (const char* part : {"column ", "constraint ", "trigger ", "policy ", "rule "})
          add_unique(t, t.drop_prefixes, 'p', std::string(part) + qualified + ".");
        break;
      case 'i': add_unique(t, t.drop_keys, 'k', "index " + qualified); break;
      case 'S': add_unique(t, t.drop_keys, 'k', "sequence " + qualified); break;
      default: break;
    }
  }
}

bool needs_whole_snapshot(Node* parsetree) noexcept {
  if (!parsetree) return false;
  switch (nodeTag(parsetree)) {
    case T_RenameStmt: case T_AlterObjectSchemaStmt: case T_ReassignOwnedStmt: case T_DropOwnedStmt:
    case T_CreateExtensionStmt: case T_AlterExtensionStmt: case T_AlterExtensionContentsStmt:
    case T_AlterEventTrigStmt: case T_CreateEventTrigStmt: case T_ClusterStmt: case T_ReindexStmt:
      return true;
    case T_DropStmt:
      return reinterpret_cast<DropStmt*>(parsetree)->removeType == OBJECT_EXTENSION;
    case T_RuleStmt:
      // CREATE RULE "_RETURN" ... ON SELECT turns a table into a view (PostgreSQL < 16).
      return std::strcmp(reinterpret_cast<RuleStmt*>(parsetree)->rulename, "_RETURN") == 0;
    case T_AlterEnumStmt:
      // RENAME VALUE changes how defaults, constraints and views that use the label print.
      return reinterpret_cast<AlterEnumStmt*>(parsetree)->oldVal != nullptr;
    case T_VariableSetStmt: {
      // event_triggers = off (PostgreSQL 17) stops the tracking itself.
      const char* name = reinterpret_cast<VariableSetStmt*>(parsetree)->name;
      return name && std::strcmp(name, "event_triggers") == 0;
    }
    default:
      return false;
  }
}

void track_snapshot_statement(Node* parsetree) noexcept {
  ++utility_statements;
  if (needs_whole_snapshot(parsetree)) whole_requested = true;
}

void reset_snapshot_tracking() noexcept {
  whole_requested = false;
  utility_statements = 0;
  migrations_expected = false;
  fingerprint_at_start.reset();
  migrations_start.reset();
  migrations_subxact = InvalidSubTransactionId;
  if (!tracking) return;
  for (std::vector<std::string>* v : {&tracking->classids, &tracking->objids, &tracking->rel_names,
                                      &tracking->type_names, &tracking->nsp_names, &tracking->proc_names,
                                      &tracking->drop_keys, &tracking->drop_prefixes})
    v->clear();
  tracking->seen.clear();
  tracking->whole = false;
  tracking->any = false;
}

void forget_snapshot_tracking_of(SubTransactionId subxact) noexcept {
  if (migrations_subxact != InvalidSubTransactionId && subxact <= migrations_subxact) reset_snapshot_tracking();
}

void snapshot_must_be_whole() noexcept { whole_requested = true; }

}  // namespace drift

namespace {

// What migrate.catalog_state says of the newest snapshot's proof. Runs inside an OwnerScope.
struct Proof {
  bool recorded_at_all = false;            // the catalog has the columns (0.3.0 on) ...
  bool never_recorded = false;             // ... but no snapshot was recorded since the update
  std::optional<uint64_t> fingerprint;     // proven for the newest snapshot
};

// Plain C for read_proof(): catalog_state's one row and the newest snapshot's id, read from
// their heaps (and the primary key, backwards) with a snapshot that sees this transaction's
// earlier commands, as the SQL this replaced did. A query planned through SPI cost a new
// backend's first schema_diff() (pg_migrate check) about 2 ms.
struct RawProof {
  bool row = false;      // catalog_state has its row
  bool columns = false;  // ... and the proof's columns (0.3.0 on)
  bool id_null = true;
  int64 id = 0;
  bool fingerprint_null = true;
  int64 fingerprint = 0;
  bool newest_null = true;
  int64 newest = 0;
};

void read_proof_raw(RawProof* out) {
  Oid nsp = get_namespace_oid("migrate", true);
  Oid state = OidIsValid(nsp) ? get_relname_relid("catalog_state", nsp) : InvalidOid;
  Oid snapshots = OidIsValid(nsp) ? get_relname_relid("schema_snapshots", nsp) : InvalidOid;
  if (!OidIsValid(state) || !OidIsValid(snapshots)) return;
  CommandCounterIncrement();
  Snapshot snapshot = RegisterSnapshot(GetTransactionSnapshot());
  Relation rel = table_open(state, AccessShareLock);
  TupleDesc desc = RelationGetDescr(rel);
  AttrNumber id_column = pg::rows::column_number(rel, "snapshot_id", INT8OID);
  AttrNumber fingerprint_column = pg::rows::column_number(rel, "snapshot_fingerprint", INT8OID);
  TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
  if (HeapTuple tuple = heap_getnext(scan, ForwardScanDirection)) {
    out->row = true;
    out->columns = id_column != InvalidAttrNumber;
    if (id_column) out->id = DatumGetInt64(heap_getattr(tuple, id_column, desc, &out->id_null));
    if (fingerprint_column)
      out->fingerprint = DatumGetInt64(heap_getattr(tuple, fingerprint_column, desc, &out->fingerprint_null));
  }
  table_endscan(scan);
  table_close(rel, AccessShareLock);
  Relation snaps = table_open(snapshots, AccessShareLock);
  TupleDesc sdesc = RelationGetDescr(snaps);
  AttrNumber sid = pg::rows::column_number(snaps, "id", INT8OID);
  Oid key = RelationGetPrimaryKeyIndex(snaps);
  Relation index = OidIsValid(key) ? index_open(key, AccessShareLock) : nullptr;
  // The primary key on id, read backwards: its first row is the newest. (Any other layout:
  // every row.)
  bool by_key = index && sid && index->rd_index->indnatts == 1 && index->rd_index->indkey.values[0] == sid &&
                index->rd_rel->relam == BTREE_AM_OID;
  if (by_key) {
    SysScanDesc s = systable_beginscan_ordered(snaps, index, snapshot, 0, nullptr);
    if (HeapTuple tuple = systable_getnext_ordered(s, BackwardScanDirection))
      out->newest = DatumGetInt64(heap_getattr(tuple, sid, sdesc, &out->newest_null));
    systable_endscan_ordered(s);
  } else if (sid) {
    TableScanDesc all = table_beginscan(snaps, snapshot, 0, nullptr);
    while (HeapTuple tuple = heap_getnext(all, ForwardScanDirection)) {
      bool isnull;
      int64 id = DatumGetInt64(heap_getattr(tuple, sid, sdesc, &isnull));
      if (!isnull && (out->newest_null || id > out->newest)) {
        out->newest = id;
        out->newest_null = false;
      }
    }
    table_endscan(all);
  }
  if (index) index_close(index, AccessShareLock);
  table_close(snaps, AccessShareLock);
  UnregisterSnapshot(snapshot);
}

Proof read_proof() {
  RawProof raw;
  pg::call([&] { read_proof_raw(&raw); });
  Proof p;
  if (!raw.row) return p;
  // A catalog older than 0.3.0 (before its update) has no such columns.
  p.recorded_at_all = raw.columns;
  p.never_recorded = p.recorded_at_all && raw.id_null;
  if (!raw.id_null && !raw.newest_null && raw.id == raw.newest && !raw.fingerprint_null)
    p.fingerprint = static_cast<uint64_t>(raw.fingerprint);
  return p;
}

// The migrations touched at least 256 relations and two thirds of the schema's (outside the
// system schemas): a whole snapshot is then cheaper than refreshing them one by one.
bool most_relations_touched(const drift::Tracking& t) {
  static const std::string pg_class_id = std::to_string(RelationRelationId);
  int64 touched = std::count(t.classids.begin(), t.classids.end(), pg_class_id);
  if (touched < 256) return false;
  // Counted in pg_class itself (a query to plan costs more in a deploy's new session).
  int64 all = pg::call([] {
    Oid information_schema = get_namespace_oid("information_schema", true);
    Relation rel = table_open(RelationRelationId, AccessShareLock);
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
    int64 n = 0;
    while (HeapTuple tuple = systable_getnext(scan)) {
      Oid nsp = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relnamespace;
      if (nsp != PG_CATALOG_NAMESPACE && nsp != PG_TOAST_NAMESPACE && nsp != information_schema) ++n;
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return n;
  });
  return touched * 3 >= all * 2;
}

// Plain C: migrate.record_refreshed_snapshot(text, oid[], oid[], text[] x 6) exists.
bool refresh_function_exists() {
  Oid nsp = get_namespace_oid("migrate", true);
  if (!OidIsValid(nsp)) return false;
  Oid types[] = {TEXTOID, OIDARRAYOID, OIDARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
                 TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
  oidvector* args = buildoidvector(types, lengthof(types));
  return OidIsValid(GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum("record_refreshed_snapshot"),
                                    PointerGetDatum(args), ObjectIdGetDatum(nsp)));
}

// Plain C: both of drift capture's snapshot event triggers are enabled (ENABLE ALWAYS).
bool drift_triggers_fire() {
  for (const char* name : {"migrate_drift_ddl", "migrate_drift_drop"}) {
    HeapTuple tuple = SearchSysCache1(EVENTTRIGGERNAME, CStringGetDatum(name));
    if (!HeapTupleIsValid(tuple)) return false;
    bool always = reinterpret_cast<Form_pg_event_trigger>(GETSTRUCT(tuple))->evtenabled == TRIGGER_FIRES_ALWAYS;
    ReleaseSysCache(tuple);
    if (!always) return false;
  }
  return true;
}

// Plain C: the trigger function is pg_migrate's C function `symbol`, in pg_migrate's library (as
// drift_status()'s tamper check defines its own functions).
bool is_own_c_function(Oid fn, const char* symbol) {
  HeapTuple tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
  if (!HeapTupleIsValid(tuple)) return false;
  bool own = false;
  if (reinterpret_cast<Form_pg_proc>(GETSTRUCT(tuple))->prolang == ClanguageId) {
    bool src_null, bin_null;
    Datum src = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosrc, &src_null);
    Datum bin = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_probin, &bin_null);
    own = !src_null && !bin_null && strcmp(TextDatumGetCString(src), symbol) == 0 &&
          strcmp(TextDatumGetCString(bin), "$libdir/pg_migrate") == 0;
  }
  ReleaseSysCache(tuple);
  return own;
}

// Inserting a row into migrate.schema_snapshots runs pg_migrate's code alone (its defaults and
// its trigger for restored install rows), which changes no catalog: no other trigger, rule or
// policy.
bool snapshot_insert_runs_no_user_code() {
  return pg::call([] {
    Oid nsp = get_namespace_oid("migrate", true);
    Oid relid = OidIsValid(nsp) ? get_relname_relid("schema_snapshots", nsp) : InvalidOid;
    if (!OidIsValid(relid)) return false;
    Relation rel = table_open(relid, AccessShareLock);
    bool own = !rel->rd_rules && !rel->rd_rel->relrowsecurity;
    const TriggerDesc* td = rel->trigdesc;
    for (int i = 0; own && td && i < td->numtriggers; ++i) {
      const Trigger& t = td->triggers[i];
      if (TRIGGER_FOR_INSERT(t.tgtype) && t.tgenabled != TRIGGER_DISABLED)
        own = is_own_c_function(t.tgfoid, "pgm_install_snapshot_restored");
    }
    table_close(rel, AccessShareLock);
    return own;
  });
}

// No catalog row changed since the newest snapshot was recorded (and proven exact).
bool schema_unchanged() {
  catalog::OwnerScope owner;
  std::optional<uint64_t> proven = read_proof().fingerprint;
  return proven && proven == drift::catalog_fingerprint();
}

}  // namespace

bool drift_schema_may_differ() { return !schema_unchanged(); }

bool drift_script_needs_whole_snapshot(const std::string& script) {
  // Parsed only if a word of such a statement is in the text at all (most scripts have none).
  static const CaseInsensitiveWords words{"rename", "schema", "extension", "owned",
                                          "cluster", "reindex", "event", "_return"};
  if (!words.found_in(script)) return false;
  const char* text = script.c_str();
  pg::SubTransaction sub;
  try {
    bool found = pg::call([&] {
      List* parsed = pg_parse_query(text);
      ListCell* lc;
      foreach (lc, parsed)
        if (drift::needs_whole_snapshot(lfirst_node(RawStmt, lc)->stmt)) return true;
      return false;
    });
    sub.commit();
    return found;
  } catch (const pg::PgError& e) {
    sub.rollback();
    if (e.is_interrupt()) throw;
    return false;  // a script that does not parse fails when it runs, with its line
  }
}

void drift_snapshot_must_be_whole() { drift::snapshot_must_be_whole(); }

bool drift_migrations_ran_no_utility() {
  return drift::migrations_expected && drift::utility_statements == 0 && !drift::whole_requested &&
         !(drift::tracking && (drift::tracking->any || drift::tracking->whole));
}

void drift_forget_migrations() { drift::reset_snapshot_tracking(); }

void drift_expect_migrations() {
  drift::migrations_expected = true;
  drift::utility_statements = 0;
  // Catalog rows written by this command or later ones are the migrations'; earlier DDL of
  // the same transaction is drift like any other.
  pg::call([] { CommandCounterIncrement(); });
  drift::migrations_start = GetCurrentCommandId(false);
  drift::migrations_subxact = GetCurrentSubTransactionId();
  catalog::OwnerScope owner;
  // A catalog updated from 0.2.0 has never recorded a proof: the first apply compares whole
  // snapshots once, and an empty difference starts the chain of proofs. (With a proof, the
  // snapshot recorded after the migrations is checked against it then: one catalog scan.)
  if (!settings::snapshot_proof || !read_proof().never_recorded) return;
  // All of the snapshot, excluded objects too: the proof will vouch for every entry.
  static pg::Query differences{
      "SELECT pg_catalog.count(*) FROM migrate.snapshot_diff(migrate.recorded_snapshot("
      "(SELECT pg_catalog.max(s.id) FROM migrate.schema_snapshots s)), migrate.schema_snapshot())"};
  std::optional<uint64_t> before = drift::catalog_fingerprint();
  differences.run();
  int64 n = pg::int8_value(0, 1);
  pg::free_result();
  if (before && n == 0 && before == drift::catalog_fingerprint()) drift::fingerprint_at_start = before;
}

namespace {
void read_preexisting_differences(PreexistingDifferences& out);
}  // namespace

PreexistingDifferences drift_preexisting_differences(const char* unread) {
  PreexistingDifferences out;
  catalog::OwnerScope owner;
  static pg::Query current{
      "SELECT pg_catalog.to_regprocedure('migrate.recorded_snapshot(bigint)') IS NOT NULL "
      "AND EXISTS (SELECT FROM migrate.schema_snapshots)"};
  current.run();
  bool usable = pg::bool_value(0, 1);
  pg::free_result();
  if (!usable || schema_unchanged()) return out;
  // A whole snapshot reads every relation, and waits for one a session holds locked: no longer
  // than pg_migrate.lock_timeout. Then the snapshot after the run takes earlier drift in, as
  // before this was kept.
  std::string timeout = std::to_string(settings::lock_timeout_ms > 0 ? settings::lock_timeout_ms : 1000);
  const char* t = timeout.c_str();
  try {
    pg::SubTransaction sub;
    pg::call([&] {
      (void)set_config_option("lock_timeout", t, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
    });
    read_preexisting_differences(out);
    // Rolled back, not committed: it only read, and a SET LOCAL survives a committed
    // subtransaction (the lock_timeout above stayed for the rest of the caller's transaction).
    sub.rollback();
  } catch (const pg::PgError& e) {
    if (e.is_interrupt() || e.sqlerrcode() != ERRCODE_LOCK_NOT_AVAILABLE) throw;
    out = PreexistingDifferences{};
    pg::call([&] { ereport(NOTICE, (errmsg("pg_migrate: the schema could not be read %s", unread))); });
  }
  return out;
}

namespace {

void read_preexisting_differences(PreexistingDifferences& out) {
  // MATERIALIZED: each snapshot is built once. As plain subqueries of STABLE functions the
  // planner pulled them up into the filter, which built both snapshots again for every key
  // (quadratic: 250 tables took 20 s, 1,000 tables 5 minutes).
  static pg::Query differing{
      "WITH p AS MATERIALIZED (SELECT migrate.recorded_snapshot((SELECT pg_catalog.max(s.id) FROM migrate.schema_snapshots s)) AS s), "
      "l AS MATERIALIZED (SELECT migrate.schema_snapshot() AS s) "
      "SELECT d.k, (p.s OPERATOR(pg_catalog.->) d.k)::pg_catalog.text, (l.s OPERATOR(pg_catalog.->) d.k)::pg_catalog.text "
      "FROM p, l, "
      "LATERAL (SELECT pg_catalog.jsonb_object_keys(p.s) UNION SELECT pg_catalog.jsonb_object_keys(l.s)) d(k) "
      "WHERE (p.s OPERATOR(pg_catalog.->) d.k) IS DISTINCT FROM (l.s OPERATOR(pg_catalog.->) d.k)"};
  uint64 n = differing.run();
  for (uint64 i = 0; i < n; ++i) {
    out.keys.push_back(pg::text_value(i, 1));
    out.recorded.push_back(pg::is_null(i, 2) ? std::nullopt : std::optional<std::string>(pg::text_value(i, 2)));
    out.live.push_back(pg::is_null(i, 3) ? std::nullopt : std::optional<std::string>(pg::text_value(i, 3)));
  }
  pg::free_result();
}

}  // namespace

void drift_record_snapshot(const char* reason, const PreexistingDifferences* keep) {
  static pg::Query whole{
      "INSERT INTO migrate.schema_snapshots (reason, snapshot) "
      "VALUES ($1, migrate.schema_snapshot())"};
  // The previous snapshot with the touched objects refreshed (incremental in a large schema).
  static pg::Query refresh{
      "SELECT migrate.record_refreshed_snapshot($1, $2::pg_catalog.text[]::pg_catalog.oid[], "
      "$3::pg_catalog.text[]::pg_catalog.oid[], $4, $5, $6, $7, $8, $9)"};
  static pg::Query prune_old{
      "DELETE FROM migrate.schema_snapshots WHERE id < (SELECT s.id FROM migrate.schema_snapshots s "
      "ORDER BY s.id DESC OFFSET $1 - 1 LIMIT 1)"};
  // The newest drift_snapshots_kept rows stay, and the full rows they are based on.
  static pg::Query prune{
      "DELETE FROM migrate.schema_snapshots d WHERE d.id < (SELECT s.id FROM migrate.schema_snapshots s "
      "ORDER BY s.id DESC OFFSET $1 - 1 LIMIT 1) AND NOT EXISTS (SELECT FROM migrate.schema_snapshots k "
      "WHERE k.base_id OPERATOR(pg_catalog.=) d.id AND k.id >= (SELECT s.id FROM migrate.schema_snapshots s "
      "ORDER BY s.id DESC OFFSET $1 - 1 LIMIT 1))"};
  catalog::OwnerScope owner;
  // The refresh follows the migrations through pg_migrate's event triggers: only when they
  // fire. A catalog older than 0.2.0 (before its ALTER EXTENSION UPDATE) has no incremental rows.
  bool current_catalog = pg::call(refresh_function_exists);
  bool triggers_fire = pg::call(drift_triggers_fire);
  // Nothing tracked (no DDL in the migrations) is an empty refresh: the previous snapshot again.
  bool incremental = (std::strcmp(reason, "apply") == 0 || std::strcmp(reason, "revert") == 0 ||
                      std::strcmp(reason, "callback") == 0) &&
                     drift::migrations_expected && !(drift::tracking && drift::tracking->whole) &&
                     !drift::whole_requested && current_catalog && triggers_fire;
  Proof previous;
  if (current_catalog) previous = read_proof();
  bool fingerprints = previous.recorded_at_all;
  uint64_t fingerprints_before = drift::fingerprint_count();
  bool prove = fingerprints && settings::snapshot_proof;
  // The fingerprint of the catalogs the new snapshot describes exactly, if that is proven.
  std::optional<uint64_t> proven;
  if (incremental) {
    // The catalog rows as they were when the migrations started (but with what other
    // transactions committed since) are the state proven for the previous snapshot: no drift
    // happened before or while they ran, so the refresh of what they touched is exact too.
    std::optional<uint64_t> before;
    if (prove) before = previous.fingerprint ? previous.fingerprint : drift::fingerprint_at_start;
    uint64_t ended_before_proof = drift::transactions_ended();  // (before the proof's snapshot)
    if (before && drift::migrations_start) {
      std::optional<drift::FingerprintSums> sums = drift::catalog_fingerprint_since(*drift::migrations_start);
      if (sums && sums->preexisting == *before) proven = sums->visible;
    }
    const drift::Tracking& t = drift::state();
    bool taken_whole = false;
    if (proven && most_relations_touched(t)) {
      // Proven, the refreshed snapshot is the whole one; and for most of the schema (a first
      // deploy) the whole snapshot costs less (1,000 new tables: ~40 ms instead of ~60). It
      // is kept only if nothing was committed since the proof's catalog read: a whole snapshot
      // would take another session's change in, where the refresh reads only the objects the
      // migrations hold locks on.
      pg::SubTransaction sub;
      whole.run({pg::text_param(reason)});
      pg::free_result();
      // No transaction ended since the proof's snapshot, and the insert ran no code that could
      // change a catalog: the snapshot read the proven rows, without another fingerprint to show it.
      bool nothing_committed = drift::transactions_ended() == ended_before_proof && snapshot_insert_runs_no_user_code();
      if (nothing_committed || drift::catalog_fingerprint() == proven) {
        sub.commit();
        taken_whole = true;
      } else {
        sub.rollback();
      }
    }
    if (!taken_whole)
      refresh.run({pg::text_param(reason), pg::text_array_param(t.classids), pg::text_array_param(t.objids),
                   pg::text_array_param(t.rel_names), pg::text_array_param(t.type_names),
                   pg::text_array_param(t.nsp_names), pg::text_array_param(t.proc_names),
                   pg::text_array_param(t.drop_keys), pg::text_array_param(t.drop_prefixes)});
  } else if (keep && !keep->keys.empty()) {
    // The whole snapshot, but what differed before and is as it was keeps its recorded entry:
    // the recorded snapshot then differs from the live schema (no proof).
    static pg::Query keeping{
        "WITH l AS (SELECT migrate.schema_snapshot() AS s), "
        "d AS (SELECT d.k, d.r::pg_catalog.jsonb AS recorded FROM l, "
        "      ROWS FROM (pg_catalog.unnest($2::pg_catalog.text[]), pg_catalog.unnest($3::pg_catalog.text[]), "
        "                 pg_catalog.unnest($4::pg_catalog.text[])) AS d(k, r, v) "
        "      WHERE (l.s OPERATOR(pg_catalog.->) d.k) IS NOT DISTINCT FROM d.v::pg_catalog.jsonb) "
        "INSERT INTO migrate.schema_snapshots (reason, snapshot) "
        "SELECT $1, (l.s OPERATOR(pg_catalog.-) ARRAY(SELECT d.k FROM d)) OPERATOR(pg_catalog.||) "
        "  coalesce((SELECT pg_catalog.jsonb_object_agg(d.k, d.recorded) FROM d WHERE d.recorded IS NOT NULL), "
        "           '{}'::pg_catalog.jsonb) "
        "FROM l"};
    keeping.run({pg::text_param(reason), pg::text_array_param(keep->keys), pg::nullable_text_array_param(keep->recorded),
                 pg::nullable_text_array_param(keep->live)});
  } else {
    // A whole snapshot is exact if the catalogs did not change while it was taken.
    std::optional<uint64_t> before;
    if (prove) before = drift::catalog_fingerprint();
    whole.run({pg::text_param(reason)});
    if (before && before == drift::catalog_fingerprint()) proven = before;
  }
  if (fingerprints) {
    static pg::Query record_proof{
        "UPDATE migrate.catalog_state SET snapshot_id = (SELECT pg_catalog.max(s.id) FROM migrate.schema_snapshots s), "
        "snapshot_fingerprint = $1"};
    record_proof.run({proven ? pg::int8_param(static_cast<int64>(*proven)) : pg::null_param(INT8OID)});
    if (prove && drift::fingerprint_count() != fingerprints_before) drift::store_page_sums();
  }
  drift::reset_snapshot_tracking();
  if (current_catalog) prune.run({pg::int8_param(settings::drift_snapshots_kept)});
  else prune_old.run({pg::int8_param(settings::drift_snapshots_kept)});
}

}  // namespace pgm

extern "C" {
#include "utils/array.h"
#include "utils/jsonb.h"
}

using namespace pgm;

namespace {

// Plain C (no C++ object alive): the keys of the top level of `snapshot` starting with one of
// the `count` prefixes, as a text[] in the current memory context.
// A jsonb object keeps its keys sorted by length, then by bytes (as uniqueifyJsonbObject
// sorts them): the keys of one length starting with a prefix are adjacent. So each prefix is
// looked up by binary search in each length's run, instead of a pass over every key (140,000
// in a snapshot of 20,000 tables, which a revert dropping a table read whole).
ArrayType* keys_with_prefixes(Jsonb* snapshot, text** prefixes, int count) {
  ArrayBuildState* out = initArrayResult(TEXTOID, CurrentMemoryContext, false);
  const JsonbContainer* root = &snapshot->root;
  if (JB_ROOT_IS_OBJECT(snapshot) && !JB_ROOT_IS_SCALAR(snapshot)) {
    int n = static_cast<int>(JsonContainerSize(root));
    const char* base = reinterpret_cast<const char*>(&root->children[n * 2]);
    auto key_length = [&](int i) { return static_cast<int>(getJsonbLength(root, i)); };
    auto key_data = [&](int i) { return base + getJsonbOffset(root, i); };
    // First index in [from, n) whose key is longer than `length` - 1 (or n).
    auto first_of_length = [&](int from, int length) {
      int lo = from, hi = n;
      while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (key_length(mid) < length) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    bool* matched = static_cast<bool*>(palloc0(Max(n, 1) * sizeof(bool)));
    for (int p = 0; p < count; ++p) {
      const char* prefix = VARDATA_ANY(prefixes[p]);
      int plen = VARSIZE_ANY_EXHDR(prefixes[p]);
      for (int run = first_of_length(0, plen); run < n;) {
        int length = key_length(run);
        int end = first_of_length(run, length + 1);
        int lo = run, hi = end;  // first key of the run not below the prefix
        while (lo < hi) {
          int mid = lo + (hi - lo) / 2;
          if (memcmp(key_data(mid), prefix, plen) < 0) lo = mid + 1;
          else hi = mid;
        }
        for (int i = lo; i < end && memcmp(key_data(i), prefix, plen) == 0; ++i) matched[i] = true;
        run = end;
      }
    }
    for (int i = 0; i < n; ++i)  // in the snapshot's key order, each key once
      if (matched[i])
        accumArrayResult(out, PointerGetDatum(cstring_to_text_with_len(key_data(i), key_length(i))), false, TEXTOID,
                         CurrentMemoryContext);
    pfree(matched);
  }
  return DatumGetArrayTypeP(makeArrayResult(out, CurrentMemoryContext));
}

}  // namespace

// migrate.snapshot_keys_with_prefix(snapshot jsonb, prefixes text[]) RETURNS text[]: the keys of
// a snapshot starting with any of the prefixes (what dropping a relation removes), in one
// pass over the keys without building a row per entry.
PGM_FUNCTION(pgm_snapshot_keys_with_prefix) {
  Jsonb* snapshot = pg::call([&] { return PG_GETARG_JSONB_P(0); });
  ArrayType* array = pg::call([&] { return PG_GETARG_ARRAYTYPE_P(1); });
  Datum* elems = nullptr;
  bool* nulls = nullptr;
  int count = 0;
  pg::call([&] { deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count); });
  std::vector<text*> prefixes;
  for (int i = 0; i < count; ++i)
    if (!nulls[i]) prefixes.push_back(pg::call([&] { return DatumGetTextPP(elems[i]); }));
  text** p = prefixes.data();
  int n = static_cast<int>(prefixes.size());
  ArrayType* result = pg::call([&] { return keys_with_prefixes(snapshot, p, n); });
  return PointerGetDatum(result);
}

// migrate.schema_unchanged(): whether no catalog row changed since the newest snapshot was
// recorded, proven by the catalog fingerprint (false: changed, or not known).
PGM_FUNCTION(pgm_schema_unchanged) {
  pg::SpiConnection spi;
  return BoolGetDatum(schema_unchanged());
}

// migrate.record_install_snapshot(): the install script's snapshot, recorded as every other
// (with its fingerprint proven), so the first apply's refresh can be proven exact too.
PGM_FUNCTION(pgm_record_install_snapshot) {
  if (!creating_extension || CurrentExtensionObject != pg::call([] { return get_extension_oid("pg_migrate", true); }))
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                "migrate.record_install_snapshot() runs only in CREATE EXTENSION pg_migrate",
                {}, "Snapshots are recorded by apply, revert, baseline and migrate.acknowledge_drift().");
  pg::SpiConnection spi;
  drift_record_snapshot("install");
  return (Datum)0;
}

// migrate.install_snapshot_restored(), schema_snapshots' BEFORE INSERT trigger for install rows
// (0.9.0): one inserted outside CREATE EXTENSION pg_migrate is a dump's, restored into a copy
// (pg_restore, a plain dump through psql). The copy's own install snapshot, which its CREATE
// EXTENSION took before the restore created the schema's objects (every one of them was then a
// schema difference), gives way to it, and to its id; the proof recorded with it goes too.
PGM_FUNCTION(pgm_install_snapshot_restored) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    throw Error("39P01", "migrate.install_snapshot_restored() must be called as a trigger");
  TriggerData* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
  if (!TRIGGER_FIRED_BEFORE(trig->tg_event) || !TRIGGER_FIRED_FOR_ROW(trig->tg_event) ||
      !TRIGGER_FIRED_BY_INSERT(trig->tg_event))
    throw Error("39P01", "migrate.install_snapshot_restored() must be a BEFORE INSERT row trigger");
  bool own_install = creating_extension &&
                     CurrentExtensionObject == pg::call([] { return get_extension_oid("pg_migrate", true); });
  if (!own_install) {
    static pg::Query drop_own{"DELETE FROM migrate.schema_snapshots WHERE reason OPERATOR(pg_catalog.=) 'install'"};
    static pg::Query forget_proof{"UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL"};
    pg::SpiConnection spi;
    catalog::OwnerScope owner;
    drop_own.run();
    forget_proof.run();
  }
  return PointerGetDatum(trig->tg_trigtuple);
}

// The live schema against the snapshot `before` (an SQL expression), without excluded objects.
// An index is scoped by its table (the "table" of its entry, live or recorded), as capture
// scopes it.
#define SCHEMA_DIFF_AGAINST(before)                                                            \
  "WITH b AS MATERIALIZED (SELECT " before " AS s), "                                         \
  " a AS MATERIALIZED (SELECT migrate.schema_snapshot() AS s) "                                \
  "SELECT d.object, d.change, d.detail FROM b, a, migrate.snapshot_diff(b.s, a.s) d, "         \
  " LATERAL (SELECT pg_catalog.split_part(d.object, ' ', 1) AS kind, "                         \
  "   pg_catalog.substr(d.object, pg_catalog.strpos(d.object, ' ') + 1) AS identity) o, "      \
  " LATERAL (SELECT pg_catalog.parse_ident(CASE WHEN o.kind OPERATOR(pg_catalog.=) 'index' THEN COALESCE(" \
  "   (a.s OPERATOR(pg_catalog.->) d.object) OPERATOR(pg_catalog.->>) 'table', "               \
  "   (b.s OPERATOR(pg_catalog.->) d.object) OPERATOR(pg_catalog.->>) 'table', o.identity) "   \
  "   ELSE o.identity END, false) AS names) k "                                                \
  "WHERE o.kind OPERATOR(pg_catalog.=) 'extension' OR NOT migrate.drift_excluded(k.names[1], "                      \
  "  CASE WHEN o.kind OPERATOR(pg_catalog.=) 'schema' THEN NULL ELSE k.names[2] END) "                              \
  "ORDER BY d.object"

// migrate.schema_diff(): the newest recorded snapshot against the live schema, without
// excluded objects.
PGM_FUNCTION(pgm_schema_diff) {
  catalog::ensure_caller_may_read("schema_snapshots");  // (it shows recorded definitions)
  pg::ResultSet out(fcinfo);
  pg::SpiConnection spi;
  // The newest recorded snapshot, full or incremental (a catalog older than 0.2.0 has only
  // full ones and no recorded_snapshot()).
  static pg::Query current{"SELECT pg_catalog.to_regprocedure('migrate.recorded_snapshot(bigint)') IS NOT NULL"};
  static pg::Query q_old{SCHEMA_DIFF_AGAINST(
      "(SELECT s.snapshot FROM migrate.schema_snapshots s ORDER BY s.id DESC LIMIT 1)")};
  // No catalog row changed since the newest snapshot was proven exact: nothing differs, and
  // the whole-schema snapshot below is not needed. (pg_migrate.snapshot_proof = off compares
  // whole snapshots always.)
  if (settings::snapshot_proof && schema_unchanged()) return out.done();
  current.run();
  bool current_catalog = pg::bool_value(0, 1);
  pg::free_result();
  static pg::Query q_new{SCHEMA_DIFF_AGAINST(
      "migrate.recorded_snapshot((SELECT pg_catalog.max(s.id) FROM migrate.schema_snapshots s))")};
  catalog::OwnerScope owner;
  uint64 n = current_catalog ? q_new.run() : q_old.run();
  for (uint64 i = 0; i < n; ++i) {
    std::string detail = pg::text_value(i, 3);
    out.add_row({pg::Cell::text(pg::text_value(i, 1)), pg::Cell::text(pg::text_value(i, 2)),
                 pg::is_null(i, 3) ? pg::Cell::null_value() : pg::Cell::text(detail)});
  }
  pg::free_result();
  return out.done();
}

extern "C" {
#include "storage/proc.h"
#include "utils/datum.h"
#include "utils/memutils.h"
}

namespace {

// Full snapshots read by migrate.recorded_entry() in this transaction, detoasted once: a
// revert's check reads a few entries of a base snapshot of 20,000 tables (tens of MB once
// decompressed), which `snapshot -> key` decompressed again for every entry. Every call still
// reads the row (without its snapshot): a row that is gone, rolled back or not visible to the
// caller is never answered from the cache, and a cached copy is used only for the same row
// version (ctid and xmin: a recreated extension reuses ids).
struct CachedSnapshot {
  std::string version;  // "id ctid xmin"
  Jsonb* snapshot;
};
constexpr int kCachedSnapshots = 2;
CachedSnapshot cached_snapshots[kCachedSnapshots];
int cached_next = 0;
LocalTransactionId cached_in = InvalidLocalTransactionId;

// The full snapshot of row `id`, or NULL (no such row, or one without a snapshot). Inside the
// caller's SpiConnection.
Jsonb* full_snapshot(int64 id) {
  if (cached_in != current_local_transaction()) {  // TopTransactionContext of an older transaction is gone
    cached_in = current_local_transaction();
    for (CachedSnapshot& c : cached_snapshots) c = CachedSnapshot{std::string(), nullptr};
  }
  static pg::Query version_q{
      "SELECT s.ctid::pg_catalog.text OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) s.xmin::pg_catalog.text, "
      "s.snapshot IS NULL FROM migrate.schema_snapshots s WHERE s.id OPERATOR(pg_catalog.=) $1"};
  version_q.run({pg::int8_param(id)});
  bool exists = pg::result_rows() > 0 && !pg::bool_value(0, 2);
  std::string version = exists ? std::to_string(id) + " " + pg::text_value(0, 1) : std::string();
  pg::free_result();
  if (!exists) return nullptr;
  for (const CachedSnapshot& c : cached_snapshots)
    if (c.snapshot && c.version == version) return c.snapshot;
  static pg::Query q{"SELECT s.snapshot FROM migrate.schema_snapshots s WHERE s.id OPERATOR(pg_catalog.=) $1"};
  q.run({pg::int8_param(id)});
  Jsonb* copy = nullptr;
  if (pg::result_rows() > 0) {
    bool isnull;
    Datum d = pg::datum_value(0, 1, &isnull);
    if (!isnull)
      copy = pg::call([&] {
        MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);
        Jsonb* j = reinterpret_cast<Jsonb*>(PG_DETOAST_DATUM_COPY(d));
        MemoryContextSwitchTo(old);
        return j;
      });
  }
  pg::free_result();
  if (!copy) return nullptr;
  // At most two copies are held (a revert reads one base): the oldest is freed.
  CachedSnapshot& slot = cached_snapshots[cached_next];
  cached_next = (cached_next + 1) % kCachedSnapshots;
  if (slot.snapshot) {
    Jsonb* old = slot.snapshot;
    pg::call([&] { pfree(old); });
  }
  slot = CachedSnapshot{version, copy};
  return copy;
}

// snapshot -> key, in `context` (NULL: no such key).
Datum entry_of(Jsonb* snapshot, text* key, MemoryContext context, bool* isnull) {
  *isnull = true;
  if (!snapshot) return (Datum)0;
  return pg::call([&] {
    if (!JB_ROOT_IS_OBJECT(snapshot)) return (Datum)0;
    JsonbValue vbuf;
    JsonbValue* v = getKeyJsonValueFromContainer(&snapshot->root, VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), &vbuf);
    if (!v) return (Datum)0;
    MemoryContext old = MemoryContextSwitchTo(context);
    Datum d = JsonbPGetDatum(JsonbValueToJsonb(v));
    MemoryContextSwitchTo(old);
    *isnull = false;
    return d;
  });
}

}  // namespace

// migrate.recorded_entry(snapshot_id bigint, key text) RETURNS jsonb: the entry `key` of a
// recorded snapshot, full or incremental (its changes, its removed keys, else its base row's
// entry), without composing the snapshot; NULL if there is none. Full rows are decompressed
// once per transaction.
PGM_FUNCTION(pgm_recorded_entry) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  int64 id = PG_GETARG_INT64(0);
  text* key = pg::call([&] { return PG_GETARG_TEXT_PP(1); });
  std::string key_text(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key));
  pg::SpiConnection spi;
  MemoryContext caller = spi.caller_context();
  static pg::Query row{
      "SELECT s.base_id, s.changes OPERATOR(pg_catalog.->) $2, "
      "coalesce(s.changes OPERATOR(pg_catalog.?) $2, false), "
      "coalesce($2 OPERATOR(pg_catalog.=) ANY (s.removed), false) "
      "FROM migrate.schema_snapshots s WHERE s.id OPERATOR(pg_catalog.=) $1"};
  row.run({pg::int8_param(id), pg::text_param(key_text)});
  if (pg::result_rows() == 0) {
    pg::free_result();
    PG_RETURN_NULL();
  }
  bool full = pg::is_null(0, 1);
  int64 base = full ? 0 : pg::int8_value(0, 1);
  bool changed = pg::bool_value(0, 3), removed = pg::bool_value(0, 4);
  bool isnull = true;
  Datum result = (Datum)0;
  if (!full && changed) {
    Datum d = pg::datum_value(0, 2, &isnull);
    if (!isnull)
      result = pg::call([&] {
        MemoryContext old = MemoryContextSwitchTo(caller);
        Datum copy = datumCopy(d, false, -1);
        MemoryContextSwitchTo(old);
        return copy;
      });
  }
  pg::free_result();
  if (full) result = entry_of(full_snapshot(id), key, caller, &isnull);
  else if (!changed && !removed) result = entry_of(full_snapshot(base), key, caller, &isnull);
  if (isnull) PG_RETURN_NULL();
  return result;
}

// migrate.recorded_keys_with_prefix(snapshot_id bigint, prefixes text[]) RETURNS text[]:
// snapshot_keys_with_prefix() of the full recorded row `snapshot_id`, decompressed once per
// transaction (shared with migrate.recorded_entry(), which a revert's check reads it with).
PGM_FUNCTION(pgm_recorded_keys_with_prefix) {
  if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
  int64 id = PG_GETARG_INT64(0);
  ArrayType* array = pg::call([&] { return PG_GETARG_ARRAYTYPE_P(1); });
  pg::SpiConnection spi;
  MemoryContext caller = spi.caller_context();
  Jsonb* snapshot = full_snapshot(id);
  if (!snapshot) PG_RETURN_NULL();
  ArrayType* result = pg::call([&] {
    Datum* elems = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    MemoryContext old = MemoryContextSwitchTo(caller);
    deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
    text** prefixes = static_cast<text**>(palloc(sizeof(text*) * (count + 1)));
    int n = 0;
    for (int i = 0; i < count; ++i)
      if (!nulls[i]) prefixes[n++] = DatumGetTextPP(elems[i]);
    ArrayType* keys = keys_with_prefixes(snapshot, prefixes, n);
    MemoryContextSwitchTo(old);
    return keys;
  });
  return PointerGetDatum(result);
}
