// Rows of the catalog written directly. The records an apply leaves: per migration one history
// row, the copy of its script in migrate.scripts (unless that script is kept already) and the
// applied state in migrate.migrations; and the migrations and file rows migrate.sync()
// registers. The SQL statement that wrote them (catalog.cpp, still used for reverts
// and for catalogs of other versions) paid for planning, a hash join over all migrations and a
// speculative insert per batch: about a seventh of an apply of one-statement migrations. Rows
// go through the executor's single-row paths (ExecSimpleRelationInsert / Update, as logical
// replication applies rows): constraints, triggers (the protect trigger included) and indexes
// behave as for an INSERT or UPDATE.
#include "catalog_record.hpp"

#include <cstring>

#include "pg/guard.hpp"
#include "pg/rows.hpp"
#include "xact.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opclass.h"
#include "catalog/namespace.h"
#include "commands/defrem.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/bufmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/xid8.h"
}

namespace pgm::catalog {
namespace {

using pg::rows::Column;
using pg::rows::has_columns;

// The columns written, as 0.2.0 and later define them (0.1.0 has no migrate.scripts and is
// recorded through SQL).
constexpr Column kHistory[] = {{"id", INT8OID},           {"version", TEXTOID},      {"name", TEXTOID},
                               {"action", TEXTOID},       {"performed_at", TIMESTAMPTZOID},
                               {"performed_by", TEXTOID}, {"role", TEXTOID},         {"transaction_id", XID8OID},
                               {"duration_ms", FLOAT8OID}, {"checksum", TEXTOID},    {"detail", JSONBOID},
                               {"script_checksum", TEXTOID}};
constexpr int kHistoryNatts = sizeof(kHistory) / sizeof(kHistory[0]);
constexpr Column kScripts[] = {
    {"checksum", TEXTOID}, {"script", TEXTOID}, {"first_seen", TIMESTAMPTZOID}, {"first_seen_by", TEXTOID}};
constexpr int kScriptsNatts = sizeof(kScripts) / sizeof(kScripts[0]);

// A unique, valid, single-column btree index (not a partitioned one) on text column `attnum`
// of a plain table, with the default operator class and the column's collation: the scans
// below compare with texteq in that collation.
bool unique_key_on(Oid index, Oid table, AttrNumber attnum) {
  if (!OidIsValid(index) || get_rel_relkind(table) != RELKIND_RELATION || get_rel_relkind(index) != RELKIND_INDEX)
    return false;
  HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
  if (!HeapTupleIsValid(tup)) return false;
  Form_pg_index form = (Form_pg_index)GETSTRUCT(tup);
  bool ok = form->indrelid == table && form->indisunique && form->indisvalid && form->indnkeyatts == 1 &&
            form->indkey.values[0] == attnum && heap_attisnull(tup, Anum_pg_index_indexprs, nullptr) &&
            heap_attisnull(tup, Anum_pg_index_indpred, nullptr);
  if (ok) {
    bool isnull;
    oidvector* classes = (oidvector*)DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indclass, &isnull));
    ok = !isnull && classes->values[0] == TEXT_BTREE_OPS_OID;  // (text's default btree class)
    oidvector* collations =
        ok ? (oidvector*)DatumGetPointer(SysCacheGetAttr(INDEXRELID, tup, Anum_pg_index_indcollation, &isnull)) : nullptr;
    Oid type, collation;
    int32 typmod;
    if (ok) get_atttypetypmodcoll(table, attnum, &type, &typmod, &collation);
    ok = ok && !isnull && type == TEXTOID && collations->values[0] == collation;
  }
  ReleaseSysCache(tup);
  if (!ok) return false;
  tup = SearchSysCache1(RELOID, ObjectIdGetDatum(index));
  if (!HeapTupleIsValid(tup)) return false;
  ok = ((Form_pg_class)GETSTRUCT(tup))->relam == BTREE_AM_OID;
  ReleaseSysCache(tup);
  return ok;
}

// A scan for the row whose text key column `attnum` equals `value`, through `index` (one that
// unique_key_on() accepted). systable_beginscan copies the key: it need not outlive the call.
SysScanDesc scan_by_key(Relation rel, Oid index, AttrNumber attnum, Datum value, Snapshot snapshot) {
  ScanKeyData key;
  ScanKeyInit(&key, attnum, BTEqualStrategyNumber, F_TEXTEQ, value);
  key.sk_collation = TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attcollation;
  return systable_beginscan(rel, index, true, snapshot, 1, &key);
}

// Whether the row whose unique key column `attnum` equals `value` exists.
bool key_exists(Relation rel, Oid index, AttrNumber attnum, Datum value, Snapshot snapshot) {
  SysScanDesc scan = scan_by_key(rel, index, attnum, value, snapshot);
  bool found = HeapTupleIsValid(systable_getnext(scan));
  systable_endscan(scan);
  return found;
}

