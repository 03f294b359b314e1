#include "pg/rows.hpp"

#include <cstring>

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_relation.h"
#include "utils/memutils.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/rel.h"
}

namespace pgm::pg::rows {
namespace {

Bitmapset* column_set(const AttrNumber* attnums) {
  Bitmapset* set = nullptr;
  for (const AttrNumber* a = attnums; a && *a; ++a) set = bms_add_member(set, *a - FirstLowInvalidHeapAttributeNumber);
  return set;
}

Bitmapset* all_columns(Relation rel) {
  Bitmapset* set = nullptr;
  TupleDesc desc = RelationGetDescr(rel);
  for (int i = 0; i < desc->natts; ++i)
    if (!TupleDescAttr(desc, i)->attisdropped) set = bms_add_member(set, i + 1 - FirstLowInvalidHeapAttributeNumber);
  return set;
}

void close_all(EState* estate, Table* tables, int count) {
  Snapshot snapshot = estate->es_snapshot;  // begin_updates()'s, if any
  ExecCloseResultRelations(estate);  // indexes of ours, and relations AFTER triggers opened
  for (int i = 0; i < count; ++i) table_close(tables[i].rel, NoLock);
  ExecResetTupleTable(estate->es_tupleTable, false);
  FreeExecutorState(estate);
  if (snapshot) UnregisterSnapshot(snapshot);
}

}  // namespace

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

AttrNumber column_number(Relation rel, const char* name, Oid type) {
  TupleDesc desc = RelationGetDescr(rel);
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute a = TupleDescAttr(desc, i);
    if (!a->attisdropped && a->attgenerated == '\0' && a->atttypid == type && strcmp(NameStr(a->attname), name) == 0)
      return static_cast<AttrNumber>(i + 1);
  }
  return 0;
}

EState* begin(Table* tables, int count) {
  EState* estate = CreateExecutorState();
  List* range_table = NIL;
#if PG_VERSION_NUM >= 160000
  List* perminfos = NIL;
#endif
  for (int i = 0; i < count; ++i) {
    Table& t = tables[i];
    t.rel = table_open(t.relid, RowExclusiveLock);
    RangeTblEntry* rte = makeNode(RangeTblEntry);
    rte->rtekind = RTE_RELATION;
    rte->relid = t.relid;
    rte->relkind = t.rel->rd_rel->relkind;
    rte->rellockmode = RowExclusiveLock;
    AclMode required = ACL_INSERT | (t.updated ? ACL_UPDATE : 0);
    Bitmapset* inserted = all_columns(t.rel);
    Bitmapset* updated = column_set(t.updated);
#if PG_VERSION_NUM >= 160000
    RTEPermissionInfo* perm = addRTEPermissionInfo(&perminfos, rte);
    perm->requiredPerms = required;
    perm->insertedCols = inserted;
    perm->updatedCols = updated;
#else
    rte->requiredPerms = required;
    rte->insertedCols = inserted;
    rte->updatedCols = updated;
#endif
    range_table = lappend(range_table, rte);
  }
#if PG_VERSION_NUM >= 160000
  ExecInitRangeTable(estate, range_table, perminfos);
#else
  ExecInitRangeTable(estate, range_table);
#endif
  for (int i = 0; i < count; ++i) {
    Table& t = tables[i];
    t.info = makeNode(ResultRelInfo);
    InitResultRelInfo(t.info, t.rel, i + 1, nullptr, 0);
    ExecOpenIndices(t.info, false);
    // AFTER triggers find the result relation here instead of opening the table again.
    estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, t.info);
  }
  estate->es_output_cid = GetCurrentCommandId(true);
  AfterTriggerBeginQuery();
  return estate;
}

void begin_updates(EState* estate, EPQState* epq) {
  estate->es_snapshot = RegisterSnapshot(GetLatestSnapshot());
#if PG_VERSION_NUM >= 160000
  EvalPlanQualInit(epq, estate, nullptr, NIL, -1, NIL);
#else
  EvalPlanQualInit(epq, estate, nullptr, NIL, -1);
#endif
}

void end_updates(EPQState* epq) { EvalPlanQualEnd(epq); }

void end(EState* estate, Table* tables, int count) {
  AfterTriggerEndQuery(estate);
  close_all(estate, tables, count);
  CommandCounterIncrement();
}

void abandon(EState* estate, Table* tables, int count) {
  AfterTriggerEndQuery(estate);
  close_all(estate, tables, count);
}

bool buffered_insert_allowed(Relation rel) {
  const TriggerDesc* td = rel->trigdesc;
  return rel->rd_rel->relkind == RELKIND_RELATION && !rel->rd_rel->relispartition &&
         !(td && (td->trig_insert_before_row || td->trig_insert_instead_row));
}

