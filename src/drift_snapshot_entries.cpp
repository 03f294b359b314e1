// Drift: the schema snapshot, built in C from the system caches: migrate.schema_snapshot()
// (every object of the user schemas) and migrate.schema_snapshot_of() (given relations,
// types, schemas and functions), one jsonb object of "<kind> <identity>" entries. Until 0.4.0
// both were SQL functions (two copies of one 200-line query, planned at every call: most of
// the cost of a one-migration apply in a new session).
//
// The entries are those 0.4.0's SQL gave, byte for byte (test: sql/drift_snapshot_entries.sql
// compares both on a schema with every attribute set): values come from the same functions
// (pg_get_userbyid, format_type, pg_get_expr, pg_get_viewdef, pg_get_indexdef...), arrays are
// sorted with the collation ORDER BY used (the database's default for ACLs, "C" for catalog
// text such as reloptions, proconfig and role names), numbers are converted as to_jsonb()
// converts them, and null attributes are left out. Like pg_get_indexdef() and the other
// deparsing functions, it reads the catalogs' current state (system caches), not the
// transaction's snapshot.
#include "core/error.hpp"
#include "pg/guard.hpp"
#include "pg/pg.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_language.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_range.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "access/transam.h"
#include "rewrite/prs2lock.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "commands/trigger.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_description.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_type.h"
#include "catalog/namespace.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "utils/regproc.h"
#include "utils/varlena.h"
#include "utils/syscache.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "common/jsonapi.h"
#include "rewrite/rewriteDefine.h"
#include "utils/catcache.h"
#include "utils/syscache.h"
}

namespace {

// --- Plain C from here to the SQL function: PostgreSQL errors longjmp through it, so no C++
// object is alive in these frames (it all runs inside one pg::call).

// Calls a builtin that may return NULL (pg_get_viewdef of a view dropped meanwhile, ...).
text* call_text_function(PGFunction fn, int nargs, Datum a0, Datum a1) {
  LOCAL_FCINFO(fcinfo, 2);
  InitFunctionCallInfoData(*fcinfo, nullptr, nargs, InvalidOid, nullptr, nullptr);
  fcinfo->args[0].value = a0;
  fcinfo->args[0].isnull = false;
  fcinfo->args[1].value = a1;
  fcinfo->args[1].isnull = false;
  Datum result = fn(fcinfo);
  return fcinfo->isnull ? nullptr : DatumGetTextPP(result);
}

char* text_cstring(text* t) { return t ? text_to_cstring(t) : nullptr; }

// format_type(type, typmod) and format_type(type, NULL), as the SQL functions format them.
char* sql_format_type(Oid type, int32 typmod, bool typmod_given) {
  return format_type_extended(type, typmod,
                              FORMAT_TYPE_ALLOW_INVALID | (typmod_given ? FORMAT_TYPE_TYPEMOD_GIVEN : 0));
}

// ORDER BY of text: by the collation the sorted column has. NULLs last.
int compare_texts(const char* x, const char* y, Oid collation) {
  if (!x || !y) return x ? -1 : y ? 1 : 0;
  return varstr_cmp(x, static_cast<int>(strlen(x)), y, static_cast<int>(strlen(y)), collation);
}

// a::text of an aclitem has the database's default collation.
int compare_by_default_collation(const void* a, const void* b) {
  return compare_texts(*static_cast<char* const*>(a), *static_cast<char* const*>(b), DEFAULT_COLLATION_OID);
}

// pg_class.reloptions is text[] COLLATE "C".
int compare_by_c_collation(const void* a, const void* b) {
  return compare_texts(*static_cast<char* const*>(a), *static_cast<char* const*>(b), C_COLLATION_OID);
}

struct Strings {
  char** items;
  int count;
};

// array_agg(x::text ORDER BY x::text) of an aclitem[]: NULL (count 0) when empty.
Strings sorted_acl(Acl* acl) {
  Strings s{nullptr, 0};
  if (!acl || ARR_NDIM(acl) == 0) return s;  // '{}': unnest gives no row
  // What check_acl() requires; only a hand-edited catalog breaks it.
  if (ARR_NDIM(acl) != 1 || ARR_HASNULL(acl) || ARR_ELEMTYPE(acl) != ACLITEMOID)
    ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("an ACL in the catalogs is not a one-dimensional aclitem array without nulls")));
  if (ACL_NUM(acl) == 0) return s;
  int n = ACL_NUM(acl);
  AclItem* items = ACL_DAT(acl);
  s.items = static_cast<char**>(palloc(sizeof(char*) * n));
  for (int i = 0; i < n; ++i) s.items[i] = DatumGetCString(DirectFunctionCall1(aclitemout, PointerGetDatum(&items[i])));
  s.count = n;
  if (n > 1) qsort(s.items, n, sizeof(char*), compare_by_default_collation);
  return s;
}

// array_agg(o ORDER BY o) of pg_class.reloptions (text[] COLLATE "C"): NULL (count 0) when
// empty; a NULL element (only a hand-edited catalog has one) sorts last and stays null.
Strings sorted_texts(Datum array) {
  Strings s{nullptr, 0};
  Datum* elems;
  bool* nulls;
  int n;
  deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
  if (n == 0) return s;
  s.items = static_cast<char**>(palloc(sizeof(char*) * n));
  for (int i = 0; i < n; ++i) s.items[s.count++] = nulls[i] ? nullptr : TextDatumGetCString(elems[i]);
  if (s.count > 1) qsort(s.items, s.count, sizeof(char*), compare_by_c_collation);
  return s;
}

// --- jsonb building: keys are pushed in any order, jsonb sorts them.
void push_key(JsonbParseState** st, const char* key) {
  JsonbValue k;
  k.type = jbvString;
  k.val.string.val = const_cast<char*>(key);
  k.val.string.len = static_cast<int>(strlen(key));
  pushJsonbValue(st, WJB_KEY, &k);
}

void put_string(JsonbParseState** st, const char* key, const char* value) {
  if (!value) return;  // jsonb_strip_nulls
  push_key(st, key);
  JsonbValue v;
  v.type = jbvString;
  v.val.string.val = const_cast<char*>(value);
  v.val.string.len = static_cast<int>(strlen(value));
  pushJsonbValue(st, WJB_VALUE, &v);
}

void put_bool(JsonbParseState** st, const char* key, bool value) {
  push_key(st, key);
  JsonbValue v;
  v.type = jbvBool;
  v.val.boolean = value;
  pushJsonbValue(st, WJB_VALUE, &v);
}

void put_int8(JsonbParseState** st, const char* key, int64 value) {
  push_key(st, key);
  JsonbValue v;
  v.type = jbvNumeric;
  v.val.numeric = DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(value)));
  pushJsonbValue(st, WJB_VALUE, &v);
}

void put_strings(JsonbParseState** st, const char* key, Strings s) {
  if (s.count == 0) return;  // array_agg of no rows is NULL
  push_key(st, key);
  pushJsonbValue(st, WJB_BEGIN_ARRAY, nullptr);
  for (int i = 0; i < s.count; ++i) {
    JsonbValue v;
    if (s.items[i]) {
      v.type = jbvString;
      v.val.string.val = s.items[i];
      v.val.string.len = static_cast<int>(strlen(s.items[i]));
    } else {
      v.type = jbvNull;
    }
    pushJsonbValue(st, WJB_ELEM, &v);
  }
  pushJsonbValue(st, WJB_END_ARRAY, nullptr);
}

// --- The catalogs scanned for every relation, with their indexes opened once per call (not
// once per lookup, as systable_beginscan(), GetComment() and getExtensionOfObject() do).
struct Catalog {
  Relation heap, index;
};
struct Catalogs {
  Catalog depend, description, inherits, attrdef, constraint, index, trigger, policy, rewrite, enums;
  // Extension members (deptype 'e') among relations, schemas, types and functions: each kind's
  // OIDs sorted for bsearch.
  struct Members {
    Oid classid;
    Oid* oids;
    int count, capacity;
  } members[4];
};
Catalogs catalogs;

// For a snapshot of many relations: which have parents (pg_inherits) and which have policies,
// from one scan of each catalog, so the others need no lookup. NULL: look each one up.
struct SortedOids {
  Oid* items;
  int count;
};
SortedOids with_parents{nullptr, -1}, with_policies{nullptr, -1};
// Likewise which relations have comments (pg_description's objoid, any class) or indexes.
SortedOids with_comments{nullptr, -1}, with_indexes{nullptr, -1};

// A whole snapshot's pg_class rows of the user schemas and their columns, read in one scan of
// each catalog instead of a cache lookup per relation and per column. In a new session (a
// deploy's) every such lookup misses the system cache and is an index scan of its own: they
// were two thirds of the whole snapshot a first apply takes. Sorted by OID (columns by
// relation, then number); count -1: look each one up in the caches.
struct ClassRow {
  Oid oid;
  HeapTuple tuple;
};
struct ClassRows {
  ClassRow* items;
  int count;
};
ClassRows class_rows{nullptr, -1};
// What column_entries() reads of a pg_attribute row.
struct ColumnRow {
  Oid relid;
  int16 attnum;
  bool notnull, hasdef;
  char identity, generated;
  Oid type, collation;
  int32 typmod;
  Acl* acl;  // NULL: none
  char name[NAMEDATALEN];
};
struct ColumnRows {
  ColumnRow* items;
  int count;
};
ColumnRows column_rows{nullptr, -1};

bool may_have(const SortedOids& set, Oid relid);

Catalog open_catalog(Oid heap, Oid index) {
  return {table_open(heap, AccessShareLock), index_open(index, AccessShareLock)};
}

void close_catalog(Catalog c) {
  index_close(c.index, AccessShareLock);
  table_close(c.heap, AccessShareLock);
}

// An index scan of c by its leading columns (in index order).
SysScanDesc scan_catalog(Catalog c, int nkeys, ScanKey keys) {
  return systable_beginscan_ordered(c.heap, c.index, nullptr, nkeys, keys);
}

int compare_oids(const void* a, const void* b) {
  Oid x = *static_cast<const Oid*>(a), y = *static_cast<const Oid*>(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// Every extension's members among relations, schemas, types and functions, in one scan of
// pg_depend's index on what objects depend on (all dependencies on an extension).
void find_extension_members() {
  const Oid kinds[4] = {RelationRelationId, NamespaceRelationId, TypeRelationId, ProcedureRelationId};
  for (int k = 0; k < 4; ++k) {
    catalogs.members[k] = {kinds[k], static_cast<Oid*>(palloc(sizeof(Oid) * 64)), 0, 64};
  }
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ExtensionRelationId));
  Relation index = index_open(DependReferenceIndexId, AccessShareLock);
  SysScanDesc scan = systable_beginscan_ordered(catalogs.depend.heap, index, nullptr, 1, &key);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_depend d = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tup));
    if (d->deptype != DEPENDENCY_EXTENSION) continue;
    for (Catalogs::Members& m : catalogs.members) {
      if (m.classid != d->classid) continue;
      if (m.count == m.capacity) m.oids = static_cast<Oid*>(repalloc(m.oids, sizeof(Oid) * (m.capacity *= 2)));
      m.oids[m.count++] = d->objid;
    }
  }
  systable_endscan_ordered(scan);
  index_close(index, AccessShareLock);
  for (Catalogs::Members& m : catalogs.members) qsort(m.oids, m.count, sizeof(Oid), compare_oids);
}

bool extension_member(Oid classid, Oid objid) {
  for (const Catalogs::Members& m : catalogs.members)
    if (m.classid == classid) return bsearch(&objid, m.oids, m.count, sizeof(Oid), compare_oids) != nullptr;
  return false;
}

// The comments of a relation (subid 0) and of its columns (subid = attnum), in one scan of
// pg_description: comments[subid], NULL where there is none.
char** relation_comments(Oid relid, int natts) {
  char** comments = static_cast<char**>(palloc0(sizeof(char*) * (natts + 1)));
  if (!may_have(with_comments, relid)) return comments;
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], Anum_pg_description_objoid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  ScanKeyInit(&keys[1], Anum_pg_description_classoid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(RelationRelationId));
  SysScanDesc scan = scan_catalog(catalogs.description, 2, keys);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    int32 subid = reinterpret_cast<Form_pg_description>(GETSTRUCT(tup))->objsubid;
    if (subid < 0 || subid > natts) continue;
    bool isnull;
    Datum d = heap_getattr(tup, Anum_pg_description_description, RelationGetDescr(catalogs.description.heap), &isnull);
    if (!isnull) comments[subid] = TextDatumGetCString(d);
  }
  systable_endscan_ordered(scan);
  return comments;
}