// Where read_pending() found each pending row (version -> TID), for reading and updating the
// same rows later in the transaction by TID instead of searching the primary key. Only a hint:
// each use checks that the block is still in the table (the lock that kept VACUUM FULL or a
// truncating VACUUM away may be gone, with the subtransaction that took it), that the row there
// is visible and has that version, and searches the key otherwise.
constexpr int kHintKey = 128;  // longer versions get no hint
struct RowHint {
  char version[kHintKey];
  ItemPointerData tid;
};
HTAB* row_hints = nullptr;  // in TopTransactionContext: valid in transaction row_hints_xact only
LocalTransactionId row_hints_xact = InvalidLocalTransactionId;
Oid row_hints_table = InvalidOid;  // the migrations table they point into

HTAB* hints(Oid table, bool create) {
  if (row_hints && row_hints_xact == current_local_transaction() && row_hints_table == table) return row_hints;
  if (row_hints && row_hints_xact == current_local_transaction()) hash_destroy(row_hints);  // another table's
  row_hints = nullptr;  // (else its memory went with the transaction that made it)
  if (!create) return nullptr;
  row_hints_table = table;
  HASHCTL ctl;
  memset(&ctl, 0, sizeof ctl);
  ctl.keysize = kHintKey;
  ctl.entrysize = sizeof(RowHint);
  ctl.hcxt = TopTransactionContext;
  row_hints = hash_create("pg_migrate row hints", 256, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
  row_hints_xact = current_local_transaction();
  return row_hints;
}

void note_row(Relation rel, const char* version, ItemPointer tid) {
  if (strlen(version) >= kHintKey) return;
  RowHint* hint =
      static_cast<RowHint*>(hash_search(hints(RelationGetRelid(rel), true), version, HASH_ENTER, nullptr));
  hint->tid = *tid;
}

// Whether a text value as stored in a row (not toasted: short keys and modes never are; a toasted
// one counts as different) is the `length` bytes of `text`.
bool stored_text_is(Datum value, const char* text, size_t length) {
  Pointer p = DatumGetPointer(value);
  return !VARATT_IS_EXTERNAL(p) && !VARATT_IS_COMPRESSED(p) && VARSIZE_ANY_EXHDR(p) == length &&
         memcmp(VARDATA_ANY(p), text, length) == 0;
}

// The row of `version` (key column `attnum`) at its hinted TID, into `slot`, if it is there and
// visible to `snapshot`. `blocks`: the table's size, read by the caller since it locked the
// table (no VACUUM can shrink it while that lock is held).
bool fetch_hinted(Relation rel, BlockNumber blocks, AttrNumber attnum, const char* version, Snapshot snapshot,
                  TupleTableSlot* slot) {
  HTAB* h = hints(RelationGetRelid(rel), false);
  size_t length = strlen(version);
  if (!h || length >= kHintKey) return false;
  RowHint* hint = static_cast<RowHint*>(hash_search(h, version, HASH_FIND, nullptr));
  if (!hint) return false;
  ItemPointerData tid = hint->tid;
  if (ItemPointerGetBlockNumber(&tid) >= blocks) return false;
  if (!table_tuple_fetch_row_version(rel, &tid, snapshot, slot)) return false;
  bool isnull;
  Datum key = slot_getattr(slot, attnum, &isnull);
  bool same = !isnull && stored_text_is(key, version, length);
  if (!same) ExecClearTuple(slot);
  return same;
}

struct Layout {
  Oid migrations, history, scripts, history_seq, migrations_key, scripts_key;
};

bool find_layout(Layout& l) {
  Oid nsp = get_namespace_oid("migrate", true);
  if (!OidIsValid(nsp)) return false;
  l.migrations = get_relname_relid("migrations", nsp);
  l.history = get_relname_relid("history", nsp);
  l.scripts = get_relname_relid("scripts", nsp);
  l.history_seq = get_relname_relid("history_id_seq", nsp);
  l.migrations_key = get_relname_relid("migrations_pkey", nsp);
  l.scripts_key = get_relname_relid("scripts_pkey", nsp);
  if (!OidIsValid(l.migrations) || !OidIsValid(l.history) || !OidIsValid(l.scripts) || !OidIsValid(l.history_seq))
    return false;
  // history.id's own sequence (serial), as its default uses.
  Oid owner = InvalidOid;
  int32 owner_column = 0;
  return sequenceIsOwned(l.history_seq, DEPENDENCY_AUTO, &owner, &owner_column) && owner == l.history &&
         owner_column == 1;
}

// Everything PostgreSQL does, on plain data (no C++ object with a destructor): returns false,
// having written nothing, when the tables are not laid out as this code writes them, or have
// triggers the single-row paths would not fire.
bool write_records(const AppliedRecord* steps, int count, const char* role) {
  Layout l;
  if (!find_layout(l)) return false;
  // migrations: the columns an apply updates (found by name: the table has grown since 0.1.0),
  // under the lock begin() takes, which stays: no ALTER TABLE can commit in between.
  Relation probe = table_open(l.migrations, RowExclusiveLock);
  AttrNumber m_version = pg::rows::column_number(probe, "version", TEXTOID);
  AttrNumber m_up = pg::rows::column_number(probe, "up_sql", TEXTOID);
  AttrNumber m_checksum = pg::rows::column_number(probe, "checksum", TEXTOID);
  AttrNumber m_seq = pg::rows::column_number(probe, "applied_seq", INT8OID);
  AttrNumber m_at = pg::rows::column_number(probe, "applied_at", TIMESTAMPTZOID);
  AttrNumber m_by = pg::rows::column_number(probe, "applied_by", TEXTOID);
  table_close(probe, NoLock);
  if (!m_version || !m_up || !m_checksum || !m_seq || !m_at || !m_by) return false;
  const AttrNumber updated[] = {m_seq, m_at, m_by, 0};
  pg::rows::Table targets[3] = {{l.history, nullptr, nullptr, nullptr},
                                {l.scripts, nullptr, nullptr, nullptr},
                                {l.migrations, updated, nullptr, nullptr}};
  EState* estate = pg::rows::begin(targets, 3);
  pg::rows::Table& history = targets[0];
  pg::rows::Table& scripts = targets[1];
  pg::rows::Table& migrations = targets[2];
  bool usable = has_columns(history.rel, kHistory, kHistoryNatts) && has_columns(scripts.rel, kScripts, kScriptsNatts) &&
                migrations.rel->rd_rel->relkind == RELKIND_RELATION &&
                unique_key_on(l.migrations_key, l.migrations, m_version) && unique_key_on(l.scripts_key, l.scripts, 1) &&
                pg::rows::single_row_path_allowed(history.rel, InvalidOid) &&
                pg::rows::single_row_path_allowed(scripts.rel, InvalidOid) &&
                pg::rows::single_row_path_allowed(migrations.rel, l.migrations_key);
  if (!usable) {
    pg::rows::abandon(estate, targets, 3);
    return false;
  }

  // The snapshot sees this transaction's earlier commands (the previous batches' scripts);
  // scripts of this batch are tracked in `inserted`.
  EPQState epq;
  pg::rows::begin_updates(estate, &epq);
  Snapshot snapshot = estate->es_snapshot;

  TupleDesc mdesc = RelationGetDescr(migrations.rel);
  TupleTableSlot* h_slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(history.rel), &TTSOpsVirtual);
  TupleTableSlot* s_slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(scripts.rel), &TTSOpsVirtual);
  TupleTableSlot* m_key = ExecInitExtraTupleSlot(estate, mdesc, &TTSOpsVirtual);
  TupleTableSlot* m_old = table_slot_create(migrations.rel, &estate->es_tupleTable);
  TupleTableSlot* m_new = ExecInitExtraTupleSlot(estate, mdesc, &TTSOpsVirtual);
  BlockNumber migration_blocks = RelationGetNumberOfBlocks(migrations.rel);  // (locked: it cannot shrink)

  Datum role_datum = CStringGetTextDatum(role);
  Datum session_user = CStringGetTextDatum(GetUserNameFromId(GetSessionUserId(), false));
  Datum action = CStringGetTextDatum("apply");
  Datum xid = FullTransactionIdGetDatum(GetTopFullTransactionId());
  // Script checksums inserted by this call (a hash: one apply may hold thousands of migrations).
  HASHCTL hash_ctl;
  memset(&hash_ctl, 0, sizeof hash_ctl);
  int longest = 0;
  for (int i = 0; i < count; ++i) longest = Max(longest, steps[i].checksum_len);
  hash_ctl.keysize = Max(longest + 1, 16);  // (hash_create asserts string keys longer than 8)
  hash_ctl.entrysize = hash_ctl.keysize;
  hash_ctl.hcxt = CurrentMemoryContext;
  HTAB* inserted = hash_create("pg_migrate scripts inserted", Max(count, 16), &hash_ctl,
                               HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
  // The history and script rows are written together after the loop (a page at a time), when
  // no BEFORE INSERT trigger must see each first.
  bool buffered = pg::rows::buffered_insert_allowed(history.rel) && pg::rows::buffered_insert_allowed(scripts.rel);
  pg::rows::InsertBuffer history_rows{}, script_rows{};
  if (buffered) {
    history_rows = pg::rows::begin_inserts(estate, history, Min(count, 64));
    script_rows = pg::rows::begin_inserts(estate, scripts, Min(count, 64));
  }

  for (int i = 0; i < count; ++i) {
    const AppliedRecord& step = steps[i];
    CHECK_FOR_INTERRUPTS();
    // The row's values live until the next row (reset below).
    MemoryContext outer = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
    Datum version = PointerGetDatum(cstring_to_text_with_len(step.version, step.version_len));
    Datum checksum = PointerGetDatum(cstring_to_text_with_len(step.checksum, step.checksum_len));
    Datum name = PointerGetDatum(cstring_to_text_with_len(step.name, step.name_len));
    MemoryContextSwitchTo(outer);
    // The migration's row, locked as UPDATE would lock it (waiting for, and then following, a
    // concurrent writer as logical replication does).
    ExecClearTuple(m_key);
    memset(m_key->tts_isnull, true, sizeof(bool) * mdesc->natts);
    m_key->tts_values[m_version - 1] = version;
    m_key->tts_isnull[m_version - 1] = false;
    ExecStoreVirtualTuple(m_key);
    bool locked = false;
    if (fetch_hinted(migrations.rel, migration_blocks, m_version, step.version, GetLatestSnapshot(), m_old)) {
      ItemPointerData tid = m_old->tts_tid;
      TM_FailureData failure;
      locked = table_tuple_lock(migrations.rel, &tid, GetLatestSnapshot(), m_old, GetCurrentCommandId(false),
                                LockTupleNoKeyExclusive, LockWaitBlock, 0, &failure) == TM_Ok;
    }
    if (!locked &&
        !RelationFindReplTupleByIndex(migrations.rel, l.migrations_key, LockTupleNoKeyExclusive, m_key, m_old))
      ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                      errmsg("migration %s disappeared from the catalog during apply", step.version)));
    slot_getallattrs(m_old);
    if (m_old->tts_isnull[m_checksum - 1] ||
        !DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, m_old->tts_values[m_checksum - 1], checksum)))
      ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                      errmsg("migration %s changed in the catalog during apply", step.version)));

    // The script, kept once per checksum.
    bool seen = false;
    (void)hash_search(inserted, step.checksum, HASH_ENTER, &seen);
    if (!seen) {
      if (!key_exists(scripts.rel, l.scripts_key, 1, checksum, snapshot)) {
        ExecClearTuple(s_slot);
        s_slot->tts_values[0] = checksum;
        s_slot->tts_isnull[0] = false;
        s_slot->tts_values[1] = m_old->tts_values[m_up - 1];
        s_slot->tts_isnull[1] = m_old->tts_isnull[m_up - 1];
        s_slot->tts_values[2] = TimestampTzGetDatum(GetCurrentTimestamp());
        s_slot->tts_isnull[2] = false;
        s_slot->tts_values[3] = session_user;
        s_slot->tts_isnull[3] = false;
        ExecStoreVirtualTuple(s_slot);
        if (buffered) pg::rows::buffer_insert(estate, scripts, script_rows, s_slot);
        else ExecSimpleRelationInsert(scripts.info, estate, s_slot);
      }
    }

    int64 id = nextval_internal(l.history_seq, false);
    ExecClearTuple(h_slot);
    Datum* v = h_slot->tts_values;
    bool* n = h_slot->tts_isnull;
    memset(n, 0, sizeof(bool) * kHistoryNatts);
    v[0] = Int64GetDatum(id);
    v[1] = version;
    v[2] = name;
    v[3] = action;
    v[4] = TimestampTzGetDatum(step.started_at);
    v[5] = session_user;
    v[6] = role_datum;
    v[7] = xid;
    v[8] = Float8GetDatum(step.duration_ms);
    v[9] = checksum;
    n[10] = true;  // detail
    v[11] = checksum;
    ExecStoreVirtualTuple(h_slot);
    if (buffered) pg::rows::buffer_insert(estate, history, history_rows, h_slot);
    else ExecSimpleRelationInsert(history.info, estate, h_slot);

    ExecClearTuple(m_new);
    memcpy(m_new->tts_values, m_old->tts_values, sizeof(Datum) * mdesc->natts);
    memcpy(m_new->tts_isnull, m_old->tts_isnull, sizeof(bool) * mdesc->natts);
    m_new->tts_values[m_seq - 1] = Int64GetDatum(id);
    m_new->tts_isnull[m_seq - 1] = false;
    m_new->tts_values[m_at - 1] = TimestampTzGetDatum(step.started_at);
    m_new->tts_isnull[m_at - 1] = false;
    m_new->tts_values[m_by - 1] = session_user;
    m_new->tts_isnull[m_by - 1] = false;
    ExecStoreVirtualTuple(m_new);
    ExecSimpleRelationUpdate(migrations.info, estate, &epq, m_old, m_new);
    ExecClearTuple(m_old);
    ResetPerTupleExprContext(estate);
  }

  if (buffered) {
    pg::rows::flush_inserts(estate, scripts, script_rows);
    pg::rows::flush_inserts(estate, history, history_rows);
  }
  hash_destroy(inserted);
  pg::rows::end_updates(&epq);
  pg::rows::end(estate, targets, 3);
  return true;
}

