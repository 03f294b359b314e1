// Lint: migration scripts checked with the server's parser against the live catalog.
//
// Each statement's raw parse tree is turned into lint::Facts (what it does, to which table,
// and what pg_class says about that table's size); the decisions are in core/lint_rules.cpp.
// Catalog lookups take no locks (NoLock / syscache), so linting never waits on a busy table.
#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>

#include "core/script.hpp"
#include "module_init.hpp"
#include "pg/spi.hpp"
#include "pg/srf.hpp"
#include "pg/args.hpp"
#include "policy.hpp"
#include "safety.hpp"
#include "safety_hooks.hpp"
#include "run.hpp"

extern "C" {
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "commands/defrem.h"
#include "access/sysattr.h"
#include "lib/stringinfo.h"
#include "access/htup_details.h"
#include "utils/fmgroids.h"
#include "utils/builtins.h"
#include "catalog/pg_constraint.h"
#include "catalog/partition.h"
#include "commands/tablecmds.h"
#include "commands/tablespace.h"
#include "access/transam.h"
#include "parser/parse_utilcmd.h"
#include "partitioning/partbounds.h"
#include "utils/partcache.h"
#include "access/table.h"
#include "access/genam.h"
#include "common/relpath.h"
#include "miscadmin.h"
#include <sys/stat.h>
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_relation.h"
#include "parser/parse_node.h"
#include "parser/parse_oper.h"
#include "parser/parse_type.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/varlena.h"
#include "utils/typcache.h"
#include "utils/timestamp.h"
#include "utils/date.h"
#include "utils/syscache.h"
#include "utils/lsyscache.h"
#include "parser/parse_type.h"
}

namespace pgm::safety {

lint::Thresholds thresholds() {
  lint::Thresholds t;
  t.large_table_rows = policy::effective_lint_large_table_rows(lint_large_table_rows);
  return t;
}

std::string finding_label(const lint::Finding& f) {
  return fmt::format("{} ({})", f.rule, lint::severity_name(f.severity));
}

bool created_in_transaction(Oid relid) {
  return pg::call([&] {
    Relation r = RelationIdGetRelation(relid);
    if (!r) return false;
    bool created = r->rd_createSubid != InvalidSubTransactionId;
    RelationClose(r);
    return created;
  });
}

namespace {

using lint::Action;
using lint::Fact;
using lint::TableInfo;

Oid lookup_relid(const RangeVar* rv) {
  return pg::call([&] { return RangeVarGetRelid(rv, NoLock, true); });
}

// A table by schema and name, as a statement's name resolves.
using QualifiedName = std::pair<std::string, std::string>;

// The key the script's notes use for a table: "schema.name" as it resolves.
std::string key_of(const QualifiedName& name) {
  return name.first.empty() ? name.second : name.first + "." + name.second;
}

// The schemas an unqualified name is looked up in, in order: the script's own SET search_path
// if it has one (a transactional script's SET lasts for the rest of it), else the session's.
std::vector<std::string> session_search_path() {
  std::vector<std::string> out{"pg_catalog"};
  List* path = pg::call([] { return fetch_search_path(false); });
  ListCell* lc;
  foreach (lc, path) {
    Oid nsp = lfirst_oid(lc);
    const char* name = pg::call([&] { return get_namespace_name(nsp); });
    if (name && std::strcmp(name, "pg_catalog") != 0) out.push_back(name);
  }
  return out;
}

// A name as the catalog has it, given the renames a script made (table OID -> name in the
// script -> the catalog's name); a name the script did not rename is the catalog's.
std::string catalog_name(const std::map<Oid, std::map<std::string, std::string>>& renamed, Oid relid,
                         const std::string& name) {
  auto t = renamed.find(relid);
  if (t == renamed.end()) return name;
  auto c = t->second.find(name);
  return c == t->second.end() ? name : c->second;
}

// A column's type and typmod.
struct ColumnType {
  Oid type = InvalidOid;
  int32 typmod = -1;
};

// What earlier statements of the same script did to tables, by the schema and name their
// statements resolve to: created, dropped, or renamed / moved from a table of the catalog.
struct ScriptState {
  enum class Kind { Created, Dropped, Moved };
  struct Table {
    Kind kind;
    Oid relid;  // Moved: the catalog table now under this name
    // Created: by an earlier part of a script split by COMMIT, committed since (other sessions
    // see it, and what the part wrote into it is not known here).
    bool committed = false;
  };
  std::map<QualifiedName, Table> tables;
  std::optional<std::vector<std::string>> script_path;  // SET search_path of the script
  std::set<std::string> created_schemas;
  // Domains the script creates (by name, unqualified): whether a column of it rewrites the table
  // (constraints, or a volatile default), which the catalog cannot say yet.
  struct CreatedDomain {
    bool constrained = false;
    bool volatile_default = false;
    bool not_null = false;
    bool has_default = false;
  };
  std::map<std::string, CreatedDomain> created_domains;
  bool transactional = true;  // a SET of a non-transactional script lasts for its statement only
  std::map<std::string, std::vector<std::string>> created_indexes;  // by name: its key columns
  std::set<std::string> dropped_indexes;  // by name: CREATE INDEX IF NOT EXISTS then builds one
  bool timezone_set = false;  // the script SETs TimeZone: timestamp <-> timestamptz may rewrite
  // CHECK constraints added NOT VALID that prove columns NOT NULL: (table, constraint) -> columns.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> notnull_checks;
  std::set<std::pair<std::string, std::string>> validated_notnull;            // (table, column)
  // Constraints this transaction added NOT VALID: (table, constraint) -> the lock the ADD took.
  std::map<std::pair<std::string, std::string>, std::string> added_not_valid;
  // CHECK constraints the script adds validated, or validates, on catalog tables (by OID, so
  // a rename keeps them): proofs that may let a new partition skip a scan. Each is the cooked
  // expression (nodeToString), or "" when it was not cooked (it names what the script creates,
  // or code that is not built in): a possible proof, unknown.
  struct CheckProof {
    std::string name;
    std::string cooked;
  };
  std::map<Oid, std::vector<CheckProof>> check_proofs;
  std::map<std::pair<Oid, std::string>, std::string> not_valid_checks;  // (table, constraint)
  // Catalog constraints and NOT NULLs the script drops (by table OID): no longer proofs.
  std::map<Oid, std::set<std::string>> dropped_checks;
  std::map<Oid, std::set<std::string>> dropped_not_null;
  std::map<Oid, std::string> current_names;  // catalog tables the script renamed: the new name
  // Columns of catalog tables the script renamed, added or dropped (by table OID): name in the
  // script -> the catalog's name of that column, "" for none (added in the script, or renamed
  // or dropped away). A catalog proof (NOT NULL, a CHECK) is looked up under the catalog name.
  std::map<Oid, std::map<std::string, std::string>> column_names;
  // Validated CHECKs the script added or validated that prove columns NOT NULL: (table,
  // constraint) -> columns. Dropped, they prove nothing any more.
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> validated_check_columns;
  // Columns the script itself made NOT NULL (SET NOT NULL, ADD COLUMN ... NOT NULL): dropping a
  // CHECK does not undo that. (table, column)
  std::set<std::pair<std::string, std::string>> declared_not_null;
  // Catalog constraints the script renamed (by table OID): new name -> the catalog's name.
  std::map<Oid, std::map<std::string, std::string>> constraint_names;
  std::string catalog_constraint(Oid relid, const std::string& name) const {
    return catalog_name(constraint_names, relid, name);
  }
  // Catalog columns (by table OID, catalog name) whose type an earlier statement changed, with
  // the type it gave them (InvalidOid: not known): a further change is judged from that type.
  std::map<std::pair<Oid, std::string>, ColumnType> retyped_columns;
  // The catalog's name of a column the script calls `name` ("" if the catalog has none).
  std::string catalog_column(Oid relid, const std::string& name) const {
    return catalog_name(column_names, relid, name);
  }
  // DETACH ... CONCURRENTLY fails while a partitioned table has a default partition: the ones
  // the script creates or attaches (partitioned table -> its default partition, by table key),
  // and the catalog's the script detaches or drops.
  std::map<std::string, std::string> defaults_created;
  std::set<Oid> defaults_removed;

  const std::vector<std::string>& path() {
    if (script_path) return *script_path;
    if (!session_path) session_path = session_search_path();
    return *session_path;
  }
  bool schema_exists(const std::string& schema) {
    if (created_schemas.count(schema)) return true;
    const char* n = schema.c_str();
    return pg::call([&] { return OidIsValid(get_namespace_oid(n, true)); });
  }
  // Where CREATE TABLE puts the table: its schema, or the first existing one of the path.
  QualifiedName creation_name(const RangeVar* rv) {
    // A temporary table lives in the session's own schema, searched first: it hides a table of
    // that name for unqualified names only (public.t is still public.t).
    if (rv->relpersistence == RELPERSISTENCE_TEMP) return {"pg_temp", rv->relname};
    if (rv->schemaname) return {rv->schemaname, rv->relname};
    for (const std::string& schema : path())
      if (schema != "pg_catalog" && schema_exists(schema)) return {schema, rv->relname};
    return {"", rv->relname};
  }
  // What a name refers to: a table the script created, dropped or moved there (`found`), or
  // the catalog's table (its OID, InvalidOid if none).
  struct Resolved {
    QualifiedName name;
    const Table* script = nullptr;
    Oid relid = InvalidOid;
  };
  Resolved resolve(const RangeVar* rv) {
    auto in_schema = [&](const std::string& schema) {
      Resolved r;
      r.name = {schema, rv->relname};
      auto it = tables.find(r.name);
      if (it != tables.end()) {
        r.script = &it->second;
        if (it->second.kind == Kind::Moved) r.relid = it->second.relid;
        return r;
      }
      // A schema the script renamed: its relations are the catalog's under the old name.
      auto renamed = schema_renames.find(schema);
      if (renamed != schema_renames.end() && renamed->second.empty()) return r;  // renamed away
      r.relid = catalog_relid(renamed != schema_renames.end() ? renamed->second : schema, rv->relname);
      return r;
    };
    if (rv->schemaname) return in_schema(rv->schemaname);
    // pg_temp is searched first unless the path names it (then in its place, below).
    const std::vector<std::string>& schemas = path();
    bool temp_named = std::find(schemas.begin(), schemas.end(), "pg_temp") != schemas.end();
    if (auto temp = tables.find({"pg_temp", rv->relname});
        !temp_named && temp != tables.end() && temp->second.kind == Kind::Created) {
      Resolved r;
      r.name = temp->first;
      r.script = &temp->second;
      return r;
    }
    for (const std::string& schema : path()) {
      Resolved r = in_schema(schema);
      if ((r.script && r.script->kind != Kind::Dropped) || (OidIsValid(r.relid) && !r.script)) return r;
    }
    Resolved none;
    none.name = {"", rv->relname};
    if (!script_path) {
      // What the path above does not hold (a temporary table): the session's own lookup,
      // unless the script dropped that table.
      Oid relid = lookup_relid(rv);
      if (OidIsValid(relid)) {
        const char* nsp = pg::call([&] { return get_namespace_name(get_rel_namespace(relid)); });
        auto it = nsp ? tables.find({nsp, rv->relname}) : tables.end();
        if (it == tables.end()) none.relid = relid;
      }
    }
    return none;
  }

  void add_table(const RangeVar* rv) { tables[creation_name(rv)] = {Kind::Created, InvalidOid}; }
  void drop_table(const RangeVar* rv) {
    Resolved r = resolve(rv);
    if (r.script || OidIsValid(r.relid)) tables[r.name] = {Kind::Dropped, InvalidOid};
  }
  // A table renamed or moved to another schema: the new name is the same table.
  // Schemas the script renamed: name in the script -> the catalog's name ("" for a catalog
  // name renamed away).
  std::map<std::string, std::string> schema_renames;
  void rename_schema(const std::string& from, const std::string& to) {
    auto it = schema_renames.find(from);
    std::string catalog = it != schema_renames.end() ? it->second : from;
    schema_renames[to] = catalog;
    schema_renames[from] = "";
  }
  void move_table(const RangeVar* from, const QualifiedName& to) {
    Resolved r = resolve(from);
    if (r.script && r.script->kind == Kind::Created) tables[to] = *r.script;
    else if (OidIsValid(r.relid)) tables[to] = {Kind::Moved, r.relid};
    else return;
    if (OidIsValid(r.relid)) current_names[r.relid] = to.second;
    tables[r.name] = {Kind::Dropped, InvalidOid};
    rekey(r.name, to);
  }
  // What the script noted by a table's name follows it to its new name.
  void rekey(const QualifiedName& from, const QualifiedName& to) {
    const std::string old_key = key_of(from), new_key = key_of(to);
    if (old_key == new_key) return;
    std::map<std::string, std::string> defaults;
    for (auto& [parent, partition] : defaults_created)
      defaults[parent == old_key ? new_key : parent] = partition == old_key ? new_key : partition;
    defaults_created.swap(defaults);
    auto rekey_pairs = [&](auto& container) {
      std::decay_t<decltype(container)> moved;
      for (const auto& [k, v] : container) {
        auto nk = k;
        if (nk.first == old_key) nk.first = new_key;
        moved.emplace(nk, v);
      }
      container.swap(moved);
    };
    rekey_pairs(notnull_checks);
    rekey_pairs(added_not_valid);
    std::set<std::pair<std::string, std::string>> notnull;
    for (const auto& [table, column] : validated_notnull) notnull.insert({table == old_key ? new_key : table, column});
    validated_notnull.swap(notnull);
  }
  // Whether CREATE TABLE IF NOT EXISTS of this name finds a table there (and does nothing).
  bool creation_target_exists(const RangeVar* rv) {
    QualifiedName target = creation_name(rv);
    auto it = tables.find(target);
    if (it != tables.end()) return it->second.kind != Kind::Dropped;
    if (target.first.empty()) return OidIsValid(lookup_relid(rv));
    return OidIsValid(catalog_relid(target.first, rv->relname));
  }
  // SET search_path (and RESET) of a transactional script: later names resolve in it.
  void set_search_path(VariableSetStmt* set) {
    if (!transactional) return;
    if (set->kind == VAR_RESET_ALL) timezone_set = false;
    if (set->name && pg_strcasecmp(set->name, "timezone") == 0) timezone_set = set->kind == VAR_SET_VALUE;
    // RESET, SET ... TO DEFAULT: the value the session resets to (postgresql.conf, ALTER ROLE /
    // DATABASE ... SET), not the one the caller SET.
    const bool reset = set->kind == VAR_RESET_ALL || set->kind == VAR_RESET || set->kind == VAR_SET_DEFAULT;
    if (set->kind != VAR_RESET_ALL && (!set->name || std::strcmp(set->name, "search_path") != 0)) return;
    if (!reset && set->kind != VAR_SET_VALUE) {
      script_path.reset();  // (SET FROM CURRENT: the session's)
      return;
    }
    std::vector<std::string> schemas{"pg_catalog"};
    List* names = pg::call([&] {
      char* value = reset ? pstrdup(GetConfigOptionResetString("search_path")) : ExtractSetVariableArgs(set);
      List* list = NIL;
      if (!value || !SplitIdentifierString(value, ',', &list)) list = NIL;
      return list;
    });
    ListCell* lc;
    foreach (lc, names) {
      std::string schema = static_cast<char*>(lfirst(lc));
      if (schema == "$user") schema = pg::call([] { return GetUserNameFromId(GetUserId(), false); });
      if (schema != "pg_catalog") schemas.push_back(schema);
    }
    script_path = schemas;
  }
 private:
  // The catalog's table of that name in that schema (before the script runs), or InvalidOid.
  static Oid catalog_relid(const std::string& schema, const char* relname) {
    const char* n = schema.c_str();
    return pg::call([&] {
      Oid nsp = get_namespace_oid(n, true);
      return OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;
    });
  }
  std::optional<std::vector<std::string>> session_path;
};

std::string written_name(const RangeVar* rv) {
  return rv->schemaname ? fmt::format("{}.{}", rv->schemaname, rv->relname) : std::string(rv->relname);
}

struct RelFacts {
  double reltuples;
  int32 relpages;
  char relkind;
  char relpersistence;
  Oid filenode;
  Oid tablespace;
  bool changed_in_xact;
  bool has_children;
  const char* name;
};

// Pages in the main fork's files now (stat() of each 1 GB segment: no lock, nothing that can
// fail), or -1 when there are none to read (a mapped catalog, a temporary table) or they cannot
// be read. Plain C.
int64 pages_on_disk(Oid tablespace, Oid filenode, char persistence) {
  if (!OidIsValid(filenode) || persistence == RELPERSISTENCE_TEMP) return -1;
#if PG_VERSION_NUM >= 170000
  char* path = GetRelationPath(MyDatabaseId, OidIsValid(tablespace) ? tablespace : MyDatabaseTableSpace, filenode,
                               INVALID_PROC_NUMBER, MAIN_FORKNUM);
#else
  char* path = GetRelationPath(MyDatabaseId, OidIsValid(tablespace) ? tablespace : MyDatabaseTableSpace, filenode,
                               InvalidBackendId, MAIN_FORKNUM);
#endif
  int64 bytes = 0;
  for (int segment = 0;; ++segment) {
    char* file = segment == 0 ? pstrdup(path) : psprintf("%s.%d", path, segment);
    struct stat st;
    int rc = stat(file, &st);
    pfree(file);
    if (rc != 0) {
      if (segment == 0) bytes = -BLCKSZ;
      break;
    }
    bytes += st.st_size;
    if (st.st_size < static_cast<off_t>(RELSEG_SIZE) * BLCKSZ) break;  // the last segment
  }
  pfree(path);
  return bytes / BLCKSZ;
}

// Statistics older than the data (a table analyzed while empty, then loaded): scaled to the
// files' size now (`now` pages), as the planner scales them; without a row density, unknown (-1).
void scale_to_disk(double* reltuples, int64* relpages, int64 now) {
  if (now <= *relpages) return;
  *reltuples = *relpages > 0 && *reltuples > 0 ? *reltuples / static_cast<double>(*relpages) * static_cast<double>(now) : -1;
  *relpages = now;
}

// Pages on disk by relfilenode, read during one lint call (cleared when the next starts).
std::map<Oid, int64> disk_pages;

bool fill_from_catalog(Oid relid, TableInfo& t, bool with_children = true) {
  RelFacts rf{};
  bool found = pg::call([&] {
    HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(tup)) return false;
    Form_pg_class c = (Form_pg_class)GETSTRUCT(tup);
    rf.reltuples = c->reltuples;
    rf.relpages = c->relpages;
    rf.relkind = c->relkind;
    rf.relpersistence = c->relpersistence;
    rf.filenode = c->relfilenode;
    rf.tablespace = c->reltablespace;
    rf.changed_in_xact = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data));
    rf.has_children = c->relhassubclass;
    char* nsp = get_namespace_name(c->relnamespace);
    rf.name = quote_qualified_identifier(nsp, NameStr(c->relname));
    ReleaseSysCache(tup);
    return true;
  });
  if (!found) return false;
  t.exists = true;
  t.name = rf.name;
  t.reltuples = rf.reltuples;
  t.relpages = rf.relpages;
  t.partitioned = rf.relkind == RELKIND_PARTITIONED_TABLE;
  if (rf.relkind == RELKIND_RELATION || rf.relkind == RELKIND_MATVIEW) {
    // Read once per file and lint call: a script names the same tables again and again.
    auto cached = disk_pages.find(rf.filenode);
    int64 now = cached != disk_pages.end()
                    ? cached->second
                    : pg::call([&] { return pages_on_disk(rf.tablespace, rf.filenode, rf.relpersistence); });
    disk_pages[rf.filenode] = now;
    scale_to_disk(&t.reltuples, &t.relpages, now);
  }
  // A table with inheritance children: a statement without ONLY reaches them too (ALTER TABLE
  // rewrites, UPDATE changes, every one): sized with them.
  bool inherited = with_children && rf.has_children && rf.relkind == RELKIND_RELATION;
  t.own_reltuples = t.reltuples;
  t.own_relpages = t.relpages;
  if (t.partitioned || inherited) {
    // Its own pg_class row has no size: the leaf partitions' summed.
    struct Sum {
      double rows;
      int64 pages;
      int leaves, unknown;
    } sum{0, 0, 0, 0};
    pg::call([&] {
      List* all = find_all_inheritors(relid, NoLock, nullptr);
      ListCell* lc;
      foreach (lc, all) {
        HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(lfirst_oid(lc)));
        if (!HeapTupleIsValid(tup)) continue;
        Form_pg_class c = (Form_pg_class)GETSTRUCT(tup);
        if (c->relkind == RELKIND_RELATION || c->relkind == RELKIND_MATVIEW) {
          double rows = c->reltuples;
          int64 pages = c->relpages;
          scale_to_disk(&rows, &pages, pages_on_disk(c->reltablespace, c->relfilenode, c->relpersistence));
          sum.leaves++;
          sum.pages += pages;
          if (rows < 0) sum.unknown++;
          else sum.rows += rows;
        } else if (c->relkind == RELKIND_FOREIGN_TABLE) {
          sum.leaves++;  // its size is the foreign server's: unknown here
          sum.unknown++;
        }
        ReleaseSysCache(tup);
      }
    });
    t.relpages = sum.pages;
    t.reltuples = sum.leaves > 0 && sum.unknown == sum.leaves ? -1 : sum.rows;
    t.size_partial = sum.unknown > 0 && sum.unknown < sum.leaves;
    if (inherited) {
      t.children = std::max(0, sum.leaves - 1);  // (the list holds the table itself)
    } else {
      t.partitions = sum.leaves;
      if (sum.leaves == 0) t.reltuples = 0;  // no partition yet: nothing to rewrite or scan
    }
  }
  // Only a relation whose pg_class row this transaction wrote can be new in it (and is locked
  // by this transaction, so its relcache entry may be read).
  if (rf.changed_in_xact && created_in_transaction(relid)) t.created_in_script = true;
  return true;
}


