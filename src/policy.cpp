// Gate settings a DBA sets and a deploy role cannot weaken: pg_migrate.lint_blocks_apply,
// pg_migrate.require_verified_revert (on is strict) and pg_migrate.out_of_order (off is strict).
//
// The rule (README "Settings"):
//  * The DBA's value of a gate is the strictest value it gets from postgresql.conf, ALTER
//    SYSTEM, the server command line, ALTER DATABASE ... SET or ALTER ROLE ... SET (the GUC
//    sources up to PGC_S_DATABASE_USER), as this session received them.
//  * A role that is not superuser may tighten a gate with SET, SET LOCAL, set_config(), a
//    function's SET clause or connection options, but a value weaker than the DBA's is refused
//    (42501). It may not store a weak value with ALTER ROLE/DATABASE ... SET at all (that is
//    how a DBA weakens a gate for a role; a role may change its own defaults).
//  * Connection options are applied before the database and role settings arrive, so they
//    cannot be refused then; a weak value a non-superuser set that way is overridden by the
//    DBA's value wherever the gate is read (effective_*()).
//  * A superuser may weaken a gate anywhere.
#include "policy.hpp"

#include "pg/guard.hpp"

#include <algorithm>
#include <cstdlib>

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_db_role_setting.h"
#include "commands/dbcommands.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
}

namespace pgm::policy {
namespace {

// Stored with each value of a gate (GUC "extra", saved and restored with the value by the GUC
// machinery): whether the value may stand on its own.
struct ValueOrigin {
  bool trusted;  // from a DBA source (file, ALTER DATABASE/ROLE SET) or set by a superuser
};

struct Gate {
  const char* name;
  bool strict_value;        // the value that closes the gate
  bool dba_set[PGC_S_SESSION + 1];
  bool dba_value[PGC_S_SESSION + 1];
  const ValueOrigin* origin;  // of the current value (assign hook)
};

Gate gates[] = {
    {"pg_migrate.lint_blocks_apply", true, {}, {}, nullptr},
    {"pg_migrate.require_verified_revert", true, {}, {}, nullptr},
    {"pg_migrate.out_of_order", false, {}, {}, nullptr},
};

bool is_dba_source(GucSource source) {
  return source >= PGC_S_FILE && source <= PGC_S_DATABASE_USER;
}

// The DBA's value: the one from the highest-priority DBA source, as GUC itself ranks them
// (a role's setting beats the database's, which beats postgresql.conf).
bool dba_is_strict(const Gate& g) {
  for (int s = PGC_S_DATABASE_USER; s >= PGC_S_FILE; --s)
    if (g.dba_set[s]) return g.dba_value[s] == g.strict_value;
  return false;
}

void seed_all();

// pg_migrate.lint_large_table_rows decides which findings are errors (a statement that locks a
// table of that many rows): under a DBA's lint_blocks_apply = on, a larger value weakens that
// gate as setting it off would. Its DBA value is the one from the highest-priority DBA source
// (stored database and role values read back as for the gates), else the built-in 100,000.
constexpr int kDefaultLargeTableRows = 100000;
bool rows_dba_set[PGC_S_SESSION + 1];
int rows_dba_value[PGC_S_SESSION + 1];
const ValueOrigin* rows_origin = nullptr;

const char* strict_text(const Gate& g) { return g.strict_value ? "on" : "off"; }
const char* weak_text(const Gate& g) { return g.strict_value ? "off" : "on"; }

// A check hook's extra: whether the value may stand on its own. The GUC machinery frees
// extras with guc_free: free() before 16 (where guc_malloc is static), pfree() of
// GUCMemoryContext from 16 on, where a malloc'd extra corrupts memory.
bool store_origin(bool trusted, void** extra) {
#if PG_VERSION_NUM >= 160000
  ValueOrigin* origin = static_cast<ValueOrigin*>(guc_malloc(LOG, sizeof(ValueOrigin)));
#else
  ValueOrigin* origin = static_cast<ValueOrigin*>(std::malloc(sizeof(ValueOrigin)));
#endif
  if (!origin) return false;
  origin->trusted = trusted;
  *extra = origin;
  return true;
}

// Check hooks run outside PG_TRY frames of ours and must not throw: plain C only here.
bool check_gate(Gate& g, bool* newval, void** extra, GucSource source) {
  bool trusted = is_dba_source(source);
  if (source == PGC_S_DEFAULT) {
    // Boot value, or a line removed from postgresql.conf on reload: forget the file's value.
    for (int s = PGC_S_FILE; s <= PGC_S_GLOBAL; ++s) g.dba_set[s] = false;
  } else if (is_dba_source(source)) {
    g.dba_set[source] = true;
    g.dba_value[source] = *newval;
  } else if (source >= PGC_S_CLIENT && *newval != g.strict_value) {
    // (PGC_S_CLIENT .. PGC_S_SESSION: connection options, SET, SET LOCAL, set_config(),
    // function SET clauses, and PGC_S_TEST: ALTER ROLE/DATABASE SET, CREATE FUNCTION ... SET.)
    // A weak value from a session source: only a superuser may set it past the DBA's value.
    seed_all();
    bool super = IsTransactionState() && OidIsValid(GetUserId()) && superuser();
    trusted = super;
    if (!super && IsTransactionState()) {
      if (source == PGC_S_TEST) {
        // ALTER ROLE/DATABASE ... SET, CREATE FUNCTION ... SET: never a stored weak value.
        GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
        GUC_check_errmsg("permission denied to store %s = %s", g.name, weak_text(g));
        GUC_check_errdetail("Only a superuser may store a value that weakens this pg_migrate gate "
                            "(ALTER ROLE/DATABASE ... SET, a function's SET clause).");
        GUC_check_errhint("Ask a superuser to change the setting; a stricter value (%s) may be stored by anyone.",
                          strict_text(g));
        return false;
      }
      if (dba_is_strict(g)) {
        GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
        GUC_check_errmsg("permission denied to set %s = %s", g.name, weak_text(g));
        GUC_check_errdetail("The server, database or role configuration sets it to %s; only a "
                            "superuser may weaken it.", strict_text(g));
        GUC_check_errhint("Ask a superuser (DBA) to change it with ALTER ROLE/DATABASE ... SET.");
        return false;
      }
    }
  }
  return store_origin(trusted, extra);
}

void assign_gate(Gate& g, void* extra) { g.origin = static_cast<const ValueOrigin*>(extra); }

// The gates' values stored in pg_db_role_setting for (database, role): set[i] and value[i]
// for gates[i]. Plain C style: runs from _PG_init and a utility hook, where a PostgreSQL error
// simply propagates.
constexpr const char* kLargeTableRows = "pg_migrate.lint_large_table_rows";

// Calls fn(name, value, arg) for each setting stored in pg_db_role_setting: those of
// (database, role), or with `every` those of every database and role. Plain C.
void for_each_stored_setting(bool every, Oid database, Oid role, void (*fn)(const char*, const char*, void*), void* arg) {
  Relation rel = table_open(DbRoleSettingRelationId, AccessShareLock);
  ScanKeyData keys[2];
  ScanKeyInit(&keys[0], Anum_pg_db_role_setting_setdatabase, BTEqualStrategyNumber, F_OIDEQ,
              ObjectIdGetDatum(database));
  ScanKeyInit(&keys[1], Anum_pg_db_role_setting_setrole, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(role));
  SysScanDesc scan = every ? systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr)
                           : systable_beginscan(rel, DbRoleSettingDatidRolidIndexId, true, nullptr, 2, keys);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan))) {
    bool isnull;
    Datum d = heap_getattr(tup, Anum_pg_db_role_setting_setconfig, RelationGetDescr(rel), &isnull);
    if (isnull) continue;
    Datum* elems;
    int n;
    deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &elems, nullptr, &n);
    for (int i = 0; i < n; ++i) {
      char* item = TextDatumGetCString(elems[i]);
      char* eq = strchr(item, '=');
      if (!eq) continue;
      *eq = '\0';
      fn(item, eq + 1, arg);
    }
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
}