InsertBuffer begin_inserts(EState* estate, const Table& table, int capacity) {
  InsertBuffer buffer{static_cast<TupleTableSlot**>(palloc(sizeof(TupleTableSlot*) * Max(capacity, 1))), 0, capacity};
  for (int i = 0; i < capacity; ++i) buffer.slots[i] = table_slot_create(table.rel, &estate->es_tupleTable);
  CheckCmdReplicaIdentity(table.rel, CMD_INSERT);
  return buffer;
}

void buffer_insert(EState* estate, const Table& table, InsertBuffer& buffer, TupleTableSlot* row) {
  if (buffer.count == buffer.capacity) flush_inserts(estate, table, buffer);
  if (table.rel->rd_att->constr) ExecConstraints(table.info, row, estate);
  ExecCopySlot(buffer.slots[buffer.count++], row);
}

void flush_inserts(EState* estate, const Table& table, InsertBuffer& buffer) {
  if (buffer.count == 0) return;
  table_multi_insert(table.rel, buffer.slots, buffer.count, estate->es_output_cid, 0, nullptr);
  for (int i = 0; i < buffer.count; ++i) {
    List* recheck = NIL;
    if (table.info->ri_NumIndices > 0)
#if PG_VERSION_NUM >= 160000
      recheck = ExecInsertIndexTuples(table.info, buffer.slots[i], estate, false, false, nullptr, NIL, false);
#else
      recheck = ExecInsertIndexTuples(table.info, buffer.slots[i], estate, false, false, nullptr, NIL);
#endif
    ExecARInsertTriggers(estate, table.info, buffer.slots[i], recheck, nullptr);
    list_free(recheck);
    ExecClearTuple(buffer.slots[i]);
  }
  buffer.count = 0;
}

bool single_row_path_allowed(Relation rel, Oid key) {
  if (rel->rd_rules || rel->rd_rel->relrowsecurity) return false;
  if (OidIsValid(key)) {
    Oid identity = RelationGetReplicaIndex(rel);
    if (!OidIsValid(identity)) identity = RelationGetPrimaryKeyIndex(rel);
    if (identity != key) return false;
  }
  const TriggerDesc* td = rel->trigdesc;
  if (!td) return true;
  return !(td->trig_insert_before_statement || td->trig_insert_after_statement || td->trig_update_before_statement ||
           td->trig_update_after_statement || td->trig_insert_new_table || td->trig_update_old_table ||
           td->trig_update_new_table);
}

namespace {

// What insert_direct() knows about one table, in a memory context of its own.
struct DirectTable {
  Oid relid = InvalidOid;
  bool valid = false;   // cleared by forget_direct_table(); rebuilt at the next insert
  bool usable = false;  // the direct path applies
  MemoryContext context = nullptr;
  int nindexes = 0;
  Oid* index_oids = nullptr;
  IndexInfo** index_infos = nullptr;
  ExprState** predicates = nullptr;  // of partial indexes, else NULL
  TupleTableSlot* slot = nullptr;    // the row, for predicates and FormIndexDatum
  ExprContext* econtext = nullptr;
};

// One table uses it today (migrate.drift); with all slots taken, the first is rebuilt for
// another table.
DirectTable direct_tables[4];

bool needs_executor(Relation rel) {
  Form_pg_class c = rel->rd_rel;
  if (c->relkind != RELKIND_RELATION || c->relispartition || c->relam != HEAP_TABLE_AM_OID || c->relrowsecurity ||
      rel->rd_rules)
    return true;
  TupleConstr* constr = RelationGetDescr(rel)->constr;
  if (constr && (constr->num_check > 0 || constr->has_generated_stored)) return true;
  const TriggerDesc* td = rel->trigdesc;
  return td && (td->trig_insert_before_row || td->trig_insert_after_row || td->trig_insert_instead_row ||
                td->trig_insert_before_statement || td->trig_insert_after_statement || td->trig_insert_new_table);
}

// Fills t from the open table (and opens its indexes, which stay open for the insert).
void build(DirectTable& t, Relation rel, const Column* columns, int natts, Relation* indexes) {
  if (t.context) MemoryContextDelete(t.context);
  t = DirectTable{};
  t.relid = RelationGetRelid(rel);
  t.context = AllocSetContextCreate(CacheMemoryContext, "pg_migrate direct insert", ALLOCSET_SMALL_SIZES);
  t.valid = true;
  if (!has_columns(rel, columns, natts) || needs_executor(rel)) return;
  MemoryContext old = MemoryContextSwitchTo(t.context);
  List* index_list = RelationGetIndexList(rel);
  t.nindexes = list_length(index_list);
  t.index_oids = static_cast<Oid*>(palloc0(sizeof(Oid) * (t.nindexes + 1)));
  t.index_infos = static_cast<IndexInfo**>(palloc0(sizeof(IndexInfo*) * (t.nindexes + 1)));
  t.predicates = static_cast<ExprState**>(palloc0(sizeof(ExprState*) * (t.nindexes + 1)));
  t.slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(RelationGetDescr(rel)), &TTSOpsHeapTuple);
  t.econtext = CreateStandaloneExprContext();
  bool usable = true;
  int i = 0;
  ListCell* lc;
  foreach (lc, index_list) {
    Oid index_oid = lfirst_oid(lc);
    Relation irel = index_open(index_oid, RowExclusiveLock);
    indexes[i] = irel;
    IndexInfo* info = BuildIndexInfo(irel);
    if (irel->rd_rel->relam != BTREE_AM_OID || info->ii_Expressions != NIL || info->ii_ExclusionOps ||
        !irel->rd_index->indimmediate)
      usable = false;
    if (usable && info->ii_Predicate != NIL)
      t.predicates[i] = ExecInitQual(reinterpret_cast<List*>(expression_planner(reinterpret_cast<Expr*>(info->ii_Predicate))),
                                     nullptr);
    t.index_oids[i] = index_oid;
    t.index_infos[i] = info;
    ++i;
  }
  MemoryContextSwitchTo(old);
  t.usable = usable;
}