// with_children: the statement reaches the inheritance children of the table (UPDATE, DELETE,
// most of ALTER TABLE, without ONLY): sized with them.
TableInfo table_info(const RangeVar* rv, ScriptState& st, Oid* relid_out = nullptr,
                     QualifiedName* resolved_out = nullptr, bool with_children = false) {
  TableInfo t;
  t.name = written_name(rv);
  if (relid_out) *relid_out = InvalidOid;
  ScriptState::Resolved r = st.resolve(rv);
  if (resolved_out) *resolved_out = r.name;
  if (r.script && r.script->kind == ScriptState::Kind::Created) {
    if (r.script->committed) {
      t.exists = true;  // committed by an earlier part: a table like any other, of unknown size
      t.committed_by_script = true;
      return t;
    }
    t.created_in_script = true;
    return t;
  }
  if (r.script && r.script->kind == ScriptState::Kind::Dropped) return t;  // gone: nothing known
  if (OidIsValid(r.relid)) {
    fill_from_catalog(r.relid, t, with_children && rv->inh);
    if (relid_out) *relid_out = r.relid;
    // Renamed or moved earlier in the script: named as it is called from there on.
    if (r.script && r.script->kind == ScriptState::Kind::Moved && !r.name.first.empty()) {
      const char* nsp = r.name.first.c_str();
      const char* rel = r.name.second.c_str();
      t.name = pg::call([&] { return (const char*)quote_qualified_identifier(nsp, rel); });
    }
  }
  return t;
}

// Plain C: the columns a WHERE clause (ANDed conditions) compares with a constant or a short
// list of constants: `id = 1`, `id IN (1, 2, 3)`, `1 = id`.
bool is_constant(Node* n) {
  while (n && IsA(n, TypeCast)) n = ((TypeCast*)n)->arg;
  return n && (IsA(n, A_Const) || IsA(n, ParamRef));
}
// A column of the statement's target table: unqualified, or qualified by the table's name or
// alias (`target`); a column of another table (a join's) is not.
const char* column_name(Node* n, const char* target) {
  if (!n || !IsA(n, ColumnRef)) return nullptr;
  List* fields = ((ColumnRef*)n)->fields;
  Node* last = (Node*)llast(fields);
  if (!IsA(last, String)) return nullptr;
  if (list_length(fields) >= 2) {
    Node* qualifier = (Node*)list_nth(fields, list_length(fields) - 2);
    if (!IsA(qualifier, String) || strcmp(strVal(qualifier), target) != 0) return nullptr;
  }
  return strVal(last);
}
void pinned_columns(Node* n, const char* target, List** out) {
  if (!n) return;
  if (IsA(n, BoolExpr) && ((BoolExpr*)n)->boolop == AND_EXPR) {
    ListCell* lc;
    foreach (lc, ((BoolExpr*)n)->args) pinned_columns((Node*)lfirst(lc), target, out);
    return;
  }
  if (!IsA(n, A_Expr)) return;
  A_Expr* e = (A_Expr*)n;
  const char* op = e->name ? strVal(llast(e->name)) : "";
  if (e->kind == AEXPR_OP && strcmp(op, "=") == 0) {
    const char* left = column_name(e->lexpr, target);
    const char* right = column_name(e->rexpr, target);
    if (left && is_constant(e->rexpr)) *out = lappend(*out, (void*)left);
    else if (right && is_constant(e->lexpr)) *out = lappend(*out, (void*)right);
  } else if (e->kind == AEXPR_IN && strcmp(op, "=") == 0 && column_name(e->lexpr, target) && IsA(e->rexpr, List) &&
             list_length((List*)e->rexpr) <= 1000) {
    ListCell* lc;
    foreach (lc, (List*)e->rexpr)
      if (!is_constant((Node*)lfirst(lc))) return;
    *out = lappend(*out, (void*)column_name(e->lexpr, target));
  }
}

// Plain C: whether `where` pins every key column of a unique index of `relid` (no
// expression, no predicate) to constants: the statement changes at most that many rows.
// `target`: the table's name or alias in the statement.
bool where_pins_unique_key(Oid relid, Node* where, const char* target) {
  List* pinned = NIL;
  pinned_columns(where, target, &pinned);
  if (pinned == NIL) return false;
  // pg_index read directly (the catalog, not the table: no lock on it, as everywhere in lint).
  Relation pg_index = table_open(IndexRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = systable_beginscan(pg_index, IndexIndrelidIndexId, true, nullptr, 1, &key);
  bool found = false;
  HeapTuple tup;
  while (!found && HeapTupleIsValid(tup = systable_getnext(scan))) {
    Form_pg_index idx = (Form_pg_index)GETSTRUCT(tup);
    bool usable = idx->indisunique && idx->indisvalid && heap_attisnull(tup, Anum_pg_index_indexprs, nullptr) &&
                  heap_attisnull(tup, Anum_pg_index_indpred, nullptr);
    for (int k = 0; usable && k < idx->indnkeyatts; ++k) {
      AttrNumber att = idx->indkey.values[k];
      char* name = att > 0 ? get_attname(relid, att, true) : nullptr;
      bool named = false;
      ListCell* pc;
      if (name)
        foreach (pc, pinned)
          if (strcmp((const char*)lfirst(pc), name) == 0) named = true;
      usable = named;
    }
    found = usable;
  }
  systable_endscan(scan);
  table_close(pg_index, AccessShareLock);
  return found;
}

// A cancel, timeout or shutdown request must end the lint, not be taken as "cannot tell".
bool interrupted(pg::PgError& e) { return e.is_interrupt(); }

std::string str_val(Node* n) { return n && IsA(n, String) ? strVal(n) : std::string(); }

bool is_serial(const std::string& t) {
  return t == "serial" || t == "serial4" || t == "smallserial" || t == "serial2" || t == "bigserial" ||
         t == "serial8";
}

int first_typmod(const TypeName* tn) {
  if (!tn->typmods || list_length(tn->typmods) < 1) return -1;
  Node* n = (Node*)linitial(tn->typmods);
  if (!IsA(n, A_Const)) return -1;
  A_Const* c = (A_Const*)n;
#if PG_VERSION_NUM >= 150000
  if (c->isnull || !IsA(&c->val, Integer)) return -1;
  return intVal(&c->val);
#else
  if (c->val.type != T_Integer) return -1;
  return intVal(&c->val);
#endif
}

// Type rules for a column definition (CREATE TABLE, ADD COLUMN, ALTER COLUMN TYPE).
void check_column_type(const ColumnDef* col, const char* colname, const TableInfo& t, bool is_pk,
                       std::vector<Fact>& out) {
  const TypeName* tn = col->typeName;
  if (!tn || tn->pct_type || !tn->names) return;
  std::string type = str_val((Node*)llast(tn->names));
  std::string schema = list_length(tn->names) > 1 ? str_val((Node*)linitial(tn->names)) : "";
  if (!schema.empty() && schema != "pg_catalog") return;
  TableInfo table = t;
  if (is_serial(type) && schema.empty())
    out.push_back({Action::SerialColumn, table, colname, type, {}});
  if (is_pk) {
    const char* narrow = type == "int4" ? "integer (32-bit)"
                         : type == "int2" ? "smallint (16-bit)"
                         : (type == "serial" || type == "serial4") && schema.empty() ? "serial (32-bit)"
                         : (type == "smallserial" || type == "serial2") && schema.empty() ? "smallserial (16-bit)"
                                                                                          : nullptr;
    if (narrow) out.push_back({Action::IntPrimaryKey, table, colname, narrow, {}});
  }
  if (type == "bpchar") {
    int n = first_typmod(tn);
    out.push_back({Action::CharColumn, table, colname, n > 0 ? fmt::format("char({})", n) : "char(n)", {}});
  }
  if (type == "timestamp") out.push_back({Action::TimestampColumn, table, colname, "", {}});
}

// Plain C walker: true at a function call that may be volatile, judged by name (the call
// could not be resolved): some function of that name is volatile, or none exists yet (the
// script creates it). A non-null `context` is a FuncCall** that receives the call.
bool possibly_volatile_call_walker(Node* node, void* context) {
  if (!node) return false;
  if (IsA(node, FuncCall)) {
    FuncCall* fc = reinterpret_cast<FuncCall*>(node);
    bool volatile_or_unknown = true;
    FuncCandidateList c = FuncnameGetCandidates(fc->funcname, -1, NIL, false, false, false, true);
    if (c) {
      volatile_or_unknown = false;
      for (; c; c = c->next)
        if (func_volatile(c->oid) == PROVOLATILE_VOLATILE) volatile_or_unknown = true;
    }
    if (volatile_or_unknown) {
      if (context) *static_cast<FuncCall**>(context) = fc;  // the call found
      return true;
    }
  }
#if PG_VERSION_NUM >= 160000
  return raw_expression_tree_walker(node, possibly_volatile_call_walker, context);
#else
  // PostgreSQL < 16 declares the walker without a prototype; through void (*)() to say so.
  return raw_expression_tree_walker(
      node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(possibly_volatile_call_walker)), context);
#endif
}

// Whether a column default is volatile (a volatile default rewrites the table). A default that
// names what the script creates earlier (a sequence, a function, a type) cannot be resolved:
// then it may be volatile if it calls a function that may be (nextval(), a new function).
enum class Volatility { kNo, kYes, kMaybe };
Volatility default_volatility(Node* raw) {
  try {
    pg::SubTransaction sub;
    bool v = pg::call([&] {
      ParseState* ps = make_parsestate(NULL);
      Node* e = transformExpr(ps, (Node*)copyObjectImpl(raw), EXPR_KIND_COLUMN_DEFAULT);
      bool found = contain_volatile_functions(e);
      free_parsestate(ps);
      return found;
    });
    sub.commit();
    return v ? Volatility::kYes : Volatility::kNo;
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) throw;
  }
  // (A name that cannot be looked up at all, "a.b.c.d()": may be volatile.)
  try {
    pg::SubTransaction sub;
    bool maybe = pg::call([&] { return possibly_volatile_call_walker(raw, nullptr); });
    sub.commit();
    return maybe ? Volatility::kMaybe : Volatility::kNo;
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) throw;
  }
  return Volatility::kMaybe;
}

// Plain C: the indexes of `relid` an ALTER COLUMN ... TYPE rebuilds although the table is not
// rewritten (timestamp -> timestamptz under UTC, a new collation), as a "a, b" list, or NULL.
// PostgreSQL keeps an index only if its operator class and collation stay the same
// (CheckIndexCompatible) and no expression or predicate of it reads the column.
char* indexes_rebuilt_by_type_change(Oid relid, const char* column, const ColumnDef* def) {
  AttrNumber att = get_attnum(relid, column);
  if (att == InvalidAttrNumber) return nullptr;
  Oid newtype;
  int32 newmod;
  typenameTypeIdAndMod(NULL, def->typeName, &newtype, &newmod);
  Oid newcoll = def->collClause ? LookupCollation(NULL, def->collClause->collname, -1) : get_typcollation(newtype);
  StringInfoData names;
  initStringInfo(&names);
  Relation index_rel = table_open(IndexRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = systable_beginscan(index_rel, IndexIndrelidIndexId, true, nullptr, 1, &key);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) {
    Form_pg_index ix = (Form_pg_index)GETSTRUCT(tup);
    bool isnull;
    oidvector* classes = (oidvector*)DatumGetPointer(heap_getattr(tup, Anum_pg_index_indclass, RelationGetDescr(index_rel), &isnull));
    oidvector* collations = (oidvector*)DatumGetPointer(heap_getattr(tup, Anum_pg_index_indcollation, RelationGetDescr(index_rel), &isnull));
    bool rebuilt = false;
    // An expression or a predicate that reads the column: rebuilt.
    for (int anum : {(int)Anum_pg_index_indexprs, (int)Anum_pg_index_indpred}) {
      Datum d = heap_getattr(tup, anum, RelationGetDescr(index_rel), &isnull);
      if (isnull) continue;
      Bitmapset* used = nullptr;
      pull_varattnos((Node*)stringToNode(TextDatumGetCString(d)), 1, &used);
      if (bms_is_member(att - FirstLowInvalidHeapAttributeNumber, used)) rebuilt = true;
    }
    Oid am = InvalidOid;
    if (HeapTuple ct = SearchSysCache1(RELOID, ObjectIdGetDatum(ix->indexrelid)); HeapTupleIsValid(ct)) {
      am = ((Form_pg_class)GETSTRUCT(ct))->relam;
      ReleaseSysCache(ct);
    }
    for (int k = 0; k < ix->indnkeyatts && !rebuilt; ++k) {
      if (ix->indkey.values[k] != att) continue;
      Oid opclass = GetDefaultOpClass(newtype, am);
      if (opclass != classes->values[k] || collations->values[k] != newcoll) rebuilt = true;
    }
    for (int k = ix->indnkeyatts; k < ix->indnatts && !rebuilt; ++k)  // INCLUDE columns: a new type
      if (ix->indkey.values[k] == att && get_atttype(relid, att) != newtype) rebuilt = true;
    if (rebuilt) {
      char* name = get_rel_name(ix->indexrelid);
      if (names.len > 0) appendStringInfoString(&names, ", ");
      appendStringInfoString(&names, name ? quote_identifier(name) : "?");
    }
  }
  systable_endscan(scan);
  table_close(index_rel, AccessShareLock);
  return names.len > 0 ? names.data : nullptr;
}

// PostgreSQL's TemporalSimplify(): a precision change rewrites unless the new precision is
// unlimited, the maximum, or at least the old one.
bool temporal_rewrites(int32 oldmod, int32 newmod, int32 max_precision) {
  return !(newmod < 0 || newmod == max_precision || (oldmod >= 0 && newmod >= oldmod));
}