struct StoredValues {
  bool* set;
  bool* value;
  bool* rows_set;
  int* rows;
};

void note_stored_value(const char* name, const char* value, void* arg) {
  StoredValues* out = static_cast<StoredValues*>(arg);
  for (size_t k = 0; k < lengthof(gates); ++k)
    if (pg_strcasecmp(name, gates[k].name) == 0 && parse_bool(value, &out->value[k])) out->set[k] = true;
  if (out->rows && pg_strcasecmp(name, kLargeTableRows) == 0 && parse_int(value, out->rows, 0, nullptr))
    *out->rows_set = true;
}

void read_stored(Oid database, Oid role, bool* set, bool* value, bool* rows_set = nullptr, int* rows = nullptr) {
  StoredValues out{set, value, rows_set, rows};
  for_each_stored_setting(false, database, role, note_stored_value, &out);
}

void note_smaller_rows(const char* name, const char* value, void* arg) {
  int* smallest = static_cast<int*>(arg);
  int rows;
  if (pg_strcasecmp(name, kLargeTableRows) == 0 && parse_int(value, &rows, 0, nullptr) && rows < *smallest)
    *smallest = rows;
}

// The smallest lint_large_table_rows stored for any database or role (or the built-in one):
// ALTER ROLE ... [IN DATABASE d] SET, run from another database, names settings this session
// cannot rank; a value stored by a non-superuser may be no larger. Plain C.
int smallest_stored_large_table_rows() {
  int smallest = kDefaultLargeTableRows;
  for_each_stored_setting(true, InvalidOid, InvalidOid, note_smaller_rows, &smallest);
  return smallest;
}