// The comment of one object (subid 0), as GetComment() but on the open pg_description.
char* object_comment(Oid classoid, Oid objoid) {
  if (!may_have(with_comments, objoid)) return nullptr;
  ScanKeyData keys[3];
  ScanKeyInit(&keys[0], Anum_pg_description_objoid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objoid));
  ScanKeyInit(&keys[1], Anum_pg_description_classoid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(classoid));
  ScanKeyInit(&keys[2], Anum_pg_description_objsubid, BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(0));
  SysScanDesc scan = scan_catalog(catalogs.description, 3, keys);
  char* comment = nullptr;
  HeapTuple tup = systable_getnext_ordered(scan, ForwardScanDirection);
  if (HeapTupleIsValid(tup)) {
    bool isnull;
    Datum d = heap_getattr(tup, Anum_pg_description_description, RelationGetDescr(catalogs.description.heap), &isnull);
    if (!isnull) comment = TextDatumGetCString(d);
  }
  systable_endscan_ordered(scan);
  return comment;
}

// --- Which relations and schemas a snapshot describes (the nsp and rel CTEs of the SQL).
// One schema holds most relations: its answer is kept for one call (forgotten at its start,
// so a schema renamed or dropped since the last call is looked up again).
Oid cached_nsp = InvalidOid;
bool cached_nsp_is_user = false;
char cached_nsp_quoted[NAMEDATALEN * 2 + 3];

bool user_namespace(Oid nsp, char** quoted) {
  if (nsp != cached_nsp || !OidIsValid(cached_nsp)) {
    HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
    if (!HeapTupleIsValid(tup)) return false;
    const char* name = NameStr(reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tup))->nspname);
    cached_nsp_is_user = strncmp(name, "pg_", 3) != 0 && strcmp(name, "information_schema") != 0 &&
                         strcmp(name, "migrate") != 0 && !extension_member(NamespaceRelationId, nsp);
    strlcpy(cached_nsp_quoted, quote_identifier(name), sizeof(cached_nsp_quoted));
    ReleaseSysCache(tup);
    cached_nsp = nsp;
  }
  *quoted = cached_nsp_quoted;
  return cached_nsp_is_user;
}

int compare_class_rows(const void* a, const void* b) {
  Oid x = static_cast<const ClassRow*>(a)->oid, y = static_cast<const ClassRow*>(b)->oid;
  return x < y ? -1 : x > y ? 1 : 0;
}

// The pg_class row of a relation: the one the whole snapshot's scan read, else the system
// cache's (*release: to be released with ReleaseSysCache). NULL if there is none.
HeapTuple class_row(Oid relid, bool* release) {
  *release = false;
  if (class_rows.count >= 0) {
    ClassRow key{relid, nullptr};
    const ClassRow* hit =
        static_cast<const ClassRow*>(bsearch(&key, class_rows.items, class_rows.count, sizeof(ClassRow), compare_class_rows));
    if (hit) return hit->tuple;
    // Not in a user schema, or created since the scan: looked up as before.
  }
  HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  *release = HeapTupleIsValid(tup);
  return HeapTupleIsValid(tup) ? tup : nullptr;
}

void release_class_row(HeapTuple tup, bool release) {
  if (release) ReleaseSysCache(tup);
}

// "schema.relation" (quoted) of a relation a snapshot describes, or NULL. With tuple_out, the
// caller gets its pg_class row, to release with release_class_row(*tuple_out, *release_out).
char* user_relation_name(Oid relid, Form_pg_class* form_out, HeapTuple* tuple_out, bool* release_out) {
  bool release;
  HeapTuple tup = class_row(relid, &release);
  if (!tup) return nullptr;
  Form_pg_class c = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup));
  char* nsp_quoted;
  bool listed = strchr("rpfvmSc", c->relkind) != nullptr && c->relkind != '\0';
  if (!listed || !user_namespace(c->relnamespace, &nsp_quoted) ||
      extension_member(RelationRelationId, relid)) {
    release_class_row(tup, release);
    return nullptr;
  }
  char* name = psprintf("%s.%s", nsp_quoted, quote_identifier(NameStr(c->relname)));
  if (tuple_out) {
    *tuple_out = tup;
    *form_out = c;
    *release_out = release;
  } else {
    release_class_row(tup, release);
  }
  return name;
}

// Parents of a relation in inheritance order (pg_inherits by inhrelid, inhseqno).
void add_parents(JsonbParseState** st, Oid relid, bool partition) {
  if (!may_have(with_parents, relid)) return;
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = scan_catalog(catalogs.inherits, 1, &key);
  Strings parents{nullptr, 0};
  int capacity = 0;
  char* partition_of = nullptr;
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Oid parent = reinterpret_cast<Form_pg_inherits>(GETSTRUCT(tup))->inhparent;
    char* name = user_relation_name(parent, nullptr, nullptr, nullptr);
    if (!name) continue;
    if (partition) {
      if (!partition_of) partition_of = name;
      continue;
    }
    if (parents.count == capacity) {
      capacity = capacity ? capacity * 2 : 4;
      parents.items = static_cast<char**>(parents.items ? repalloc(parents.items, sizeof(char*) * capacity)
                                                        : palloc(sizeof(char*) * capacity));
    }
    parents.items[parents.count++] = name;
  }
  systable_endscan_ordered(scan);
  if (partition) put_string(st, "partition_of", partition_of);
  else put_strings(st, "inherits", parents);
}

// The column a sequence is owned by (OWNED BY or identity), as "schema.table.column".
char* sequence_owner(Oid seqid) {
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], Anum_pg_depend_classid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(RelationRelationId));
  ScanKeyInit(&keys[1], Anum_pg_depend_objid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(seqid));
  SysScanDesc scan = scan_catalog(catalogs.depend, 2, keys);
  char* result = nullptr;
  HeapTuple tup;
  while (!result && HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_depend d = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tup));
    if (d->refclassid != RelationRelationId || d->refobjsubid <= 0 ||
        (d->deptype != DEPENDENCY_AUTO && d->deptype != DEPENDENCY_INTERNAL))
      continue;
    char* table = user_relation_name(d->refobjid, nullptr, nullptr, nullptr);
    if (!table) continue;
    HeapTuple att = SearchSysCache2(ATTNUM, ObjectIdGetDatum(d->refobjid), Int16GetDatum(d->refobjsubid));
    if (!HeapTupleIsValid(att)) continue;
    result = psprintf("%s.%s", table,
                      quote_identifier(NameStr(reinterpret_cast<Form_pg_attribute>(GETSTRUCT(att))->attname)));
    ReleaseSysCache(att);
  }
  systable_endscan_ordered(scan);
  return result;
}

const char* relation_key_word(char relkind) {
  switch (relkind) {
    case RELKIND_VIEW: return "view";
    case RELKIND_MATVIEW: return "materialized_view";
    case RELKIND_SEQUENCE: return "sequence";
    default: return "table";
  }
}

const char* relation_kind(char relkind) {
  switch (relkind) {
    case RELKIND_RELATION: return "table";
    case RELKIND_PARTITIONED_TABLE: return "partitioned table";
    case RELKIND_FOREIGN_TABLE: return "foreign table";
    case RELKIND_VIEW: return "view";
    case RELKIND_MATVIEW: return "materialized view";
    case RELKIND_SEQUENCE: return "sequence";
    default: return nullptr;
  }
}

// The entries found, each a key and its value as a tree (a JsonbValue object), in the call's
// result context (what a round allocates besides them goes with its context). Kept as trees,
// not serialized: the snapshot is one jsonb built from them once (serializing each entry and
// unpacking it again into the snapshot was a third of a whole snapshot's time).
struct Sink {
  MemoryContext result;
  char** keys;
  JsonbValue* values;
  int count, capacity;
};

// A deep copy of `in` (an entry as pushJsonbValue builds it: scalars, arrays, objects) into
// the current memory context.
void copy_jsonb_value(const JsonbValue* in, JsonbValue* out) {
  *out = *in;
  switch (in->type) {
    case jbvString: {
      char* copy = static_cast<char*>(palloc(in->val.string.len + 1));
      memcpy(copy, in->val.string.val, in->val.string.len);
      copy[in->val.string.len] = '\0';
      out->val.string.val = copy;
      break;
    }
    case jbvNumeric:
      out->val.numeric = DatumGetNumericCopy(NumericGetDatum(in->val.numeric));
      break;
    case jbvArray:
      out->val.array.elems = static_cast<JsonbValue*>(palloc(sizeof(JsonbValue) * Max(in->val.array.nElems, 1)));
      for (int i = 0; i < in->val.array.nElems; ++i) copy_jsonb_value(&in->val.array.elems[i], &out->val.array.elems[i]);
      break;
    case jbvObject:
      out->val.object.pairs = static_cast<JsonbPair*>(palloc(sizeof(JsonbPair) * Max(in->val.object.nPairs, 1)));
      for (int i = 0; i < in->val.object.nPairs; ++i) {
        copy_jsonb_value(&in->val.object.pairs[i].key, &out->val.object.pairs[i].key);
        copy_jsonb_value(&in->val.object.pairs[i].value, &out->val.object.pairs[i].value);
        out->val.object.pairs[i].order = in->val.object.pairs[i].order;
      }
      break;
    case jbvNull:
    case jbvBool:
      break;
    default:
      elog(ERROR, "pg_migrate: unexpected jsonb value type %d in a snapshot entry", static_cast<int>(in->type));
  }
}

void emit(Sink* sink, const char* key, JsonbParseState** st) {
  JsonbValue* object = pushJsonbValue(st, WJB_END_OBJECT, nullptr);
  MemoryContext old = MemoryContextSwitchTo(sink->result);
  if (sink->count == sink->capacity) {
    sink->capacity = sink->capacity ? sink->capacity * 2 : 256;
    sink->keys = static_cast<char**>(sink->keys ? repalloc(sink->keys, sizeof(char*) * sink->capacity)
                                                : palloc(sizeof(char*) * sink->capacity));
    sink->values = static_cast<JsonbValue*>(sink->values ? repalloc(sink->values, sizeof(JsonbValue) * sink->capacity)
                                                         : palloc(sizeof(JsonbValue) * sink->capacity));
  }
  sink->keys[sink->count] = pstrdup(key);
  copy_jsonb_value(object, &sink->values[sink->count]);
  sink->count++;
  MemoryContextSwitchTo(old);
}

// Object keys in jsonb's order (jsonb_util.c's lengthCompareJsonbPair): shorter first, then
// bytewise; of equal keys the one emitted last first, which is the one kept (as when the
// pairs are pushed one by one).
int compare_pairs(const void* a, const void* b) {
  const JsonbPair* pa = static_cast<const JsonbPair*>(a);
  const JsonbPair* pb = static_cast<const JsonbPair*>(b);
  int la = pa->key.val.string.len, lb = pb->key.val.string.len;
  if (la != lb) return la < lb ? -1 : 1;
  int res = memcmp(pa->key.val.string.val, pb->key.val.string.val, la);
  if (res != 0) return res;
  return pa->order > pb->order ? -1 : 1;
}

// The snapshot: one jsonb object of every entry (as jsonb_object_agg builds it).
Jsonb* snapshot_object(Sink* sink) {
  JsonbValue top;
  top.type = jbvObject;
  top.val.object.nPairs = sink->count;
  top.val.object.pairs = static_cast<JsonbPair*>(palloc(sizeof(JsonbPair) * Max(sink->count, 1)));
  for (int i = 0; i < sink->count; ++i) {
    JsonbPair& p = top.val.object.pairs[i];
    p.key.type = jbvString;
    p.key.val.string.val = sink->keys[i];
    p.key.val.string.len = static_cast<int>(strlen(sink->keys[i]));
    p.value = sink->values[i];
    p.order = static_cast<uint32>(i);
  }
  if (sink->count > 1) {
    qsort(top.val.object.pairs, sink->count, sizeof(JsonbPair), compare_pairs);
    int kept = 1;
    for (int i = 1; i < sink->count; ++i) {
      const JsonbValue& a = top.val.object.pairs[kept - 1].key;
      const JsonbValue& b = top.val.object.pairs[i].key;
      if (a.val.string.len != b.val.string.len || memcmp(a.val.string.val, b.val.string.val, a.val.string.len) != 0)
        top.val.object.pairs[kept++] = top.val.object.pairs[i];
    }
    top.val.object.nPairs = kept;
  }
  return JsonbValueToJsonb(&top);
}

