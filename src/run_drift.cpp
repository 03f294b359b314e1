// What a run of CALL migrate.run() keeps of drift (run_drift.hpp): the objects its statements
// name, as snapshot keys name them.
#include "run_drift.hpp"

#include <algorithm>
#include <string>

#include "core/drift_rules.hpp"
#include "pg/guard.hpp"
#include "pg/quote.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "utils/lsyscache.h"
}

namespace pgm {
namespace {

// Plain C from here to the struct below (called within pg::call and with_plain_identifiers).

// "schema.name" for `name` in `schema`, or, without one, in each schema of the search path.
List* names_in_schemas(const char* schema, const char* name) {
  if (schema) return list_make1(quote_qualified_identifier(schema, name));
  List* out = NIL;
  ListCell* lc;
  foreach (lc, fetch_search_path(false)) {
    char* nsp = get_namespace_name(lfirst_oid(lc));
    if (nsp) out = lappend(out, quote_qualified_identifier(nsp, name));
  }
  return out;
}

// What `rv` may stand for, as "schema.name": the relation it names now (and with `below`, its
// partitions and inheritors); else, dropped or renamed since, the name in its schema or in
// each schema of the search path.
List* relation_names(RangeVar* rv, bool below) {
  Oid relid = RangeVarGetRelid(rv, NoLock, true);
  if (!OidIsValid(relid)) return names_in_schemas(rv->schemaname, rv->relname);
  List* out = NIL;
  ListCell* lc;
  foreach (lc, below ? find_all_inheritors(relid, NoLock, nullptr) : list_make1_oid(relid)) {
    Oid r = lfirst_oid(lc);
    char* nsp = get_namespace_name(get_rel_namespace(r));
    char* rel = get_rel_name(r);
    if (nsp && rel) out = lappend(out, quote_qualified_identifier(nsp, rel));
  }
  return out;
}

// The schemas `rv`'s relation is in, or may be in: for an index named beside its table.
List* schemas_of(RangeVar* rv) {
  Oid relid = RangeVarGetRelid(rv, NoLock, true);
  if (OidIsValid(relid)) return list_make1(get_namespace_name(get_rel_namespace(relid)));
  if (rv->schemaname) return list_make1(rv->schemaname);
  List* out = NIL;
  ListCell* lc;
  foreach (lc, fetch_search_path(false)) {
    char* nsp = get_namespace_name(lfirst_oid(lc));
    if (nsp) out = lappend(out, nsp);
  }
  return out;
}

List* index_names_beside(RangeVar* table, const char* index) {
  List* out = NIL;
  ListCell* lc;
  foreach (lc, schemas_of(table)) out = lappend(out, quote_qualified_identifier((char*)lfirst(lc), index));
  return out;
}

bool is_relation_type(ObjectType t) {
  return t == OBJECT_TABLE || t == OBJECT_VIEW || t == OBJECT_MATVIEW || t == OBJECT_SEQUENCE ||
         t == OBJECT_FOREIGN_TABLE || t == OBJECT_INDEX;
}

struct NamedObjects {
  std::vector<std::string> tables;   // "public.t": keys concerning it, and indexes on it
  std::vector<std::string> indexes;  // "public.t_i"
};

void add_all(std::vector<std::string>& to, List* names) {
  ListCell* lc;
  foreach (lc, names) to.emplace_back(static_cast<const char*>(lfirst(lc)));
}

// The names f() lists (plain C), quoted as snapshot keys are.
template <typename F>
List* quoted(F f) {
  return pg::call([&] { return pg::with_plain_identifiers([&] { return f(); }); });
}

NamedObjects named_objects(const std::vector<ScriptStatement>& statements, bool whole) {
  NamedObjects out;
  auto tables = [&](RangeVar* rv) { add_all(out.tables, quoted([&] { return relation_names(rv, whole); })); };
  auto indexes = [&](RangeVar* rv) { add_all(out.indexes, quoted([&] { return relation_names(rv, false); })); };
  for (const ScriptStatement& st : statements) {
    for (RangeVar* rv : lock_targets(st.parsetree)) tables(rv);
    if (!whole) continue;
    Node* n = st.parsetree;
    switch (nodeTag(n)) {
      case T_CreateStmt: tables(castNode(CreateStmt, n)->relation); break;
      case T_CreateTableAsStmt: tables(castNode(CreateTableAsStmt, n)->into->rel); break;
      case T_ViewStmt: tables(castNode(ViewStmt, n)->view); break;
      case T_CreateSeqStmt: tables(castNode(CreateSeqStmt, n)->sequence); break;
      case T_AlterSeqStmt: tables(castNode(AlterSeqStmt, n)->sequence); break;
      case T_IndexStmt: {
        IndexStmt* ix = castNode(IndexStmt, n);
        if (ix->idxname) add_all(out.indexes, quoted([&] { return index_names_beside(ix->relation, ix->idxname); }));
        break;
      }
      case T_ReindexStmt:
        if (castNode(ReindexStmt, n)->relation) {
          tables(castNode(ReindexStmt, n)->relation);
          indexes(castNode(ReindexStmt, n)->relation);
        }
        break;
      case T_RenameStmt: {
        RenameStmt* r = castNode(RenameStmt, n);
        if (!r->relation || !is_relation_type(r->renameType)) break;
        // The old name (gone, or another relation's since) and the new one.
        add_all(r->renameType == OBJECT_INDEX ? out.indexes : out.tables,
                quoted([&] { return names_in_schemas(r->relation->schemaname, r->relation->relname); }));
        add_all(r->renameType == OBJECT_INDEX ? out.indexes : out.tables,
                quoted([&] { return index_names_beside(r->relation, r->newname); }));
        break;
      }
      case T_AlterObjectSchemaStmt: {  // ALTER TABLE t SET SCHEMA s: the old name and the new
        AlterObjectSchemaStmt* a = castNode(AlterObjectSchemaStmt, n);
        if (!a->relation || !is_relation_type(a->objectType)) break;
        std::vector<std::string>& to = a->objectType == OBJECT_INDEX ? out.indexes : out.tables;
        add_all(to, quoted([&] { return names_in_schemas(a->relation->schemaname, a->relation->relname); }));
        add_all(to, quoted([&] { return names_in_schemas(a->newschema, a->relation->relname); }));
        break;
      }
      case T_DropStmt: {
        DropStmt* d = castNode(DropStmt, n);
        if (!is_relation_type(d->removeType)) break;
        ListCell* lc;
        foreach (lc, d->objects) {
          RangeVar* rv = pg::call([&] { return makeRangeVarFromNameList(static_cast<List*>(lfirst(lc))); });
          if (d->removeType == OBJECT_INDEX) indexes(rv);
          else tables(rv);
        }
        break;
      }
      default:
        break;
    }
  }
  return out;
}

// Whether the snapshot key (its entry as recorded and live) is one of the named objects or a
// part of one: with `whole`, an index also by the table its entry names.
bool named(const NamedObjects& names, const std::string& key, const std::optional<std::string>& recorded,
           const std::optional<std::string>& live, bool whole) {
  for (const std::string& t : names.tables)
    if (drift::key_concerns(key, "table", t)) return true;
  if (!whole || key.rfind("index ", 0) != 0) return false;
  std::string identity = key.substr(6);
  if (std::find(names.indexes.begin(), names.indexes.end(), identity) != names.indexes.end()) return true;
  for (const std::optional<std::string>& entry : {recorded, live}) {
    std::optional<std::string> table = entry ? drift::index_entry_table(*entry) : std::nullopt;
    if (table && std::find(names.tables.begin(), names.tables.end(), *table) != names.tables.end()) return true;
  }
  return false;
}

}  // namespace

void keep_unnamed_differences(PreexistingDifferences& before, const PreexistingDifferences& now,
                              const std::vector<ScriptStatement>& statements, bool whole_statements) {
  if (now.keys.empty()) return;
  NamedObjects names = named_objects(statements, whole_statements);
  for (size_t i = 0; i < now.keys.size(); ++i) {
    if (named(names, now.keys[i], now.recorded[i], now.live[i], whole_statements)) continue;
    auto at = std::find(before.keys.begin(), before.keys.end(), now.keys[i]);
    if (at == before.keys.end()) {
      before.keys.push_back(now.keys[i]);
      before.recorded.push_back(now.recorded[i]);
      before.live.push_back(now.live[i]);
    } else {
      before.live[at - before.keys.begin()] = now.live[i];
    }
  }
}

}  // namespace pgm
