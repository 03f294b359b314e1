// Drift: the snapshot entries of relations and their columns, built from the system caches.
// migrate.schema_snapshot() and migrate.schema_snapshot_of() take these two kinds (most of any
// schema's entries) from here and the rest from SQL: the same code describes a relation in
// the whole snapshot and in the refresh after apply, at a fraction of the SQL's cost (a
// jsonb_build_object with a subquery per attribute, planned at every call).
//
// The entry format is the one of pg_migrate 0.4.0's SQL (test: sql/drift_relation_entries.sql
// compares both on a schema with every attribute set): values come from the same functions
// (pg_get_userbyid, format_type, pg_get_expr, pg_get_viewdef...), arrays are sorted with the
// collation ORDER BY used (the database's default for ACLs, "C" for reloptions), and null
// attributes are left out. Like pg_get_indexdef() and the other deparsing functions, it reads
// the catalogs' current state (system caches), not the transaction's snapshot.
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
#include "catalog/pg_extension.h"
#include "catalog/pg_index.h"
#include "catalog/pg_description.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_sequence.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"
#include "utils/varlena.h"
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
  Catalog depend, description, inherits, attrdef, constraint, index;
  // Extension members among relations and schemas (deptype 'e'), sorted for bsearch.
  Oid* member_relations;
  int member_relation_count;
  Oid* member_namespaces;
  int member_namespace_count;
};
Catalogs catalogs;

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

// Every extension's members among relations and schemas, in one scan of pg_depend's index on
// what objects depend on (all dependencies on an extension).
void find_extension_members() {
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ExtensionRelationId));
  Relation dep = catalogs.depend.heap;
  Relation index = index_open(DependReferenceIndexId, AccessShareLock);
  SysScanDesc scan = systable_beginscan_ordered(dep, index, nullptr, 1, &key);
  int rel_cap = 64, nsp_cap = 8;
  catalogs.member_relations = static_cast<Oid*>(palloc(sizeof(Oid) * rel_cap));
  catalogs.member_namespaces = static_cast<Oid*>(palloc(sizeof(Oid) * nsp_cap));
  catalogs.member_relation_count = catalogs.member_namespace_count = 0;
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_depend d = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tup));
    if (d->deptype != DEPENDENCY_EXTENSION) continue;
    if (d->classid == RelationRelationId) {
      if (catalogs.member_relation_count == rel_cap)
        catalogs.member_relations = static_cast<Oid*>(repalloc(catalogs.member_relations, sizeof(Oid) * (rel_cap *= 2)));
      catalogs.member_relations[catalogs.member_relation_count++] = d->objid;
    } else if (d->classid == NamespaceRelationId) {
      if (catalogs.member_namespace_count == nsp_cap)
        catalogs.member_namespaces = static_cast<Oid*>(repalloc(catalogs.member_namespaces, sizeof(Oid) * (nsp_cap *= 2)));
      catalogs.member_namespaces[catalogs.member_namespace_count++] = d->objid;
    }
  }
  systable_endscan_ordered(scan);
  index_close(index, AccessShareLock);
  qsort(catalogs.member_relations, catalogs.member_relation_count, sizeof(Oid), compare_oids);
  qsort(catalogs.member_namespaces, catalogs.member_namespace_count, sizeof(Oid), compare_oids);
}

bool extension_member(Oid classid, Oid objid) {
  bool relation = classid == RelationRelationId;
  return bsearch(&objid, relation ? catalogs.member_relations : catalogs.member_namespaces,
                 relation ? catalogs.member_relation_count : catalogs.member_namespace_count, sizeof(Oid),
                 compare_oids) != nullptr;
}

// The comments of a relation (subid 0) and of its columns (subid = attnum), in one scan of
// pg_description: comments[subid], NULL where there is none.
char** relation_comments(Oid relid, int natts) {
  char** comments = static_cast<char**>(palloc0(sizeof(char*) * (natts + 1)));
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

// "schema.relation" (quoted) of a relation a snapshot describes, or NULL.
char* user_relation_name(Oid relid, Form_pg_class* form_out, HeapTuple* tuple_out) {
  HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
  if (!HeapTupleIsValid(tup)) return nullptr;
  Form_pg_class c = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup));
  char* nsp_quoted;
  bool listed = strchr("rpfvmSc", c->relkind) != nullptr && c->relkind != '\0';
  if (!listed || !user_namespace(c->relnamespace, &nsp_quoted) ||
      extension_member(RelationRelationId, relid)) {
    ReleaseSysCache(tup);
    return nullptr;
  }
  char* name = psprintf("%s.%s", nsp_quoted, quote_identifier(NameStr(c->relname)));
  if (tuple_out) {
    *tuple_out = tup;
    *form_out = c;
  } else {
    ReleaseSysCache(tup);
  }
  return name;
}