void relation_entry(Sink* sink, Oid relid, HeapTuple tup, Form_pg_class c,
                    const char* name, const char* comment, const char* internal_triggers) {
  JsonbParseState* st = nullptr;
  pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
  put_string(&st, "kind", relation_kind(c->relkind));
  put_string(&st, "owner", NameStr(*DatumGetName(DirectFunctionCall1(pg_get_userbyid, ObjectIdGetDatum(c->relowner)))));
  bool isnull;
  Datum acl = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relacl, &isnull);
  put_strings(&st, "acl", sorted_acl(isnull ? acldefault(c->relkind == RELKIND_SEQUENCE ? OBJECT_SEQUENCE : OBJECT_TABLE,
                                                         c->relowner)
                                            : DatumGetAclP(acl)));
  if (c->relpersistence == RELPERSISTENCE_UNLOGGED) put_bool(&st, "unlogged", true);
  if (c->relrowsecurity) put_bool(&st, "row_security", true);
  if (c->relforcerowsecurity) put_bool(&st, "force_row_security", true);
  if (c->relreplident != REPLICA_IDENTITY_DEFAULT &&
      (c->relkind == RELKIND_RELATION || c->relkind == RELKIND_PARTITIONED_TABLE)) {
    char ident[2] = {c->relreplident, '\0'};
    put_string(&st, "replica_identity", ident);
  }
  Datum options = SysCacheGetAttr(RELOID, tup, Anum_pg_class_reloptions, &isnull);
  if (!isnull) put_strings(&st, "options", sorted_texts(options));
  if (c->relkind == RELKIND_VIEW || c->relkind == RELKIND_MATVIEW)
    put_string(&st, "definition", text_cstring(call_text_function(pg_get_viewdef, 1, ObjectIdGetDatum(relid), 0)));
  if (c->relkind == RELKIND_PARTITIONED_TABLE)
    put_string(&st, "partition_key", text_cstring(call_text_function(pg_get_partkeydef, 1, ObjectIdGetDatum(relid), 0)));
  add_parents(&st, relid, c->relispartition);
  if (c->relispartition) {
    Datum bound = SysCacheGetAttr(RELOID, tup, Anum_pg_class_relpartbound, &isnull);
    if (!isnull) put_string(&st, "partition_bound", text_cstring(call_text_function(pg_get_expr, 2, bound, ObjectIdGetDatum(relid))));
  }
  // (Only sequences have a pg_sequence row: for any other relation the lookup is a miss, which
  // a new session pays as an index scan.)
  HeapTuple seq = c->relkind == RELKIND_SEQUENCE ? SearchSysCache1(SEQRELID, ObjectIdGetDatum(relid)) : nullptr;
  if (HeapTupleIsValid(seq)) {
    Form_pg_sequence s = reinterpret_cast<Form_pg_sequence>(GETSTRUCT(seq));
    push_key(&st, "sequence");
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    put_string(&st, "type", sql_format_type(s->seqtypid, -1, false));
    put_int8(&st, "start", s->seqstart);
    put_int8(&st, "increment", s->seqincrement);
    put_int8(&st, "min", s->seqmin);
    put_int8(&st, "max", s->seqmax);
    put_int8(&st, "cache", s->seqcache);
    put_bool(&st, "cycle", s->seqcycle);
    pushJsonbValue(&st, WJB_END_OBJECT, nullptr);
    ReleaseSysCache(seq);
  }
  if (c->relkind == RELKIND_SEQUENCE) put_string(&st, "owned_by", sequence_owner(relid));
  put_string(&st, "internal_triggers", internal_triggers);
  put_string(&st, "comment", comment);
  emit(sink, psprintf("%s %s", relation_key_word(c->relkind), name), &st);
}

// The column defaults of a relation by attribute number (pg_attrdef), deparsed as
// pg_get_expr(adbin, adrelid) does.
char** column_defaults(Oid relid, int natts) {
  char** defaults = static_cast<char**>(palloc0(sizeof(char*) * (natts + 1)));
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_attrdef_adrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = scan_catalog(catalogs.attrdef, 1, &key);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_attrdef d = reinterpret_cast<Form_pg_attrdef>(GETSTRUCT(tup));
    if (d->adnum < 1 || d->adnum > natts) continue;
    bool isnull;
    Datum bin = heap_getattr(tup, Anum_pg_attrdef_adbin, RelationGetDescr(catalogs.attrdef.heap), &isnull);
    if (!isnull)
      defaults[d->adnum] = text_cstring(call_text_function(pg_get_expr, 2, bin, ObjectIdGetDatum(relid)));
  }
  systable_endscan_ordered(scan);
  return defaults;
}

// A pg_attribute row as column_entries() reads it (the ACL copied into the current memory
// context). False for a dropped column.
bool read_column_row(HeapTuple tup, ColumnRow* out) {
  Form_pg_attribute a = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(tup));
  if (a->attisdropped) return false;
  out->relid = a->attrelid;
  out->attnum = a->attnum;
  out->notnull = a->attnotnull;
  out->hasdef = a->atthasdef;
  out->identity = a->attidentity;
  out->generated = a->attgenerated;
  out->type = a->atttypid;
  out->typmod = a->atttypmod;
  out->collation = a->attcollation;
  strlcpy(out->name, NameStr(a->attname), NAMEDATALEN);
  bool isnull;
  Datum acl = SysCacheGetAttr(ATTNUM, tup, Anum_pg_attribute_attacl, &isnull);
  out->acl = isnull ? nullptr : DatumGetAclPCopy(acl);
  return true;
}

bool class_row_scanned(Oid relid) {
  ClassRow key{relid, nullptr};
  return class_rows.count >= 0 &&
         bsearch(&key, class_rows.items, class_rows.count, sizeof(ClassRow), compare_class_rows) != nullptr;
}

void column_entries(Sink* sink, Oid relid, int natts, const char* name,
                    char** comments) {
  char** defaults = nullptr;  // pg_attrdef is read for a relation with a default (atthasdef)
  // A relation the whole snapshot's scan of pg_class read has its columns in column_rows.
  bool scanned = column_rows.count >= 0 && class_row_scanned(relid);
  int k = 0;
  if (scanned) {  // the relation's first column
    int hi = column_rows.count;
    while (k < hi) {
      int mid = k + (hi - k) / 2;
      if (column_rows.items[mid].relid < relid) k = mid + 1;
      else hi = mid;
    }
  }
  ColumnRow looked_up;
  for (int attnum = 1; attnum <= natts; ++attnum) {
    const ColumnRow* a;
    if (scanned) {
      while (k < column_rows.count && column_rows.items[k].relid == relid && column_rows.items[k].attnum < attnum) ++k;
      if (k >= column_rows.count || column_rows.items[k].relid != relid || column_rows.items[k].attnum != attnum)
        continue;
      a = &column_rows.items[k];
    } else {
      HeapTuple tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(attnum));
      if (!HeapTupleIsValid(tup)) continue;
      bool live = read_column_row(tup, &looked_up);
      ReleaseSysCache(tup);
      if (!live) continue;
      a = &looked_up;
    }
    HeapTuple type = SearchSysCache1(TYPEOID, ObjectIdGetDatum(a->type));
    if (!HeapTupleIsValid(type)) continue;  // (JOIN pg_type) a type that is gone
    Oid type_collation = reinterpret_cast<Form_pg_type>(GETSTRUCT(type))->typcollation;
    ReleaseSysCache(type);
    JsonbParseState* st = nullptr;
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    put_string(&st, "type", sql_format_type(a->type, a->typmod, true));
    put_bool(&st, "not_null", a->notnull);
    if (a->hasdef && !defaults) defaults = column_defaults(relid, natts);
    put_string(&st, "default", defaults ? defaults[attnum] : nullptr);
    if (a->identity == ATTRIBUTE_IDENTITY_ALWAYS) put_string(&st, "identity", "always");
    else if (a->identity == ATTRIBUTE_IDENTITY_BY_DEFAULT) put_string(&st, "identity", "by default");
    if (a->generated == ATTRIBUTE_GENERATED_STORED) put_string(&st, "generated", "stored");
    if (OidIsValid(a->collation) && a->collation != type_collation) {
      HeapTuple coll = SearchSysCache1(COLLOID, ObjectIdGetDatum(a->collation));
      if (HeapTupleIsValid(coll)) {
        put_string(&st, "collation",
                   quote_identifier(pstrdup(NameStr(reinterpret_cast<Form_pg_collation>(GETSTRUCT(coll))->collname))));
        ReleaseSysCache(coll);
      }
    }
    if (a->acl) put_strings(&st, "acl", sorted_acl(a->acl));
    put_string(&st, "comment", comments[attnum]);
    emit(sink, psprintf("column %s.%s", name, quote_identifier(a->name)), &st);
  }
}

// The constraints of a relation (not those a partition inherits: conparentid <> 0), and the
// indexes that back a primary key, unique or exclusion constraint of it (for the indexes'
// "constraint" attribute).
struct IndexOids {
  Oid* items;
  int count;
};

IndexOids constraint_entries(Sink* sink, Oid relid, const char* name) {
  IndexOids backing{nullptr, 0};
  int capacity = 0;
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = scan_catalog(catalogs.constraint, 1, &key);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_constraint co = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tup));
    if (OidIsValid(co->conindid) &&
        (co->contype == CONSTRAINT_PRIMARY || co->contype == CONSTRAINT_UNIQUE || co->contype == CONSTRAINT_EXCLUSION)) {
      if (backing.count == capacity) {
        capacity = capacity ? capacity * 2 : 4;
        backing.items = static_cast<Oid*>(backing.items ? repalloc(backing.items, sizeof(Oid) * capacity)
                                                        : palloc(sizeof(Oid) * capacity));
      }
      backing.items[backing.count++] = co->conindid;
    }
    if (OidIsValid(co->conparentid)) continue;
    const char* type;
    char other[2] = {co->contype, '\0'};
    switch (co->contype) {
      case CONSTRAINT_PRIMARY: type = "primary key"; break;
      case CONSTRAINT_UNIQUE: type = "unique"; break;
      case CONSTRAINT_FOREIGN: type = "foreign key"; break;
      case CONSTRAINT_CHECK: type = "check"; break;
      case CONSTRAINT_EXCLUSION: type = "exclusion"; break;
      case CONSTRAINT_TRIGGER: type = "trigger"; break;
      default: type = other; break;
    }
    JsonbParseState* st = nullptr;
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    put_string(&st, "type", type);
    put_string(&st, "definition",
               text_cstring(call_text_function(pg_get_constraintdef, 1, ObjectIdGetDatum(co->oid), 0)));
    put_string(&st, "comment", object_comment(ConstraintRelationId, co->oid));
    emit(sink, psprintf("constraint %s.%s", name, quote_identifier(NameStr(co->conname))), &st);
  }
  systable_endscan_ordered(scan);
  return backing;
}

void index_entries(Sink* sink, Oid relid, const char* name, IndexOids backing) {
  if (!may_have(with_indexes, relid)) return;
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = scan_catalog(catalogs.index, 1, &key);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_index i = reinterpret_cast<Form_pg_index>(GETSTRUCT(tup));
    bool release;
    HeapTuple ic = class_row(i->indexrelid, &release);
    if (!ic) continue;
    Form_pg_class c = reinterpret_cast<Form_pg_class>(GETSTRUCT(ic));
    char* nsp_quoted;
    if (!user_namespace(c->relnamespace, &nsp_quoted)) {
      release_class_row(ic, release);
      continue;
    }
    char* key_name = psprintf("index %s.%s", nsp_quoted, quote_identifier(NameStr(c->relname)));
    release_class_row(ic, release);
    bool backs_constraint = false;
    for (int k = 0; k < backing.count && !backs_constraint; ++k) backs_constraint = backing.items[k] == i->indexrelid;
    JsonbParseState* st = nullptr;
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    put_string(&st, "table", name);
    put_string(&st, "definition",
               text_cstring(call_text_function(pg_get_indexdef, 1, ObjectIdGetDatum(i->indexrelid), 0)));
    if (backs_constraint) put_bool(&st, "constraint", true);
    if (i->indisclustered) put_bool(&st, "clustered", true);
    if (!i->indisvalid) put_bool(&st, "valid", false);
    put_string(&st, "comment", object_comment(RelationRelationId, i->indexrelid));
    emit(sink, key_name, &st);
  }
  systable_endscan_ordered(scan);
}