constexpr Column kMigrations[] = {{"version", TEXTOID},       {"version_parts", NUMERICARRAYOID},
                                  {"name", TEXTOID},          {"up_sql", TEXTOID},
                                  {"down_sql", TEXTOID},      {"checksum", TEXTOID},
                                  {"registered_at", TIMESTAMPTZOID}, {"registered_by", TEXTOID},
                                  {"applied_seq", INT8OID},   {"applied_at", TIMESTAMPTZOID},
                                  {"applied_by", TEXTOID},    {"up_mode", TEXTOID},
                                  {"down_mode", TEXTOID}};
constexpr int kMigrationsNatts = sizeof(kMigrations) / sizeof(kMigrations[0]);
constexpr Column kFiles[] = {
    {"version", TEXTOID}, {"file_name", TEXTOID}, {"script_checksum", TEXTOID}, {"source_checksum", TEXTOID}};
constexpr int kFilesNatts = sizeof(kFiles) / sizeof(kFiles[0]);

// Opens migrate.<table> for writing if it is laid out as `columns` (and keyed on its first
// column by `key_index`) and its triggers allow the single-row path; else nullptr, nothing open.
EState* begin_table(const char* table, const char* key_index, const Column* columns, int natts,
                    const AttrNumber* updated, pg::rows::Table* target, Oid* key) {
  // An upsert finds existing rows by `key` (inserts only need the layout); its BEFORE INSERT
  // row triggers, which INSERT ... ON CONFLICT fires also for rows that become updates, are
  // left to SQL.
  Oid nsp = get_namespace_oid("migrate", true);
  Oid relid = OidIsValid(nsp) ? get_relname_relid(table, nsp) : InvalidOid;
  *key = OidIsValid(nsp) ? get_relname_relid(key_index, nsp) : InvalidOid;
  if (!OidIsValid(relid) || !unique_key_on(*key, relid, 1)) return nullptr;
  *target = {relid, updated, nullptr, nullptr};
  EState* estate = pg::rows::begin(target, 1);
  bool upsert = updated != nullptr;
  if (!has_columns(target->rel, columns, natts) ||
      !pg::rows::single_row_path_allowed(target->rel, upsert ? *key : InvalidOid) ||
      (upsert && target->rel->trigdesc && target->rel->trigdesc->trig_insert_before_row)) {
    pg::rows::abandon(estate, target, 1);
    return nullptr;
  }
  return estate;
}