// Whether ALTER COLUMN ... TYPE rewrites the table (after PostgreSQL's own rules: binary
// coercible changes and typmod widenings of varchar, varbit, numeric and time types don't).
// `before`: the column's type as an earlier statement of the script changed it (else the
// catalog's); `after` receives the type this change gives it.
bool type_change_rewrites(Oid relid, const char* column, const ColumnDef* def, std::string* new_type,
                          bool script_sets_timezone, const ColumnType* before = nullptr, ColumnType* after = nullptr) {
  struct Types {
    AttrNumber attnum;
    Oid oldtype;
    int32 oldmod;
    Oid newtype;
    int32 newmod;
    bool coercible;
    bool domain_constrained;
    const char* newname;
  } t{};
  pg::call([&] {
    Oid coll;
    t.attnum = get_attnum(relid, column);
    if (t.attnum == InvalidAttrNumber) return;
    get_atttypetypmodcoll(relid, t.attnum, &t.oldtype, &t.oldmod, &coll);
    if (before) {
      t.oldtype = before->type;
      t.oldmod = before->typmod;
    }
    if (get_typtype(t.oldtype) == TYPTYPE_DOMAIN) t.oldtype = getBaseTypeAndTypmod(t.oldtype, &t.oldmod);
    typenameTypeIdAndMod(NULL, def->typeName, &t.newtype, &t.newmod);
    if (after) *after = {t.newtype, t.newmod};
    t.newname = format_type_with_typemod(t.newtype, t.newmod);
    // A domain without constraints changes nothing of the values: as its base type (a domain
    // with constraints checks every row, below).
    if (get_typtype(t.newtype) == TYPTYPE_DOMAIN) {
      t.domain_constrained = DomainHasConstraints(t.newtype);
      t.newtype = getBaseTypeAndTypmod(t.newtype, &t.newmod);
    }
    t.coercible = IsBinaryCoercible(t.oldtype, t.newtype);
  });
  if (t.attnum == InvalidAttrNumber) return false;
  *new_type = t.newname;
  if (def->raw_default) return true;  // USING expression
  if (t.domain_constrained) return true;
  if (t.oldtype == t.newtype) {
    if (t.newmod == t.oldmod) return false;
    switch (t.newtype) {
      case VARCHAROID:
      case VARBITOID:
        return !(t.newmod == -1 || (t.oldmod != -1 && t.newmod >= t.oldmod));
      case NUMERICOID: {
        if (t.newmod == -1) return false;
        if (t.oldmod == -1) return true;
        int32 op = ((t.oldmod - VARHDRSZ) >> 16) & 0xffff, os = (t.oldmod - VARHDRSZ) & 0xffff;
        int32 np = ((t.newmod - VARHDRSZ) >> 16) & 0xffff, ns = (t.newmod - VARHDRSZ) & 0xffff;
        return !(ns == os && np >= op);
      }
      case TIMESTAMPOID:
      case TIMESTAMPTZOID:
        return temporal_rewrites(t.oldmod, t.newmod, MAX_TIMESTAMP_PRECISION);
      case TIMEOID:
      case TIMETZOID:
        return temporal_rewrites(t.oldmod, t.newmod, MAX_TIME_PRECISION);
      case INTERVALOID: {
        // interval_support: the same fields (or all of them) and no less precision.
        if (t.newmod < 0) return false;
        int32 old_range = t.oldmod < 0 ? INTERVAL_FULL_RANGE : INTERVAL_RANGE(t.oldmod);
        int32 old_precis = t.oldmod < 0 ? INTERVAL_FULL_PRECISION : INTERVAL_PRECISION(t.oldmod);
        int32 new_range = INTERVAL_RANGE(t.newmod), new_precis = INTERVAL_PRECISION(t.newmod);
        return !((new_range == INTERVAL_FULL_RANGE || new_range == old_range) &&
                 (new_precis >= MAX_INTERVAL_PRECISION || new_precis >= old_precis));
      }
      default:
        return true;
    }
  }
  // timestamp <-> timestamptz: no rewrite when the session's time zone is UTC (PostgreSQL 12 on;
  // the session that applies the migration decides, this one is the best guess). The
  // conversion's result has no precision: a new one rewrites unless unlimited or the maximum.
  if ((t.oldtype == TIMESTAMPOID && t.newtype == TIMESTAMPTZOID) ||
      (t.oldtype == TIMESTAMPTZOID && t.newtype == TIMESTAMPOID)) {
    if (temporal_rewrites(-1, t.newmod, MAX_TIMESTAMP_PRECISION)) return true;
    if (script_sets_timezone) return true;  // the zone it runs in is the script's: assume not UTC
    return pg::call([] { return TimestampTimestampTzRequiresRewrite(); });
  }
  if (t.coercible && t.newmod == -1) return false;  // e.g. varchar(n) -> text
  return true;
}

// True if the column is already NOT NULL or a validated CHECK (col IS NOT NULL) exists.
// Whether an expression calls a function (or an operator's) that is not built in. Lint must
// run no user code: folding constants evaluates immutable functions, and a table owner's
// CHECK (f('x')) would then run as whoever lints (a superuser registering a migration).
bool user_function(Oid funcid, void*) { return funcid >= FirstNormalObjectId; }
bool calls_user_function(Node* node, void* context) {
  if (!node) return false;
  if (check_functions_in_node(node, user_function, context)) return true;
  return expression_tree_walker(node, reinterpret_cast<bool (*)()>(calls_user_function), context);
}

// `column` as the script names it; NOT NULLs and CHECKs the script dropped are no proof.
bool has_validated_not_null(Oid relid, const std::string& column, const ScriptState& st) {
  const std::string catalog_name = st.catalog_column(relid, column);
  if (catalog_name.empty()) return false;
  const char* col = catalog_name.c_str();
  auto dn = st.dropped_not_null.find(relid);
  const bool not_null_dropped = dn != st.dropped_not_null.end() && dn->second.count(catalog_name);
  // (Plain pointers for the lambda: nothing in it may throw a C++ exception.)
  std::vector<const char*> dropped;
  if (auto dc = st.dropped_checks.find(relid); dc != st.dropped_checks.end())
    for (const std::string& name : dc->second) dropped.push_back(name.c_str());
  const char* const* dropped_names = dropped.data();
  const size_t dropped_count = dropped.size();
  return pg::call([&] {
    // PostgreSQL's own test of whether SET NOT NULL can skip its scan (as
    // ConstraintImpliedByRelConstraint): the column is NOT NULL already, or validated CHECK
    // constraints imply it (CHECK (c IS NOT NULL AND c <> '') too). From the catalogs, without
    // the table's relcache entry or a lock on it: lint takes none.
    AttrNumber att = get_attnum(relid, col);
    if (att <= 0) return false;
    HeapTuple atup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(att));
    if (!HeapTupleIsValid(atup)) return false;
    Form_pg_attribute a = (Form_pg_attribute)GETSTRUCT(atup);
    bool not_null = a->attnotnull && !not_null_dropped;
    Var* var = makeVar(1, att, a->atttypid, a->atttypmod, a->attcollation, 0);
    ReleaseSysCache(atup);
    if (not_null) return true;
    List* exist = NIL;
    Relation conrel = table_open(ConstraintRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
    SysScanDesc scan = systable_beginscan(conrel, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
    HeapTuple tup;
    while (HeapTupleIsValid(tup = systable_getnext(scan))) {
      Form_pg_constraint con = (Form_pg_constraint)GETSTRUCT(tup);
      if (con->contype != CONSTRAINT_CHECK || !con->convalidated) continue;
      bool was_dropped = false;
      for (size_t k = 0; k < dropped_count && !was_dropped; ++k)
        was_dropped = strcmp(dropped_names[k], NameStr(con->conname)) == 0;
      if (was_dropped) continue;
      bool isnull = false;
      Datum bin = heap_getattr(tup, Anum_pg_constraint_conbin, RelationGetDescr(conrel), &isnull);
      if (isnull) continue;
      Node* e = (Node*)stringToNode(TextDatumGetCString(bin));
      if (calls_user_function(e, nullptr)) continue;  // (not evaluated: then not a proof)
      e = eval_const_expressions(NULL, e);
      e = (Node*)canonicalize_qual((Expr*)e, true);
      exist = list_concat(exist, make_ands_implicit((Expr*)e));
    }
    systable_endscan(scan);
    table_close(conrel, AccessShareLock);
    if (exist == NIL) return false;
    NullTest* nt = makeNode(NullTest);
    nt->arg = (Expr*)var;
    nt->nulltesttype = IS_NOT_NULL;
    nt->argisrow = false;
    nt->location = -1;
    return predicate_implied_by(list_make1(nt), exist, true);
  });
}

// The key columns of index `indexname` of table `relid` (ADD PRIMARY KEY USING INDEX).
std::vector<std::string> index_key_columns(Oid relid, const char* indexname) {
  List* names = pg::call([&] {
    List* out = NIL;
    Oid index = get_relname_relid(indexname, get_rel_namespace(relid));
    if (!OidIsValid(index)) return out;
    HeapTuple tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
    if (!HeapTupleIsValid(tup)) return out;
    Form_pg_index ix = (Form_pg_index)GETSTRUCT(tup);
    for (int i = 0; i < ix->indnkeyatts; ++i)
      if (ix->indkey.values[i] > 0)
        if (char* name = get_attname(relid, ix->indkey.values[i], true)) out = lappend(out, name);
    ReleaseSysCache(tup);
    return out;
  });
  std::vector<std::string> columns;
  ListCell* lc;
  foreach (lc, names) columns.emplace_back(static_cast<char*>(lfirst(lc)));
  return columns;
}

// Column types of an existing table's columns, for PRIMARY KEY (cols) on existing columns.
std::string column_type_name(Oid relid, const char* column) {
  const char* name = pg::call([&]() -> const char* {
    AttrNumber att = get_attnum(relid, column);
    if (att == InvalidAttrNumber) return nullptr;
    Oid typ = get_atttype(relid, att);
    return typ == INT4OID ? "integer (32-bit)" : typ == INT2OID ? "smallint (16-bit)" : nullptr;
  });
  return name ? name : "";
}

// "col IS NOT NULL" on one column: its name, else "".
// The columns a CHECK expression (as written) proves NOT NULL: `c IS NOT NULL`, also ANDed
// with anything else (`a IS NOT NULL AND b IS NOT NULL AND a <> ''`).
void not_null_check_columns(Node* expr, std::vector<std::string>& out) {
  if (!expr) return;
  if (IsA(expr, BoolExpr) && ((BoolExpr*)expr)->boolop == AND_EXPR) {
    ListCell* lc;
    foreach (lc, ((BoolExpr*)expr)->args) not_null_check_columns((Node*)lfirst(lc), out);
    return;
  }
  if (!IsA(expr, NullTest)) return;
  NullTest* nt = (NullTest*)expr;
  if (nt->nulltesttype != IS_NOT_NULL || !nt->arg || !IsA(nt->arg, ColumnRef)) return;
  ColumnRef* cr = (ColumnRef*)nt->arg;
  if (list_length(cr->fields) != 1) return;
  out.push_back(str_val((Node*)linitial(cr->fields)));
}

// The same for a CHECK constraint of the catalog, by name (validated or not): VALIDATE
// CONSTRAINT of one added NOT VALID by an earlier migration proves its columns from then on.
// Read structurally, nothing evaluated (lint runs no user code).
std::vector<std::string> catalog_not_null_check_columns(Oid relid, const char* conname) {
  List* names = pg::call([&] {
    List* out = NIL;
    Oid con = get_relation_constraint_oid(relid, conname, true);
    if (!OidIsValid(con)) return out;
    HeapTuple tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(con));
    if (!HeapTupleIsValid(tup)) return out;
    Form_pg_constraint c = (Form_pg_constraint)GETSTRUCT(tup);
    bool isnull = true;
    Datum bin = c->contype == CONSTRAINT_CHECK ? SysCacheGetAttr(CONSTROID, tup, Anum_pg_constraint_conbin, &isnull) : (Datum)0;
    if (!isnull) {
      Node* e = (Node*)stringToNode(TextDatumGetCString(bin));
      List* ands = make_ands_implicit((Expr*)canonicalize_qual((Expr*)e, true));
      ListCell* lc;
      foreach (lc, ands) {
        Node* n = (Node*)lfirst(lc);
        if (!IsA(n, NullTest) || ((NullTest*)n)->nulltesttype != IS_NOT_NULL || !((NullTest*)n)->arg ||
            !IsA(((NullTest*)n)->arg, Var))
          continue;
        if (char* name = get_attname(relid, ((Var*)((NullTest*)n)->arg)->varattno, true)) out = lappend(out, name);
      }
    }
    ReleaseSysCache(tup);
    return out;
  });
  std::vector<std::string> out;
  ListCell* lc;
  foreach (lc, names) out.push_back(static_cast<char*>(lfirst(lc)));
  return out;
}

// The lock ADD CONSTRAINT took (SHARE ROW EXCLUSIVE for a foreign key, else ACCESS EXCLUSIVE)
// if constraint `name` of `relid` is not validated and this transaction added it (an earlier
// migration of the same apply() call, or a statement before migrate.lint() in the caller's
// transaction): validating it now scans under that lock. nullptr otherwise.
const char* not_valid_added_in_transaction(Oid relid, const char* name) {
  return pg::call([&]() -> const char* {
    HeapTuple tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(get_relation_constraint_oid(relid, name, true)));
    if (!HeapTupleIsValid(tup)) return nullptr;
    Form_pg_constraint c = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tup));
    const char* lock = nullptr;
    // Inserted by this transaction, not updated by it (ALTER CONSTRAINT of an older one).
    if (!c->convalidated && !(tup->t_data->t_infomask & HEAP_UPDATED) &&
        TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup->t_data)))
      lock = c->contype == CONSTRAINT_FOREIGN ? "SHARE ROW EXCLUSIVE" : "ACCESS EXCLUSIVE";
    ReleaseSysCache(tup);
    return lock;
  });
}

const char* lock_mode_sql(int mode) {
  static const char* names[] = {"", "ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE",
                                "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"};
  return mode >= 1 && mode <= 8 ? names[mode] : "ACCESS EXCLUSIVE";
}

// What a column's type adds to ADD COLUMN when it is a domain: PostgreSQL rewrites the table
// if the domain has constraints (each row's value, even NULL, is checked) or, without a
// DEFAULT clause, if the domain's own default is volatile.
struct DomainFacts {
  bool constrained = false;
  bool volatile_default = false;
  bool not_null = false;     // NOT NULL: a column of it needs a value in every row
  bool has_default = false;  // a default of its own, which a new column of it takes
  const char* name = nullptr;
};

DomainFacts domain_facts(const TypeName* type_name, const ScriptState& st) {
  DomainFacts d;
  if (!type_name || type_name->pct_type) return d;
  bool found = false;
  pg::call([&] {
    Type tup = LookupTypeName(NULL, type_name, NULL, true);
    if (!tup) return;
    found = true;
    Form_pg_type form = (Form_pg_type)GETSTRUCT(tup);
    Oid typid = form->oid;
    bool domain = form->typtype == TYPTYPE_DOMAIN;
    ReleaseSysCache(tup);
    if (!domain) return;
    d.name = format_type_be(typid);
    d.constrained = DomainHasConstraints(typid);
    Node* def = get_typdefault(typid);
    d.has_default = def != nullptr;
    d.volatile_default = def && contain_volatile_functions(def);
    // (A domain over a NOT NULL domain is NOT NULL too: the base's constraints apply.)
    for (Oid t = typid; OidIsValid(t) && !d.not_null;) {
      HeapTuple tt = SearchSysCache1(TYPEOID, ObjectIdGetDatum(t));
      if (!HeapTupleIsValid(tt)) break;
      Form_pg_type f = (Form_pg_type)GETSTRUCT(tt);
      d.not_null = f->typnotnull;
      t = f->typtype == TYPTYPE_DOMAIN ? f->typbasetype : InvalidOid;
      ReleaseSysCache(tt);
    }
  });
  // Not in the catalog yet: a domain an earlier statement of the script creates.
  if (!found && type_name->names) {
    auto it = st.created_domains.find(str_val((Node*)llast(type_name->names)));
    if (it != st.created_domains.end()) {
      d.name = strVal(llast(type_name->names));
      d.constrained = it->second.constrained;
      d.volatile_default = it->second.volatile_default;
      d.not_null = it->second.not_null;
      d.has_default = it->second.has_default;
    }
  }
  return d;
}

void analyze_add_column(ColumnDef* col, const TableInfo& t, const ScriptState& st, std::vector<Fact>& out) {
  bool notnull = false, pk = false, unique = false, identity = false, generated = false;
  Node* default_expr = nullptr;
  Constraint* fk = nullptr;
  Constraint* check = nullptr;
  ListCell* lc;
  foreach (lc, col->constraints) {
    Constraint* c = (Constraint*)lfirst(lc);
    switch (c->contype) {
      case CONSTR_NOTNULL: notnull = true; break;
      case CONSTR_PRIMARY: pk = true; break;
      case CONSTR_UNIQUE: unique = true; break;
      case CONSTR_DEFAULT: default_expr = c->raw_expr; break;
      case CONSTR_IDENTITY: identity = true; break;
      case CONSTR_GENERATED: generated = true; break;
      case CONSTR_FOREIGN: fk = c; break;
      case CONSTR_CHECK: check = c; break;
      default: break;
    }
  }
  std::string type = col->typeName && col->typeName->names ? str_val((Node*)llast(col->typeName->names)) : "";
  bool serial = is_serial(type) && list_length(col->typeName->names) == 1;
  check_column_type(col, col->colname, t, pk, out);
  if (t.created_in_script) return;
  std::string rewrite;
  if (identity) rewrite = "an identity (a sequence default)";
  else if (generated) rewrite = "a stored generated expression";
  else if (serial) rewrite = fmt::format("the {} pseudo-type (a nextval() default)", type);
  else if (Volatility v = default_expr ? default_volatility(default_expr) : Volatility::kNo; v == Volatility::kYes)
    rewrite = "a volatile default";
  else if (v == Volatility::kMaybe)
    rewrite = "a default calling a function that may be volatile (it names what is not in the catalog yet)";
  DomainFacts d = domain_facts(col->typeName, st);
  if (rewrite.empty()) {
    if (d.constrained) rewrite = fmt::format("domain {} (its constraints are checked on every row)", d.name);
    else if (d.volatile_default && !default_expr) rewrite = fmt::format("the volatile default of domain {}", d.name);
  }
  // NOT NULL (the column's or its domain's) with no value for the existing rows: the statement
  // fails on a table with rows, which matters more than the rewrite it would take.
  bool required = (notnull || d.not_null) && !default_expr && !d.has_default && !identity && !generated && !serial;
  if (required) out.push_back({Action::AddRequiredColumn, t, col->colname, "", {}});
  else if (!rewrite.empty()) out.push_back({Action::AddColumnRewrite, t, col->colname, rewrite, {}});
  if (pk || unique)
    out.push_back({Action::AddUnique, t, "",
                   fmt::format("{} on new column {}", pk ? "PRIMARY KEY" : "UNIQUE constraint", col->colname), {}});
  if (fk && !fk->skip_validation) {
    Fact f{Action::AddForeignKey, t, fmt::format("on new column {}", col->colname), "", {}};
    f.other.name = fk->pktable ? written_name(fk->pktable) : "the referenced table";
    out.push_back(f);
  }
  if (check && !check->skip_validation)
    out.push_back({Action::AddCheck, t, fmt::format("on new column {}", col->colname), "", {}});
}