DirectTable& table_for(Oid relid) {
  for (DirectTable& t : direct_tables)
    if (t.relid == relid) return t;
  for (DirectTable& t : direct_tables)
    if (!OidIsValid(t.relid)) return t;
  return direct_tables[0];
}

}  // namespace

bool insert_direct(Oid relid, const Column* columns, int natts, const RowData* rows, int count) {
  Relation rel = table_open(relid, RowExclusiveLock);
  DirectTable& t = table_for(relid);
  // Up to kMaxIndexes indexes are opened here; a table with more takes the executor's path.
  constexpr int kMaxIndexes = 32;
  Relation indexes[kMaxIndexes];
  bool built_now = false;
  if (!t.valid || t.relid != relid) {
    List* index_list = RelationGetIndexList(rel);
    bool too_many = list_length(index_list) > kMaxIndexes;
    list_free(index_list);
    if (too_many) {
      table_close(rel, NoLock);
      return false;
    }
    build(t, rel, columns, natts, indexes);
    built_now = true;
  }
  if (!t.usable) {
    for (int i = 0; built_now && i < t.nindexes; ++i)
      if (indexes[i]) index_close(indexes[i], NoLock);
    table_close(rel, NoLock);
    return false;
  }
  if (!built_now)
    for (int i = 0; i < t.nindexes; ++i) indexes[i] = index_open(t.index_oids[i], RowExclusiveLock);
  TupleDesc desc = RelationGetDescr(rel);
  // Opening the indexes took locks and may have processed invalidations: what was learnt may
  // be stale, and NOT NULL is checked before anything is written. Either way the executor's
  // path then inserts (and raises the same errors an INSERT would).
  bool ok = t.valid;
  for (int r = 0; ok && r < count; ++r)
    for (int a = 0; ok && a < desc->natts; ++a)
      if (rows[r].nulls[a] && TupleDescAttr(desc, a)->attnotnull) ok = false;
  if (!ok) {
    for (int i = 0; i < t.nindexes; ++i) index_close(indexes[i], NoLock);
    table_close(rel, NoLock);
    return false;
  }
  CommandId cid = GetCurrentCommandId(true);
  Datum index_values[INDEX_MAX_KEYS];
  bool index_nulls[INDEX_MAX_KEYS];
  for (int r = 0; r < count; ++r) {
    HeapTuple tuple = heap_form_tuple(desc, const_cast<Datum*>(rows[r].values), const_cast<bool*>(rows[r].nulls));
    heap_insert(rel, tuple, cid, 0, nullptr);
    ExecStoreHeapTuple(tuple, t.slot, false);
    t.econtext->ecxt_scantuple = t.slot;
    for (int i = 0; i < t.nindexes; ++i) {
      IndexInfo* info = t.index_infos[i];
      if (!info->ii_ReadyForInserts) continue;
      if (t.predicates[i]) {
        bool matches = ExecQual(t.predicates[i], t.econtext);
        ResetExprContext(t.econtext);
        if (!matches) continue;
      }
      FormIndexDatum(info, t.slot, nullptr, index_values, index_nulls);
      index_insert(indexes[i], index_values, index_nulls, &tuple->t_self, rel,
                   indexes[i]->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO, false, info);
    }
    ExecClearTuple(t.slot);
    heap_freetuple(tuple);
  }
  for (int i = 0; i < t.nindexes; ++i) index_close(indexes[i], NoLock);
  table_close(rel, NoLock);
  CommandCounterIncrement();
  return true;
}

void forget_direct_table(Oid relid) {
  for (DirectTable& t : direct_tables) {
    if (!OidIsValid(relid) || t.relid == relid) t.valid = false;
    for (int i = 0; t.valid && i < t.nindexes; ++i)
      if (t.index_oids[i] == relid) t.valid = false;
  }
}

}  // namespace pgm::pg::rows