bool may_have(const SortedOids& set, Oid relid) {
  return set.count < 0 || bsearch(&relid, set.items, set.count, sizeof(Oid), compare_oids) != nullptr;
}

// The distinct values of one oid column of a (small) catalog, sorted.
SortedOids column_values(Oid catalog, AttrNumber column) {
  Relation rel = table_open(catalog, AccessShareLock);
  SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
  int capacity = 64;
  SortedOids out{static_cast<Oid*>(palloc(sizeof(Oid) * capacity)), 0};
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) {
    bool isnull;
    Datum d = heap_getattr(tup, column, RelationGetDescr(rel), &isnull);
    if (isnull) continue;
    if (out.count == capacity) out.items = static_cast<Oid*>(repalloc(out.items, sizeof(Oid) * (capacity *= 2)));
    out.items[out.count++] = DatumGetObjectId(d);
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  qsort(out.items, out.count, sizeof(Oid), compare_oids);
  return out;
}

const char* trigger_state(char tgenabled) {
  switch (tgenabled) {
    case TRIGGER_FIRES_ON_ORIGIN: return "origin";
    case TRIGGER_DISABLED: return "disabled";
    case TRIGGER_FIRES_ON_REPLICA: return "replica";
    case TRIGGER_FIRES_ALWAYS: return "always";
    default: return nullptr;
  }
}

// Whether a partition's copy of a trigger is enabled otherwise than the trigger it was cloned
// from (or that one is gone).
bool fires_otherwise_than_parent(Form_pg_trigger tg) {
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(tg->tgparentid));
  SysScanDesc scan = systable_beginscan(catalogs.trigger.heap, TriggerOidIndexId, true, nullptr, 1, &key);
  HeapTuple parent = systable_getnext(scan);
  bool otherwise = !HeapTupleIsValid(parent) || reinterpret_cast<Form_pg_trigger>(GETSTRUCT(parent))->tgenabled != tg->tgenabled;
  systable_endscan(scan);
  return otherwise;
}

// One constraint's internal triggers on a relation, for internal_trigger_states().
struct InternalTriggers {
  Oid constraint;
  int total;
  int by_state[3];  // disabled, replica, always: counts of triggers not firing on origin
};

constexpr const char* kOffStates[] = {"disabled", "replica", "always"};

// The internal triggers of relation `relid` that do not fire as created (on origin): those
// enforcing its own foreign keys and deferrable unique constraints, named ("child_pid_fkey
// disabled", "... disabled 1 of 2" when its triggers here differ), and those
// enforcing other tables' foreign keys that reference it, counted ("referencing foreign keys:
// 1 disabled"; not named, so that renaming or excluding the other table changes nothing here).
// ALTER TABLE ... DISABLE TRIGGER ALL (or one by name) switches the enforcement off; ENABLE
// REPLICA TRIGGER makes it fire only under session_replication_role = replica. NULL when all
// fire on origin, so snapshots recorded before this attribute existed compare equal.
char* internal_trigger_states(Oid relid, InternalTriggers* items, int count) {
  int described = 0;
  char** lines = static_cast<char**>(palloc(sizeof(char*) * (count + 1)));
  int referencing[3] = {0, 0, 0};
  for (int i = 0; i < count; ++i) {
    bool any_off = items[i].by_state[0] + items[i].by_state[1] + items[i].by_state[2] > 0;
    if (!any_off) continue;
    HeapTuple tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(items[i].constraint));
    if (!HeapTupleIsValid(tup)) continue;
    Form_pg_constraint co = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tup));
    bool own = co->conrelid == relid;
    char* name = pstrdup(NameStr(co->conname));
    ReleaseSysCache(tup);
    if (!own) {
      for (int k = 0; k < 3; ++k)
        if (items[i].by_state[k] > 0) referencing[k]++;
      continue;
    }
    StringInfoData line;
    initStringInfo(&line);
    appendStringInfoString(&line, quote_identifier(name));
    bool first = true;
    for (int k = 0; k < 3; ++k) {
      if (items[i].by_state[k] == 0) continue;
      appendStringInfo(&line, "%s %s", first ? "" : ",", kOffStates[k]);
      first = false;
      if (items[i].by_state[k] != items[i].total) appendStringInfo(&line, " %d of %d", items[i].by_state[k], items[i].total);
    }
    lines[described++] = line.data;
  }
  qsort(lines, described, sizeof(char*), compare_by_c_collation);
  StringInfoData out;
  initStringInfo(&out);
  for (int i = 0; i < described; ++i) {
    if (i > 0) appendStringInfoString(&out, "; ");
    appendStringInfoString(&out, lines[i]);
  }
  bool any_referencing = referencing[0] + referencing[1] + referencing[2] > 0;
  if (any_referencing) {
    appendStringInfoString(&out, described > 0 ? "; referencing foreign keys:" : "referencing foreign keys:");
    bool first = true;
    for (int k = 0; k < 3; ++k) {
      if (referencing[k] == 0) continue;
      appendStringInfo(&out, "%s %d %s", first ? "" : ",", referencing[k], kOffStates[k]);
      first = false;
    }
  }
  return described > 0 || any_referencing ? out.data : nullptr;
}

// A relation's triggers (not internal ones, not those a partition inherits), policies and
// rules (not a view's _RETURN). Returns the states of its internal triggers that do not fire
// on origin (internal_trigger_states()), for the relation's own entry, or NULL.
char* trigger_entries(Sink* sink, Oid relid, const char* name) {
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = scan_catalog(catalogs.trigger, 1, &key);
  InternalTriggers* internal = nullptr;
  int internal_count = 0, internal_capacity = 0;
  bool internal_off = false;
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_trigger tg = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tup));
    if (tg->tgisinternal) {
      // Also a partition's copies (tgparentid set): DISABLE TRIGGER ALL on one partition
      // switches its foreign keys' enforcement off as well.
      if (!OidIsValid(tg->tgconstraint)) continue;
      int i = 0;
      while (i < internal_count && internal[i].constraint != tg->tgconstraint) ++i;
      if (i == internal_count) {
        if (internal_count == internal_capacity) {
          internal_capacity = internal_capacity ? internal_capacity * 2 : 4;
          internal = static_cast<InternalTriggers*>(
              internal ? repalloc(internal, sizeof(InternalTriggers) * internal_capacity)
                       : palloc(sizeof(InternalTriggers) * internal_capacity));
        }
        internal[internal_count++] = {tg->tgconstraint, 0, {0, 0, 0}};
      }
      internal[i].total++;
      int state = tg->tgenabled == TRIGGER_DISABLED ? 0 : tg->tgenabled == TRIGGER_FIRES_ON_REPLICA ? 1
                  : tg->tgenabled == TRIGGER_FIRES_ALWAYS ? 2 : -1;
      if (state >= 0) {
        internal[i].by_state[state]++;
        internal_off = true;
      }
      continue;
    }
    // A partition's copy of its parent's trigger is described by the parent's entry, unless
    // it fires otherwise (ALTER TABLE partition DISABLE TRIGGER ...).
    if (OidIsValid(tg->tgparentid) && !fires_otherwise_than_parent(tg)) continue;
    JsonbParseState* st = nullptr;
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    put_string(&st, "definition", text_cstring(call_text_function(pg_get_triggerdef, 1, ObjectIdGetDatum(tg->oid), 0)));
    put_string(&st, "enabled", trigger_state(tg->tgenabled));
    if (OidIsValid(tg->tgparentid)) put_bool(&st, "inherited", true);
    put_string(&st, "comment", object_comment(TriggerRelationId, tg->oid));
    emit(sink, psprintf("trigger %s.%s", name, quote_identifier(NameStr(tg->tgname))), &st);
  }
  systable_endscan_ordered(scan);
  return internal_off ? internal_trigger_states(relid, internal, internal_count) : nullptr;
}

void policy_entries(Sink* sink, Oid relid, const char* name) {
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_policy_polrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = scan_catalog(catalogs.policy, 1, &key);
  TupleDesc tdesc = RelationGetDescr(catalogs.policy.heap);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_policy po = reinterpret_cast<Form_pg_policy>(GETSTRUCT(tup));
    const char* command;
    switch (po->polcmd) {
      case 'r': command = "SELECT"; break;
      case 'a': command = "INSERT"; break;
      case 'w': command = "UPDATE"; break;
      case 'd': command = "DELETE"; break;
      default: command = "ALL"; break;
    }
    JsonbParseState* st = nullptr;
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    put_string(&st, "command", command);
    put_bool(&st, "permissive", po->polpermissive);
    bool isnull;
    // Role names ('public' for 0) sorted as name::text sorts: COLLATE "C".
    Datum roles = heap_getattr(tup, Anum_pg_policy_polroles, tdesc, &isnull);
    if (!isnull) {
      Datum* elems;
      bool* nulls;
      int n;
      deconstruct_array(DatumGetArrayTypeP(roles), OIDOID, sizeof(Oid), true, TYPALIGN_INT, &elems, &nulls, &n);
      Strings names{static_cast<char**>(palloc(sizeof(char*) * (n + 1))), 0};
      for (int i = 0; i < n; ++i) {
        if (nulls[i]) {  // unnest gives a NULL row, pg_get_userbyid(NULL) a NULL name: sorted last
          names.items[names.count++] = nullptr;
          continue;
        }
        Oid ro = DatumGetObjectId(elems[i]);
        names.items[names.count++] =
            ro == InvalidOid ? pstrdup("public")
                             : pstrdup(NameStr(*DatumGetName(DirectFunctionCall1(pg_get_userbyid, ObjectIdGetDatum(ro)))));
      }
      if (names.count > 1) qsort(names.items, names.count, sizeof(char*), compare_by_c_collation);
      put_strings(&st, "roles", names);
    }
    Datum qual = heap_getattr(tup, Anum_pg_policy_polqual, tdesc, &isnull);
    if (!isnull) put_string(&st, "using", text_cstring(call_text_function(pg_get_expr, 2, qual, ObjectIdGetDatum(relid))));
    Datum check = heap_getattr(tup, Anum_pg_policy_polwithcheck, tdesc, &isnull);
    if (!isnull) put_string(&st, "with_check", text_cstring(call_text_function(pg_get_expr, 2, check, ObjectIdGetDatum(relid))));
    emit(sink, psprintf("policy %s.%s", name, quote_identifier(NameStr(po->polname))), &st);
  }
  systable_endscan_ordered(scan);
}

void rule_entries(Sink* sink, Oid relid, const char* name) {
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_rewrite_ev_class, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = scan_catalog(catalogs.rewrite, 1, &key);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_rewrite rw = reinterpret_cast<Form_pg_rewrite>(GETSTRUCT(tup));
    if (strcmp(NameStr(rw->rulename), "_RETURN") == 0) continue;
    JsonbParseState* st = nullptr;
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    put_string(&st, "definition", text_cstring(call_text_function(pg_get_ruledef, 1, ObjectIdGetDatum(rw->oid), 0)));
    if (rw->ev_enabled != RULE_FIRES_ON_ORIGIN) {
      char enabled[2] = {rw->ev_enabled, '\0'};
      put_string(&st, "enabled", enabled);
    }
    emit(sink, psprintf("rule %s.%s", name, quote_identifier(NameStr(rw->rulename))), &st);
  }
  systable_endscan_ordered(scan);
}