void analyze_alter_cmd(AlterTableCmd* cmd, const TableInfo& t, Oid relid, const std::string& table_key,
                       ScriptState& st, std::vector<Fact>& out);

// Plain C: which tables a new partition of `parent` FOR `bound` makes PostgreSQL scan, decided as
// ATExecAttachPartition decides it: the table being attached (`attached`, if any) unless its
// validated CHECK and NOT NULL constraints imply the partition constraint, and the parent's
// default partition unless its constraints imply that no row of it belongs to the new
// partition (PartConstraintImpliedByRelConstraint). A foreign table is never scanned.
struct PartitionScans {
  bool attached = false;
  bool default_partition = false;
  Oid default_oid = InvalidOid;
};

bool scanned_relkind(Relation rel) {
  return rel->rd_rel->relkind == RELKIND_RELATION || rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE;
}

// Plain C: whether an expression calls only built-in functions and operators, on built-in
// types (no domain of the user's, whose CHECK could call anything): evaluating it runs no code
// of the user's. Walker: true stops at the first other.
bool user_code_checker(Oid func, void*) { return func >= FirstNormalObjectId; }
// An enum (or an array of one) compares and casts with built-in functions.
bool builtin_or_enum(Oid type) {
  if (type < FirstNormalObjectId) return true;
  Oid element = get_element_type(type);
  return get_typtype(OidIsValid(element) ? element : type) == TYPTYPE_ENUM;
}
bool calls_user_code(Node* node, void* context) {
  check_stack_depth();
  if (!node) return false;
  if (check_functions_in_node(node, user_code_checker, context)) return true;
  if (IsA(node, Const) && !builtin_or_enum(((Const*)node)->consttype)) return true;
  if (IsA(node, CoerceToDomain) && ((CoerceToDomain*)node)->resulttype >= FirstNormalObjectId) return true;
  return expression_tree_walker(node, (bool (*)())calls_user_code, context);
}

// Plain C: the type a CHECK's operand has for operator resolution, when cooking it runs no
// code of the user's; InvalidOid otherwise. Cooking coerces literals with type input functions,
// and the input of an array, composite or range of a domain runs the domain's CHECK: only
// columns of built-in (or enum) types, literals, casts of those to built-in types and operators
// resolved (oper(), a catalog lookup) to built-in ones pass, the kinds a CHECK proving a
// partition bound is made of.
Oid cookable_operand(Relation rel, Node* n);

Oid cookable_operator(Relation rel, List* name, Node* left, Node* right) {
  Oid ltype = left ? cookable_operand(rel, left) : InvalidOid;
  Oid rtype = cookable_operand(rel, right);
  if ((left && !OidIsValid(ltype)) || !OidIsValid(rtype)) return InvalidOid;
  Operator op = left ? oper(nullptr, name, ltype, rtype, true, -1) : left_oper(nullptr, name, rtype, true, -1);
  if (!op) return InvalidOid;
  Form_pg_operator form = (Form_pg_operator)GETSTRUCT(op);
  Oid result = form->oid < FirstNormalObjectId ? form->oprresult : InvalidOid;
  ReleaseSysCache(op);
  return result;
}

Oid cookable_operand(Relation rel, Node* n) {
  check_stack_depth();  // (a deep expression must be an error, not a crash)
  if (!n) return InvalidOid;
  switch (nodeTag(n)) {
    case T_ColumnRef: {
      List* fields = ((ColumnRef*)n)->fields;
      Node* last = (Node*)llast(fields);
      if (list_length(fields) > 1 || !IsA(last, String)) return InvalidOid;  // (table.column: not needed)
      AttrNumber attnum = get_attnum(RelationGetRelid(rel), strVal(last));
      if (attnum <= 0) return InvalidOid;
      Oid type = TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid;
      return type < FirstNormalObjectId || get_typtype(type) == TYPTYPE_ENUM ? type : InvalidOid;
    }
    case T_A_Const: {
      A_Const* c = (A_Const*)n;
      if (c->isnull) return UNKNOWNOID;
      switch (nodeTag(&c->val)) {
        case T_Integer: return INT4OID;
        case T_Float: return NUMERICOID;
        case T_Boolean: return BOOLOID;
        default: return UNKNOWNOID;  // a string: typed by the operator chosen
      }
    }
    case T_TypeCast: {
      Oid type = LookupTypeNameOid(nullptr, ((TypeCast*)n)->typeName, true);
      if (!OidIsValid(type) || type >= FirstNormalObjectId) return InvalidOid;
      return OidIsValid(cookable_operand(rel, ((TypeCast*)n)->arg)) ? type : InvalidOid;
    }
    case T_A_Expr: {
      A_Expr* e = (A_Expr*)n;
      switch (e->kind) {
        case AEXPR_OP:
          return cookable_operator(rel, e->name, e->lexpr, e->rexpr);
        case AEXPR_DISTINCT:
        case AEXPR_NOT_DISTINCT:
          return OidIsValid(cookable_operator(rel, e->name, e->lexpr, e->rexpr)) ? BOOLOID : InvalidOid;
        case AEXPR_IN: {  // x IN (a, b): x = a OR x = b (NOT IN: <>)
          ListCell* lc;
          foreach (lc, (List*)e->rexpr)
            if (!OidIsValid(cookable_operator(rel, e->name, e->lexpr, (Node*)lfirst(lc)))) return InvalidOid;
          return BOOLOID;
        }
        case AEXPR_BETWEEN:
        case AEXPR_NOT_BETWEEN: {  // cooked as >= and <= (NOT: < and >)
          List* bounds = (List*)e->rexpr;
          const bool negated = e->kind == AEXPR_NOT_BETWEEN;
          List* low = list_make1(makeString(pstrdup(negated ? "<" : ">=")));
          List* high = list_make1(makeString(pstrdup(negated ? ">" : "<=")));
          return list_length(bounds) == 2 && OidIsValid(cookable_operator(rel, low, e->lexpr, (Node*)linitial(bounds))) &&
                         OidIsValid(cookable_operator(rel, high, e->lexpr, (Node*)lsecond(bounds)))
                     ? BOOLOID
                     : InvalidOid;
        }
        default:
          return InvalidOid;
      }
    }
    case T_BoolExpr: {
      ListCell* lc;
      foreach (lc, ((BoolExpr*)n)->args)
        if (!OidIsValid(cookable_operand(rel, (Node*)lfirst(lc)))) return InvalidOid;
      return BOOLOID;
    }
    case T_NullTest:
      return OidIsValid(cookable_operand(rel, (Node*)((NullTest*)n)->arg)) ? BOOLOID : InvalidOid;
    default:
      return InvalidOid;
  }
}

// Plain C: the name PostgreSQL gives an unnamed CHECK constraint of table `relname` in `rel`'s
// schema (AddRelationNewConstraints, ChooseConstraintName: the table's name, the column's if
// the expression names exactly one, "check", numbered past the names taken), where the
// script's names `others` are taken and the catalog's names it dropped, `dropped`, are free.
char* unnamed_check_name(Relation rel, const char* relname, Node* raw_expr, List* others, List* dropped) {
  List* columns = NIL;
  struct Walker {
    static bool walk(Node* node, List** out) {
      check_stack_depth();
      if (!node) return false;
      if (IsA(node, ColumnRef)) {
        Node* last = (Node*)llast(((ColumnRef*)node)->fields);
        if (IsA(last, String)) *out = list_append_unique(*out, last);
        return false;
      }
      return raw_expression_tree_walker(node, (bool (*)())walk, out);
    }
  };
  Walker::walk(raw_expr, &columns);
  const char* column = list_length(columns) == 1 ? strVal(linitial(columns)) : nullptr;
  auto listed = [](List* names, const char* name) {
    ListCell* lc;
    foreach (lc, names)
      if (strcmp((const char*)lfirst(lc), name) == 0) return true;
    return false;
  };
  char label[NAMEDATALEN];
  for (int pass = 0;; ++pass) {
    if (pass == 0) strlcpy(label, "check", sizeof label);
    else snprintf(label, sizeof label, "check%d", pass);
    char* name = makeObjectName(relname, column, label);
    if (!listed(others, name) &&
        (listed(dropped, name) || !ConstraintNameExists(name, RelationGetNamespace(rel))))
      return name;
    pfree(name);
  }
}

// Plain C: a CHECK constraint's raw expression cooked against table `relid` as ADD CONSTRAINT
// cooks it (transformExpr: no function runs), as nodeToString, or nullptr when cooking it may
// run code of the user's (see cookable_operand). *name: its name, chosen as PostgreSQL would
// if unnamed (`relname`: the table's name at this point of the script).
char* cooked_check(Oid relid, const char* relname, Node* raw_expr, const char* conname, List* others, List* dropped,
                   char** name) {
  Relation rel = table_open(relid, AccessShareLock);
  *name = conname ? pstrdup(conname) : unnamed_check_name(rel, relname, raw_expr, others, dropped);
  char* cooked = nullptr;
  if (cookable_operand(rel, raw_expr) == BOOLOID) {
    ParseState* pstate = make_parsestate(nullptr);
    ParseNamespaceItem* nsitem = addRangeTableEntryForRelation(pstate, rel, AccessShareLock, nullptr, false, true);
    addNSItemToQuery(pstate, nsitem, true, true, true);
    Node* expr = transformExpr(pstate, (Node*)copyObjectImpl(raw_expr), EXPR_KIND_CHECK_CONSTRAINT);
    expr = coerce_to_boolean(pstate, expr, "CHECK");
    assign_expr_collations(pstate, expr);
    if (!calls_user_code(expr, nullptr)) cooked = nodeToString(expr);
  }
  table_close(rel, AccessShareLock);
  return cooked;
}

// What the script changed of a table's constraints, for implied_by_constraints.
struct ScriptProofs {
  std::vector<const char*> cooked;         // CHECKs it added or validated (cooked)
  bool unknown = false;                    // one that could not be cooked: a possible proof
  std::vector<AttrNumber> not_null;        // columns it set NOT NULL
  std::vector<AttrNumber> dropped_not_null;
  std::vector<const char*> dropped_checks;  // catalog CHECKs it dropped, by name
};

// Plain C: PartConstraintImpliedByRelConstraint, with what the script changed (see
// ScriptProofs). 1: implied, 0: not, -1: cannot tell. A CHECK that calls code of the user's is
// left out (folding it, or proving with its operators, would run that code); when the proof
// fails without it, the answer is -1 (PostgreSQL, evaluating it, might prove it).
int implied_by_constraints(Relation rel, List* constraint, const ScriptProofs* script) {
  List* exist = NIL;
  bool unfolded = false;
  TupleDesc desc = RelationGetDescr(rel);
  auto not_null_test = [&](const Form_pg_attribute att) {
    NullTest* test = makeNode(NullTest);
    test->arg = (Expr*)makeVar(1, att->attnum, att->atttypid, att->atttypmod, att->attcollation, 0);
    test->nulltesttype = IS_NOT_NULL;
    test->argisrow = false;
    test->location = -1;
    exist = lappend(exist, test);
  };
  for (int i = 0; i < desc->natts; ++i) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    bool dropped = std::find(script->dropped_not_null.begin(), script->dropped_not_null.end(), att->attnum) !=
                   script->dropped_not_null.end();
    if (att->attnotnull && !att->attisdropped && !dropped) not_null_test(att);
  }
  for (AttrNumber attnum : script->not_null)
    if (attnum > 0 && attnum <= desc->natts) not_null_test(TupleDescAttr(desc, attnum - 1));
  auto add_check = [&](const char* text) {
    Node* expr = (Node*)stringToNode(text);
    if (calls_user_code(expr, nullptr)) {  // left out: a proof with it could run its operators
      unfolded = true;
      return;
    }
    expr = eval_const_expressions(nullptr, expr);
    expr = (Node*)canonicalize_qual((Expr*)expr, true);
    exist = list_concat(exist, make_ands_implicit((Expr*)expr));
  };
  for (int i = 0; desc->constr && i < desc->constr->num_check; ++i) {
    const ConstrCheck& check = desc->constr->check[i];
    bool dropped = false;
    for (const char* name : script->dropped_checks) dropped = dropped || strcmp(name, check.ccname) == 0;
    if (check.ccvalid && !dropped) add_check(check.ccbin);
  }
  for (const char* text : script->cooked) add_check(text);
  // weak implication, as ConstraintImpliedByRelConstraint: a CHECK passes on NULL
  if (predicate_implied_by(constraint, exist, true)) return 1;
  return unfolded || script->unknown ? -1 : 0;
}

// Plain C: whether PostgreSQL scans `rel` to check `constraint` (QueuePartitionConstraintValidation):
// not when its constraints imply it; a partitioned table's partitions are then checked each on
// its own (a foreign table never). 1: scanned, 0: not, -1: cannot tell.
// Its partitions are listed from pg_inherits (building the partition descriptor would sort the
// bounds with the key's comparison function, which may be the user's). `proofs`: what the script
// changed of each table (see DescendantProofs).
struct DescendantProofs {
  const Oid* relids;
  const ScriptProofs* const* proofs;
  int count;
  const ScriptProofs* of(Oid relid) const {
    static const ScriptProofs none;
    for (int i = 0; i < count; ++i)
      if (relids[i] == relid) return proofs[i];
    return &none;
  }
};

int scanned_for(Relation rel, List* constraint, const DescendantProofs* proofs) {
  check_stack_depth();
  if (!scanned_relkind(rel)) return 0;
  int implied = implied_by_constraints(rel, constraint, proofs->of(RelationGetRelid(rel)));
  if (implied == 1) return 0;
  if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE) return implied == 0 ? 1 : -1;
  List* partitions = find_inheritance_children(RelationGetRelid(rel), AccessShareLock);
  int result = 0;
  ListCell* lc;
  foreach (lc, partitions) {
    Relation part = table_open(lfirst_oid(lc), AccessShareLock);
    int scanned = scanned_for(part, map_partition_varattnos(constraint, 1, part, rel), proofs);
    table_close(part, AccessShareLock);
    if (scanned != 0) result = scanned;
    if (result == 1) break;
  }
  return result;
}

void partition_scans(Oid parent_oid, Oid attached_oid, PartitionBoundSpec* raw_bound, const DescendantProofs* proofs,
                     PartitionScans* out) {
  Relation parent = table_open(parent_oid, AccessShareLock);
  if (parent->rd_rel->relkind != RELKIND_PARTITIONED_TABLE) {
    table_close(parent, AccessShareLock);
    return;
  }
  ParseState* pstate = make_parsestate(nullptr);
  PartitionBoundSpec* bound = transformPartitionBound(pstate, parent, (PartitionBoundSpec*)copyObjectImpl(raw_bound));
#if PG_VERSION_NUM >= 150000
  List* bound_qual = get_qual_from_partbound(parent, bound);
#else
  List* bound_qual = get_qual_from_partbound(parent, parent, bound);
#endif
  if (OidIsValid(attached_oid)) {
    Relation attached = table_open(attached_oid, AccessShareLock);
    List* constraint = list_concat(list_copy(bound_qual), RelationGetPartitionQual(parent));
    if (constraint && scanned_relkind(attached)) {
      constraint = (List*)eval_const_expressions(nullptr, (Node*)constraint);
      constraint = list_make1(make_ands_explicit(constraint));
      constraint = map_partition_varattnos(constraint, 1, attached, parent);
      out->attached = scanned_for(attached, constraint, proofs) == 1;
    }
    table_close(attached, AccessShareLock);
  }
  Oid default_oid = bound->is_default ? InvalidOid : get_default_partition_oid(parent_oid);
  if (OidIsValid(default_oid)) {
    Relation default_partition = table_open(default_oid, AccessShareLock);
    if (scanned_relkind(default_partition)) {
      List* constraint = get_proposed_default_constraint(bound_qual);
      constraint = map_partition_varattnos(constraint, 1, default_partition, parent);
      out->default_partition = scanned_for(default_partition, constraint, proofs) == 1;
      out->default_oid = default_oid;
    }
    table_close(default_partition, AccessShareLock);
  }
  table_close(parent, AccessShareLock);
}

// Whether a bound's values are constants (literals, casts of literals, MINVALUE / MAXVALUE):
// transforming other expressions evaluates them, and lint runs no code a script names (a bound
// may call any function, which would run as whoever lints or registers the script).
// Plain C: a cast is to a built-in type only (a domain's CHECK could call any function).
bool constant_bound_values(List* values) {
  ListCell* lc;
  foreach (lc, values) {
    Node* n = (Node*)lfirst(lc);
    if (IsA(n, TypeCast)) {
      Oid type = LookupTypeNameOid(nullptr, ((TypeCast*)n)->typeName, true);
      if (!OidIsValid(type) || type >= FirstNormalObjectId) return false;
      n = ((TypeCast*)n)->arg;
    }
    if (IsA(n, A_Const)) continue;
    if (IsA(n, ColumnRef) && list_length(((ColumnRef*)n)->fields) == 1) continue;  // MINVALUE, MAXVALUE
    return false;
  }
  return true;
}

// Plain C: whether the partition key's types and operator families are built in (coercing a
// bound to a domain checks its constraints; a user operator class's functions are user code).
bool builtin_partition_key(Oid parent_oid) {
  // The parent's partition constraint is built from its ancestors' keys and bounds (compared
  // with their operators, and a default partition's from its parent's sorted bounds): every
  // ancestor's key must be built in too. (get_partition_ancestors lists them all, nearest first.)
  List* tables = lcons_oid(parent_oid, get_partition_ancestors(parent_oid));
  ListCell* lc;
  foreach (lc, tables) {
    Relation rel = table_open(lfirst_oid(lc), AccessShareLock);
    bool builtin = rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE;
    PartitionKey key = builtin ? RelationGetPartitionKey(rel) : nullptr;
    for (int i = 0; key && i < key->partnatts; ++i)
      if ((key->parttypid[i] >= FirstNormalObjectId && get_typtype(key->parttypid[i]) != TYPTYPE_ENUM) ||
          key->partopfamily[i] >= FirstNormalObjectId ||
          key->partattrs[i] == 0)  // an expression key
        builtin = false;
    table_close(rel, AccessShareLock);
    if (!builtin) return false;
  }
  return true;
}

