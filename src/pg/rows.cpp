#include "pg/rows.hpp"

#include <cstring>

extern "C" {
#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
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

}  // namespace pgm::pg::rows