// "{1,2,3}", as Version::sql_array() spells it, as numeric[]: through array_in each row paid
// for looking up numeric's input function and parsing the array syntax (7 % of a sync).
Datum numeric_array(const char* text) {
  size_t len = strlen(text);
  char* copy = pnstrdup(text + 1, len >= 2 ? len - 2 : 0);  // without the braces
  if (*copy == '\0') return PointerGetDatum(construct_empty_array(NUMERICOID));
  int n = 1;
  for (const char* c = copy; *c; ++c) n += *c == ',';
  Datum* parts = static_cast<Datum*>(palloc(sizeof(Datum) * n));
  char* part = copy;
  for (int i = 0; i < n; ++i) {
    char* comma = strchr(part, ',');
    if (comma) *comma = '\0';
    parts[i] = DirectFunctionCall3(numeric_in, CStringGetDatum(part), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
    part = comma ? comma + 1 : part + strlen(part);
  }
  return PointerGetDatum(construct_array(parts, n, NUMERICOID, -1, false, TYPALIGN_INT));
}

bool insert_migrations(const NewMigration* rows, int count) {
  pg::rows::Table target;
  Oid key;
  EState* estate = begin_table("migrations", "migrations_pkey", kMigrations, kMigrationsNatts, nullptr, &target, &key);
  if (!estate) return false;
  TupleTableSlot* slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(target.rel), &TTSOpsVirtual);
  Datum now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());  // now()
  Datum session_user = CStringGetTextDatum(GetUserNameFromId(GetSessionUserId(), false));
  Datum mode = CStringGetTextDatum("transaction");
  for (int i = 0; i < count; ++i) {
    const NewMigration& m = rows[i];
    CHECK_FOR_INTERRUPTS();
    ExecClearTuple(slot);
    // The row's values live until the next row (reset below), as in logical replication's apply.
    MemoryContext outer = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
    Datum* v = slot->tts_values;
    bool* n = slot->tts_isnull;
    memset(n, 0, sizeof(bool) * kMigrationsNatts);
    v[0] = CStringGetTextDatum(m.version);
    v[1] = numeric_array(m.version_parts);
    v[2] = CStringGetTextDatum(m.name);
    v[3] = CStringGetTextDatum(m.up);
    n[4] = m.down == nullptr;
    v[4] = m.down ? CStringGetTextDatum(m.down) : (Datum)0;
    v[5] = CStringGetTextDatum(m.checksum);
    v[6] = now;
    v[7] = session_user;
    n[8] = n[9] = n[10] = true;  // not applied
    v[11] = mode;
    v[12] = mode;
    MemoryContextSwitchTo(outer);
    ExecStoreVirtualTuple(slot);
    ExecSimpleRelationInsert(target.info, estate, slot);
    ResetPerTupleExprContext(estate);
  }
  pg::rows::end(estate, &target, 1);
  return true;
}