// Plain C: what is known without the bound: the table attached is scanned if it is a table, and
// the default partition if there is one.
void assumed_partition_scans(Oid parent_oid, Oid attached_oid, PartitionScans* out) {
  if (OidIsValid(attached_oid)) {
    char kind = get_rel_relkind(attached_oid);
    out->attached = kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE;
  }
  out->default_oid = get_default_partition_oid(parent_oid);
  out->default_partition = OidIsValid(out->default_oid);
}

// The table key ("schema.name") of a catalog table.
std::string catalog_table_key(Oid relid) {
  const char* nsp = pg::call([&] { return (const char*)get_namespace_name(get_rel_namespace(relid)); });
  const char* rel = pg::call([&] { return (const char*)get_rel_name(relid); });
  return nsp && rel ? std::string(nsp) + "." + rel : std::string();
}

ScriptProofs script_proofs(const ScriptState& st, Oid relid, const std::string& table_key) {
  ScriptProofs proofs;
  auto it = st.check_proofs.find(relid);
  if (it != st.check_proofs.end())
    for (const ScriptState::CheckProof& proof : it->second) {
      if (proof.cooked.empty()) proofs.unknown = true;
      else proofs.cooked.push_back(proof.cooked.c_str());
    }
  auto attnum_of = [&](const std::string& column) {
    const char* name = column.c_str();
    return pg::call([&] { return get_attnum(relid, name); });
  };
  for (const auto& [table, column] : st.validated_notnull)
    if (table == table_key)
      if (std::string catalog_name = st.catalog_column(relid, column); !catalog_name.empty())
        if (AttrNumber attnum = attnum_of(catalog_name); attnum > 0) proofs.not_null.push_back(attnum);
  if (auto it = st.dropped_not_null.find(relid); it != st.dropped_not_null.end())
    for (const std::string& column : it->second)
      if (AttrNumber attnum = attnum_of(column); attnum > 0) proofs.dropped_not_null.push_back(attnum);
  if (auto it = st.dropped_checks.find(relid); it != st.dropped_checks.end())
    for (const std::string& name : it->second) proofs.dropped_checks.push_back(name.c_str());
  return proofs;
}

// The scans a new partition makes (see partition_scans), counting the CHECK constraints the
// script added or validated earlier (not in the catalog yet); one that could not be cooked is
// a possible proof, and that scan is not reported. With a bound of expressions, both scans are
// assumed; none if it cannot be told (an invalid bound: the statement fails anyway).
PartitionScans new_partition_scans(Oid parent, Oid attached, PartitionBoundSpec* bound, const ScriptState& st,
                                   const std::string& attached_key = "") {
  PartitionScans scans;
  if (!OidIsValid(parent) || !bound) return scans;
  PartitionScans* out = &scans;
  std::vector<Oid> relids;
  std::vector<ScriptProofs> proofs;
  std::vector<const ScriptProofs*> pointers;
  try {
    pg::SubTransaction sub;
    // ATTACH to a table that is not partitioned fails: nothing to scan.
    bool partitioned = pg::call([&] { return get_rel_relkind(parent) == RELKIND_PARTITIONED_TABLE; });
    Oid default_oid = partitioned ? pg::call([&] { return get_default_partition_oid(parent); }) : InvalidOid;
    // The tables whose scans are decided, and their partitions: what the script changed of each.
    for (Oid top : {attached, default_oid}) {
      if (!OidIsValid(top)) continue;
      List* all = pg::call([&] { return find_all_inheritors(top, AccessShareLock, nullptr); });
      ListCell* lc;
      foreach (lc, all) relids.push_back(lfirst_oid(lc));
    }
    for (Oid relid : relids) {
      std::string key = relid == attached && !attached_key.empty() ? attached_key : catalog_table_key(relid);
      if (auto renamed = st.current_names.find(relid); renamed != st.current_names.end() && relid != attached) {
        size_t dot = key.find('.');
        key = (dot == std::string::npos ? std::string() : key.substr(0, dot + 1)) + renamed->second;
      }
      proofs.push_back(script_proofs(st, relid, key));
    }
    for (const ScriptProofs& p : proofs) pointers.push_back(&p);
    DescendantProofs descendants{relids.data(), pointers.data(), static_cast<int>(relids.size())};
    const DescendantProofs* d = &descendants;
    bool constant = partitioned && pg::call([&] {
      return constant_bound_values(bound->listdatums) && constant_bound_values(bound->lowerdatums) &&
             constant_bound_values(bound->upperdatums) && builtin_partition_key(parent);
    });
    if (constant) pg::call([&] { partition_scans(parent, attached, bound, d, out); });
    else if (partitioned && !bound->is_default) pg::call([&] { assumed_partition_scans(parent, attached, out); });
    sub.commit();
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) throw;
    scans = PartitionScans{};
  }
  // A default partition the script detached or dropped earlier is not scanned.
  if (OidIsValid(scans.default_oid) && st.defaults_removed.count(scans.default_oid)) scans.default_partition = false;
  return scans;
}

// A CHECK constraint the script adds to catalog table `relid`, cooked (see
// ScriptState::check_proofs; "" when not), with its name, chosen as PostgreSQL would if unnamed.
ScriptState::CheckProof script_check_proof(Oid relid, Constraint* c, const ScriptState& st) {
  ScriptState::CheckProof proof;
  if (c->conname) proof.name = c->conname;
  if (!OidIsValid(relid) || !c->raw_expr) return proof;
  // Names this script gave the table's constraints: an unnamed one gets another.
  std::vector<std::string> taken;
  if (auto it = st.check_proofs.find(relid); it != st.check_proofs.end())
    for (const ScriptState::CheckProof& p : it->second) taken.push_back(p.name);
  for (const auto& [key, cooked] : st.not_valid_checks)
    if (key.first == relid) taken.push_back(key.second);
  std::vector<std::string> dropped_names;
  if (auto it = st.dropped_checks.find(relid); it != st.dropped_checks.end())
    dropped_names.assign(it->second.begin(), it->second.end());
  try {
    pg::SubTransaction sub;
    char* name = nullptr;
    char** name_out = &name;
    auto renamed = st.current_names.find(relid);
    const char* relname = renamed != st.current_names.end() ? renamed->second.c_str() : nullptr;
    const char* cooked = pg::call([&] {
      List* others = NIL;
      for (const std::string& t : taken) others = lappend(others, pstrdup(t.c_str()));
      List* dropped = NIL;
      for (const std::string& d : dropped_names) dropped = lappend(dropped, pstrdup(d.c_str()));
      return (const char*)cooked_check(relid, relname ? relname : get_rel_name(relid), c->raw_expr, c->conname,
                                       others, dropped, name_out);
    });
    proof.cooked = cooked ? cooked : "";
    if (name) proof.name = name;
    sub.commit();
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) throw;
  }
  return proof;
}

// The CHECK constraint DETACH ... CONCURRENTLY adds to `partition` (its partition constraint),
// cooked; "" when it cannot be told without running code of the user's.
std::string detach_check_proof(Oid parent, Oid partition) {
  try {
    pg::SubTransaction sub;
    const char* cooked = pg::call([&]() -> const char* {
      if (!builtin_partition_key(parent)) return nullptr;
      Relation rel = table_open(partition, AccessShareLock);
      List* qual = RelationGetPartitionQual(rel);
      table_close(rel, AccessShareLock);
      if (qual == NIL) return nullptr;
      Node* expr = (Node*)make_ands_explicit((List*)eval_const_expressions(nullptr, (Node*)qual));
      return calls_user_code(expr, nullptr) ? nullptr : nodeToString(expr);
    });
    std::string out = cooked ? cooked : "";
    sub.commit();
    return out;
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) throw;
    return "";
  }
}

// The cooked form of catalog CHECK constraint `name` of `relid` (validated by the script).
std::string catalog_check_proof(Oid relid, const char* name) {
  const char* cooked = pg::call([&]() -> const char* {
    HeapTuple tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(get_relation_constraint_oid(relid, name, true)));
    if (!HeapTupleIsValid(tup)) return nullptr;
    bool isnull = false;
    Datum bin = SysCacheGetAttr(CONSTROID, tup, Anum_pg_constraint_conbin, &isnull);
    char* conbin = isnull ? nullptr : TextDatumGetCString(bin);
    ReleaseSysCache(tup);
    return conbin;  // (one calling code of the user's is used unfolded: implied_by_constraints)
  });
  return cooked ? cooked : "";
}

// The default partition's scan (see new_partition_scans).
void default_partition_fact(const PartitionScans& scans, const TableInfo& parent_info, const std::string& partition,
                            const char* detail, std::vector<Fact>& out) {
  if (!scans.default_partition || parent_info.created_in_script) return;
  TableInfo d;
  if (!fill_from_catalog(scans.default_oid, d)) return;
  Fact f{Action::DefaultPartitionScan, d, partition, detail, {}};
  f.other = parent_info;
  out.push_back(f);
}

// Whether constraint `name` of `relid` is a CHECK constraint.
bool constraint_is_check(Oid relid, const char* name) {
  return pg::call([&] {
    HeapTuple tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(get_relation_constraint_oid(relid, name, true)));
    if (!HeapTupleIsValid(tup)) return false;
    bool check = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tup))->contype == CONSTRAINT_CHECK;
    ReleaseSysCache(tup);
    return check;
  });
}

void analyze_alter_table(AlterTableStmt* at, ScriptState& st, std::vector<Fact>& out) {
#if PG_VERSION_NUM >= 140000
  if (at->objtype != OBJECT_TABLE) return;
#else
  if (at->relkind != OBJECT_TABLE) return;
#endif
  Oid relid = InvalidOid;
  // What the script notes about the table (NOT VALID constraints, proven NOT NULLs) is keyed by
  // the table it resolves to, not by its spelling (public.t and t are one table).
  QualifiedName resolved;
  TableInfo t = table_info(at->relation, st, &relid, &resolved, true);
  std::string table_key = key_of(resolved);
  ListCell* lc;
  if (list_length(at->cmds) == 1) {  // the statement's own subtransaction is enough
    analyze_alter_cmd(linitial_node(AlterTableCmd, at->cmds), t, relid, table_key, st, out);
    return;
  }
  foreach (lc, at->cmds) {
    // Each subcommand on its own: one naming what the script creates earlier (a type, a
    // function) cannot be looked up, and must not hide the others' findings.
    try {
      pg::SubTransaction sub;
      analyze_alter_cmd((AlterTableCmd*)lfirst(lc), t, relid, table_key, st, out);
      sub.commit();
    } catch (pg::PgError& e) {
      if (e.is_interrupt()) throw;
    }
  }
}

// Subcommands PostgreSQL applies to the inheritance children too (without ONLY); the others
// (an index, a unique constraint, SET LOGGED...) reach the table alone.
bool reaches_children(const AlterTableCmd* cmd) {
  switch (cmd->subtype) {
    case AT_AddColumn: case AT_AlterColumnType: case AT_SetNotNull: case AT_DropColumn:
    case AT_ValidateConstraint:
      return true;
    case AT_AddConstraint:
      return cmd->def && IsA(cmd->def, Constraint) &&
             (((Constraint*)cmd->def)->contype == CONSTR_CHECK || ((Constraint*)cmd->def)->contype == CONSTR_NOTNULL);
    default:
      return false;
  }
}

void analyze_alter_cmd_sized(AlterTableCmd* cmd, const TableInfo& t, Oid relid, const std::string& table_key,
                             ScriptState& st, std::vector<Fact>& out);

void analyze_alter_cmd(AlterTableCmd* cmd, const TableInfo& t, Oid relid, const std::string& table_key,
                       ScriptState& st, std::vector<Fact>& out) {
  if (t.children == 0 || reaches_children(cmd)) return analyze_alter_cmd_sized(cmd, t, relid, table_key, st, out);
  TableInfo own = t;
  own.children = 0;
  own.reltuples = t.own_reltuples;
  own.relpages = t.own_relpages;
  analyze_alter_cmd_sized(cmd, own, relid, table_key, st, out);
}