// Reads the gates' values stored for (database, role) as the session's start applied them.
void seed(Oid database, Oid role, GucSource source) {
  bool set[lengthof(gates)] = {};
  bool value[lengthof(gates)] = {};
  bool rows_set = false;
  int rows = 0;
  read_stored(database, role, set, value, &rows_set, &rows);
  for (size_t k = 0; k < lengthof(gates); ++k)
    if (set[k]) {
      gates[k].dba_set[source] = true;
      gates[k].dba_value[source] = value[k];
    }
  if (rows_set) {
    rows_dba_set[source] = true;
    rows_dba_value[source] = rows;
  }
}

// ALTER ROLE/DATABASE ... RESET (a gate, or ALL) by a non-superuser removes a stored value
// without any check hook seeing it: a deploy role could drop the strict value its DBA stored
// for it. Refused when what it would remove is strict. Plain C (a utility hook).
void refuse_gate_reset(Node* parsetree) {
  VariableSetStmt* set = nullptr;
  Oid database = InvalidOid, role = InvalidOid;
  if (IsA(parsetree, AlterRoleSetStmt)) {
    AlterRoleSetStmt* s = castNode(AlterRoleSetStmt, parsetree);
    set = s->setstmt;
    if (s->role) role = get_rolespec_oid(s->role, true);
    if (s->database) database = get_database_oid(s->database, true);
    if ((s->role && !OidIsValid(role)) || (s->database && !OidIsValid(database))) return;  // (PostgreSQL says)
  } else if (IsA(parsetree, AlterDatabaseSetStmt)) {
    AlterDatabaseSetStmt* s = castNode(AlterDatabaseSetStmt, parsetree);
    set = s->setstmt;
    database = get_database_oid(s->dbname, true);
    if (!OidIsValid(database)) return;
  } else {
    return;
  }
  // SET ... TO DEFAULT stores nothing either: PostgreSQL removes the entry as for RESET.
  if (!set || (set->kind != VAR_RESET && set->kind != VAR_RESET_ALL && set->kind != VAR_SET_DEFAULT) || superuser())
    return;
  bool stored[lengthof(gates)] = {};
  bool value[lengthof(gates)] = {};
  bool rows_stored = false;
  int rows = 0;
  read_stored(database, role, stored, value, &rows_stored, &rows);
  // A stored row threshold below the built-in one makes more findings errors: removing it
  // weakens lint_blocks_apply as a raised value would.
  if (rows_stored && rows < kDefaultLargeTableRows &&
      (set->kind == VAR_RESET_ALL || pg_strcasecmp(set->name, kLargeTableRows) == 0))
    ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                    errmsg("permission denied to reset %s", kLargeTableRows),
                    errdetail("It is stored as %d for this %s; removing it raises the row count above which "
                              "lint findings are errors, which only a superuser may do.", rows,
                              OidIsValid(role) ? (OidIsValid(database) ? "role in this database" : "role")
                                               : "database"),
                    errhint("Ask a superuser to change the setting.")));
  for (size_t k = 0; k < lengthof(gates); ++k) {
    const Gate& g = gates[k];
    if (set->kind != VAR_RESET_ALL && pg_strcasecmp(set->name, g.name) != 0) continue;
    if (stored[k] && value[k] == g.strict_value)
      ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                      errmsg("permission denied to reset %s", g.name),
                      errdetail("It is stored as %s for this %s; removing it weakens a pg_migrate gate, "
                                "which only a superuser may do.", strict_text(g),
                                OidIsValid(role) ? (OidIsValid(database) ? "role in this database" : "role")
                                                 : "database"),
                      errhint("Ask a superuser to change the setting.")));
  }
}

ProcessUtility_hook_type previous_process_utility = nullptr;

void policy_process_utility(PlannedStmt* pstmt, const char* query, bool read_only_tree,
                            ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* env,
                            DestReceiver* dest, QueryCompletion* qc) {
  refuse_gate_reset(pstmt->utilityStmt);
  if (previous_process_utility)
    previous_process_utility(pstmt, query, read_only_tree, context, params, env, dest, qc);
  else
    standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
}

// Once per session, inside a transaction: the database and role settings as the session's
// start applied them. When the library was loaded after they were applied (by a function
// call, or session_preload_libraries, which runs outside a transaction) and a connection
// option had overridden them, this is the only way to learn the DBA's value.
bool seeded = false;

void seed_all() {
  if (seeded || !IsTransactionState() || !OidIsValid(MyDatabaseId) || !OidIsValid(GetSessionUserId())) return;
  Oid role = GetSessionUserId();
  seed(InvalidOid, InvalidOid, PGC_S_GLOBAL);
  seed(MyDatabaseId, InvalidOid, PGC_S_DATABASE);
  seed(InvalidOid, role, PGC_S_USER);
  seed(MyDatabaseId, role, PGC_S_DATABASE_USER);
  seeded = true;  // only once every source was read: an error above means "read them again"
}