bool upsert_files(const FileRow* rows, int count) {
  const AttrNumber updated[] = {2, 3, 4, 0};
  pg::rows::Table target;
  Oid key;
  EState* estate = begin_table("migration_files", "migration_files_pkey", kFiles, kFilesNatts, updated, &target, &key);
  if (!estate) return false;
  TupleDesc desc = RelationGetDescr(target.rel);
  EPQState epq;
  pg::rows::begin_updates(estate, &epq);
  TupleTableSlot* key_slot = ExecInitExtraTupleSlot(estate, desc, &TTSOpsVirtual);
  TupleTableSlot* old_slot = table_slot_create(target.rel, &estate->es_tupleTable);
  TupleTableSlot* slot = ExecInitExtraTupleSlot(estate, desc, &TTSOpsVirtual);
  for (int i = 0; i < count; ++i) {
    const FileRow& f = rows[i];
    CHECK_FOR_INTERRUPTS();
    MemoryContext outer = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
    Datum version = CStringGetTextDatum(f.version);
    Datum file_name = CStringGetTextDatum(f.file_name);
    Datum script_checksum = CStringGetTextDatum(f.script_checksum);
    Datum source_checksum = CStringGetTextDatum(f.source_checksum);
    MemoryContextSwitchTo(outer);
    ExecClearTuple(key_slot);
    memset(key_slot->tts_isnull, true, sizeof(bool) * kFilesNatts);
    key_slot->tts_values[0] = version;
    key_slot->tts_isnull[0] = false;
    ExecStoreVirtualTuple(key_slot);
    // A row that sync's read did not see (inserted by hand and committed since, which the
    // pg_migrate lock cannot prevent) makes the insert fail on the primary key, as a plain
    // INSERT would; the SQL path (ON CONFLICT) would update it instead.
    bool found = !f.absent && RelationFindReplTupleByIndex(target.rel, key, LockTupleNoKeyExclusive, key_slot, old_slot);
    ExecClearTuple(slot);
    memset(slot->tts_isnull, 0, sizeof(bool) * kFilesNatts);
    slot->tts_values[0] = version;
    slot->tts_values[1] = file_name;
    slot->tts_values[2] = script_checksum;
    slot->tts_values[3] = source_checksum;
    ExecStoreVirtualTuple(slot);
    if (found) ExecSimpleRelationUpdate(target.info, estate, &epq, old_slot, slot);
    else ExecSimpleRelationInsert(target.info, estate, slot);
    ExecClearTuple(old_slot);
    ResetPerTupleExprContext(estate);
  }
  pg::rows::end_updates(&epq);
  pg::rows::end(estate, &target, 1);
  return true;
}

