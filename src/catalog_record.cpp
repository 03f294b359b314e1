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

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
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

// The exact columns, in order, none dropped or generated.
bool has_columns(Relation rel, const Column* columns, int natts) {
  TupleDesc desc = RelationGetDescr(rel);
  if (desc->natts != natts || rel->rd_rel->relkind != RELKIND_RELATION) return false;
  for (int i = 0; i < natts; ++i) {
    Form_pg_attribute a = TupleDescAttr(desc, i);
    if (a->attisdropped || a->attgenerated != '\0' || a->atttypid != columns[i].type ||
        strcmp(NameStr(a->attname), columns[i].name) != 0)
      return false;
  }
  return true;
}

// Attribute number of a live column of the given type, or 0.
AttrNumber column(Relation rel, const char* name, Oid type) {
  TupleDesc desc = RelationGetDescr(rel);
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute a = TupleDescAttr(desc, i);
    if (!a->attisdropped && a->attgenerated == '\0' && a->atttypid == type && strcmp(NameStr(a->attname), name) == 0)
      return static_cast<AttrNumber>(i + 1);
  }
  return 0;
}

// A unique single-column btree index on `attnum`, by name.
bool unique_key_on(Oid index, Oid table, AttrNumber attnum) {
  if (!OidIsValid(index)) return false;
  HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
  if (!HeapTupleIsValid(tup)) return false;
  Form_pg_index form = (Form_pg_index)GETSTRUCT(tup);
  bool ok = form->indrelid == table && form->indisunique && form->indisvalid && form->indnkeyatts == 1 &&
            form->indkey.values[0] == attnum;
  ReleaseSysCache(tup);
  if (!ok) return false;
  tup = SearchSysCache1(RELOID, ObjectIdGetDatum(index));
  if (!HeapTupleIsValid(tup)) return false;
  ok = ((Form_pg_class)GETSTRUCT(tup))->relam == BTREE_AM_OID;
  ReleaseSysCache(tup);
  return ok;
}

// One table being written: relation, its result-relation info with open indexes.
struct Target {
  Relation rel;
  ResultRelInfo* info;
};

// Registered in es_opened_result_relations: AFTER triggers find it there instead of opening
// the table again, and ExecCloseResultRelations() closes its indexes.
Target open_target(EState* estate, Oid relid, Index rti) {
  Target t;
  t.rel = table_open(relid, RowExclusiveLock);
  t.info = makeNode(ResultRelInfo);
  InitResultRelInfo(t.info, t.rel, rti, nullptr, 0);
  ExecOpenIndices(t.info, false);
  estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, t.info);
  return t;
}

// Closes the indexes and whatever AFTER triggers opened, then the tables, and frees the state.
void finish(EState* estate, Target* targets, int count) {
  ExecCloseResultRelations(estate);
  for (int i = 0; i < count; ++i) table_close(targets[i].rel, NoLock);
  ExecResetTupleTable(estate->es_tupleTable, false);
  FreeExecutorState(estate);
}

RangeTblEntry* relation_rte(Oid relid) {
  RangeTblEntry* rte = makeNode(RangeTblEntry);
  rte->rtekind = RTE_RELATION;
  rte->relid = relid;
  rte->relkind = RELKIND_RELATION;
  rte->rellockmode = RowExclusiveLock;
  return rte;
}

// The live row whose unique key column equals `value` (a copy), or nullptr.
HeapTuple find_by_key(Relation rel, Oid index, AttrNumber attnum, Datum value, Snapshot snapshot) {
  ScanKeyData key;
  ScanKeyInit(&key, attnum, BTEqualStrategyNumber, F_TEXTEQ, value);
  key.sk_collation = DEFAULT_COLLATION_OID;
  SysScanDesc scan = systable_beginscan(rel, index, true, snapshot, 1, &key);
  HeapTuple found = systable_getnext(scan);
  HeapTuple copy = HeapTupleIsValid(found) ? heap_copytuple(found) : nullptr;
  systable_endscan(scan);
  return copy;
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
  return OidIsValid(l.migrations) && OidIsValid(l.history) && OidIsValid(l.scripts) && OidIsValid(l.history_seq) &&
         get_rel_relkind(l.history_seq) == RELKIND_SEQUENCE;
}