void analyze_alter_cmd_sized(AlterTableCmd* cmd, const TableInfo& t, Oid relid, const std::string& table_key,
                             ScriptState& st, std::vector<Fact>& out) {
  switch (cmd->subtype) {
    case AT_AddColumn: {
      ColumnDef* def = (ColumnDef*)cmd->def;
      // ADD COLUMN IF NOT EXISTS of a column the table has: PostgreSQL does nothing.
      if (cmd->missing_ok && !t.created_in_script && OidIsValid(relid) && def->colname &&
          pg::call([&] { return get_attnum(relid, def->colname) != InvalidAttrNumber; }))
        break;
      analyze_add_column(def, t, st, out);
      // A column the catalog does not have (under this name: one renamed away may be there).
      if (def->colname && OidIsValid(relid) && !t.created_in_script) st.column_names[relid][def->colname] = "";
      // NOT NULL from here on (a later SET NOT NULL scans nothing).
      bool not_null = def->is_not_null;
      ListCell* lc;
      foreach (lc, def->constraints)
        if (IsA(lfirst(lc), Constraint) &&
            (((Constraint*)lfirst(lc))->contype == CONSTR_NOTNULL || ((Constraint*)lfirst(lc))->contype == CONSTR_PRIMARY))
          not_null = true;
      if (not_null && def->colname) {
        st.validated_notnull.insert({table_key, def->colname});
        st.declared_not_null.insert({table_key, def->colname});
      }
      break;
    }
    case AT_AlterColumnType: {
      ColumnDef* def = (ColumnDef*)cmd->def;
      check_column_type(def, cmd->name, t, false, out);
      if (t.created_in_script || !OidIsValid(relid)) break;
      std::string new_type;
      bool rewrites = true;
      // The column as the catalog names it (renamed earlier in the script: another name;
      // added in it: none), and whether an earlier statement changed its type already.
      const std::string column = st.catalog_column(relid, cmd->name);
      auto earlier = column.empty() ? st.retyped_columns.end() : st.retyped_columns.find({relid, column});
      // (An earlier change of the type whose result could not be read: unknown, so a finding.)
      const bool unknown = column.empty() || (earlier != st.retyped_columns.end() && !OidIsValid(earlier->second.type));
      ColumnType before = earlier != st.retyped_columns.end() ? earlier->second : ColumnType{};
      ColumnType after;
      if (!unknown) try {
        // The target type may not be in the catalog yet (CREATE TYPE earlier in the script),
        // nor the column (ADD COLUMN earlier): then the change cannot be proven rewrite-free.
        pg::SubTransaction sub;
        const char* col = column.c_str();
        rewrites = type_change_rewrites(relid, col, def, &new_type, st.timezone_set,
                                        earlier != st.retyped_columns.end() ? &before : nullptr, &after) ||
                   pg::call([&] { return get_attnum(relid, col) == InvalidAttrNumber; });
        sub.commit();
      } catch (pg::PgError& e) {
        if (interrupted(e)) throw;
      }
      if (!column.empty()) st.retyped_columns[{relid, column}] = after;
      if (new_type.empty()) new_type = pg::call([&] { return (const char*)TypeNameToString(def->typeName); });
      if (rewrites) {
        out.push_back({Action::ChangeColumnType, t, cmd->name, new_type, {}});
      } else {
        // No rewrite of the table, but of the indexes that read the column differently now.
        const char* rebuilt = nullptr;
        try {
          pg::SubTransaction sub;
          const char* col = column.c_str();
          rebuilt = pg::call([&] { return (const char*)indexes_rebuilt_by_type_change(relid, col, def); });
          sub.commit();
        } catch (pg::PgError& e) {
          if (interrupted(e)) throw;
        }
        if (rebuilt) {
          Fact f{Action::ChangeColumnType, t, cmd->name, new_type, {}};
          f.indexes = rebuilt;
          out.push_back(f);
        }
      }
      break;
    }
    case AT_DropNotNull:
      if (cmd->name) {
        st.validated_notnull.erase({table_key, cmd->name});
        st.declared_not_null.erase({table_key, cmd->name});
        if (OidIsValid(relid))
          if (std::string catalog_name = st.catalog_column(relid, cmd->name); !catalog_name.empty())
            st.dropped_not_null[relid].insert(catalog_name);
      }
      break;
    case AT_SetNotNull: {
      bool proven = t.created_in_script || st.validated_notnull.count({table_key, cmd->name}) ||
                    (OidIsValid(relid) && has_validated_not_null(relid, cmd->name, st));
      st.validated_notnull.insert({table_key, cmd->name});  // NOT NULL from here on
      st.declared_not_null.insert({table_key, cmd->name});
      if (!proven) out.push_back({Action::SetNotNull, t, cmd->name, "", {}});
      break;
    }
    case AT_AddConstraint: {
      Constraint* c = (Constraint*)cmd->def;
      std::string conname = c->conname ? c->conname : "";
      switch (c->contype) {
        case CONSTR_FOREIGN:
          if (c->skip_validation && !conname.empty()) st.added_not_valid[{table_key, conname}] = "SHARE ROW EXCLUSIVE";
          if (!t.created_in_script && !c->skip_validation) {
            Fact f{Action::AddForeignKey, t, conname, "", {}};
            f.other = c->pktable ? table_info(c->pktable, st) : TableInfo{};
            out.push_back(f);
          }
          break;
        case CONSTR_CHECK: {
          // An unnamed one is named as PostgreSQL names it (a later VALIDATE uses that name).
          std::optional<ScriptState::CheckProof> proof;
          if (!t.created_in_script && OidIsValid(relid)) proof = script_check_proof(relid, c, st);
          if (conname.empty() && proof) conname = proof->name;
          std::vector<std::string> columns;
          not_null_check_columns(c->raw_expr, columns);
          if (!columns.empty()) {
            if (c->skip_validation) {
              if (!conname.empty()) st.notnull_checks[{table_key, conname}] = columns;
            } else {
              for (const std::string& column : columns) st.validated_notnull.insert({table_key, column});
              if (!conname.empty()) st.validated_check_columns[{table_key, conname}] = columns;
            }
          }
          if (c->skip_validation && !conname.empty()) st.added_not_valid[{table_key, conname}] = "ACCESS EXCLUSIVE";
          if (proof) {
            if (!c->skip_validation) st.check_proofs[relid].push_back(*proof);
            else if (!proof->name.empty()) st.not_valid_checks[{relid, proof->name}] = proof->cooked;
          }
          if (!t.created_in_script && !c->skip_validation) out.push_back({Action::AddCheck, t, conname, "", {}});
          break;
        }
        case CONSTR_PRIMARY:
        case CONSTR_UNIQUE: {
          bool pk = c->contype == CONSTR_PRIMARY;
          if (!t.created_in_script && !c->indexname)
            out.push_back({Action::AddUnique, t, conname, pk ? "PRIMARY KEY" : "UNIQUE constraint", {}});
          // PRIMARY KEY USING INDEX sets its columns NOT NULL: a scan of the table under its
          // ACCESS EXCLUSIVE lock for each column not proven NOT NULL already.
          if (pk && c->indexname && OidIsValid(relid) && !t.created_in_script)
            for (const std::string& col : st.created_indexes.count(c->indexname)
                                              ? st.created_indexes[c->indexname]
                                              : index_key_columns(relid, c->indexname))
              if (!st.validated_notnull.count({table_key, col}) && !has_validated_not_null(relid, col, st))
                out.push_back({Action::SetNotNull, t, col, "", {}});
          if (pk && OidIsValid(relid) && !t.created_in_script) {
            ListCell* kc;
            foreach (kc, c->keys) {
              std::string col = str_val((Node*)lfirst(kc));
              std::string narrow = column_type_name(relid, col.c_str());
              if (!narrow.empty()) out.push_back({Action::IntPrimaryKey, t, col, narrow, {}});
            }
          }
          break;
        }
        case CONSTR_EXCLUSION:
          if (!t.created_in_script) out.push_back({Action::AddUnique, t, conname, "EXCLUDE constraint", {}});
          break;
        default:
          break;
      }
      break;
    }
    case AT_ValidateConstraint: {
      // Its columns are NOT NULL from here on: a constraint this script added NOT VALID, or one
      // the catalog has (an earlier migration added it).
      auto it = st.notnull_checks.find({table_key, cmd->name ? cmd->name : ""});
      if (it != st.notnull_checks.end()) {
        for (const std::string& column : it->second) st.validated_notnull.insert({table_key, column});
        st.validated_check_columns[it->first] = it->second;
      } else if (OidIsValid(relid) && cmd->name && !t.created_in_script) {
        std::vector<std::string> columns = catalog_not_null_check_columns(relid, cmd->name);
        for (const std::string& column : columns) st.validated_notnull.insert({table_key, column});
        st.validated_check_columns[{table_key, cmd->name}] = columns;
      }
      auto added = st.added_not_valid.find({table_key, cmd->name ? cmd->name : ""});
      // A CHECK validated here may prove a partition bound (a foreign key proves none).
      auto added_check = st.not_valid_checks.find({relid, cmd->name ? cmd->name : ""});
      if (added_check != st.not_valid_checks.end()) {
        st.check_proofs[relid].push_back({added_check->first.second, added_check->second});
        st.not_valid_checks.erase(added_check);
      } else if (added == st.added_not_valid.end() && OidIsValid(relid) && cmd->name && !t.created_in_script &&
                 !(st.dropped_checks.count(relid) && st.dropped_checks[relid].count(cmd->name)) &&
                 constraint_is_check(relid, cmd->name)) {
        st.check_proofs[relid].push_back({cmd->name, catalog_check_proof(relid, cmd->name)});
      }
      if (added != st.added_not_valid.end() && st.transactional) {
        out.push_back({Action::ValidateRightAfter, t, cmd->name, added->second, {}});
      } else if (st.transactional && OidIsValid(relid) && cmd->name && !t.created_in_script) {
        // Added NOT VALID by an earlier migration of the same apply() call (one transaction):
        // the catalog row is this transaction's.
        if (const char* lock = not_valid_added_in_transaction(relid, cmd->name))
          out.push_back({Action::ValidateRightAfter, t, cmd->name, lock, {}});
      }
      break;
    }
    case AT_AttachPartition: {
      PartitionCmd* pc = (PartitionCmd*)cmd->def;
      if (!pc || !pc->name) break;
      Oid child_relid = InvalidOid;
      QualifiedName resolved;
      TableInfo child = table_info(pc->name, st, &child_relid, &resolved);
      if (pc->bound && pc->bound->is_default) st.defaults_created[table_key] = key_of(resolved);
      if (t.created_in_script) break;
      PartitionScans scans =
          new_partition_scans(relid, child.created_in_script ? InvalidOid : child_relid, pc->bound, st, key_of(resolved));
      if (scans.attached && !child.created_in_script) {
        Fact f{Action::AttachPartitionScan, child, "", "", {}};
        f.other = t;
        out.push_back(f);
      }
      default_partition_fact(scans, t, written_name(pc->name), "ATTACH PARTITION", out);
      break;
    }
    case AT_DetachPartition: {
      PartitionCmd* pc = (PartitionCmd*)cmd->def;
      if (!pc || !pc->name) break;
      Oid default_oid = OidIsValid(relid) && !t.created_in_script
                            ? pg::call([&] { return get_default_partition_oid(relid); })
                            : InvalidOid;
      if (!pc->concurrent) {
        out.push_back({Action::DetachPartition, t, written_name(pc->name), "", {}});
        Oid child_relid = InvalidOid;
        QualifiedName child;
        table_info(pc->name, st, &child_relid, &child);
        if (OidIsValid(default_oid) && child_relid == default_oid) st.defaults_removed.insert(default_oid);
        auto created = st.defaults_created.find(table_key);
        if (created != st.defaults_created.end() && created->second == key_of(child)) st.defaults_created.erase(created);
        break;
      }
      if (st.defaults_created.count(table_key) || (OidIsValid(default_oid) && !st.defaults_removed.count(default_oid))) {
        out.push_back({Action::DetachConcurrentlyWithDefault, t, written_name(pc->name), "", {}});
        break;
      }
      // DETACH ... CONCURRENTLY gives the partition a CHECK constraint of its partition
      // constraint (DetachAddConstraintIfNeeded): attached again with the same bound, it is not
      // scanned.
      Oid child_relid = InvalidOid;
      table_info(pc->name, st, &child_relid);
      if (OidIsValid(child_relid) && OidIsValid(relid) && !t.created_in_script)
        if (std::string proof = detach_check_proof(relid, child_relid); !proof.empty())
          st.check_proofs[child_relid].push_back({"", proof});
      break;
    }
    case AT_DropConstraint:
      // A CHECK (the script's, or the catalog's) proves nothing once dropped: neither a
      // partition bound nor its columns NOT NULL.
      if (cmd->name) {
        auto proved = st.validated_check_columns.find({table_key, cmd->name});
        if (proved != st.validated_check_columns.end()) {
          std::vector<std::string> columns = proved->second;
          st.validated_check_columns.erase(proved);
          for (const std::string& column : columns) {
            // Still NOT NULL if the script made it so itself, or another CHECK proves it.
            bool kept = st.declared_not_null.count({table_key, column}) > 0;
            for (const auto& [key, other] : st.validated_check_columns)
              kept = kept || (key.first == table_key && std::find(other.begin(), other.end(), column) != other.end());
            if (!kept) st.validated_notnull.erase({table_key, column});
          }
        }
        st.notnull_checks.erase({table_key, cmd->name});
      }
      if (OidIsValid(relid) && cmd->name) {
        std::string name = cmd->name;
        st.dropped_checks[relid].insert(st.catalog_constraint(relid, name));
        if (auto it = st.check_proofs.find(relid); it != st.check_proofs.end())
          it->second.erase(std::remove_if(it->second.begin(), it->second.end(),
                                          [&](const ScriptState::CheckProof& p) { return p.name == name; }),
                           it->second.end());
        st.not_valid_checks.erase({relid, name});
      }
      break;
    case AT_SetTableSpace:
    case AT_SetLogged:
    case AT_SetUnLogged:
#if PG_VERSION_NUM >= 150000
    case AT_SetAccessMethod:
#endif
    {
      // What changes nothing copies nothing: the tablespace, persistence or access method the
      // table has already.
      if (OidIsValid(relid) && !t.created_in_script) {
        AlterTableType subtype = cmd->subtype;
        const char* name = cmd->name;
        bool no_op = pg::call([&] {
          HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
          if (!HeapTupleIsValid(tup)) return false;
          Form_pg_class c = (Form_pg_class)GETSTRUCT(tup);
          bool same = false;
          if (subtype == AT_SetTableSpace && name) {
            // (pg_class says 0 for the database's default tablespace)
            Oid target = get_tablespace_oid(name, true);
            same = OidIsValid(target) && (target == MyDatabaseTableSpace ? InvalidOid : target) == c->reltablespace;
          } else if (subtype == AT_SetLogged) {
            same = c->relpersistence == RELPERSISTENCE_PERMANENT;
          } else if (subtype == AT_SetUnLogged) {
            same = c->relpersistence == RELPERSISTENCE_UNLOGGED;
          } else {
            // PostgreSQL 17: SET ACCESS METHOD DEFAULT (no name) means default_table_access_method,
            // and a partitioned table only records the method for its future partitions.
#if PG_VERSION_NUM >= 170000
            const char* method = name ? name : default_table_access_method;
            same = c->relkind == RELKIND_PARTITIONED_TABLE;
#else
            const char* method = name;
#endif
            same = same || (method && get_am_oid(method, true) == c->relam);
          }
          ReleaseSysCache(tup);
          return same;
        });
        if (no_op) break;
      }
      std::string what = cmd->subtype == AT_SetTableSpace ? fmt::format("SET TABLESPACE {}", cmd->name ? cmd->name : "")
                         : cmd->subtype == AT_SetLogged   ? "SET LOGGED"
                         : cmd->subtype == AT_SetUnLogged ? "SET UNLOGGED"
                                                          : fmt::format("SET ACCESS METHOD {}", cmd->name ? cmd->name : "DEFAULT");
      out.push_back({Action::RewriteTable, t, "", what, {}});
      break;
    }
#if PG_VERSION_NUM >= 170000
    case AT_SetExpression:  // a stored generated column computed anew: the table is rewritten
      out.push_back({Action::RewriteTable, t, "",
                     fmt::format("ALTER COLUMN {} SET EXPRESSION", cmd->name ? cmd->name : ""), {}});
      break;
#endif
    case AT_DropColumn:
      // DROP COLUMN IF EXISTS of a column the table does not have: PostgreSQL does nothing.
      if (cmd->missing_ok && !t.created_in_script && OidIsValid(relid) && cmd->name &&
          pg::call([&] { return get_attnum(relid, cmd->name) == InvalidAttrNumber; }))
        break;
      out.push_back({Action::DropColumn, t, cmd->name, "", {}});
      if (cmd->name) {
        st.validated_notnull.erase({table_key, cmd->name});
        if (OidIsValid(relid) && !t.created_in_script) st.column_names[relid][cmd->name] = "";
      }
      break;
    default:
      break;
  }
}

void analyze_create_table(CreateStmt* cs, ScriptState& st, std::vector<Fact>& out) {
  // A no-op when the table exists, unless the script dropped it first (DROP TABLE IF EXISTS t;
  // CREATE TABLE IF NOT EXISTS t ...): then the table is new, whatever the catalog says now.
  if (cs->if_not_exists && st.creation_target_exists(cs->relation)) return;
  TableInfo t;
  t.name = written_name(cs->relation);
  t.created_in_script = true;
  std::set<std::string> pk_columns;
  ListCell* lc;
  foreach (lc, cs->tableElts) {
    Node* n = (Node*)lfirst(lc);
    if (IsA(n, Constraint) && ((Constraint*)n)->contype == CONSTR_PRIMARY) {
      ListCell* kc;
      foreach (kc, ((Constraint*)n)->keys) pk_columns.insert(str_val((Node*)lfirst(kc)));
    }
  }
  foreach (lc, cs->tableElts) {
    Node* n = (Node*)lfirst(lc);
    if (!IsA(n, ColumnDef)) continue;
    ColumnDef* col = (ColumnDef*)n;
    bool pk = pk_columns.count(col->colname) > 0;
    ListCell* cc;
    foreach (cc, col->constraints)
      if (((Constraint*)lfirst(cc))->contype == CONSTR_PRIMARY) pk = true;
    check_column_type(col, col->colname, t, pk, out);
  }
  if (cs->partbound && list_length(cs->inhRelations) == 1) {
    Oid parent = InvalidOid;
    QualifiedName resolved;
    TableInfo parent_info = table_info(linitial_node(RangeVar, cs->inhRelations), st, &parent, &resolved);
    if (cs->partbound->is_default)
      st.defaults_created[key_of(resolved)] = key_of(st.creation_name(cs->relation));
    else if (!parent_info.created_in_script)
      default_partition_fact(new_partition_scans(parent, InvalidOid, cs->partbound, st), parent_info,
                             written_name(cs->relation), "CREATE TABLE ... PARTITION OF", out);
  }
  st.add_table(cs->relation);
}

void analyze_drop_objects(DropStmt* ds, ScriptState& st, std::vector<Fact>& out);

void analyze_drop(DropStmt* ds, ScriptState& st, std::vector<Fact>& out) {
  analyze_drop_objects(ds, st, out);
  if (ds->removeType != OBJECT_INDEX) return;
  ListCell* lc;
  foreach (lc, ds->objects) {
    std::string index = str_val((Node*)llast((List*)lfirst(lc)));
    st.dropped_indexes.insert(index);
    st.created_indexes.erase(index);
  }
}

// A table (column nullptr: a dropped schema's) or a column of one (a TypedColumn of
// columns_of_type()), palloc'd in a List.
struct TypedColumn {
  Oid relid;
  char* column;  // nullptr: the table itself (a dropped schema's)
};
// Plain C: the columns of tables holding values of `type` (a domain, an enum...).
List* columns_of_type(Oid type) {
  // The type, the domains over it (and over those), and their array types: a column of any of
  // them holds values of the type.
  List* types = list_make1_oid(type);
  for (bool grew = true; grew;) {
    grew = false;
    Relation t = table_open(TypeRelationId, AccessShareLock);
    SysScanDesc scan = systable_beginscan(t, InvalidOid, false, nullptr, 0, nullptr);
    HeapTuple tup;
    while (HeapTupleIsValid(tup = systable_getnext(scan))) {
      Form_pg_type ty = (Form_pg_type)GETSTRUCT(tup);
      bool based = (ty->typtype == TYPTYPE_DOMAIN && list_member_oid(types, ty->typbasetype)) ||
                   (OidIsValid(ty->typelem) && IsTrueArrayType(ty) && list_member_oid(types, ty->typelem));
      if (based && !list_member_oid(types, ty->oid)) {
        types = lappend_oid(types, ty->oid);
        grew = true;
      }
    }
    systable_endscan(scan);
    table_close(t, AccessShareLock);
  }
  List* out_list = NIL;
  Relation rel = table_open(AttributeRelationId, AccessShareLock);
  SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) {
    Form_pg_attribute a = (Form_pg_attribute)GETSTRUCT(tup);
    if (!list_member_oid(types, a->atttypid) || a->attisdropped || a->attnum <= 0) continue;
    char kind = get_rel_relkind(a->attrelid);
    if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE) continue;
    TypedColumn* d = (TypedColumn*)palloc0(sizeof(TypedColumn));
    d->relid = a->attrelid;
    d->column = pstrdup(NameStr(a->attname));
    out_list = lappend(out_list, d);
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  return out_list;
}