// The up (or down) scripts of `versions`, in their order, read by primary key; false if the
// table is not laid out as expected. A version not found leaves its text nullptr.
bool read_scripts(const char* const* versions, int count, bool up, char** texts, int* lengths) {
  Oid nsp = get_namespace_oid("migrate", true);
  Oid relid = OidIsValid(nsp) ? get_relname_relid("migrations", nsp) : InvalidOid;
  Oid key = OidIsValid(nsp) ? get_relname_relid("migrations_pkey", nsp) : InvalidOid;
  if (!OidIsValid(relid)) return false;
  Relation rel = table_open(relid, AccessShareLock);
  AttrNumber version = pg::rows::column_number(rel, "version", TEXTOID);
  AttrNumber script = pg::rows::column_number(rel, up ? "up_sql" : "down_sql", TEXTOID);
  if (!version || !script || version != 1 || !unique_key_on(key, relid, version)) {
    table_close(rel, AccessShareLock);
    return false;
  }
  // What an SQL query would see: the transaction snapshot (a fresh one under READ COMMITTED),
  // with this transaction's commands up to now, as SPI pushes it.
  PushCopiedSnapshot(GetTransactionSnapshot());
  UpdateActiveSnapshotCommandId();
  Snapshot snapshot = GetActiveSnapshot();
  TupleTableSlot* slot = table_slot_create(rel, nullptr);
  BlockNumber blocks = RelationGetNumberOfBlocks(rel);
  for (int i = 0; i < count; ++i) {
    CHECK_FOR_INTERRUPTS();
    SysScanDesc scan = nullptr;
    bool found = fetch_hinted(rel, blocks, version, versions[i], snapshot, slot);
    bool isnull = true;
    Datum d = 0;
    if (found) {
      d = slot_getattr(slot, script, &isnull);
    } else {
      scan = scan_by_key(rel, key, version, CStringGetTextDatum(versions[i]), snapshot);
      HeapTuple tup = systable_getnext(scan);
      found = HeapTupleIsValid(tup);
      if (found) d = heap_getattr(tup, script, RelationGetDescr(rel), &isnull);
    }
    texts[i] = nullptr;
    if (found) {
      if (!isnull) {
        text* t = DatumGetTextPP(d);
        texts[i] = VARDATA_ANY(t);
        lengths[i] = VARSIZE_ANY_EXHDR(t);
        if ((Pointer)t == DatumGetPointer(d)) {  // not detoasted: a copy that outlives the scan
          texts[i] = static_cast<char*>(palloc(lengths[i] > 0 ? lengths[i] : 1));
          memcpy(texts[i], VARDATA_ANY(t), lengths[i]);
        }
      } else {
        texts[i] = static_cast<char*>(palloc(1));
        lengths[i] = -1;  // NULL
      }
    }
    if (scan) systable_endscan(scan);
    ExecClearTuple(slot);
  }
  ExecDropSingleTupleTableSlot(slot);
  PopActiveSnapshot();
  table_close(rel, AccessShareLock);
  return true;
}