bool effective(const Gate& g, bool value) {
  if (value == g.strict_value) return value;
  pg::call([] { seed_all(); });
  // Not set by a DBA source nor by a superuser (a connection option, or the default standing
  // in for a DBA value a connection option displaced before the library was loaded).
  if ((!g.origin || !g.origin->trusted) && dba_is_strict(g)) return g.strict_value;
  return value;
}

int dba_large_table_rows() {
  for (int s = PGC_S_DATABASE_USER; s >= PGC_S_FILE; --s)
    if (rows_dba_set[s]) return rows_dba_value[s];
  return kDefaultLargeTableRows;
}

}  // namespace

bool check_lint_large_table_rows(int* newval, void** extra, GucSource source) {
  bool trusted = is_dba_source(source);
  if (source == PGC_S_DEFAULT) {
    for (int s = PGC_S_FILE; s <= PGC_S_GLOBAL; ++s) rows_dba_set[s] = false;
  } else if (is_dba_source(source)) {
    rows_dba_set[source] = true;
    rows_dba_value[source] = *newval;
  } else if (source >= PGC_S_CLIENT) {
    seed_all();
    bool super = IsTransactionState() && OidIsValid(GetUserId()) && superuser();
    // (A connection option arrives before the stored values are known, outside a transaction:
    // not trusted; effective_lint_large_table_rows() compares it with them later.)
    trusted = super || (seeded && *newval <= dba_large_table_rows());
    if (!super && seeded && source == PGC_S_TEST &&
        *newval > std::min(dba_large_table_rows(), smallest_stored_large_table_rows())) {
      // ALTER ROLE/DATABASE ... SET, a function's SET clause: never a stored raised value (it
      // would stand as the DBA's wherever it applies), as for the gates.
      GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
      GUC_check_errmsg("permission denied to store pg_migrate.lint_large_table_rows = %d", *newval);
      GUC_check_errdetail("A row count above %d (the smallest stored for a database or role, or the built-in one) "
                          "turns error-level lint findings on large tables into warnings, which "
                          "pg_migrate.lint_blocks_apply blocks; only a superuser may store it.",
                          std::min(dba_large_table_rows(), smallest_stored_large_table_rows()));
      GUC_check_errhint("Ask a superuser (DBA) to change it; a smaller value may be stored by anyone.");
      return false;
    }
    if (!trusted && IsTransactionState() && dba_is_strict(gates[0])) {
      GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
      GUC_check_errmsg("permission denied to %s pg_migrate.lint_large_table_rows = %d",
                       source == PGC_S_TEST ? "store" : "set", *newval);
      GUC_check_errdetail("pg_migrate.lint_blocks_apply is on in the server, database or role configuration; a "
                          "row count above %d turns the error-level findings on large tables it blocks into "
                          "warnings, which only a superuser may do.",
                          dba_large_table_rows());
      GUC_check_errhint("Ask a superuser (DBA) to change it; a smaller value may be set by anyone.");
      return false;
    }
  }
  return store_origin(trusted, extra);
}
void assign_lint_large_table_rows(int, void* extra) { rows_origin = static_cast<const ValueOrigin*>(extra); }

int effective_lint_large_table_rows(int value) {
  if (!rows_origin || rows_origin->trusted) return value;
  // Raised where the check hook could not refuse it (a connection option applied before the
  // library loaded): under the DBA's gate, the DBA's value.
  pg::call([] { seed_all(); });
  return dba_is_strict(gates[0]) ? std::min(value, dba_large_table_rows()) : value;
}

bool check_lint_blocks_apply(bool* newval, void** extra, GucSource source) {
  return check_gate(gates[0], newval, extra, source);
}
void assign_lint_blocks_apply(bool, void* extra) { assign_gate(gates[0], extra); }
bool check_require_verified_revert(bool* newval, void** extra, GucSource source) {
  return check_gate(gates[1], newval, extra, source);
}
void assign_require_verified_revert(bool, void* extra) { assign_gate(gates[1], extra); }
bool check_out_of_order(bool* newval, void** extra, GucSource source) {
  return check_gate(gates[2], newval, extra, source);
}
void assign_out_of_order(bool, void* extra) { assign_gate(gates[2], extra); }

void init() {
  seed_all();
  previous_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = policy_process_utility;
}

bool effective_lint_blocks_apply(bool value) { return effective(gates[0], value); }
bool effective_require_verified_revert(bool value) { return effective(gates[1], value); }
bool effective_out_of_order(bool value) { return effective(gates[2], value); }

}  // namespace pgm::policy