void analyze_drop_objects(DropStmt* ds, ScriptState& st, std::vector<Fact>& out) {
  ListCell* lc;
  if (ds->removeType == OBJECT_INDEX && ds->concurrent && !st.transactional) {  // in a transaction: not-allowed anyway
    foreach (lc, ds->objects) {
      List* names = (List*)lfirst(lc);
      RangeVar* rv = pg::call([&] { return makeRangeVarFromNameList(names); });
      Oid indexoid = st.resolve(rv).relid;
      if (OidIsValid(indexoid) && pg::call([&] { return get_rel_relkind(indexoid) == RELKIND_PARTITIONED_INDEX; }))
        out.push_back({Action::NotAllowed, {},
                       "Drop it without CONCURRENTLY when the table is quiet (the lock reaches every partition).",
                       fmt::format("DROP INDEX CONCURRENTLY cannot drop partitioned index {} (PostgreSQL refuses it)",
                                   written_name(rv)),
                       {}});
    }
  }
  if (ds->removeType == OBJECT_INDEX && !ds->concurrent) {
    foreach (lc, ds->objects) {
      List* names = (List*)lfirst(lc);
      std::string index = str_val((Node*)llast(names));
      if (st.created_indexes.count(index)) continue;
      RangeVar* rv = pg::call([&] { return makeRangeVarFromNameList(names); });
      std::string shown = written_name(rv);
      Oid indexoid = st.resolve(rv).relid;  // through the script's own SET search_path
      TableInfo t;
      t.name = fmt::format("the table of index {}", shown);
      if (OidIsValid(indexoid)) {
        Oid heap = pg::call([&] { return IndexGetRelation(indexoid, true); });
        if (OidIsValid(heap)) fill_from_catalog(heap, t);
      }
      out.push_back({Action::DropIndex, t, shown, "", {}});
    }
  } else if (ds->removeType == OBJECT_TABLE) {
    foreach (lc, ds->objects) {
      List* names = (List*)lfirst(lc);
      RangeVar* rv = pg::call([&] { return makeRangeVarFromNameList(names); });
      Oid dropped = InvalidOid;
      QualifiedName dropped_name;
      TableInfo t = table_info(rv, st, &dropped, &dropped_name);
      // A default partition dropped: DETACH ... CONCURRENTLY is allowed again; its proofs go.
      for (auto it = st.defaults_created.begin(); it != st.defaults_created.end();)
        it = it->second == key_of(dropped_name) ? st.defaults_created.erase(it) : std::next(it);
      if (OidIsValid(dropped)) {
        st.defaults_removed.insert(dropped);
        st.check_proofs.erase(dropped);
      }
      st.drop_table(rv);
      if (!t.exists && !t.created_in_script) continue;  // DROP TABLE IF EXISTS of nothing, or unknown yet
      out.push_back({Action::DropTable, t, "", "", {}});
    }
  } else if (ds->behavior == DROP_CASCADE &&
             (ds->removeType == OBJECT_SCHEMA || ds->removeType == OBJECT_TYPE || ds->removeType == OBJECT_DOMAIN)) {
    // What the CASCADE takes along: the tables of a dropped schema, the columns of a dropped
    // type or domain (their data is lost as with DROP TABLE / DROP COLUMN). From the catalog:
    // what the script itself created there is new and holds nothing yet.
    foreach (lc, ds->objects) {
      Node* object = (Node*)lfirst(lc);
      List* found = pg::call([&] {
        List* out_list = NIL;
        if (ds->removeType == OBJECT_SCHEMA) {
          Oid nsp = get_namespace_oid(strVal(object), true);
          if (!OidIsValid(nsp)) return out_list;
          Relation rel = table_open(RelationRelationId, AccessShareLock);
          SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
          HeapTuple tup;
          while (HeapTupleIsValid(tup = systable_getnext(scan))) {
            Form_pg_class c = (Form_pg_class)GETSTRUCT(tup);
            if (c->relnamespace == nsp && (c->relkind == RELKIND_RELATION || c->relkind == RELKIND_PARTITIONED_TABLE) &&
                !c->relispartition) {
              TypedColumn* d = (TypedColumn*)palloc0(sizeof(TypedColumn));
              d->relid = c->oid;
              out_list = lappend(out_list, d);
            }
          }
          systable_endscan(scan);
          table_close(rel, AccessShareLock);
        } else {
          Oid type = LookupTypeNameOid(nullptr, (TypeName*)object, true);
          if (OidIsValid(type)) out_list = columns_of_type(type);
        }
        return out_list;
      });
      std::string schema = ds->removeType == OBJECT_SCHEMA ? strVal(object) : std::string();
      ListCell* fc;
      foreach (fc, found) {
        TypedColumn* d = (TypedColumn*)lfirst(fc);
        // What earlier statements of the script changed: a table dropped, or moved out of the
        // schema; a column whose type was changed (no longer the type dropped).
        const char* rel = nullptr;
        const char* nsp = pg::call([&]() -> const char* {
          rel = get_rel_name(d->relid);
          return get_namespace_name(get_rel_namespace(d->relid));
        });
        std::pair<std::string, std::string> name{nsp ? nsp : "", rel ? rel : ""};
        auto noted = st.tables.find(name);
        if (noted != st.tables.end() && noted->second.kind == ScriptState::Kind::Dropped) continue;
        bool moved_out = false;  // (of the schema dropped)
        for (const auto& [key, table] : st.tables)
          if (!schema.empty() && table.kind == ScriptState::Kind::Moved && table.relid == d->relid && key.first != schema)
            moved_out = true;
        if (moved_out) continue;
        if (d->column && st.retyped_columns.count({d->relid, std::string(d->column)})) continue;
        TableInfo t;
        if (!fill_from_catalog(d->relid, t)) continue;
        if (t.created_in_script) continue;
        out.push_back({d->column ? Action::DropColumn : Action::DropTable, t, d->column ? d->column : "", "", {}});
      }
    }
  }
}

void analyze(Node* node, ScriptState& st, std::vector<Fact>& out) {
  ListCell* lc;
  switch (nodeTag(node)) {
    case T_CreateStmt:
      analyze_create_table((CreateStmt*)node, st, out);
      break;
    case T_CreateTableAsStmt: {
      CreateTableAsStmt* ctas = (CreateTableAsStmt*)node;
      // (IF NOT EXISTS of a table that exists creates nothing: later statements meet the old one)
      if (ctas->into && ctas->into->rel && !(ctas->if_not_exists && st.creation_target_exists(ctas->into->rel)))
        st.add_table(ctas->into->rel);
      break;
    }
    case T_SelectStmt: {
      SelectStmt* sel = (SelectStmt*)node;
      if (sel->intoClause && sel->intoClause->rel) st.add_table(sel->intoClause->rel);
      break;
    }
    case T_AlterTableStmt:
      analyze_alter_table((AlterTableStmt*)node, st, out);
      break;
    case T_IndexStmt: {
      IndexStmt* idx = (IndexStmt*)node;
      Oid relid = InvalidOid;
      TableInfo t = table_info(idx->relation, st, &relid);
      // CREATE INDEX IF NOT EXISTS of an index that exists (next to its table) builds nothing.
      bool exists = idx->if_not_exists && idx->idxname && OidIsValid(relid) &&
                    !st.created_indexes.count(idx->idxname) && !st.dropped_indexes.count(idx->idxname) && pg::call([&] {
                      return OidIsValid(get_relname_relid(idx->idxname, get_rel_namespace(relid)));
                    });
      if (idx->idxname) {
        st.dropped_indexes.erase(idx->idxname);
        std::vector<std::string>& columns = st.created_indexes[idx->idxname];
        columns.clear();
        ListCell* ic;
        foreach (ic, idx->indexParams) {
          IndexElem* e = (IndexElem*)lfirst(ic);
          if (e->name) columns.emplace_back(e->name);
        }
      }
      // ON ONLY a partitioned table builds nothing: the partitions' indexes are attached later.
      bool only_parent = t.partitioned && idx->relation && !idx->relation->inh;
      if (idx->concurrent && t.partitioned && !exists && !st.transactional)  // in a transaction: not-allowed anyway
        out.push_back({Action::NotAllowed, {},
                       "Create it ON ONLY the partitioned table (no build), build each partition's index with "
                       "CREATE INDEX CONCURRENTLY, then ALTER INDEX ... ATTACH PARTITION each one.",
                       fmt::format("CREATE INDEX CONCURRENTLY cannot build an index on partitioned table {} "
                                   "(PostgreSQL refuses it)", t.name),
                       {}});
      if (!idx->concurrent && !exists && !only_parent)
        out.push_back({Action::CreateIndex, t, idx->idxname ? idx->idxname : "", "", {}});
      break;
    }
    case T_ReindexStmt: {
      ReindexStmt* rs = (ReindexStmt*)node;
      bool concurrently = false;
      foreach (lc, rs->params) {
        DefElem* opt = (DefElem*)lfirst(lc);
        if (strcmp(opt->defname, "concurrently") == 0)
          concurrently = !opt->arg || pg::call([&] { return defGetBoolean(opt); });
      }
      if (concurrently || !rs->relation) break;  // CONCURRENTLY: refused by check_runnable
      if (rs->kind == REINDEX_OBJECT_TABLE) {
        out.push_back({Action::Reindex, table_info(rs->relation, st),
                       fmt::format("TABLE {}", written_name(rs->relation)), "", {}});
      } else if (rs->kind == REINDEX_OBJECT_INDEX) {
        TableInfo t;
        t.name = fmt::format("the table of index {}", written_name(rs->relation));
        if (st.created_indexes.count(rs->relation->relname)) {
          t.created_in_script = true;
        } else {
          Oid indexoid = st.resolve(rs->relation).relid;  // through the script's own SET search_path
          Oid heap = OidIsValid(indexoid) ? pg::call([&] { return IndexGetRelation(indexoid, true); }) : InvalidOid;
          if (OidIsValid(heap)) fill_from_catalog(heap, t);
        }
        out.push_back({Action::Reindex, t, fmt::format("INDEX {}", written_name(rs->relation)), "", {}});
      }
      break;
    }
    case T_DropStmt:
      analyze_drop((DropStmt*)node, st, out);
      break;
    case T_RenameStmt: {
      RenameStmt* rs = (RenameStmt*)node;
      // Later statements name the schema's relations under the new name.
      if (rs->renameType == OBJECT_SCHEMA && rs->subname && rs->newname) st.rename_schema(rs->subname, rs->newname);
      if (!rs->relation) break;
      // An index renamed: later statements (DROP INDEX) name the same index.
      if (rs->renameType == OBJECT_INDEX && rs->newname) {
        st.move_table(rs->relation, {st.resolve(rs->relation).name.first, rs->newname});
        break;
      }
      if (rs->renameType == OBJECT_COLUMN && rs->relationType == OBJECT_TABLE) {
        Oid relid = InvalidOid;
        QualifiedName resolved;
        TableInfo t = table_info(rs->relation, st, &relid, &resolved);
        out.push_back({Action::RenameColumn, t, rs->subname, rs->newname, {}});
        // Later statements name the column by its new name; the old name is free.
        if (rs->subname && rs->newname) {
          std::string table_key = key_of(resolved);
          if (st.validated_notnull.erase({table_key, rs->subname})) st.validated_notnull.insert({table_key, rs->newname});
          if (st.declared_not_null.erase({table_key, rs->subname})) st.declared_not_null.insert({table_key, rs->newname});
          for (auto& [key, columns] : st.validated_check_columns)
            if (key.first == table_key) std::replace(columns.begin(), columns.end(), std::string(rs->subname), std::string(rs->newname));
          if (OidIsValid(relid) && !t.created_in_script) {
            std::map<std::string, std::string>& names = st.column_names[relid];
            std::string catalog_name = st.catalog_column(relid, rs->subname);
            names[rs->newname] = catalog_name;
            names[rs->subname] = "";
          }
        }
      } else if (rs->renameType == OBJECT_TABCONSTRAINT && rs->subname && rs->newname) {
        // Later statements name the constraint by its new name.
        Oid relid = InvalidOid;
        QualifiedName resolved;
        TableInfo t = table_info(rs->relation, st, &relid, &resolved);
        std::string table_key = key_of(resolved);
        for (auto* names : {&st.validated_check_columns, &st.notnull_checks}) {
          auto it = names->find({table_key, rs->subname});
          if (it == names->end()) continue;
          (*names)[{table_key, rs->newname}] = it->second;
          names->erase({table_key, rs->subname});
        }
        if (OidIsValid(relid) && !t.created_in_script)
          st.constraint_names[relid][rs->newname] = st.catalog_constraint(relid, rs->subname);
      } else if (rs->renameType == OBJECT_TABLE) {
        TableInfo t = table_info(rs->relation, st);
        out.push_back({Action::RenameTable, t, "", rs->newname, {}});
        // Later statements name the same table by its new name (in the same schema).
        st.move_table(rs->relation, {st.resolve(rs->relation).name.first, rs->newname});
      }
      break;
    }
    case T_AlterObjectSchemaStmt: {
      AlterObjectSchemaStmt* move = (AlterObjectSchemaStmt*)node;
      if (move->objectType == OBJECT_TABLE && move->relation && move->newschema)
        st.move_table(move->relation, {move->newschema, move->relation->relname});
      break;
    }
    case T_CreateSchemaStmt: {
      CreateSchemaStmt* cs = (CreateSchemaStmt*)node;
      if (cs->schemaname) st.created_schemas.insert(cs->schemaname);
      break;
    }
    case T_CreateDomainStmt: {
      CreateDomainStmt* cd = (CreateDomainStmt*)node;
      ScriptState::CreatedDomain d;
      // Over another domain: its NOT NULL and default carry over (the catalog's, or the script's).
      DomainFacts base = domain_facts(cd->typeName, st);
      d.not_null = base.not_null;
      d.has_default = base.has_default;
      d.constrained = base.constrained;
      d.volatile_default = base.volatile_default;
      foreach (lc, cd->constraints) {
        Constraint* c = (Constraint*)lfirst(lc);
        if (c->contype == CONSTR_CHECK || c->contype == CONSTR_NOTNULL) d.constrained = true;
        if (c->contype == CONSTR_NOTNULL) d.not_null = true;
        if (c->contype == CONSTR_DEFAULT && c->raw_expr) {
          d.has_default = true;
          d.volatile_default = default_volatility(c->raw_expr) != Volatility::kNo;
        }
      }
      if (cd->domainname) st.created_domains[str_val((Node*)llast(cd->domainname))] = d;
      break;
    }
    case T_AlterDomainStmt: {
      // A constraint added to a domain the script created.
      AlterDomainStmt* ad = (AlterDomainStmt*)node;
      auto it = ad->typeName ? st.created_domains.find(str_val((Node*)llast(ad->typeName))) : st.created_domains.end();
      if (it == st.created_domains.end()) {
        // ADD CONSTRAINT without NOT VALID, SET NOT NULL: every column of the domain is checked,
        // its table locked SHARE meanwhile. (A domain the script created has no data yet.)
        bool adds = ad->subtype == 'C' && ad->def && IsA(ad->def, Constraint) && !((Constraint*)ad->def)->skip_validation &&
                    (((Constraint*)ad->def)->contype == CONSTR_CHECK || ((Constraint*)ad->def)->contype == CONSTR_NOTNULL);
        // (VALIDATE CONSTRAINT checks every row under the same SHARE lock: NOT VALID does not
        // help a domain as it helps a table.)
        if (!adds && ad->subtype != 'O' && ad->subtype != 'V') break;
        Oid type = pg::call([&] { return LookupTypeNameOid(nullptr, makeTypeNameFromNameList(ad->typeName), true); });
        if (!OidIsValid(type)) break;
        if (ad->subtype == 'O') {  // SET NOT NULL of a domain NOT NULL already: PostgreSQL does nothing
          bool already = pg::call([&] {
            HeapTuple tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));
            if (!HeapTupleIsValid(tup)) return false;
            bool nn = ((Form_pg_type)GETSTRUCT(tup))->typnotnull;
            ReleaseSysCache(tup);
            return nn;
          });
          if (already) break;
        }
        std::string domain = pg::call([&] { return (const char*)NameListToString(ad->typeName); });
        std::string what = ad->subtype == 'O'   ? fmt::format("ALTER DOMAIN {} SET NOT NULL", domain)
                           : ad->subtype == 'V' ? fmt::format("ALTER DOMAIN {} VALIDATE CONSTRAINT {}", domain,
                                                              ad->name ? ad->name : "")
                                                : fmt::format("ALTER DOMAIN {} ADD CONSTRAINT{}", domain,
                                                              ((Constraint*)ad->def)->conname ? std::string(" ") + ((Constraint*)ad->def)->conname : "");
        List* typed = pg::call([&] { return columns_of_type(type); });
        ListCell* fc;
        foreach (fc, typed) {
          TypedColumn* d = (TypedColumn*)lfirst(fc);
          TableInfo t;
          if (!fill_from_catalog(d->relid, t) || t.created_in_script) continue;
          out.push_back({Action::AlterDomainScan, t, d->column, what, {}});
        }
        break;
      }
      switch (ad->subtype) {
        case 'C': it->second.constrained = true; break;  // ADD CONSTRAINT
        case 'O':                                         // SET NOT NULL
          it->second.constrained = true;
          it->second.not_null = true;
          break;
        case 'N': it->second.not_null = false; break;  // DROP NOT NULL
        case 'T':                                       // SET / DROP DEFAULT
          it->second.has_default = ad->def != nullptr;
          it->second.volatile_default = ad->def && default_volatility(ad->def) != Volatility::kNo;
          break;
        default: break;
      }
      break;
    }
    case T_VariableSetStmt:
      st.set_search_path((VariableSetStmt*)node);
      break;
    case T_TruncateStmt: {
      TruncateStmt* ts = (TruncateStmt*)node;
      if (ts->behavior != DROP_CASCADE) break;
      foreach (lc, ts->relations)
        out.push_back({Action::TruncateCascade, table_info((RangeVar*)lfirst(lc), st), "", "", {}});
      break;
    }
    case T_VacuumStmt: {
      VacuumStmt* vs = (VacuumStmt*)node;
      if (!vs->is_vacuumcmd) break;
      bool full = false;
      foreach (lc, vs->options) {
        DefElem* opt = (DefElem*)lfirst(lc);
        if (strcmp(opt->defname, "full") == 0)
          full = !opt->arg || pg::call([&] { return defGetBoolean(opt); });
      }
      if (!full) break;
      if (vs->rels == NIL) {
        TableInfo all;
        all.name = "every table of the database";
        all.exists = true;
        out.push_back({Action::VacuumFull, all, "", "", {}});
      }
      foreach (lc, vs->rels) {
        VacuumRelation* vr = (VacuumRelation*)lfirst(lc);
        if (vr->relation) out.push_back({Action::VacuumFull, table_info(vr->relation, st), "", "", {}});
      }
      break;
    }
    case T_RefreshMatViewStmt: {
      // WITH NO DATA empties the view (no rebuild); CONCURRENTLY lets reads go on.
      RefreshMatViewStmt* rs = (RefreshMatViewStmt*)node;
      if (rs->relation && !rs->concurrent && !rs->skipData)
        out.push_back({Action::RefreshMatView, table_info(rs->relation, st), "", "", {}});
      break;
    }
    case T_ClusterStmt: {
      ClusterStmt* cs = (ClusterStmt*)node;
      if (cs->relation) out.push_back({Action::Cluster, table_info(cs->relation, st), "", "", {}});
      break;
    }
    case T_DoStmt:
      out.push_back({Action::UnlintedDoBlock, {}, "", "", {}});
      break;
    case T_LockStmt: {
      LockStmt* ls = (LockStmt*)node;
      foreach (lc, ls->relations)
        out.push_back({Action::LockTable, table_info((RangeVar*)lfirst(lc), st), "", lock_mode_sql(ls->mode), {}});
      break;
    }
    case T_UpdateStmt:
    case T_DeleteStmt: {
      bool update = IsA(node, UpdateStmt);
      RangeVar* rel = update ? ((UpdateStmt*)node)->relation : ((DeleteStmt*)node)->relation;
      Node* where = update ? ((UpdateStmt*)node)->whereClause : ((DeleteStmt*)node)->whereClause;
      List* joined = update ? ((UpdateStmt*)node)->fromClause : ((DeleteStmt*)node)->usingClause;
      Oid relid = InvalidOid;
      TableInfo t = table_info(rel, st, &relid, nullptr, rel->inh);
      // A data fix of a few rows named by key (WHERE id = 1, id IN (1, 2, 3)) locks those rows
      // only: not a statement to batch. Only a key of the target table itself, without a join
      // (whose rows the key would name) and without inheritance children (which the parent's
      // unique index does not cover).
      const char* target = rel->alias ? rel->alias->aliasname : rel->relname;
      if (OidIsValid(relid) && where && joined == NIL && t.children == 0 &&
          pg::call([&] { return where_pins_unique_key(relid, where, target); }))
        break;
      out.push_back({Action::UnbatchedUpdate, t, "", update ? "UPDATE" : "DELETE", {}});
      break;
    }
