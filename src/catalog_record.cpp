// The records an apply leaves, written directly: per migration one history row, the copy of
// its script in migrate.scripts (unless that script is kept already) and the applied state in
// migrate.migrations. The SQL statement that wrote them (catalog.cpp, still used for reverts
// and for catalogs of other versions) paid for planning, a hash join over all migrations and a
// speculative insert per batch: about a seventh of an apply of one-statement migrations. Rows
// go through the executor's single-row paths (ExecSimpleRelationInsert / Update, as logical
// replication applies rows): constraints, triggers (the protect trigger included) and indexes
// behave as for an INSERT or UPDATE.
#include "catalog_record.hpp"

#include <cstring>

#include "pg/guard.hpp"
#include "pg/rows.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_index.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/xid8.h"
}

namespace pgm::catalog {
namespace {

struct Column {
  const char* name;
  Oid type;
};

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

// The exact columns, in order, none dropped, generated or identity.
bool has_columns(Relation rel, const Column* columns, int natts) {
  TupleDesc desc = RelationGetDescr(rel);
  if (desc->natts != natts || rel->rd_rel->relkind != RELKIND_RELATION) return false;
  for (int i = 0; i < natts; ++i) {
    Form_pg_attribute a = TupleDescAttr(desc, i);
    if (a->attisdropped || a->attgenerated != '\0' || a->attidentity != '\0' || a->atttypid != columns[i].type ||
        strcmp(NameStr(a->attname), columns[i].name) != 0)
      return false;
  }
  return true;
}

// Attribute number of a live, plain column of the given type, or 0.
AttrNumber column(Relation rel, const char* name, Oid type) {
  TupleDesc desc = RelationGetDescr(rel);
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute a = TupleDescAttr(desc, i);
    if (!a->attisdropped && a->attgenerated == '\0' && a->atttypid == type && strcmp(NameStr(a->attname), name) == 0)
      return static_cast<AttrNumber>(i + 1);
  }
  return 0;
}

// A unique, valid, single-column btree index on `attnum` (no expression, no predicate).
bool unique_key_on(Oid index, Oid table, AttrNumber attnum) {
  if (!OidIsValid(index)) return false;
  HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
  if (!HeapTupleIsValid(tup)) return false;
  Form_pg_index form = (Form_pg_index)GETSTRUCT(tup);
  bool ok = form->indrelid == table && form->indisunique && form->indisvalid && form->indnkeyatts == 1 &&
            form->indkey.values[0] == attnum && heap_attisnull(tup, Anum_pg_index_indexprs, nullptr) &&
            heap_attisnull(tup, Anum_pg_index_indpred, nullptr);
  ReleaseSysCache(tup);
  if (!ok) return false;
  tup = SearchSysCache1(RELOID, ObjectIdGetDatum(index));
  if (!HeapTupleIsValid(tup)) return false;
  ok = ((Form_pg_class)GETSTRUCT(tup))->relam == BTREE_AM_OID;
  ReleaseSysCache(tup);
  return ok;
}

// Whether the row whose unique key column `attnum` equals `value` exists.
bool key_exists(Relation rel, Oid index, AttrNumber attnum, Datum value, Snapshot snapshot) {
  ScanKeyData key;
  ScanKeyInit(&key, attnum, BTEqualStrategyNumber, F_TEXTEQ, value);
  key.sk_collation = TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attcollation;
  SysScanDesc scan = systable_beginscan(rel, index, true, snapshot, 1, &key);
  bool found = HeapTupleIsValid(systable_getnext(scan));
  systable_endscan(scan);
  return found;
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
  // migrations: the columns an apply updates (found by name: the table has grown since 0.1.0).
  Relation probe = table_open(l.migrations, AccessShareLock);
  AttrNumber m_version = column(probe, "version", TEXTOID);
  AttrNumber m_up = column(probe, "up_sql", TEXTOID);
  AttrNumber m_checksum = column(probe, "checksum", TEXTOID);
  AttrNumber m_seq = column(probe, "applied_seq", INT8OID);
  AttrNumber m_at = column(probe, "applied_at", TIMESTAMPTZOID);
  AttrNumber m_by = column(probe, "applied_by", TEXTOID);
  table_close(probe, AccessShareLock);
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
                pg::rows::triggers_allow(history.rel) && pg::rows::triggers_allow(scripts.rel) &&
                pg::rows::triggers_allow(migrations.rel);
  if (!usable) {
    pg::rows::abandon(estate, targets, 3);
    return false;
  }

  // A snapshot that sees this transaction's earlier commands (the previous batches' scripts);
  // scripts of this batch are tracked in `inserted`.
  Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
  estate->es_snapshot = snapshot;
  EPQState epq;
#if PG_VERSION_NUM >= 160000
  EvalPlanQualInit(&epq, estate, nullptr, NIL, -1, NIL);
#else
  EvalPlanQualInit(&epq, estate, nullptr, NIL, -1);
#endif

  TupleDesc mdesc = RelationGetDescr(migrations.rel);
  TupleTableSlot* h_slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(history.rel), &TTSOpsVirtual);
  TupleTableSlot* s_slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(scripts.rel), &TTSOpsVirtual);
  TupleTableSlot* m_key = ExecInitExtraTupleSlot(estate, mdesc, &TTSOpsVirtual);
  TupleTableSlot* m_old = table_slot_create(migrations.rel, &estate->es_tupleTable);
  TupleTableSlot* m_new = ExecInitExtraTupleSlot(estate, mdesc, &TTSOpsVirtual);

  Datum role_datum = CStringGetTextDatum(role);
  Datum session_user = CStringGetTextDatum(GetUserNameFromId(GetSessionUserId(), false));
  Datum action = CStringGetTextDatum("apply");
  Datum xid = FullTransactionIdGetDatum(GetTopFullTransactionId());
  List* inserted = NIL;  // script checksums inserted by this call (char*)

  for (int i = 0; i < count; ++i) {
    const AppliedRecord& step = steps[i];
    CHECK_FOR_INTERRUPTS();
    Datum version = PointerGetDatum(cstring_to_text_with_len(step.version, step.version_len));
    // The migration's row, locked as UPDATE would lock it (waiting for, and then following, a
    // concurrent writer as logical replication does).
    ExecClearTuple(m_key);
    memset(m_key->tts_isnull, true, sizeof(bool) * mdesc->natts);
    m_key->tts_values[m_version - 1] = version;
    m_key->tts_isnull[m_version - 1] = false;
    ExecStoreVirtualTuple(m_key);
    if (!RelationFindReplTupleByIndex(migrations.rel, l.migrations_key, LockTupleNoKeyExclusive, m_key, m_old))
      ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                      errmsg("migration %s disappeared from the catalog during apply", step.version)));
    slot_getallattrs(m_old);
    Datum checksum = PointerGetDatum(cstring_to_text_with_len(step.checksum, step.checksum_len));
    if (m_old->tts_isnull[m_checksum - 1] ||
        !DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, m_old->tts_values[m_checksum - 1], checksum)))
      ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                      errmsg("migration %s changed in the catalog during apply", step.version)));

    // The script, kept once per checksum.
    bool seen = false;
    ListCell* lc;
    foreach (lc, inserted) seen = seen || strcmp(static_cast<char*>(lfirst(lc)), step.checksum) == 0;
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
        ExecSimpleRelationInsert(scripts.info, estate, s_slot);
      }
      inserted = lappend(inserted, pstrdup(step.checksum));
    }

    int64 id = nextval_internal(l.history_seq, false);
    Datum name = PointerGetDatum(cstring_to_text_with_len(step.name, step.name_len));
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
    ExecSimpleRelationInsert(history.info, estate, h_slot);

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
  }

  EvalPlanQualEnd(&epq);
  pg::rows::end(estate, targets, 3);
  UnregisterSnapshot(snapshot);
  return true;
}

}  // namespace

bool record_applied_directly(const std::vector<AppliedRecord>& steps, const std::string& role) {
  if (steps.empty()) return true;
  const AppliedRecord* data = steps.data();
  int count = static_cast<int>(steps.size());
  const char* r = role.c_str();
  return pg::call([&] { return write_records(data, count, r); });
}

}  // namespace pgm::catalog