// Every entry of one relation a snapshot describes (none for one it leaves out).
void all_relation_entries(Sink* sink, Oid relid) {
  HeapTuple tup = nullptr;
  Form_pg_class c = nullptr;
  bool release = false;
  char* name = user_relation_name(relid, &c, &tup, &release);
  if (!name) return;
  int natts = c->relnatts;
  char relkind = c->relkind;
  char** comments = relation_comments(relid, natts);
  // The flags are set when such an object is created and cleared, if at all, only once none is
  // left (relchecks counts CHECK constraints): a relation without them has none to look up.
  // Not relhasindex for indexes: VACUUM clears it while a half-dropped index (a cancelled DROP
  // INDEX CONCURRENTLY, indislive false) is still listed.
  bool has_triggers = c->relhastriggers, has_rules = c->relhasrules;
  bool may_have_triggers = has_triggers && relkind != RELKIND_SEQUENCE && relkind != RELKIND_COMPOSITE_TYPE;
  // The triggers first: the relation's entry says which of its internal ones are switched off.
  char* internal_triggers = may_have_triggers ? trigger_entries(sink, relid, name) : nullptr;
  if (relkind != RELKIND_COMPOSITE_TYPE) relation_entry(sink, relid, tup, c, name, comments[0], internal_triggers);
#if PG_VERSION_NUM < 180000
  // Primary key, unique and exclusion constraints have an index; foreign keys and constraint
  // triggers have triggers. A partitioned table is always looked at: before PostgreSQL 15 its
  // foreign keys had no triggers on it. (From 18 on NOT NULL constraints are rows too.)
  bool may_have_constraints = c->relchecks > 0 || c->relhasindex || has_triggers ||
                              relkind == RELKIND_PARTITIONED_TABLE;
#else
  bool may_have_constraints = true;
#endif
  bool may_have_indexes = relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE ||
                          relkind == RELKIND_MATVIEW;
  release_class_row(tup, release);
  IndexOids backing{nullptr, 0};
  if (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE || relkind == RELKIND_FOREIGN_TABLE) {
    column_entries(sink, relid, natts, name, comments);
    if (may_have_constraints) backing = constraint_entries(sink, relid, name);
  }
  if (may_have_indexes) index_entries(sink, relid, name, backing);
  if (relkind != RELKIND_SEQUENCE && relkind != RELKIND_COMPOSITE_TYPE) {
    if (may_have(with_policies, relid)) policy_entries(sink, relid, name);
    if (has_rules) rule_entries(sink, relid, name);
  }
}

// --- Schemas, extensions, functions, types and domains.

void schema_entry(Sink* sink, Oid nsp) {
  char* quoted;
  if (!user_namespace(nsp, &quoted)) return;
  HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
  if (!HeapTupleIsValid(tup)) return;
  Oid owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tup))->nspowner;
  bool isnull;
  Datum acl = SysCacheGetAttr(NAMESPACEOID, tup, Anum_pg_namespace_nspacl, &isnull);
  JsonbParseState* st = nullptr;
  pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
  put_string(&st, "owner", NameStr(*DatumGetName(DirectFunctionCall1(pg_get_userbyid, ObjectIdGetDatum(owner)))));
  put_strings(&st, "acl", sorted_acl(isnull ? acldefault(OBJECT_SCHEMA, owner) : DatumGetAclP(acl)));
  put_string(&st, "comment", object_comment(NamespaceRelationId, nsp));
  ReleaseSysCache(tup);
  emit(sink, psprintf("schema %s", quoted), &st);
}

void extension_entries(Sink* sink) {
  Relation ext = table_open(ExtensionRelationId, AccessShareLock);
  SysScanDesc scan = systable_beginscan(ext, InvalidOid, false, nullptr, 0, nullptr);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) {
    Form_pg_extension e = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tup));
    if (strcmp(NameStr(e->extname), "pg_migrate") == 0) continue;
    bool isnull;
    Datum version = heap_getattr(tup, Anum_pg_extension_extversion, RelationGetDescr(ext), &isnull);
    JsonbParseState* st = nullptr;
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    put_string(&st, "version", isnull ? nullptr : TextDatumGetCString(version));
    put_string(&st, "schema", DatumGetCString(DirectFunctionCall1(regnamespaceout, ObjectIdGetDatum(e->extnamespace))));
    emit(sink, psprintf("extension %s", quote_identifier(NameStr(e->extname))), &st);
  }
  systable_endscan(scan);
  table_close(ext, AccessShareLock);
}

// A number as to_jsonb() gives it: the type's output, as a numeric (or a string if it is not one).
void put_number_text(JsonbParseState** st, const char* key, const char* text) {
  push_key(st, key);
  JsonbValue v;
  if (IsValidJsonNumber(text, static_cast<int>(strlen(text)))) {  // as datum_to_jsonb() decides
    v.type = jbvNumeric;
    v.val.numeric = DatumGetNumeric(
        DirectFunctionCall3(numeric_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
  } else {
    v.type = jbvString;
    v.val.string.val = const_cast<char*>(text);
    v.val.string.len = static_cast<int>(strlen(text));
  }
  pushJsonbValue(st, WJB_VALUE, &v);
}

void put_float4(JsonbParseState** st, const char* key, float4 value) {
  put_number_text(st, key, DatumGetCString(DirectFunctionCall1(float4out, Float4GetDatum(value))));
}

// A range type's constructor functions belong to the type (pg_depend deptype 'i' on pg_type).
bool range_constructor(Oid procid) {
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], Anum_pg_depend_classid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ProcedureRelationId));
  ScanKeyInit(&keys[1], Anum_pg_depend_objid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(procid));
  SysScanDesc scan = scan_catalog(catalogs.depend, 2, keys);
  bool found = false;
  HeapTuple tup;
  while (!found && HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_depend d = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tup));
    found = d->refclassid == TypeRelationId && d->deptype == DEPENDENCY_INTERNAL;
  }
  systable_endscan_ordered(scan);
  return found;
}

void function_entry(Sink* sink, Oid procid) {
  HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(procid));
  if (!HeapTupleIsValid(tup)) return;
  Form_pg_proc p = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tup));
  char* nsp_quoted;
  if (!user_namespace(p->pronamespace, &nsp_quoted) || extension_member(ProcedureRelationId, procid) ||
      range_constructor(procid)) {
    ReleaseSysCache(tup);
    return;
  }
  const char* kind = p->prokind == PROKIND_PROCEDURE ? "procedure" : p->prokind == PROKIND_AGGREGATE ? "aggregate" : "function";
  char* args = text_to_cstring(DatumGetTextPP(DirectFunctionCall1(oidvectortypes, PointerGetDatum(&p->proargtypes))));
  char* key = psprintf("%s %s.%s(%s)", kind, nsp_quoted, quote_identifier(NameStr(p->proname)), args);
  JsonbParseState* st = nullptr;
  pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
  put_string(&st, "arguments", text_cstring(call_text_function(pg_get_function_arguments, 1, ObjectIdGetDatum(procid), 0)));
  if (p->prokind != PROKIND_PROCEDURE)
    put_string(&st, "result", text_cstring(call_text_function(pg_get_function_result, 1, ObjectIdGetDatum(procid), 0)));
  HeapTuple lang = SearchSysCache1(LANGOID, ObjectIdGetDatum(p->prolang));
  if (HeapTupleIsValid(lang)) {
    put_string(&st, "language", pstrdup(NameStr(reinterpret_cast<Form_pg_language>(GETSTRUCT(lang))->lanname)));
    ReleaseSysCache(lang);
  } else {
    // JOIN pg_language: a function whose language is gone has no entry.
    ReleaseSysCache(tup);
    return;
  }
  if (p->prokind == PROKIND_WINDOW) put_bool(&st, "window", true);
  put_string(&st, "volatility", p->provolatile == PROVOLATILE_IMMUTABLE ? "immutable"
                                : p->provolatile == PROVOLATILE_STABLE  ? "stable"
                                                                        : "volatile");
  put_bool(&st, "strict", p->proisstrict);
  put_bool(&st, "security_definer", p->prosecdef);
  if (p->proleakproof) put_bool(&st, "leakproof", true);
  put_string(&st, "parallel", p->proparallel == PROPARALLEL_SAFE ? "safe"
                              : p->proparallel == PROPARALLEL_RESTRICTED ? "restricted"
                                                                          : "unsafe");
  bool isnull;
  Datum config = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_proconfig, &isnull);
  if (!isnull) put_strings(&st, "config", sorted_texts(config));  // text[] COLLATE "C"
  put_float4(&st, "cost", p->procost);
  if (p->proretset) put_float4(&st, "rows", p->prorows);
  // md5(prosrc | probin | SQL body) as the SQL computed it.
  StringInfoData body;
  initStringInfo(&body);
  Datum src = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosrc, &isnull);
  if (!isnull) appendStringInfoString(&body, TextDatumGetCString(src));
  appendStringInfoChar(&body, '|');
  Datum bin = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_probin, &isnull);
  if (!isnull) appendStringInfoString(&body, TextDatumGetCString(bin));
  appendStringInfoChar(&body, '|');
#if PG_VERSION_NUM >= 140000
  (void)SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_prosqlbody, &isnull);
  if (!isnull) {
    char* sqlbody = text_cstring(call_text_function(pg_get_function_sqlbody, 1, ObjectIdGetDatum(procid), 0));
    if (sqlbody) appendStringInfoString(&body, sqlbody);
  }
#endif
  put_string(&st, "body_md5",
             text_to_cstring(DatumGetTextPP(DirectFunctionCall1(md5_text, PointerGetDatum(cstring_to_text_with_len(body.data, body.len))))));
  put_string(&st, "owner", NameStr(*DatumGetName(DirectFunctionCall1(pg_get_userbyid, ObjectIdGetDatum(p->proowner)))));
  Datum acl = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_proacl, &isnull);
  put_strings(&st, "acl", sorted_acl(isnull ? acldefault(OBJECT_FUNCTION, p->proowner) : DatumGetAclP(acl)));
  put_string(&st, "comment", object_comment(ProcedureRelationId, procid));
  ReleaseSysCache(tup);
  emit(sink, key, &st);
}

void domain_constraint_entries(Sink* sink, Oid typid, const char* name) {
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(InvalidOid));
  ScanKeyInit(&keys[1], Anum_pg_constraint_contypid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(typid));
  SysScanDesc scan = scan_catalog(catalogs.constraint, 2, keys);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_constraint co = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tup));
    if (OidIsValid(co->conparentid)) continue;
#if PG_VERSION_NUM >= 170000
    // PostgreSQL 17 keeps a domain's NOT NULL as a constraint row too; the domain's entry has
    // it (not_null), as on earlier versions, so a snapshot reads the same on each.
    if (co->contype == CONSTRAINT_NOTNULL) continue;
#endif
    char other[2] = {co->contype, '\0'};
    const char* type = co->contype == CONSTRAINT_CHECK ? "check" : co->contype == CONSTRAINT_PRIMARY ? "primary key"
                     : co->contype == CONSTRAINT_UNIQUE ? "unique" : co->contype == CONSTRAINT_FOREIGN ? "foreign key"
                     : co->contype == CONSTRAINT_EXCLUSION ? "exclusion" : co->contype == CONSTRAINT_TRIGGER ? "trigger"
                     : other;
    JsonbParseState* st = nullptr;
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    put_string(&st, "type", type);
    put_string(&st, "definition", text_cstring(call_text_function(pg_get_constraintdef, 1, ObjectIdGetDatum(co->oid), 0)));
    put_bool(&st, "domain", true);
    put_string(&st, "comment", object_comment(ConstraintRelationId, co->oid));
    emit(sink, psprintf("constraint %s.%s", name, quote_identifier(NameStr(co->conname))), &st);
  }
  systable_endscan_ordered(scan);
}