// Everything PostgreSQL does, on plain data (no C++ object with a destructor): returns false,
// having written nothing, when the tables are not laid out as this code writes them.
bool write_records(const AppliedRecord* steps, int count, const char* role) {
  Layout l;
  if (!find_layout(l)) return false;
  EState* estate = CreateExecutorState();
  List* range_table = list_make3(relation_rte(l.history), relation_rte(l.scripts), relation_rte(l.migrations));
#if PG_VERSION_NUM >= 160000
  ExecInitRangeTable(estate, range_table, NIL);
#else
  ExecInitRangeTable(estate, range_table);
#endif
  Target targets[3] = {open_target(estate, l.history, 1), open_target(estate, l.scripts, 2),
                       open_target(estate, l.migrations, 3)};
  Target& history = targets[0];
  Target& scripts = targets[1];
  Target& migrations = targets[2];
  AttrNumber m_version = column(migrations.rel, "version", TEXTOID);
  AttrNumber m_up = column(migrations.rel, "up_sql", TEXTOID);
  AttrNumber m_checksum = column(migrations.rel, "checksum", TEXTOID);
  AttrNumber m_seq = column(migrations.rel, "applied_seq", INT8OID);
  AttrNumber m_at = column(migrations.rel, "applied_at", TIMESTAMPTZOID);
  AttrNumber m_by = column(migrations.rel, "applied_by", TEXTOID);
  bool usable = has_columns(history.rel, kHistory, kHistoryNatts) && has_columns(scripts.rel, kScripts, kScriptsNatts) &&
                migrations.rel->rd_rel->relkind == RELKIND_RELATION && m_version && m_up && m_checksum && m_seq &&
                m_at && m_by && unique_key_on(l.migrations_key, l.migrations, m_version) &&
                unique_key_on(l.scripts_key, l.scripts, 1);
  if (!usable) {
    finish(estate, targets, 3);
    return false;
  }

  // A snapshot that sees this transaction's earlier commands (the migrations' registration, the
  // previous batches' scripts); rows of this batch are tracked in `inserted`.
  Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
  estate->es_snapshot = snapshot;
  estate->es_output_cid = GetCurrentCommandId(true);
  EPQState epq;
#if PG_VERSION_NUM >= 160000
  EvalPlanQualInit(&epq, estate, nullptr, NIL, -1, NIL);
#else
  EvalPlanQualInit(&epq, estate, nullptr, NIL, -1);
#endif
  AfterTriggerBeginQuery();

  TupleDesc mdesc = RelationGetDescr(migrations.rel);
  TupleTableSlot* h_slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(history.rel), &TTSOpsVirtual);
  TupleTableSlot* s_slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(scripts.rel), &TTSOpsVirtual);
  TupleTableSlot* m_old = ExecInitExtraTupleSlot(estate, mdesc, &TTSOpsHeapTuple);
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
    HeapTuple row = find_by_key(migrations.rel, l.migrations_key, m_version, version, snapshot);
    if (!row)
      ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                      errmsg("migration %s disappeared from the catalog during apply", step.version)));
    ExecStoreHeapTuple(row, m_old, true);
    slot_getallattrs(m_old);

    // The script, kept once per checksum (the migration's own checksum, as recorded in history).
    Datum checksum = PointerGetDatum(cstring_to_text_with_len(step.checksum, step.checksum_len));
    if (m_old->tts_isnull[m_checksum - 1] ||
        !DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID, m_old->tts_values[m_checksum - 1], checksum)))
      ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                      errmsg("migration %s changed in the catalog during apply", step.version)));
    bool seen = false;
    ListCell* lc;
    foreach (lc, inserted) seen = seen || strcmp(static_cast<char*>(lfirst(lc)), step.checksum) == 0;
    if (!seen) {
      if (!find_by_key(scripts.rel, l.scripts_key, 1, checksum, snapshot)) {
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

  AfterTriggerEndQuery(estate);
  EvalPlanQualEnd(&epq);
  finish(estate, targets, 3);
  UnregisterSnapshot(snapshot);
  CommandCounterIncrement();
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