#if PG_VERSION_NUM >= 150000
    case T_MergeStmt:
      out.push_back({Action::UnbatchedUpdate, table_info(((MergeStmt*)node)->relation, st), "", "MERGE", {}});
      break;
#endif
    default:
      break;
  }
  // Rows changed by a data-modifying WITH query (WITH moved AS (DELETE ... RETURNING *) INSERT
  // ...): as many as a plain UPDATE/DELETE, in the migration's one transaction.
  WithClause* with = nullptr;
  switch (nodeTag(node)) {
    case T_SelectStmt: with = ((SelectStmt*)node)->withClause; break;
    case T_InsertStmt: with = ((InsertStmt*)node)->withClause; break;
    case T_UpdateStmt: with = ((UpdateStmt*)node)->withClause; break;
    case T_DeleteStmt: with = ((DeleteStmt*)node)->withClause; break;
    default: break;
  }
  if (with) {
    ListCell* cc;
    foreach (cc, with->ctes) {
      Node* q = ((CommonTableExpr*)lfirst(cc))->ctequery;
      if (q && IsA(q, UpdateStmt))
        out.push_back({Action::UnbatchedUpdate, table_info(((UpdateStmt*)q)->relation, st), "", "UPDATE in a WITH query", {}});
      else if (q && IsA(q, DeleteStmt))
        out.push_back({Action::UnbatchedUpdate, table_info(((DeleteStmt*)q)->relation, st), "", "DELETE in a WITH query", {}});
    }
  }
  switch (nodeTag(node)) {
    case T_TransactionStmt: {
      st.added_not_valid.clear();  // a COMMIT split point: validating after it is the advice
      // Tables created before it are committed at it: from here on other sessions see them,
      // and their size (what the part wrote: CREATE TABLE ... AS, INSERT) is unknown.
      if (is_split_point(node))
        for (auto& [name, table] : st.tables)
          if (table.kind == ScriptState::Kind::Created) table.committed = true;
      // Each part of a split script runs with its own settings: a SET before the COMMIT is
      // undone at it, so names after it resolve through the session's search_path again.
      st.script_path.reset();
      const char* tag = pg::call([&] { return GetCommandTagName(CreateCommandTag(node)); });
      out.push_back({Action::TransactionControl, {}, st.transactional ? "" : "no-transaction", tag, {}});
      break;
    }
    default:
      break;
  }
}

// Statements whose analysis looks up the catalog (and so may raise an error that needs a
// subtransaction to clean up). The others cost no subtransaction: lint stays at a few
// microseconds per statement on scripts of 100,000 INSERTs.
bool analysis_reads_catalog(Node* node) {
  switch (nodeTag(node)) {
    case T_CreateStmt:
    case T_AlterTableStmt:
    case T_IndexStmt:
    case T_DropStmt:
    case T_RenameStmt:
    case T_TruncateStmt:
    case T_VacuumStmt:
    case T_ClusterStmt:
    case T_LockStmt:
    case T_ReindexStmt:
    case T_AlterObjectSchemaStmt:
    case T_VariableSetStmt:
    case T_CreateDomainStmt:  // the base type (a domain's NOT NULL and default carry over)
    case T_AlterDomainStmt:   // a default's functions
      return true;
    default:
      return false;
  }
}

// Parses with the raw parser; a syntax error becomes a lint row instead of an error.
bool parse_or_report(const std::string& script, std::optional<LintRow>* syntax_error, List** raw) {
  const char* text = script.c_str();  // a pg_dump's \restrict lines blanked (lint_statements)
  try {
    pg::SubTransaction sub;
    *raw = pg::call([&] {
      error_context_stack = nullptr;  // keep the position in the script (see parse_script)
      return pg_parse_query(text);
    });
    sub.commit();
    return true;
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) throw;  // cancel, statement_timeout, shutdown: never a lint row
    ErrorData* edata = e.data();
    size_t at = edata->cursorpos > 0 ? char_pos_to_byte(script, edata->cursorpos) : 0;
    int line = line_at(script, at);
    size_t begin = line_start(script, at);
    std::string line_text = script.substr(begin, line_end(script, at) - begin);
    Fact f{Action::SyntaxError, {}, "", "", {}};
    if (is_psql_meta_command_at(script, at)) {
      f.detail = fmt::format("psql meta-command \"{}\" cannot run in a migration",
                             word_at(script, script.find('\\', begin)));
    } else {
      // The column in characters, as an editor counts it (not bytes).
      size_t column = 1;
      for (size_t i = begin; i < at; ++i) column += (static_cast<unsigned char>(script[i]) & 0xC0) != 0x80;
      f.detail = fmt::format("{} (line {}, column {})", edata->message ? edata->message : "syntax error",
                             line, column);
    }
    auto finding = lint::evaluate(f, thresholds());
    *syntax_error = LintRow{line, one_line_preview(line_text), *finding};
    return false;
  }
}

}  // namespace

std::vector<StatementLint> lint_statements(const std::string& script, std::optional<LintRow>* syntax_error) {
  List* raw = nullptr;
  std::optional<std::string> cleaned = without_dump_restrict_lines(script);
  const std::string& parsed = cleaned ? *cleaned : script;
  if (!parse_or_report(parsed, syntax_error, &raw)) return {};
  return lint_parsed(script, split_statements(raw, parsed));
}

// A batched UPDATE / DELETE runs again and again (each batch, and each pass while rows are
// left): a volatile function in its WHERE clause (random(), clock_timestamp(), nextval())
// gives each batch other values. now() is one value per transaction, so per batch: not flagged.
void batched_where_facts(Node* node, ScriptState& st, std::vector<Fact>& facts) {
  Node* where = nullptr;
  RangeVar* relation = nullptr;
  const char* verb = nullptr;
  if (IsA(node, UpdateStmt)) {
    where = castNode(UpdateStmt, node)->whereClause;
    relation = castNode(UpdateStmt, node)->relation;
    verb = "UPDATE";
  } else if (IsA(node, DeleteStmt)) {
    where = castNode(DeleteStmt, node)->whereClause;
    relation = castNode(DeleteStmt, node)->relation;
    verb = "DELETE";
  }
  if (!where) return;
  // Looking a name up may fail ("improper qualified name" for a.b.c.d()): then nothing is
  // reported, and the statement fails when it runs.
  FuncCall* call = nullptr;
  try {
    pg::SubTransaction sub;
    bool found = pg::call([&] { return possibly_volatile_call_walker(where, &call); });
    sub.commit();
    if (!found) return;
  } catch (const pg::PgError& e) {
    if (e.is_interrupt()) throw;
    return;
  }
  std::string name = pg::call([&] { return NameListToQuotedString(call->funcname); });
  facts.push_back({Action::BatchedVolatileWhere, table_info(relation, st), name, verb, {}});
}

std::vector<StatementLint> lint_parsed(const std::string& script, const std::vector<ScriptStatement>& stmts) {
  disk_pages.clear();
  std::vector<StatementLint> out;
  out.reserve(stmts.size());
  ScriptMode mode = script_mode(script);  // non-transactional: concurrent builds are fine
  ScriptState st;
  st.transactional = mode == ScriptMode::kTransaction;
  lint::Thresholds th = thresholds();
  size_t prev_end = 0;
  std::vector<SessionOnlyStatement> session_only = session_only_statements(stmts, mode);
  size_t next_session_only = 0;
  // What one statement's analysis allocates (expressions, catalog lookups) goes with it: a
  // dump of 100,000 statements is linted in flat memory. Nothing kept across statements is
  // allocated there (ScriptState and the facts are C++ objects).
  pg::RoundContext per_statement("pg_migrate lint statement");
  for (const ScriptStatement& s : stmts) {
    pg::RoundContext::Scope round = per_statement.round();
    std::vector<Fact> facts;
    if (next_session_only < session_only.size() && &s == &stmts[session_only[next_session_only].index]) {
      const SessionOnlyStatement& so = session_only[next_session_only++];
      facts.push_back({Action::SessionOnly, {}, so.hint,
                       so.what == "SET" ? std::string("SET in a non-transactional script lasts for its own statement only")
                                        : so.what + " affects only the session that applies the migration",
                       {}});
    }
    if (!analysis_reads_catalog(s.parsetree)) {
      analyze(s.parsetree, st, facts);
    } else try {
      pg::SubTransaction sub;  // catalog lookups of a broken statement must not end the lint
      analyze(s.parsetree, st, facts);
      sub.commit();
    } catch (pg::PgError& e) {
      if (e.is_interrupt()) throw;
      // The statement refers to something that does not resolve yet (an unknown type or
      // function); apply will report it. The facts gathered so far still count.
    }
    if (nodeTag(s.parsetree) != T_TransactionStmt) {
      try {
        check_runnable(s, script, {"", "", "up"}, mode);
      } catch (Error& e) {
        Fact f{Action::NotAllowed, {}, e.hint(), e.message(), {}};
        // Drop check_runnable's "... script of migration ..." label: lint has no migration.
        size_t cut = f.detail.find(": ");
        if (f.detail.find("cannot run inside a migration") != std::string::npos && cut != std::string::npos)
          f.detail = f.detail.substr(0, cut);
        else if (f.detail.find("COPY") != std::string::npos)
          f.detail = "COPY FROM STDIN / TO STDOUT cannot run inside a migration";
        facts.push_back(f);
      }
    }
    std::string_view gap = std::string_view(script).substr(prev_end, s.begin - prev_end);
    // COMMIT split points of a transactional script, and batched statements of a
    // non-transactional one, are what CALL migrate.run() runs (README "Indexes and data on busy tables").
    bool batched = false;
    if (mode == ScriptMode::kNoTransaction) {
      try {
        batched = find_batch_directive(gap).has_value();
      } catch (const std::invalid_argument&) {
      }
    }
    if (batched) batched_where_facts(s.parsetree, st, facts);
    facts.erase(std::remove_if(facts.begin(), facts.end(), [&](const Fact& f) {
                  return (f.action == Action::TransactionControl && mode == ScriptMode::kTransaction &&
                          is_split_point(s.parsetree)) ||
                         (f.action == Action::UnbatchedUpdate && batched);
                }),
                facts.end());
    // A silencing comment on the line the statement ends on ("...; -- pg_migrate:ignore rule")
    // is the statement's own; one on lines before it too (the gap, which starts after the
    // previous statement's line).
    size_t index = static_cast<size_t>(&s - stmts.data());
    // (A comment followed by another statement on the same line stands right before that
    // statement: it is that one's.)
    size_t eol = std::min(script.find_first_of("\r\n", s.end), script.size());  // \n, \r\n or a lone \r, as the scanner
    bool next_on_line = index + 1 < stmts.size() && stmts[index + 1].begin < eol;
    size_t trailing_end = next_on_line ? s.end : eol;
    std::vector<std::string> ignored = lint::ignored_rules(std::string_view(script).substr(s.end, trailing_end - s.end));
    for (std::string& name : lint::ignored_rules(gap)) ignored.push_back(std::move(name));
    StatementLint sl{s, {}};
    for (const std::string& name : ignored)
      if (!lint::is_known_rule(name))
        sl.findings.push_back(*lint::evaluate({Action::UnknownRule, {}, name, "", {}}, th));
    for (const Fact& f : facts) {
      std::optional<lint::Finding> finding = lint::evaluate(f, th);
      if (!finding) continue;
      if (std::find(ignored.begin(), ignored.end(), finding->rule) != ignored.end()) continue;
      sl.findings.push_back(std::move(*finding));
    }
    out.push_back(std::move(sl));
    prev_end = std::max(s.end, trailing_end);
  }
  // What register refuses of the script as a whole (a batch directive in a transactional
  // script or before a statement that cannot be batched, a misspelt or unknown directive, a
  // batched statement on a partitioned table): CI's lint says so before a registration fails.
  if (!out.empty()) {
    ScriptLabel label{"", "", "up"};
    try {
      refuse_unknown_directive(script, label);
      (void)script_run_mode(script, stmts, label);
      refuse_batched_partitioned(script, stmts, label);
    } catch (Error& e) {
      // Without register's "up script of migration ...": lint has no migration.
      std::string detail = e.message();
      std::string prefix = "up script of " + label.describe();
      if (detail.rfind(prefix, 0) == 0) {
        detail = detail.substr(prefix.size());
        detail = detail.rfind(": ", 0) == 0 ? detail.substr(2) : "the script" + detail;
      }
      // On the statement at that line, or the first one after it (a directive's line).
      StatementLint* at = &out.back();
      static const std::regex line_re(R"(line (\d+))");
      std::smatch m;
      if (std::regex_search(detail, m, line_re)) {
        int line = std::stoi(m[1]);
        for (auto it = out.rbegin(); it != out.rend(); ++it)
          if (it->stmt.line >= line) at = &*it;
      }
      if (std::optional<lint::Finding> f = lint::evaluate({Action::NotAllowed, {}, e.hint(), detail, {}}, th))
        at->findings.push_back(std::move(*f));
    }
  }
  // A silencing comment after the last statement silences nothing; a rule name in it that
  // does not exist is still a typo to report (on the last statement).
  if (!out.empty())
    for (const std::string& name : lint::ignored_rules(std::string_view(script).substr(prev_end)))
      if (!lint::is_known_rule(name))
        out.back().findings.push_back(*lint::evaluate({Action::UnknownRule, {}, name, "", {}}, th));
  return out;
}

void set_plan_lock_timeout() {
  std::string value = std::to_string(plan_lock_timeout_ms);
  const char* v = value.c_str();
  pg::call([&] {
    (void)set_config_option("lock_timeout", v, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
  });
}

namespace {
std::vector<LintRow> rows_of(const std::string& script, const std::vector<StatementLint>& stmts,
                             const std::optional<LintRow>& syntax_error) {
  std::vector<LintRow> rows;
  if (syntax_error) rows.push_back(*syntax_error);
  for (const StatementLint& s : stmts) {
    std::string preview;
    for (const lint::Finding& f : s.findings) {
      if (preview.empty()) preview = one_line_preview(statement_text(script, s.stmt));
      rows.push_back({s.stmt.line, preview, f});
    }
  }
  return rows;
}
}  // namespace

std::vector<LintRow> lint_script(const std::string& script) {
  std::optional<LintRow> syntax_error;
  std::vector<StatementLint> stmts = lint_statements(script, &syntax_error);
  return rows_of(script, stmts, syntax_error);
}

std::vector<LintRow> lint_parsed_script(const std::string& script, const std::vector<ScriptStatement>& parsed) {
  return rows_of(script, lint_parsed(script, parsed), std::nullopt);
}

}  // namespace pgm::safety

// ---------------------------------------------------------------------------------------

namespace pgm {

namespace {
void report_lint_rows(const std::string& version, const std::string& name, const std::vector<safety::LintRow>& rows) {
  for (const safety::LintRow& r : rows) {
    std::string message = fmt::format("migration {} (\"{}\") line {}: {} ({}): {}", version, name, r.line,
                                      r.finding.rule, lint::severity_name(r.finding.severity), r.finding.message);
    std::string detail = fmt::format("Statement: {}", r.statement);
    const char* m = message.c_str();
    const char* d = detail.c_str();
    const char* h = r.finding.hint.c_str();
    int level = r.finding.severity == lint::Severity::Info ? NOTICE : WARNING;
    pg::call([&] {
      ereport(level, (errmsg_internal("%s", m), errdetail_internal("%s", d), h[0] ? errhint("%s", h) : 0));
    });
  }
}
}  // namespace

void lint_report_on_register(const std::string& version, const std::string& name, const std::string& up) {
  pg::SpiConnection spi;
  report_lint_rows(version, name, safety::lint_script(up));
}

void lint_report_on_register(const std::string& version, const std::string& name, const std::string& up,
                             const std::vector<ScriptStatement>& parsed) {
  pg::SpiConnection spi;
  report_lint_rows(version, name, safety::lint_parsed_script(up, parsed));
}

void lint_check_before_apply(const std::string& version, const std::string& name, const std::string& up) {
  lint_check_before_running(fmt::format("migration {} (\"{}\")", version, name), up);
}

void lint_check_before_running(const std::string& described, const std::string& up,
                               const std::function<bool(int line)>& counts) {
  if (!policy::effective_lint_blocks_apply(safety::lint_blocks_apply)) return;
  pg::SpiConnection spi;
  std::vector<safety::LintRow> rows = safety::lint_script(up);
  std::vector<std::string> errors;
  for (const safety::LintRow& r : rows)
    if (r.finding.severity == lint::Severity::Error && (!counts || counts(r.line)))
      errors.push_back(fmt::format("line {}: {}: {}", r.line, r.finding.rule, r.finding.message));
  if (errors.empty()) return;
  throw Error(sqlstate::kObjectNotInPrerequisiteState,
              fmt::format("{} has {} error-level lint finding{} and pg_migrate.lint_blocks_apply is on",
                          described, errors.size(), errors.size() == 1 ? "" : "s"),
              fmt::format("{}", fmt::join(errors, "\n")),
              "Fix the migration (see migrate.lint()), silence a reviewed rule with a "
              "\"-- pg_migrate:ignore <rule>\" comment before the statement, or set "
              "pg_migrate.lint_blocks_apply = off (where the DBA set it on, only a superuser may).");
}

}  // namespace pgm

using namespace pgm;

PGM_FUNCTION(pgm_lint) {
  std::string script = pg::text_arg(fcinfo, 0);
  pg::ResultSet out(fcinfo);
  std::vector<safety::LintRow> rows;
  {
    pg::SpiConnection spi;
    rows = safety::lint_script(script);
  }
  for (const safety::LintRow& r : rows)
    out.add_row({pg::Cell::int4(r.line), pg::Cell::text(r.statement), pg::Cell::text(r.finding.rule),
                 pg::Cell::text(lint::severity_name(r.finding.severity)), pg::Cell::text(r.finding.message),
                 r.finding.hint.empty() ? pg::Cell::null_value() : pg::Cell::text(r.finding.hint)});
  return out.done();
}

PGM_FUNCTION(pgm_lint_rules) {
  pg::ResultSet out(fcinfo);
  for (const lint::RuleInfo& r : lint::rules())
    out.add_row({pg::Cell::text(r.name), pg::Cell::text(r.description)});
  return out.done();
}