void type_entry(Sink* sink, Oid typid) {
  HeapTuple tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
  if (!HeapTupleIsValid(tup)) return;
  Form_pg_type t = reinterpret_cast<Form_pg_type>(GETSTRUCT(tup));
  char* nsp_quoted;
  bool listed = t->typtype == TYPTYPE_ENUM || t->typtype == TYPTYPE_COMPOSITE || t->typtype == TYPTYPE_DOMAIN ||
                t->typtype == TYPTYPE_RANGE || t->typtype == TYPTYPE_BASE;
  // An implicit array type, a table's row type, an extension's type (or its relation's).
  if (!listed || (OidIsValid(t->typelem) && t->typlen == -1 && t->typtype == TYPTYPE_BASE) ||
      (t->typtype == TYPTYPE_COMPOSITE && get_rel_relkind(t->typrelid) != RELKIND_COMPOSITE_TYPE) ||
      !user_namespace(t->typnamespace, &nsp_quoted) || extension_member(TypeRelationId, typid) ||
      (OidIsValid(t->typrelid) && extension_member(RelationRelationId, t->typrelid))) {
    ReleaseSysCache(tup);
    return;
  }
  char* name = psprintf("%s.%s", nsp_quoted, quote_identifier(NameStr(t->typname)));
  const char* kind;
  char other[2] = {t->typtype, '\0'};
  switch (t->typtype) {
    case TYPTYPE_ENUM: kind = "enum"; break;
    case TYPTYPE_COMPOSITE: kind = "composite"; break;
    case TYPTYPE_DOMAIN: kind = "domain"; break;
    case TYPTYPE_RANGE: kind = "range"; break;
    case TYPTYPE_BASE: kind = "base"; break;
    default: kind = other; break;
  }
  JsonbParseState* st = nullptr;
  pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
  put_string(&st, "kind", kind);
  if (t->typtype == TYPTYPE_ENUM) {
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_enum_enumtypid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(typid));
    SysScanDesc scan = scan_catalog(catalogs.enums, 1, &key);  // by enumsortorder
    Strings labels{nullptr, 0};
    int capacity = 0;
    HeapTuple e;
    while (HeapTupleIsValid(e = systable_getnext_ordered(scan, ForwardScanDirection))) {
      if (labels.count == capacity) {
        capacity = capacity ? capacity * 2 : 8;
        labels.items = static_cast<char**>(labels.items ? repalloc(labels.items, sizeof(char*) * capacity)
                                                        : palloc(sizeof(char*) * capacity));
      }
      labels.items[labels.count++] = pstrdup(NameStr(reinterpret_cast<Form_pg_enum>(GETSTRUCT(e))->enumlabel));
    }
    systable_endscan_ordered(scan);
    put_strings(&st, "labels", labels);
  }
  if (t->typtype == TYPTYPE_COMPOSITE) {
    HeapTuple rel = SearchSysCache1(RELOID, ObjectIdGetDatum(t->typrelid));
    int natts = HeapTupleIsValid(rel) ? reinterpret_cast<Form_pg_class>(GETSTRUCT(rel))->relnatts : 0;
    if (HeapTupleIsValid(rel)) ReleaseSysCache(rel);
    Strings attrs{static_cast<char**>(palloc(sizeof(char*) * (natts + 1))), 0};
    for (int attnum = 1; attnum <= natts; ++attnum) {
      HeapTuple a = SearchSysCache2(ATTNUM, ObjectIdGetDatum(t->typrelid), Int16GetDatum(attnum));
      if (!HeapTupleIsValid(a)) continue;
      Form_pg_attribute att = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(a));
      if (!att->attisdropped)
        attrs.items[attrs.count++] = psprintf("%s %s", quote_identifier(NameStr(att->attname)),
                                              sql_format_type(att->atttypid, att->atttypmod, true));
      ReleaseSysCache(a);
    }
    put_strings(&st, "attributes", attrs);
  }
  if (t->typtype == TYPTYPE_DOMAIN) {
    put_string(&st, "base_type", sql_format_type(t->typbasetype, t->typtypmod, true));
    put_bool(&st, "not_null", t->typnotnull);
  }
  bool isnull;
  Datum def = SysCacheGetAttr(TYPEOID, tup, Anum_pg_type_typdefault, &isnull);
  if (!isnull) put_string(&st, "default", TextDatumGetCString(def));
  if (t->typtype == TYPTYPE_RANGE) {
    HeapTuple rg = SearchSysCache1(RANGETYPE, ObjectIdGetDatum(typid));
    if (HeapTupleIsValid(rg)) {
      put_string(&st, "subtype", sql_format_type(reinterpret_cast<Form_pg_range>(GETSTRUCT(rg))->rngsubtype, -1, false));
      ReleaseSysCache(rg);
    }
  }
  if (t->typtype == TYPTYPE_BASE)
    put_string(&st, "input", DatumGetCString(DirectFunctionCall1(regprocout, ObjectIdGetDatum(t->typinput))));
  put_string(&st, "owner", NameStr(*DatumGetName(DirectFunctionCall1(pg_get_userbyid, ObjectIdGetDatum(t->typowner)))));
  Datum acl = SysCacheGetAttr(TYPEOID, tup, Anum_pg_type_typacl, &isnull);
  put_strings(&st, "acl", sorted_acl(isnull ? acldefault(OBJECT_TYPE, t->typowner) : DatumGetAclP(acl)));
  put_string(&st, "comment", object_comment(TypeRelationId, typid));
  bool domain = t->typtype == TYPTYPE_DOMAIN;
  ReleaseSysCache(tup);
  emit(sink, psprintf("%s %s", domain ? "domain" : "type", name), &st);
  if (domain) domain_constraint_entries(sink, typid, name);
}

// --- What a snapshot describes: everything (whole) or given objects.
struct Scope {
  bool whole;
  Oid *rels, *types, *nsps, *procs;
  int nrels, ntypes, nnsps, nprocs;
};

void oids_of(ArrayType* array, Oid** out, int* n) {
  Datum* elems;
  bool* nulls;
  int count;
  deconstruct_array(array, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &elems, &nulls, &count);
  *out = static_cast<Oid*>(palloc(sizeof(Oid) * (count + 1)));
  *n = 0;
  for (int i = 0; i < count; ++i)
    if (!nulls[i]) (*out)[(*n)++] = DatumGetObjectId(elems[i]);
}

// The OIDs of a catalog's rows in the user schemas (a sequential scan: the whole snapshot reads
// every row anyway). By schema, not by OID: objects created in single-user mode, or kept by
// pg_upgrade, can have OIDs below FirstNormalObjectId.
// The relations of pg_class that are not composite types (relkind other than 'c'), collected
// by all_oids() in its scan of pg_class, for the type filter below.
SortedOids plain_relations{nullptr, 0};

// Types type_entry() skips whatever else they are (its first test, made here on the scanned row
// instead of a cache lookup per type): not of a listed kind, an implicit array type, the row
// type of a relation known not to be a composite type. A large schema has two such types per
// table. A relation this scan of pg_class did not see (created since) is left to type_entry().
bool type_never_listed(const FormData_pg_type* t) {
  bool listed = t->typtype == TYPTYPE_ENUM || t->typtype == TYPTYPE_COMPOSITE || t->typtype == TYPTYPE_DOMAIN ||
                t->typtype == TYPTYPE_RANGE || t->typtype == TYPTYPE_BASE;
  if (!listed || (OidIsValid(t->typelem) && t->typlen == -1 && t->typtype == TYPTYPE_BASE)) return true;
  return t->typtype == TYPTYPE_COMPOSITE && plain_relations.count > 0 &&
         bsearch(&t->typrelid, plain_relations.items, plain_relations.count, sizeof(Oid), compare_oids) != nullptr;
}

// Whole snapshots: the OIDs of a catalog's objects in user schemas. Read pg_class before
// pg_type (plain_relations).
// With rows_context (pg_class), the rows themselves are kept in class_rows too.
void all_oids(Oid catalog, AttrNumber oid_column, AttrNumber namespace_column, Oid** out, int* n,
              MemoryContext rows_context = nullptr) {
  Relation rel = table_open(catalog, AccessShareLock);
  int rows_capacity = 0;
  if (rows_context) class_rows = ClassRows{nullptr, 0};
  SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
  int capacity = 1024;
  *out = static_cast<Oid*>(palloc(sizeof(Oid) * capacity));
  *n = 0;
  int plain_capacity = 0;
  if (catalog == RelationRelationId) plain_relations = SortedOids{nullptr, 0};
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) {
    CHECK_FOR_INTERRUPTS();
    bool isnull, nsp_null;
    Datum d = heap_getattr(tup, oid_column, RelationGetDescr(rel), &isnull);
    Datum nsp = heap_getattr(tup, namespace_column, RelationGetDescr(rel), &nsp_null);
    if (isnull || nsp_null) continue;
    if (catalog == RelationRelationId && ((Form_pg_class)GETSTRUCT(tup))->relkind != RELKIND_COMPOSITE_TYPE) {
      SortedOids& p = plain_relations;
      if (p.count == plain_capacity)
        p.items = static_cast<Oid*>(p.items ? repalloc(p.items, sizeof(Oid) * (plain_capacity *= 2))
                                            : palloc(sizeof(Oid) * (plain_capacity = 1024)));
      p.items[p.count++] = DatumGetObjectId(d);
    }
    if (catalog == TypeRelationId && type_never_listed((Form_pg_type)GETSTRUCT(tup))) continue;
    char* quoted;
    if (!user_namespace(DatumGetObjectId(nsp), &quoted)) continue;
    if (catalog == RelationRelationId && rows_context) {  // indexes too: index_entries() names them
      if (class_rows.count == rows_capacity)
        class_rows.items = static_cast<ClassRow*>(
            class_rows.items ? repalloc_huge(class_rows.items, sizeof(ClassRow) * (Size)(rows_capacity *= 2))
                             : MemoryContextAllocHuge(rows_context, sizeof(ClassRow) * (Size)(rows_capacity = 1024)));
      MemoryContext outer = MemoryContextSwitchTo(rows_context);
      class_rows.items[class_rows.count++] = {DatumGetObjectId(d), heap_copytuple(tup)};
      MemoryContextSwitchTo(outer);
    }
    if (*n == capacity) *out = static_cast<Oid*>(repalloc(*out, sizeof(Oid) * (capacity *= 2)));
    (*out)[(*n)++] = DatumGetObjectId(d);
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  if (catalog == RelationRelationId) qsort(plain_relations.items, plain_relations.count, sizeof(Oid), compare_oids);
  if (catalog == RelationRelationId && rows_context)
    qsort(class_rows.items, class_rows.count, sizeof(ClassRow), compare_class_rows);
}

int compare_column_rows(const void* a, const void* b) {
  const ColumnRow* x = static_cast<const ColumnRow*>(a);
  const ColumnRow* y = static_cast<const ColumnRow*>(b);
  if (x->relid != y->relid) return x->relid < y->relid ? -1 : 1;
  return x->attnum < y->attnum ? -1 : x->attnum > y->attnum ? 1 : 0;
}

// Whole snapshots: the columns of the tables class_rows holds, in one scan of pg_attribute.
void scan_column_rows(MemoryContext rows_context) {
  column_rows = ColumnRows{nullptr, 0};
  int capacity = 0;
  Relation rel = table_open(AttributeRelationId, AccessShareLock);
  SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
  MemoryContext outer = MemoryContextSwitchTo(rows_context);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) {
    CHECK_FOR_INTERRUPTS();
    Form_pg_attribute a = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(tup));
    if (a->attnum <= 0 || a->attisdropped) continue;
    ClassRow key{a->attrelid, nullptr};
    const ClassRow* c =
        static_cast<const ClassRow*>(bsearch(&key, class_rows.items, class_rows.count, sizeof(ClassRow), compare_class_rows));
    if (!c) continue;
    char relkind = reinterpret_cast<Form_pg_class>(GETSTRUCT(c->tuple))->relkind;
    if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE && relkind != RELKIND_FOREIGN_TABLE) continue;
    if (column_rows.count == capacity)  // (huge: a schema of millions of columns passes 1 GB)
      column_rows.items = static_cast<ColumnRow*>(
          column_rows.items ? repalloc_huge(column_rows.items, sizeof(ColumnRow) * (Size)(capacity *= 2))
                            : MemoryContextAllocHuge(rows_context, sizeof(ColumnRow) * (Size)(capacity = 1024)));
    if (read_column_row(tup, &column_rows.items[column_rows.count])) column_rows.count++;
  }
  MemoryContextSwitchTo(outer);
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  qsort(column_rows.items, column_rows.count, sizeof(ColumnRow), compare_column_rows);
}

// --- The objects migrations touched (migrate.snapshot_touched()): what the event triggers
// reported, grown to every object whose entries a change to them can alter.

// A list of OIDs without duplicates. Past a few, membership is looked up in a hash table: a
// migration can touch thousands of relations, each checked against the others.
struct OidList {
  Oid* items;
  int count, capacity;
  HTAB* seen;  // built once the list is long
};