// Parents of a relation in inheritance order (pg_inherits by inhrelid, inhseqno).
void add_parents(JsonbParseState** st, Oid relid, bool partition) {
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = scan_catalog(catalogs.inherits, 1, &key);
  Strings parents{nullptr, 0};
  int capacity = 0;
  char* partition_of = nullptr;
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Oid parent = reinterpret_cast<Form_pg_inherits>(GETSTRUCT(tup))->inhparent;
    char* name = user_relation_name(parent, nullptr, nullptr);
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
    char* table = user_relation_name(d->refobjid, nullptr, nullptr);
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

void emit(Tuplestorestate* store, TupleDesc desc, const char* key, JsonbParseState** st) {
  JsonbValue* object = pushJsonbValue(st, WJB_END_OBJECT, nullptr);
  Datum values[2] = {CStringGetTextDatum(key), JsonbPGetDatum(JsonbValueToJsonb(object))};
  bool nulls[2] = {false, false};
  tuplestore_putvalues(store, desc, values, nulls);
}

void relation_entry(Tuplestorestate* store, TupleDesc desc, Oid relid, HeapTuple tup, Form_pg_class c,
                    const char* name, const char* comment) {
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
  HeapTuple seq = SearchSysCache1(SEQRELID, ObjectIdGetDatum(relid));
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
  put_string(&st, "comment", comment);
  emit(store, desc, psprintf("%s %s", relation_key_word(c->relkind), name), &st);
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

void column_entries(Tuplestorestate* store, TupleDesc desc, Oid relid, int natts, const char* name,
                    char** comments) {
  char** defaults = column_defaults(relid, natts);
  for (int attnum = 1; attnum <= natts; ++attnum) {
    HeapTuple tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(attnum));
    if (!HeapTupleIsValid(tup)) continue;
    Form_pg_attribute a = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(tup));
    HeapTuple type = a->attisdropped ? nullptr : SearchSysCache1(TYPEOID, ObjectIdGetDatum(a->atttypid));
    if (!HeapTupleIsValid(type)) {  // dropped, or (JOIN pg_type) a type that is gone
      ReleaseSysCache(tup);
      continue;
    }
    Oid type_collation = reinterpret_cast<Form_pg_type>(GETSTRUCT(type))->typcollation;
    ReleaseSysCache(type);
    JsonbParseState* st = nullptr;
    pushJsonbValue(&st, WJB_BEGIN_OBJECT, nullptr);
    put_string(&st, "type", sql_format_type(a->atttypid, a->atttypmod, true));
    put_bool(&st, "not_null", a->attnotnull);
    put_string(&st, "default", defaults[attnum]);
    if (a->attidentity == ATTRIBUTE_IDENTITY_ALWAYS) put_string(&st, "identity", "always");
    else if (a->attidentity == ATTRIBUTE_IDENTITY_BY_DEFAULT) put_string(&st, "identity", "by default");
    if (a->attgenerated == ATTRIBUTE_GENERATED_STORED) put_string(&st, "generated", "stored");
    if (OidIsValid(a->attcollation) && a->attcollation != type_collation) {
      HeapTuple coll = SearchSysCache1(COLLOID, ObjectIdGetDatum(a->attcollation));
      if (HeapTupleIsValid(coll)) {
        put_string(&st, "collation",
                   quote_identifier(pstrdup(NameStr(reinterpret_cast<Form_pg_collation>(GETSTRUCT(coll))->collname))));
        ReleaseSysCache(coll);
      }
    }
    bool isnull;
    Datum acl = SysCacheGetAttr(ATTNUM, tup, Anum_pg_attribute_attacl, &isnull);
    if (!isnull) put_strings(&st, "acl", sorted_acl(DatumGetAclP(acl)));
    put_string(&st, "comment", comments[attnum]);
    char* key = psprintf("column %s.%s", name, quote_identifier(NameStr(a->attname)));
    ReleaseSysCache(tup);
    emit(store, desc, key, &st);
  }
}

// The constraints of a relation (not those a partition inherits: conparentid <> 0), and the
// indexes that back a primary key, unique or exclusion constraint of it (for the indexes'
// "constraint" attribute).
struct IndexOids {
  Oid* items;
  int count;
};

IndexOids constraint_entries(Tuplestorestate* store, TupleDesc desc, Oid relid, const char* name) {
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
    emit(store, desc, psprintf("constraint %s.%s", name, quote_identifier(NameStr(co->conname))), &st);
  }
  systable_endscan_ordered(scan);
  return backing;
}