// Plain C: the pending rows of migrate.migrations and the baseline's version, as the query
// "SELECT ... FROM migrate.migrations WHERE applied_seq IS NULL" and "SELECT version FROM
// migrate.baseline" would read them (same snapshot), in the current memory context. False if a
// table or column is not as expected.
struct PendingC {
  char** version;
  char** name;
  char** checksum;
  bool* has_down;
  bool* up_transactional;  // up_mode = 'transaction' (all true where the column is missing: read as unknown)
  int count, capacity;
  char* baseline;
  bool any_applied;
  bool modes_read;
};

bool read_pending(PendingC* out) {
  Oid nsp = get_namespace_oid("migrate", true);
  Oid relid = OidIsValid(nsp) ? get_relname_relid("migrations", nsp) : InvalidOid;
  Oid baseline_relid = OidIsValid(nsp) ? get_relname_relid("baseline", nsp) : InvalidOid;
  if (!OidIsValid(relid) || !OidIsValid(baseline_relid)) return false;
  Relation rel = table_open(relid, AccessShareLock);
  Relation baseline = table_open(baseline_relid, AccessShareLock);
  AttrNumber version = pg::rows::column_number(rel, "version", TEXTOID);
  AttrNumber name = pg::rows::column_number(rel, "name", TEXTOID);
  AttrNumber checksum = pg::rows::column_number(rel, "checksum", TEXTOID);
  AttrNumber down = pg::rows::column_number(rel, "down_sql", TEXTOID);
  AttrNumber up_mode = pg::rows::column_number(rel, "up_mode", TEXTOID);  // (0.7.0 on)
  out->modes_read = up_mode != InvalidAttrNumber;
  AttrNumber applied = pg::rows::column_number(rel, "applied_seq", INT8OID);
  AttrNumber baseline_version = pg::rows::column_number(baseline, "version", TEXTOID);
  bool usable = version && name && checksum && down && applied && baseline_version &&
                rel->rd_rel->relkind == RELKIND_RELATION && baseline->rd_rel->relkind == RELKIND_RELATION;
  if (usable) {
    // What an SQL query would see: the transaction snapshot with this transaction's commands.
    PushCopiedSnapshot(GetTransactionSnapshot());
    UpdateActiveSnapshotCommandId();
    Snapshot snapshot = GetActiveSnapshot();
    TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
      CHECK_FOR_INTERRUPTS();
      bool isnull;
      (void)slot_getattr(slot, applied, &isnull);
      if (!isnull) {
        out->any_applied = true;
        continue;
      }
      Datum v = slot_getattr(slot, version, &isnull);
      if (isnull) continue;
      if (out->count == out->capacity) {
        out->capacity = out->capacity ? out->capacity * 2 : 64;
        size_t n = sizeof(char*) * out->capacity;
        out->version = static_cast<char**>(out->version ? repalloc(out->version, n) : palloc(n));
        out->name = static_cast<char**>(out->name ? repalloc(out->name, n) : palloc(n));
        out->checksum = static_cast<char**>(out->checksum ? repalloc(out->checksum, n) : palloc(n));
        out->has_down = static_cast<bool*>(out->has_down ? repalloc(out->has_down, out->capacity)
                                                         : palloc(out->capacity));
        out->up_transactional = static_cast<bool*>(
            out->up_transactional ? repalloc(out->up_transactional, out->capacity) : palloc(out->capacity));
      }
      int i = out->count++;
      out->version[i] = TextDatumGetCString(v);
      note_row(rel, out->version[i], &slot->tts_tid);
      Datum d = slot_getattr(slot, name, &isnull);
      out->name[i] = isnull ? pstrdup("") : TextDatumGetCString(d);
      d = slot_getattr(slot, checksum, &isnull);
      out->checksum[i] = isnull ? pstrdup("") : TextDatumGetCString(d);
      (void)slot_getattr(slot, down, &isnull);
      out->has_down[i] = !isnull;
      out->up_transactional[i] = false;
      if (up_mode) {
        d = slot_getattr(slot, up_mode, &isnull);
        out->up_transactional[i] = !isnull && stored_text_is(d, "transaction", strlen("transaction"));
      }
    }
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(scan);
    scan = table_beginscan(baseline, snapshot, 0, nullptr);
    slot = table_slot_create(baseline, nullptr);
    if (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
      bool isnull;
      Datum v = slot_getattr(slot, baseline_version, &isnull);
      if (!isnull) out->baseline = TextDatumGetCString(v);
    }
    ExecDropSingleTupleTableSlot(slot);
    table_endscan(scan);
    PopActiveSnapshot();
  }
  table_close(baseline, AccessShareLock);
  table_close(rel, AccessShareLock);
  return usable;
}

}  // namespace