bool has_oid(OidList* l, Oid oid) {
  if (!l->seen && l->count <= 16) {
    for (int i = 0; i < l->count; ++i)
      if (l->items[i] == oid) return true;
    return false;
  }
  if (!l->seen) {
    HASHCTL ctl;
    ctl.keysize = sizeof(Oid);
    ctl.entrysize = sizeof(Oid);
    ctl.hcxt = CurrentMemoryContext;
    l->seen = hash_create("pg_migrate touched objects", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
    for (int i = 0; i < l->count; ++i) (void)hash_search(l->seen, &l->items[i], HASH_ENTER, nullptr);
  }
  bool found;
  (void)hash_search(l->seen, &oid, HASH_FIND, &found);
  return found;
}

void add_oid(OidList* l, Oid oid) {
  if (!OidIsValid(oid)) return;
  if (l->count == l->capacity) {
    l->capacity = l->capacity ? l->capacity * 2 : 16;
    l->items = static_cast<Oid*>(l->items ? repalloc(l->items, sizeof(Oid) * l->capacity)
                                          : palloc(sizeof(Oid) * l->capacity));
  }
  l->items[l->count++] = oid;
  if (l->seen) (void)hash_search(l->seen, &oid, HASH_ENTER, nullptr);
}

void add_unique_oid(OidList* l, Oid oid) {
  if (OidIsValid(oid) && !has_oid(l, oid)) add_oid(l, oid);
}

struct ClassObject {
  Oid classid, objid;
};

struct ClassObjects {
  ClassObject* items;
  int count, capacity;
};

void add_class_object(ClassObjects* l, Oid classid, Oid objid) {
  if (l->count == l->capacity) {
    l->capacity = l->capacity ? l->capacity * 2 : 16;
    l->items = static_cast<ClassObject*>(l->items ? repalloc(l->items, sizeof(ClassObject) * l->capacity)
                                                  : palloc(sizeof(ClassObject) * l->capacity));
  }
  l->items[l->count++] = {classid, objid};
}

// One oid column of the catalog row `objid` of `catalog`, found through its OID index
// (InvalidOid if there is none).
Oid catalog_row_oid(Oid catalog, Oid oid_index, AttrNumber oid_column, Oid objid, AttrNumber column) {
  Relation rel = table_open(catalog, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, oid_column, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(objid));
  SysScanDesc scan = systable_beginscan(rel, oid_index, true, nullptr, 1, &key);
  HeapTuple tup = systable_getnext(scan);
  Oid value = InvalidOid;
  if (HeapTupleIsValid(tup)) {
    bool isnull;
    Datum d = heap_getattr(tup, column, RelationGetDescr(rel), &isnull);
    if (!isnull) value = DatumGetObjectId(d);
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  return value;
}

// The relation whose entries print an object of one of these catalogs (0 for other catalogs).
Oid owning_relation(Oid classid, Oid objid) {
  switch (classid) {
    case ConstraintRelationId:
      return catalog_row_oid(ConstraintRelationId, ConstraintOidIndexId, Anum_pg_constraint_oid, objid, Anum_pg_constraint_conrelid);
    case TriggerRelationId:
      return catalog_row_oid(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid, objid, Anum_pg_trigger_tgrelid);
    case PolicyRelationId:
      return catalog_row_oid(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid, objid, Anum_pg_policy_polrelid);
    case RewriteRelationId:
      return catalog_row_oid(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid, objid, Anum_pg_rewrite_ev_class);
    case AttrDefaultRelationId:
      return catalog_row_oid(AttrDefaultRelationId, AttrDefaultOidIndexId, Anum_pg_attrdef_oid, objid, Anum_pg_attrdef_adrelid);
    default:
      return InvalidOid;
  }
}

// Names of objects a migration dropped parts of, looked up without privilege checks:
// to_regclass() and to_regtype() raise "permission denied for schema" when the role the
// refresh runs as (the extension's owner, who need not be a superuser) lacks USAGE on the
// object's schema, and the snapshot describes every schema's objects whatever their ACLs.
Oid type_in_schema(const char* schema, const char* name) {
  Oid nsp = get_namespace_oid(schema, true);
  return OidIsValid(nsp) ? GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(name), ObjectIdGetDatum(nsp))
                         : InvalidOid;
}

// A quoted, possibly qualified name split into its parts.
List* name_parts(const char* name) {
#if PG_VERSION_NUM >= 160000
  return stringToQualifiedNameList(name, nullptr);
#else
  return stringToQualifiedNameList(name);
#endif
}

// "schema.name" as snapshot keys quote it (or unqualified: the search path).
Oid relation_named(const char* name) {
  RangeVar* rv = makeRangeVarFromNameList(name_parts(name));
  if (!rv->schemaname) return RelnameGetRelid(rv->relname);
  Oid nsp = get_namespace_oid(rv->schemaname, true);
  return OidIsValid(nsp) ? get_relname_relid(rv->relname, nsp) : InvalidOid;
}

// A schema's name as snapshot keys quote it.
Oid namespace_named(const char* name) {
  List* parts = name_parts(name);
  return list_length(parts) == 1 ? get_namespace_oid(strVal(linitial(parts)), true) : InvalidOid;
}

// A type as format_type_be_qualified() prints it ("schema.name", "schema.name[]", or a
// built-in type's SQL name).
Oid type_named(const char* name) {
#if PG_VERSION_NUM >= 160000
  TypeName* type_name = typeStringToTypeName(name, nullptr);
#else
  TypeName* type_name = typeStringToTypeName(name);
#endif
  if (!type_name) return InvalidOid;
  char* schema = nullptr;
  char* base = nullptr;
  DeconstructQualifiedName(type_name->names, &schema, &base);
  if (!schema) {  // the search path (built-in types): no schema is named, no check to skip
    Type t = LookupTypeName(nullptr, type_name, nullptr, true);
    if (!t) return InvalidOid;
    Oid typid = typeTypeId(t);
    ReleaseSysCache(t);
    return typid;
  }
  Oid typid = type_in_schema(schema, base);
  if (OidIsValid(typid) && type_name->arrayBounds != NIL) typid = get_array_type(typid);
  return typid;
}

// The non-null elements of a text[] as C strings.
char** text_elements(ArrayType* array, int* n) {
  Datum* elems;
  bool* nulls;
  int count;
  deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
  char** out = static_cast<char**>(palloc(sizeof(char*) * (count + 1)));
  *n = 0;
  for (int i = 0; i < count; ++i)
    if (!nulls[i]) out[(*n)++] = TextDatumGetCString(elems[i]);
  return out;
}

// pg_depend rows on (refclassid, refobjid), by the index on what objects depend on.
typedef void (*DependVisitor)(Form_pg_depend d, void* arg);
void scan_dependents(Oid refclassid, Oid refobjid, DependVisitor visit, void* arg) {
  Relation dep = table_open(DependRelationId, AccessShareLock);
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(refclassid));
  ScanKeyInit(&keys[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(refobjid));
  SysScanDesc scan = systable_beginscan(dep, DependReferenceIndexId, true, nullptr, 2, keys);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) visit(reinterpret_cast<Form_pg_depend>(GETSTRUCT(tup)), arg);
  systable_endscan(scan);
  table_close(dep, AccessShareLock);
}

struct TypedTables {
  Oid type;
  OidList* out;
};
void visit_typed_table(Form_pg_depend d, void* arg) {
  TypedTables* t = static_cast<TypedTables*>(arg);
  if (d->classid != RelationRelationId) return;
  HeapTuple c = SearchSysCache1(RELOID, ObjectIdGetDatum(d->objid));
  if (!HeapTupleIsValid(c)) return;
  if (reinterpret_cast<Form_pg_class>(GETSTRUCT(c))->reloftype == t->type) add_unique_oid(t->out, d->objid);
  ReleaseSysCache(c);
}

void visit_printed(Form_pg_depend d, void* arg) {  // deptype 'n': stored expressions
  if (d->deptype == DEPENDENCY_NORMAL) add_class_object(static_cast<ClassObjects*>(arg), d->classid, d->objid);
}

void visit_owned_relation(Form_pg_depend d, void* arg) {  // owned sequences, identity, indexes
  if (d->classid == RelationRelationId && (d->deptype == DEPENDENCY_AUTO || d->deptype == DEPENDENCY_INTERNAL))
    add_unique_oid(static_cast<OidList*>(arg), d->objid);
}

// The tables a relation's foreign keys reference: their entries count the internal triggers
// of those keys that are switched off (internal_trigger_states()), and a statement on this
// relation can re-create them (ALTER COLUMN ... TYPE rebuilds its foreign keys, enabled).
void add_referenced_tables(Oid relid, OidList* out) {
  HeapTuple ct = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  if (!HeapTupleIsValid(ct)) return;
  bool has_triggers = reinterpret_cast<Form_pg_class>(GETSTRUCT(ct))->relhastriggers;  // as foreign keys have
  ReleaseSysCache(ct);
  if (!has_triggers) return;
  Relation con = table_open(ConstraintRelationId, AccessShareLock);  // (before the snapshot opens its catalogs)
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = systable_beginscan(con, ConstraintRelidTypidNameIndexId, true, nullptr, 1, &key);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) {
    Form_pg_constraint c = reinterpret_cast<Form_pg_constraint>(GETSTRUCT(tup));
    if (c->contype == CONSTRAINT_FOREIGN) add_unique_oid(out, c->confrelid);
  }
  systable_endscan(scan);
  table_close(con, AccessShareLock);
}

// pg_inherits rows by parent (children) or by child (parents).
void add_inheritance(Oid relid, bool children, OidList* out) {
  Relation inh = table_open(InheritsRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, children ? Anum_pg_inherits_inhparent : Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(relid));
  SysScanDesc scan = systable_beginscan(inh, children ? InheritsParentIndexId : InheritsRelidSeqnoIndexId, true,
                                        nullptr, 1, &key);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) {
    Form_pg_inherits i = reinterpret_cast<Form_pg_inherits>(GETSTRUCT(tup));
    add_unique_oid(out, children ? i->inhrelid : i->inhparent);
  }
  systable_endscan(scan);
  table_close(inh, AccessShareLock);
}