void index_entries(Tuplestorestate* store, TupleDesc desc, Oid relid, const char* name, IndexOids backing) {
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = scan_catalog(catalogs.index, 1, &key);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext_ordered(scan, ForwardScanDirection))) {
    Form_pg_index i = reinterpret_cast<Form_pg_index>(GETSTRUCT(tup));
    HeapTuple ic = SearchSysCache1(RELOID, ObjectIdGetDatum(i->indexrelid));
    if (!HeapTupleIsValid(ic)) continue;
    Form_pg_class c = reinterpret_cast<Form_pg_class>(GETSTRUCT(ic));
    char* nsp_quoted;
    if (!user_namespace(c->relnamespace, &nsp_quoted)) {
      ReleaseSysCache(ic);
      continue;
    }
    char* key_name = psprintf("index %s.%s", nsp_quoted, quote_identifier(NameStr(c->relname)));
    ReleaseSysCache(ic);
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
    emit(store, desc, key_name, &st);
  }
  systable_endscan_ordered(scan);
}

// All entries of the relations `rels` (relations a snapshot leaves out are skipped), each
// relation in a memory context reset after it: tuplestore_putvalues copies the rows out.
void relation_entries(ArrayType* rels, Tuplestorestate* store, TupleDesc desc) {
  Datum* elems;
  bool* nulls;
  int n;
  deconstruct_array(rels, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &elems, &nulls, &n);
  // A nested call (a type's output function in a procedural language, run by pg_get_expr)
  // must not close this call's catalogs: it saves and restores them.
  Catalogs outer_call = catalogs;
  cached_nsp = InvalidOid;
  catalogs.depend = open_catalog(DependRelationId, DependDependerIndexId);
  catalogs.description = open_catalog(DescriptionRelationId, DescriptionObjIndexId);
  catalogs.inherits = open_catalog(InheritsRelationId, InheritsRelidSeqnoIndexId);
  catalogs.attrdef = open_catalog(AttrDefaultRelationId, AttrDefaultIndexId);
  catalogs.constraint = open_catalog(ConstraintRelationId, ConstraintRelidTypidNameIndexId);
  catalogs.index = open_catalog(IndexRelationId, IndexIndrelidIndexId);
  find_extension_members();
  MemoryContext round = AllocSetContextCreate(CurrentMemoryContext, "pg_migrate relation entries",
                                              ALLOCSET_DEFAULT_SIZES);
  for (int i = 0; i < n; ++i) {
    CHECK_FOR_INTERRUPTS();
    if (nulls[i]) continue;
    MemoryContext outer = MemoryContextSwitchTo(round);
    Oid relid = DatumGetObjectId(elems[i]);
    HeapTuple tup = nullptr;
    Form_pg_class c = nullptr;
    char* name = user_relation_name(relid, &c, &tup);
    if (name) {
      int natts = c->relnatts;
      char relkind = c->relkind;
      char** comments = relation_comments(relid, natts);
      if (relkind != RELKIND_COMPOSITE_TYPE) relation_entry(store, desc, relid, tup, c, name, comments[0]);
      bool has_index = c->relhasindex;
      ReleaseSysCache(tup);
      IndexOids backing{nullptr, 0};
      if (relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE || relkind == RELKIND_FOREIGN_TABLE) {
        column_entries(store, desc, relid, natts, name, comments);
        backing = constraint_entries(store, desc, relid, name);
      }
      // relhasindex is set when an index is created and cleared only when none is left.
      if (has_index) index_entries(store, desc, relid, name, backing);
    }
    MemoryContextSwitchTo(outer);
    MemoryContextReset(round);
  }
  MemoryContextDelete(round);
  close_catalog(catalogs.index);
  close_catalog(catalogs.constraint);
  close_catalog(catalogs.attrdef);
  close_catalog(catalogs.inherits);
  close_catalog(catalogs.description);
  close_catalog(catalogs.depend);
  catalogs = outer_call;
  cached_nsp = InvalidOid;
}

}  // namespace

// migrate.relation_entries(rels oid[]) RETURNS TABLE (key text, entry jsonb): the snapshot
// entries (table, view, materialized_view, sequence, column) of the given relations.
PGM_FUNCTION(pgm_relation_entries) {
  if (PG_ARGISNULL(0)) throw pgm::Error(pgm::sqlstate::kInvalidParameterValue, "rels must not be NULL");
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (!rsinfo || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
    throw pgm::Error(pgm::sqlstate::kFeatureNotSupported, "set-valued function called in context that cannot accept a set");
  pgm::pg::call([&] {
    ArrayType* rels = PG_GETARG_ARRAYTYPE_P(0);
    TupleDesc result_desc;
    if (get_call_result_type(fcinfo, nullptr, &result_desc) != TYPEFUNC_COMPOSITE)
      elog(ERROR, "return type must be a row type");
    MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
    TupleDesc desc = CreateTupleDescCopy(result_desc);
    Tuplestorestate* store = tuplestore_begin_heap(true, false, work_mem);
    MemoryContextSwitchTo(old);
    rsinfo->returnMode = SFRM_Materialize;
    rsinfo->setResult = store;
    rsinfo->setDesc = desc;
    relation_entries(rels, store, desc);
  });
  return (Datum)0;
}