std::optional<Pending> load_pending_directly() {
  MemoryContext scratch = pg::call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_migrate pending", ALLOCSET_DEFAULT_SIZES);
  });
  PendingC c{nullptr, nullptr, nullptr, nullptr, nullptr, 0, 0, nullptr, false, false};
  PendingC* p = &c;
  bool usable = pg::call([&] {
    MemoryContext outer = MemoryContextSwitchTo(scratch);
    bool ok = read_pending(p);
    MemoryContextSwitchTo(outer);
    return ok;
  });
  std::optional<Pending> out;
  if (usable) {
    out.emplace();
    out->rows.reserve(c.count);
    for (int i = 0; i < c.count; ++i)
      out->rows.push_back({c.version[i], c.name[i], c.checksum[i], c.has_down[i],
                           c.modes_read ? std::optional<bool>(c.up_transactional[i]) : std::nullopt});
    if (c.baseline) out->baseline = std::string(c.baseline);
    out->any_applied = c.any_applied;
  }
  pg::call([&] { MemoryContextDelete(scratch); });
  return out;
}

std::optional<std::vector<std::string>> load_scripts_directly(const std::vector<std::string>& versions, bool up) {
  int count = static_cast<int>(versions.size());
  std::vector<const char*> names(versions.size());
  for (size_t i = 0; i < versions.size(); ++i) names[i] = versions[i].c_str();
  std::vector<char*> texts(versions.size());
  std::vector<int> lengths(versions.size());
  const char* const* n = names.data();
  char** t = texts.data();
  int* l = lengths.data();
  // The texts read live in a context of their own, deleted once copied: callers outside
  // apply's batches (plan, verify, register) read one script at a time in a context that
  // lasts for their whole call.
  MemoryContext scratch = pg::call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_migrate scripts", ALLOCSET_DEFAULT_SIZES);
  });
  bool usable = pg::call([&] {
    MemoryContext outer = MemoryContextSwitchTo(scratch);
    bool ok = read_scripts(n, count, up, t, l);
    MemoryContextSwitchTo(outer);
    return ok;
  });
  std::vector<std::string> out;
  bool missing = false;
  if (usable) {
    out.reserve(versions.size());
    for (size_t i = 0; i < versions.size() && !missing; ++i) {
      missing = !texts[i];
      if (!missing) out.emplace_back(lengths[i] < 0 ? std::string() : std::string(texts[i], lengths[i]));
    }
  }
  pg::call([&] { MemoryContextDelete(scratch); });
  if (!usable) return std::nullopt;
  if (missing) throw Error(sqlstate::kSerializationFailure, "a migration disappeared from the catalog during apply");
  return out;
}

bool register_directly(const std::vector<NewMigration>& migrations) {
  if (migrations.empty()) return true;
  const NewMigration* data = migrations.data();
  int count = static_cast<int>(migrations.size());
  return pg::call([&] { return insert_migrations(data, count); });
}

bool record_files_directly(const std::vector<FileRow>& files) {
  if (files.empty()) return true;
  const FileRow* data = files.data();
  int count = static_cast<int>(files.size());
  return pg::call([&] { return upsert_files(data, count); });
}

bool record_applied_directly(const std::vector<AppliedRecord>& steps, const std::string& role) {
  if (steps.empty()) return true;
  const AppliedRecord* data = steps.data();
  int count = static_cast<int>(steps.size());
  const char* r = role.c_str();
  return pg::call([&] { return write_records(data, count, r); });
}

}  // namespace pgm::catalog