Scope touched_scope(ArrayType* classids, ArrayType* objids, ArrayType* rel_names, ArrayType* type_names,
                    ArrayType* nsp_names, ArrayType* proc_names) {
  // unnest(classids, objids) pairs them by position; a pair with a NULL side matches nothing.
  Datum *cls = nullptr, *objs = nullptr;
  bool *cls_null = nullptr, *objs_null = nullptr;
  int ncls = 0, nobjs = 0;
  if (classids) deconstruct_array(classids, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &cls, &cls_null, &ncls);
  if (objids) deconstruct_array(objids, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &objs, &objs_null, &nobjs);
  int ntouched = Min(ncls, nobjs);
  OidList base{}, types{}, nsps{}, procs{}, touched_types{};
  for (int i = 0; i < ntouched; ++i) {
    if (cls_null[i] || objs_null[i]) continue;
    Oid classid = DatumGetObjectId(cls[i]), objid = DatumGetObjectId(objs[i]);
    if (classid == RelationRelationId) {
      add_unique_oid(&base, objid);
      HeapTuple ix = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(objid));
      if (HeapTupleIsValid(ix)) {
        add_unique_oid(&base, reinterpret_cast<Form_pg_index>(GETSTRUCT(ix))->indrelid);
        ReleaseSysCache(ix);
      }
    } else if (classid == TypeRelationId) {
      add_unique_oid(&types, objid);
      add_unique_oid(&touched_types, objid);
      HeapTuple ty = SearchSysCache1(TYPEOID, ObjectIdGetDatum(objid));
      if (HeapTupleIsValid(ty)) {
        add_unique_oid(&base, reinterpret_cast<Form_pg_type>(GETSTRUCT(ty))->typrelid);
        ReleaseSysCache(ty);
      }
      TypedTables t{objid, &base};  // CREATE TABLE ... OF type
      scan_dependents(TypeRelationId, objid, visit_typed_table, &t);
    } else if (classid == NamespaceRelationId) {
      add_unique_oid(&nsps, objid);
    } else if (classid == ProcedureRelationId) {
      add_unique_oid(&procs, objid);
    } else {
      add_unique_oid(&base, owning_relation(classid, objid));
      if (classid == ConstraintRelationId)
        add_unique_oid(&types, catalog_row_oid(ConstraintRelationId, ConstraintOidIndexId, Anum_pg_constraint_oid, objid,
                                               Anum_pg_constraint_contypid));
    }
  }
  int n;
  if (rel_names) {
    char** names = text_elements(rel_names, &n);
    for (int i = 0; i < n; ++i) add_unique_oid(&base, relation_named(names[i]));
  }
  if (type_names) {
    char** names = text_elements(type_names, &n);
    for (int i = 0; i < n; ++i) {
      Oid t = type_named(names[i]);
      add_unique_oid(&touched_types, t);
      add_unique_oid(&types, t);
    }
  }
  if (nsp_names) {
    char** names = text_elements(nsp_names, &n);
    for (int i = 0; i < n; ++i) add_unique_oid(&nsps, namespace_named(names[i]));
  }
  // down: the touched relations and all their descendants (inheritance, partitions).
  OidList down{};
  for (int i = 0; i < base.count; ++i) add_unique_oid(&down, base.items[i]);
  for (int i = 0; i < down.count; ++i) add_inheritance(down.items[i], true, &down);
  for (int i = 0; i < down.count; ++i) add_unique_oid(&touched_types, get_rel_type_id(down.items[i]));
  // printed: stored expressions that print a touched relation's or type's columns, also
  // through functions returning a touched type.
  ClassObjects printed{};
  for (int i = 0; i < down.count; ++i) scan_dependents(RelationRelationId, down.items[i], visit_printed, &printed);
  for (int i = 0; i < touched_types.count; ++i)
    scan_dependents(TypeRelationId, touched_types.items[i], visit_printed, &printed);
  if (touched_types.count > 0) {
    Relation pr = table_open(ProcedureRelationId, AccessShareLock);
    SysScanDesc scan = systable_beginscan(pr, InvalidOid, false, nullptr, 0, nullptr);
    HeapTuple tup;
    OidList returning{};
    while (HeapTupleIsValid(tup = systable_getnext(scan))) {
      CHECK_FOR_INTERRUPTS();
      Form_pg_proc p = reinterpret_cast<Form_pg_proc>(GETSTRUCT(tup));
      if (has_oid(&touched_types, p->prorettype)) add_oid(&returning, p->oid);
    }
    systable_endscan(scan);
    table_close(pr, AccessShareLock);
    for (int i = 0; i < returning.count; ++i)
      scan_dependents(ProcedureRelationId, returning.items[i], visit_printed, &printed);
  }
  // rels: down, their parents, the relations they own, and the relations of printed objects.
  OidList rels{};
  for (int i = 0; i < down.count; ++i) add_unique_oid(&rels, down.items[i]);
  for (int i = 0; i < down.count; ++i) {
    add_inheritance(down.items[i], false, &rels);
    scan_dependents(RelationRelationId, down.items[i], visit_owned_relation, &rels);
    add_referenced_tables(down.items[i], &rels);
  }
  for (int i = 0; i < printed.count; ++i) {
    if (printed.items[i].classid == ProcedureRelationId) add_unique_oid(&procs, printed.items[i].objid);
    else add_unique_oid(&rels, owning_relation(printed.items[i].classid, printed.items[i].objid));
  }
  // types: also composite types among the relations.
  for (int i = 0; i < rels.count; ++i)
    if (get_rel_relkind(rels.items[i]) == RELKIND_COMPOSITE_TYPE) add_unique_oid(&types, get_rel_type_id(rels.items[i]));
  // procs: also every function named in proc_names ("schema.name").
  if (proc_names) {
    char** names = text_elements(proc_names, &n);
    for (int i = 0; i < n; ++i) {
      ArrayType* parts = DatumGetArrayTypeP(DirectFunctionCall2(parse_ident, CStringGetTextDatum(names[i]), BoolGetDatum(true)));
      int nparts;
      char** ident = text_elements(parts, &nparts);
      if (nparts < 2) continue;
      Oid nsp = get_namespace_oid(ident[0], true);
      if (!OidIsValid(nsp)) continue;
      CatCList* list = SearchSysCacheList1(PROCNAMEARGSNSP, CStringGetDatum(ident[1]));
      for (int k = 0; k < list->n_members; ++k) {
        Form_pg_proc p = reinterpret_cast<Form_pg_proc>(GETSTRUCT(&list->members[k]->tuple));
        if (p->pronamespace == nsp) add_unique_oid(&procs, p->oid);
      }
      ReleaseSysCacheList(list);
    }
  }
  Scope scope{};
  scope.whole = false;
  scope.rels = rels.items;
  scope.nrels = rels.count;
  scope.types = types.items;
  scope.ntypes = types.count;
  scope.nsps = nsps.items;
  scope.nnsps = nsps.count;
  scope.procs = procs.items;
  scope.nprocs = procs.count;
  return scope;
}

Jsonb* build_snapshot_now(Scope scope) {
  cached_nsp = InvalidOid;
  catalogs.depend = open_catalog(DependRelationId, DependDependerIndexId);
  catalogs.description = open_catalog(DescriptionRelationId, DescriptionObjIndexId);
  catalogs.inherits = open_catalog(InheritsRelationId, InheritsRelidSeqnoIndexId);
  catalogs.attrdef = open_catalog(AttrDefaultRelationId, AttrDefaultIndexId);
  catalogs.constraint = open_catalog(ConstraintRelationId, ConstraintRelidTypidNameIndexId);
  catalogs.index = open_catalog(IndexRelationId, IndexIndrelidIndexId);
  catalogs.trigger = open_catalog(TriggerRelationId, TriggerRelidNameIndexId);
  catalogs.policy = open_catalog(PolicyRelationId, PolicyPolrelidPolnameIndexId);
  catalogs.rewrite = open_catalog(RewriteRelationId, RewriteRelRulenameIndexId);
  catalogs.enums = open_catalog(EnumRelationId, EnumTypIdSortOrderIndexId);
  find_extension_members();
  class_rows = ClassRows{nullptr, -1};
  column_rows = ColumnRows{nullptr, -1};
  MemoryContext rows = nullptr;
  if (scope.whole) {
    // Not an AllocSet: it would round each row copy up to a power of two.
#if PG_VERSION_NUM >= 150000
    rows = GenerationContextCreate(CurrentMemoryContext, "pg_migrate snapshot rows", ALLOCSET_DEFAULT_SIZES);
#else
    rows = GenerationContextCreate(CurrentMemoryContext, "pg_migrate snapshot rows", ALLOCSET_DEFAULT_MAXSIZE);
#endif
    all_oids(RelationRelationId, Anum_pg_class_oid, Anum_pg_class_relnamespace, &scope.rels, &scope.nrels, rows);
    scan_column_rows(rows);
    all_oids(TypeRelationId, Anum_pg_type_oid, Anum_pg_type_typnamespace, &scope.types, &scope.ntypes);
    all_oids(NamespaceRelationId, Anum_pg_namespace_oid, Anum_pg_namespace_oid, &scope.nsps, &scope.nnsps);
    all_oids(ProcedureRelationId, Anum_pg_proc_oid, Anum_pg_proc_pronamespace, &scope.procs, &scope.nprocs);
  }
  with_parents = with_policies = with_comments = with_indexes = SortedOids{nullptr, -1};
  if (scope.nrels >= 32) {
    with_parents = column_values(InheritsRelationId, Anum_pg_inherits_inhrelid);
    with_policies = column_values(PolicyRelationId, Anum_pg_policy_polrelid);
  }
  // Larger catalogs (pg_description holds the built-in objects' comments): worth one scan for
  // many relations, each of which would take an index scan.
  if (scope.whole || scope.nrels >= 256) {
    with_comments = column_values(DescriptionRelationId, Anum_pg_description_objoid);
    with_indexes = column_values(IndexRelationId, Anum_pg_index_indrelid);
  }
  Sink sink{CurrentMemoryContext, nullptr, nullptr, 0, 0};
  MemoryContext round = AllocSetContextCreate(CurrentMemoryContext, "pg_migrate snapshot entries",
                                              ALLOCSET_DEFAULT_SIZES);
  // Each object in a context reset after it: emit() copies its entry out.
  struct Kind {
    Oid* oids;
    int n;
    void (*entries)(Sink*, Oid);
  } kinds[] = {{scope.nsps, scope.nnsps, schema_entry},
               {scope.rels, scope.nrels, all_relation_entries},
               {scope.types, scope.ntypes, type_entry},
               {scope.procs, scope.nprocs, function_entry}};
  for (const Kind& k : kinds) {
    for (int i = 0; i < k.n; ++i) {
      CHECK_FOR_INTERRUPTS();
      MemoryContext outer = MemoryContextSwitchTo(round);
      k.entries(&sink, k.oids[i]);
      MemoryContextSwitchTo(outer);
      MemoryContextReset(round);
    }
  }
  if (scope.whole) {
    MemoryContext outer = MemoryContextSwitchTo(round);
    extension_entries(&sink);
    MemoryContextSwitchTo(outer);
  }
  MemoryContextDelete(round);
  class_rows = ClassRows{nullptr, -1};
  column_rows = ColumnRows{nullptr, -1};
  if (rows) MemoryContextDelete(rows);
  for (Catalog c : {catalogs.enums, catalogs.rewrite, catalogs.policy, catalogs.trigger, catalogs.index,
                    catalogs.constraint, catalogs.attrdef, catalogs.inherits, catalogs.description, catalogs.depend})
    close_catalog(c);
  return snapshot_object(&sink);
}

// The settings that change how names, constants and expressions print (quote_identifier(),
// pg_get_expr() of a date or interval default, float constants, bytea literals): pinned while
// a snapshot is built, so whoever takes it, in whatever session, describes the same schema the
// same way (a session with DateStyle 'SQL, DMY' or quote_all_identifiers on made every entry a
// difference, and the revert check blamed the down script). TimeZone too: a timestamptz
// constant in a default, check or view prints in it.
void pin_output_settings() {
  static const char* const kSettings[][2] = {{"quote_all_identifiers", "off"},
                                             {"DateStyle", "ISO"},
                                             {"IntervalStyle", "postgres"},
                                             {"extra_float_digits", "1"},
                                             {"bytea_output", "hex"},
                                             {"TimeZone", "UTC"}};
  for (const auto& s : kSettings)
    (void)set_config_option(s[0], s[1], PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

// A nested call (a type's output function run by pg_get_expr, say) must leave the state of the
// call it is nested in as it found it, even when it fails and a subtransaction catches that.
Jsonb* build_snapshot(Scope scope) {
  Catalogs outer_catalogs = catalogs;
  SortedOids outer_parents = with_parents, outer_policies = with_policies;
  SortedOids outer_comments = with_comments, outer_indexes = with_indexes;
  ClassRows outer_class_rows = class_rows;
  ColumnRows outer_column_rows = column_rows;
  Jsonb* volatile result = nullptr;
  // Restored below; after an error the (sub)transaction abort restores them, as for a
  // function's SET clause.
  int nest_level = NewGUCNestLevel();
  pin_output_settings();
  PG_TRY();
  { result = build_snapshot_now(scope); }
  PG_FINALLY();
  {
    catalogs = outer_catalogs;
    with_parents = outer_parents;
    with_policies = outer_policies;
    with_comments = outer_comments;
    with_indexes = outer_indexes;
    class_rows = outer_class_rows;
    column_rows = outer_column_rows;
    cached_nsp = InvalidOid;  // its quoted name was overwritten
  }
  PG_END_TRY();
  AtEOXact_GUC(true, nest_level);
  return result;
}

}  // namespace

// migrate.schema_snapshot() RETURNS jsonb: the whole snapshot of the user schemas.
PGM_FUNCTION(pgm_schema_snapshot) {
  Jsonb* result = pgm::pg::call([&] {
    Scope scope{};
    scope.whole = true;
    return build_snapshot(scope);
  });
  PG_RETURN_JSONB_P(result);
}

// migrate.schema_snapshot_of(rels oid[], types oid[], nsps oid[], procs oid[]) RETURNS jsonb:
// the entries of the given relations (with their columns, constraints, indexes, triggers,
// policies and rules), types and domains (with domain constraints), schemas and functions.
PGM_FUNCTION(pgm_schema_snapshot_of) {
  Jsonb* result = pgm::pg::call([&] {
    Scope scope{};
    scope.whole = false;
    // A NULL array asks for nothing of its kind (as = ANY(NULL) matched nothing in 0.4.0's SQL).
    Oid** lists[4] = {&scope.rels, &scope.types, &scope.nsps, &scope.procs};
    int* counts[4] = {&scope.nrels, &scope.ntypes, &scope.nnsps, &scope.nprocs};
    for (int i = 0; i < 4; ++i)
      if (!PG_ARGISNULL(i)) oids_of(PG_GETARG_ARRAYTYPE_P(i), lists[i], counts[i]);
    return build_snapshot(scope);
  });
  PG_RETURN_JSONB_P(result);
}

// migrate.snapshot_touched(classids oid[], objids oid[], rel_names text[], type_names text[],
// nsp_names text[], proc_names text[]) RETURNS jsonb: the entries of every object migrations
// touched (what pg_event_trigger_ddl_commands() reported, and the owners of dropped objects
// by name), with what a change to them can reprint.
PGM_FUNCTION(pgm_snapshot_touched) {
  Jsonb* result = pgm::pg::call([&] {
    ArrayType* args[6];
    for (int i = 0; i < 6; ++i) args[i] = PG_ARGISNULL(i) ? nullptr : PG_GETARG_ARRAYTYPE_P(i);
    return build_snapshot(touched_scope(args[0], args[1], args[2], args[3], args[4], args[5]));
  });
  PG_RETURN_JSONB_P(result);
}
