// Drift: capture (README "What is captured"). Event triggers record DDL run outside
// migrate.apply / migrate.revert into migrate.drift, one row per object the statement touched,
// with the text of that statement (drift_statement.cpp) and the row written by drift_log.cpp.
// While a migration runs they note what it touched instead, for the snapshot recorded after it
// (drift_snapshot.cpp).
#include <algorithm>
#include <optional>
#include <set>

#include "xact.hpp"
#include "catalog.hpp"
#include "core/drift_rules.hpp"
#include "drift_internal.hpp"
#include "settings.hpp"
#include "drift_log.hpp"
#include "drift_snapshot.hpp"
#include "drift_statement.hpp"
#include "script_parse.hpp"
#include "pg/spi.hpp"
#include "pg/srf.hpp"

extern "C" {
#include "catalog/pg_shdepend.h"
#include "catalog/pg_authid.h"
#include "access/genam.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opfamily.h"
#include "catalog/indexing.h"
#include "utils/fmgroids.h"
#include "access/table.h"
#include "catalog/objectaccess.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_language.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "tcop/deparse_utility.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/aclchk_internal.h"
}

namespace pgm::drift {
namespace {

// ---------------------------------------------------------------------------------------
// Capture.

// Tables rewritten by the running statement (table_rewrite event), reported with its row.
struct Rewrite {
  Oid relid;
  int reason;
  int depth;  // utility_depth() as the rewrite began: the command it belongs to
};
std::vector<Rewrite> pending_rewrites;

// pg_dump and pg_restore scripts run with check_function_bodies off and an empty search_path.
// Any role can set both, so they only describe what the session looks like.
bool restoring_dump() {
  return !check_function_bodies && namespace_search_path != nullptr && namespace_search_path[0] == '\0';
}

// Whether the session could switch capture off itself: its authenticated user is a superuser
// or (PostgreSQL 15+) was granted SET on pg_migrate.drift_capture. The authenticated user, not
// the current one: SET ROLE and SECURITY DEFINER functions change neither what the session
// may do nor who set its settings.
bool session_may_disable_capture() {
  Oid user = GetAuthenticatedUserId();
  return pg::call([&] {
    if (superuser_arg(user)) return true;
#if PG_VERSION_NUM >= 150000
    return pg_parameter_aclcheck("pg_migrate.drift_capture", user, ACL_SET) == ACLCHECK_OK;
#else
    return false;
#endif
  });
}

// How a DDL statement is recorded.
enum class Capture {
  kOff,      // not at all
  kFull,     // one row per object
  kRestore,  // restore-mode DDL of a role that cannot switch capture off: one row per session
};

// A restore is quiet only for a session that could have switched capture off anyway (the
// objects it creates are the dumped schema, and the dumped drift rows follow). Any other
// session with restore settings is recorded compactly (Capture::kRestore).
Capture capture_mode() {
  if (!settings::drift_capture || in_migration() || creating_extension || !drift::log_table_present()) return Capture::kOff;
  if (!restoring_dump()) return Capture::kFull;
  return session_may_disable_capture() ? Capture::kOff : Capture::kRestore;
}

bool capture_active() { return capture_mode() != Capture::kOff; }

// The drift row that stands for this session's restore-mode DDL (Capture::kRestore).
int64 restore_row_id = 0;

// True when this session's restore row exists (was not rolled back) and is unacknowledged:
// then further restore-mode DDL adds nothing. Runs inside an OwnerScope.
bool restore_row_pending() {
  if (restore_row_id == 0) return false;
  static pg::Query q{
      "SELECT 1 FROM migrate.drift WHERE id OPERATOR(pg_catalog.=) $1 AND acknowledgement_id IS NULL"};
  uint64 n = q.run({pg::int8_param(restore_row_id)});
  pg::free_result();
  return n > 0;
}

constexpr const char* kRestoreDetail =
    "restore-mode DDL (check_function_bodies = off, empty search_path) by a session that cannot "
    "switch drift capture off: this row stands for the session's further restore-mode DDL until "
    "it is acknowledged; migrate.schema_diff() lists the changes";

EventTriggerData* event_data(FunctionCallInfo fcinfo, const char* name) {
  if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
    throw Error("39P01", fmt::format("{}() must be called as an event trigger", name));
  return reinterpret_cast<EventTriggerData*>(fcinfo->context);
}

std::string rewrite_reason(int reason) {
  std::vector<std::string> parts;
  if (reason & AT_REWRITE_ALTER_PERSISTENCE) parts.push_back("persistence change");
  if (reason & AT_REWRITE_DEFAULT_VAL) parts.push_back("volatile default");
  if (reason & AT_REWRITE_COLUMN_REWRITE) parts.push_back("column type change");
#ifdef AT_REWRITE_ACCESS_METHOD
  if (reason & AT_REWRITE_ACCESS_METHOD) parts.push_back("access method change");
#endif
  if (parts.empty()) return "table rewritten";
  return fmt::format("table rewritten ({})", fmt::join(parts, ", "));
}

const char* subcommand_name(AlterTableType t) {
  switch (t) {
    case AT_AddColumn: return "ADD COLUMN";
    case AT_ColumnDefault: return "ALTER COLUMN DEFAULT";
    case AT_DropNotNull: return "DROP NOT NULL";
    case AT_SetNotNull: return "SET NOT NULL";
    case AT_DropExpression: return "DROP EXPRESSION";
#if PG_VERSION_NUM >= 170000
    case AT_SetExpression: return "SET EXPRESSION";
#endif
    case AT_SetStatistics: return "SET STATISTICS";
    case AT_SetOptions: return "SET (column options)";
    case AT_ResetOptions: return "RESET (column options)";
    case AT_SetStorage: return "SET STORAGE";
    case AT_SetCompression: return "SET COMPRESSION";
    case AT_DropColumn: return "DROP COLUMN";
    case AT_AddIndex: return "ADD INDEX";
    case AT_AddConstraint: return "ADD CONSTRAINT";
    case AT_AlterConstraint: return "ALTER CONSTRAINT";
    case AT_ValidateConstraint: return "VALIDATE CONSTRAINT";
    case AT_AddIndexConstraint: return "ADD CONSTRAINT USING INDEX";
    case AT_DropConstraint: return "DROP CONSTRAINT";
    case AT_AlterColumnType: return "ALTER COLUMN TYPE";
    case AT_AlterColumnGenericOptions: return "ALTER COLUMN OPTIONS";
    case AT_ChangeOwner: return "OWNER TO";
    case AT_ClusterOn: return "CLUSTER ON";
    case AT_DropCluster: return "SET WITHOUT CLUSTER";
    case AT_SetLogged: return "SET LOGGED";
    case AT_SetUnLogged: return "SET UNLOGGED";
    case AT_SetAccessMethod: return "SET ACCESS METHOD";
    case AT_SetTableSpace: return "SET TABLESPACE";
    case AT_SetRelOptions: return "SET (options)";
    case AT_ResetRelOptions: return "RESET (options)";
    case AT_EnableTrig: case AT_EnableTrigAll: case AT_EnableTrigUser: return "ENABLE TRIGGER";
    case AT_EnableAlwaysTrig: return "ENABLE ALWAYS TRIGGER";
    case AT_EnableReplicaTrig: return "ENABLE REPLICA TRIGGER";
    case AT_DisableTrig: case AT_DisableTrigAll: case AT_DisableTrigUser: return "DISABLE TRIGGER";
    case AT_EnableRule: return "ENABLE RULE";
    case AT_EnableAlwaysRule: return "ENABLE ALWAYS RULE";
    case AT_EnableReplicaRule: return "ENABLE REPLICA RULE";
    case AT_DisableRule: return "DISABLE RULE";
    case AT_AddInherit: return "INHERIT";
    case AT_DropInherit: return "NO INHERIT";
    case AT_AddOf: return "OF";
    case AT_DropOf: return "NOT OF";
    case AT_ReplicaIdentity: return "REPLICA IDENTITY";
    case AT_EnableRowSecurity: return "ENABLE ROW LEVEL SECURITY";
    case AT_DisableRowSecurity: return "DISABLE ROW LEVEL SECURITY";
    case AT_ForceRowSecurity: return "FORCE ROW LEVEL SECURITY";
    case AT_NoForceRowSecurity: return "NO FORCE ROW LEVEL SECURITY";
    case AT_GenericOptions: return "OPTIONS";
    case AT_AttachPartition: return "ATTACH PARTITION";
    case AT_DetachPartition: return "DETACH PARTITION";
    case AT_DetachPartitionFinalize: return "DETACH PARTITION FINALIZE";
    case AT_AddIdentity: return "ADD IDENTITY";
    case AT_SetIdentity: return "SET IDENTITY";
    case AT_DropIdentity: return "DROP IDENTITY";
#if PG_VERSION_NUM < 160000
    case AT_AddColumnRecurse: return "ADD COLUMN";
    case AT_DropColumnRecurse: return "DROP COLUMN";
    case AT_AddConstraintRecurse: return "ADD CONSTRAINT";
    case AT_ValidateConstraintRecurse: return "VALIDATE CONSTRAINT";
    case AT_DropConstraintRecurse: return "DROP CONSTRAINT";
#endif
    default: return nullptr;  // internal steps (re-adding indexes after a type change, ...)
  }
}

// An identifier quoted as the recorded identities are.
std::string quoted(const std::string& name) {
  const char* n = name.c_str();
  return pg::call([&] { return drift::with_plain_identifiers([&] { return quote_identifier(n); }); });
}

std::string object_identity(const ObjectAddress& address) {
  if (!OidIsValid(address.classId) || !OidIsValid(address.objectId)) return {};
  const ObjectAddress* a = &address;
  char* id = pg::call([&] {
    return with_plain_identifiers([&] {  // quoted as the recorded identities are
#if PG_VERSION_NUM >= 140000
      return getObjectIdentity(a, true);
#else
      return getObjectIdentity(a);
#endif
    });
  });
  return id ? std::string(id) : std::string();
}

// "ADD COLUMN public.t.c, SET NOT NULL email" for ALTER TABLE's subcommands.
// ATTACH PARTITION, DETACH PARTITION (and its FINALIZE): the partition is named in the command.
bool attaches_or_detaches(AlterTableType t) {
#if PG_VERSION_NUM >= 140000
  if (t == AT_DetachPartitionFinalize) return true;
#endif
  return t == AT_AttachPartition || t == AT_DetachPartition;
}

// The partition an ATTACH / DETACH PARTITION subcommand names, or nullptr.
RangeVar* partition_named(const AlterTableCmd* at) {
  if (!attaches_or_detaches(at->subtype) || !at->def || !IsA(at->def, PartitionCmd)) return nullptr;
  return reinterpret_cast<PartitionCmd*>(at->def)->name;
}

// The partition as it resolves (schema-qualified): the name as written may be ambiguous.
std::string partition_identity(RangeVar* partition) {
  const char* qualified = pg::call([&]() -> const char* {
    Oid rel = RangeVarGetRelid(partition, NoLock, true);
    if (!OidIsValid(rel)) return nullptr;
    char* nsp = get_namespace_name(get_rel_namespace(rel));
    char* name = get_rel_name(rel);
    return nsp && name ? quote_qualified_identifier(nsp, name) : nullptr;
  });
  if (qualified) return qualified;
  return (partition->schemaname ? quoted(partition->schemaname) + "." : std::string()) + quoted(partition->relname);
}

std::string alter_table_detail(CollectedCommand* cmd) {
  std::vector<std::string> parts;
  ListCell* lc;
  foreach (lc, cmd->d.alterTable.subcmds) {
    CollectedATSubcmd* sub = static_cast<CollectedATSubcmd*>(lfirst(lc));
    if (!sub->parsetree || !IsA(sub->parsetree, AlterTableCmd)) continue;
    AlterTableCmd* at = reinterpret_cast<AlterTableCmd*>(sub->parsetree);
    const char* name = subcommand_name(at->subtype);
    if (!name) continue;
    RangeVar* partition = partition_named(at);
    std::string target = at->name ? quoted(at->name)
                         : partition ? partition_identity(partition)
                                     : object_identity(sub->address);
    std::string part = target.empty() ? std::string(name) : fmt::format("{} {}", name, target);
    if (std::find(parts.begin(), parts.end(), part) == parts.end()) parts.push_back(part);
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

Oid grant_class(ObjectType type) {
  switch (type) {
    case OBJECT_TABLE: case OBJECT_SEQUENCE: case OBJECT_VIEW: case OBJECT_MATVIEW:
    case OBJECT_FOREIGN_TABLE: return RelationRelationId;
    case OBJECT_FUNCTION: case OBJECT_PROCEDURE: case OBJECT_ROUTINE: return ProcedureRelationId;
    case OBJECT_SCHEMA: return NamespaceRelationId;
    case OBJECT_TYPE: case OBJECT_DOMAIN: return TypeRelationId;
    case OBJECT_LANGUAGE: return LanguageRelationId;
    case OBJECT_FDW: return ForeignDataWrapperRelationId;
    case OBJECT_FOREIGN_SERVER: return ForeignServerRelationId;
    case OBJECT_LARGEOBJECT: return LargeObjectRelationId;
    default: return InvalidOid;
  }
}

struct Target {
  Oid classid;
  Oid objid;
  int32 objsubid;
  std::string object_type;  // for rows without an object (ALTER DEFAULT PRIVILEGES)
  std::string detail;
  CollectedCommand* command = nullptr;  // the command that reported it (valid in the event)
  // As pg_event_trigger_ddl_commands() reported them (session quoting), if it did.
  std::optional<std::string> schema;
  std::optional<std::string> identity;
};

// For a command that renamed an object or moved it to another schema: the (schema, name) the
// object had before, as exclusions see it (`now` is its scope after the command). nullopt
// for other commands, and for renames that keep the scope (a column, a constraint, ...).
std::optional<drift::Scope> scope_before(const CollectedCommand* cmd, const drift::Scope& now) {
  if (!cmd || cmd->type != SCT_Simple || !cmd->parsetree) return std::nullopt;
  Node* tree = cmd->parsetree;
  if (IsA(tree, AlterObjectSchemaStmt)) {
    // ALTER ... SET SCHEMA reports the schema it came from as the secondary object.
    const ObjectAddress& old = cmd->d.simple.secondaryObject;
    if (old.classId != NamespaceRelationId || !OidIsValid(old.objectId)) return std::nullopt;
    Oid nsp = old.objectId;
    char* name = pg::call([&] { return get_namespace_name(nsp); });
    if (!name) return std::nullopt;
    drift::Scope before = now;
    before.schema = std::string(name);
    return before;
  }
  if (!IsA(tree, RenameStmt)) return std::nullopt;
  const RenameStmt* r = reinterpret_cast<const RenameStmt*>(tree);
  drift::Scope before = now;
  switch (r->renameType) {
    case OBJECT_SCHEMA:
      if (!r->subname) return std::nullopt;
      return drift::Scope{std::string(r->subname), std::nullopt};
    case OBJECT_TABLE: case OBJECT_SEQUENCE: case OBJECT_VIEW: case OBJECT_MATVIEW:
    case OBJECT_FOREIGN_TABLE:
      if (!r->relation || !r->relation->relname) return std::nullopt;
      before.name = std::string(r->relation->relname);
      return before;
    case OBJECT_COLUMN: case OBJECT_ATTRIBUTE: case OBJECT_TABCONSTRAINT: case OBJECT_DOMCONSTRAINT:
    case OBJECT_TRIGGER: case OBJECT_POLICY: case OBJECT_RULE: case OBJECT_INDEX:
      return std::nullopt;  // a part renamed: the scope is its table's, unchanged
    default:
      break;
  }
  // Other objects: the last element of the name (functions: of ObjectWithArgs' name).
  Node* object = r->object;
  List* names = nullptr;
  if (object && IsA(object, List)) names = castNode(List, object);
  else if (object && IsA(object, ObjectWithArgs)) names = castNode(ObjectWithArgs, object)->objname;
  else if (object && IsA(object, String)) {
    before.name = std::string(strVal(object));
    return before;
  }
  if (!names || list_length(names) == 0 || !IsA(llast(names), String)) return std::nullopt;
  before.name = std::string(strVal(llast(names)));
  return before;
}

std::string describe_scope(const drift::Scope& s) {
  if (!s.name) return fmt::format("schema {}", quoted(s.schema.value_or("")));
  return fmt::format("{}.{}", quoted(s.schema.value_or("")), quoted(*s.name));
}

void add_target(std::vector<Target>& targets, Target t) {
  for (Target& existing : targets) {
    if (existing.classid == t.classid && existing.objid == t.objid && existing.objsubid == t.objsubid &&
        OidIsValid(t.classid)) {
      // One object, two commands (ALTER TABLE t ADD b int, ADD c serial, ADD d int: PostgreSQL
      // reports the subcommands after the serial's sequence as a second ALTER TABLE): one
      // row naming all of them.
      if (existing.detail.empty()) existing.detail = t.detail;
      else if (!t.detail.empty() && existing.detail.find(t.detail) == std::string::npos) existing.detail += ", " + t.detail;
      return;
    }
  }
  targets.push_back(std::move(t));
}

std::optional<std::string> optional_string(const char* s) {
  if (!s) return std::nullopt;
  return std::string(s);
}

// One drift row, ready to insert.
struct DriftRow {
  std::string object_type;
  std::optional<std::string> identity;
  std::optional<std::string> schema;
  std::string detail;
};

// Identifies an object the way pg_identify_object() does, without its SQL overhead. Empty
// when the object no longer exists.
// An index's table, as exclusions scope an index (like a column or a constraint, it goes with
// its table; by its own name an index named like an excluded pattern on a watched table would
// be hidden). nullopt if the index is gone.
std::optional<std::string> index_table_name(Oid index) {
  const char* name = pg::call([&]() -> const char* {
    Oid table = IndexGetRelation(index, true);
    return OidIsValid(table) ? get_rel_name(table) : nullptr;
  });
  return name ? std::optional<std::string>(name) : std::nullopt;
}

// An identity PostgreSQL quoted under quote_all_identifiers (a dropped object's, computed as
// it was dropped), quoted as with the setting off, as every other recorded identity and the
// snapshot keys are: each "..." identifier is unquoted and given to quote_identifier() again.
std::string plain_quoted(const std::string& identity) {
  std::string out;
  for (size_t i = 0; i < identity.size();) {
    if (identity[i] != '"') {
      out += identity[i++];
      continue;
    }
    std::string name;
    size_t j = i + 1;
    for (; j < identity.size(); ++j) {
      if (identity[j] != '"') {
        name += identity[j];
      } else if (j + 1 < identity.size() && identity[j + 1] == '"') {
        name += '"';
        ++j;
      } else {
        break;
      }
    }
    if (j >= identity.size()) return identity;  // unbalanced: kept as reported
    out += quoted(name);
    i = j + 1;
  }
  return out;
}

// The tables of the indexes a DROP INDEX names, noted before it runs (ddl_command_start): at
// sql_drop the index is gone from the catalogs. Keyed by the index's schema and name, as
// pg_event_trigger_dropped_objects() gives them.
struct DroppedIndexTable {
  std::string schema, index, table;
};

// What ddl_command_start noted for one statement, read by its sql_drop and ddl_command_end.
// That trigger fires only for the command tags that need it (30_drift.sql: a trigger that
// fires runs a function call even when it has nothing to do, 8 % of capture's cost for a
// COMMENT), so the notes are kept per statement, by its parse tree (the three events get the
// same pointer): a statement the trigger did not fire for finds none, rather than an earlier
// statement's. Removed at the statement's ddl_command_end, or when its transaction ends (not
// at a commit inside it: DROP INDEX CONCURRENTLY's) or its subtransaction aborts.
struct StartNotes {
  Node* tree = nullptr;
  SubTransactionId subxact = InvalidSubTransactionId;
  std::vector<DroppedIndexTable> dropped_index_tables;
  // The members of every extension, read for a statement that may drop one with other objects
  // (DROP EXTENSION, DROP ... CASCADE, DROP SCHEMA, DROP OWNED): at sql_drop pg_depend no
  // longer says which dropped objects were an extension's, and its members are not drift
  // while the user's objects its CASCADE took along are. {classid, objid}.
  std::set<std::pair<Oid, Oid>> extension_members;
  bool extension_members_known = false;
  // The extensions before a CREATE EXTENSION ... CASCADE: the ones it installs besides the
  // named one fire no command of their own.
  std::set<Oid> extensions_before;
  bool extensions_before_known = false;
};
std::vector<StartNotes> start_notes;

std::vector<StartNotes>::iterator find_notes(Node* tree) {
  return std::find_if(start_notes.begin(), start_notes.end(), [&](const StartNotes& n) { return n.tree == tree; });
}

// Fresh notes for `tree` (a statement run again, in a loop, has the same tree).
StartNotes& notes_for(Node* tree) {
  std::vector<StartNotes>::iterator it = find_notes(tree);
  if (it != start_notes.end()) start_notes.erase(it);
  if (start_notes.size() >= 64) start_notes.erase(start_notes.begin());  // (statements that never ended)
  start_notes.push_back(StartNotes{});
  start_notes.back().tree = tree;
  start_notes.back().subxact = GetCurrentSubTransactionId();
  return start_notes.back();
}

const StartNotes* noted_for(Node* tree) {
  std::vector<StartNotes>::iterator it = find_notes(tree);
  return it == start_notes.end() ? nullptr : &*it;
}

// At the statement's ddl_command_end: its notes go; the extensions before it, if it noted them.
std::optional<std::set<Oid>> retire_notes(Node* tree) {
  std::vector<StartNotes>::iterator it = find_notes(tree);
  if (it == start_notes.end()) return std::nullopt;
  std::optional<std::set<Oid>> before;
  if (it->extensions_before_known) before = std::move(it->extensions_before);
  start_notes.erase(it);
  return before;
}

std::set<Oid> installed_extensions() {
  List* oids = pg::call([] {
    List* out = NIL;
    Relation rel = table_open(ExtensionRelationId, AccessShareLock);
    SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
    HeapTuple tup;
    while (HeapTupleIsValid(tup = systable_getnext(scan))) out = lappend_oid(out, ((Form_pg_extension)GETSTRUCT(tup))->oid);
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return out;
  });
  std::set<Oid> out;
  ListCell* lc;
  foreach (lc, oids) out.insert(lfirst_oid(lc));
  return out;
}

void note_extensions_before(Node* parsetree, StartNotes& notes) {
  if (!parsetree || !IsA(parsetree, CreateExtensionStmt) || !capture_active()) return;
  notes.extensions_before = installed_extensions();
  notes.extensions_before_known = true;
}

void note_extension_members(Node* parsetree, StartNotes& notes) {
  if (!parsetree || !capture_active()) return;
  bool may_drop_members = IsA(parsetree, DropOwnedStmt);
  if (IsA(parsetree, DropStmt)) {
    DropStmt* d = reinterpret_cast<DropStmt*>(parsetree);
    may_drop_members = d->behavior == DROP_CASCADE || d->removeType == OBJECT_EXTENSION || d->removeType == OBJECT_SCHEMA;
    // Any other DROP (RESTRICT) drops no extension's member: known, without reading.
    notes.extension_members_known = !may_drop_members;
  }
  if (!may_drop_members) return;
  List* members = pg::call([] {
    List* out = NIL;
    Relation dep = table_open(DependRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ExtensionRelationId));
    SysScanDesc scan = systable_beginscan(dep, DependReferenceIndexId, true, nullptr, 1, &key);
    HeapTuple tup;
    List* families = NIL;
    while (HeapTupleIsValid(tup = systable_getnext(scan))) {
      Form_pg_depend d = (Form_pg_depend)GETSTRUCT(tup);
      if (d->deptype != DEPENDENCY_EXTENSION) continue;
      out = lappend_oid(out, d->classid);
      out = lappend_oid(out, d->objid);
      if (d->classid == OperatorFamilyRelationId) families = lappend_oid(families, d->objid);
    }
    systable_endscan(scan);
    table_close(dep, AccessShareLock);
    // A member operator family's operators and support functions (pg_amop, pg_amproc rows)
    // are its parts, dropped along with the extension's operators and functions.
    struct { Oid catalog; Oid index; AttrNumber family; } parts[] = {
        {AccessMethodOperatorRelationId, AccessMethodStrategyIndexId, Anum_pg_amop_amopfamily},
        {AccessMethodProcedureRelationId, AccessMethodProcedureIndexId, Anum_pg_amproc_amprocfamily}};
    ListCell* lc;
    foreach (lc, families)
      for (const auto& part : parts) {
        Relation rel = table_open(part.catalog, AccessShareLock);
        ScanKeyData fk;
        ScanKeyInit(&fk, part.family, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(lfirst_oid(lc)));
        SysScanDesc s2 = systable_beginscan(rel, part.index, true, nullptr, 1, &fk);
        HeapTuple t2;
        while (HeapTupleIsValid(t2 = systable_getnext(s2))) {
          out = lappend_oid(out, part.catalog);
          out = lappend_oid(out, part.catalog == AccessMethodOperatorRelationId ? ((Form_pg_amop)GETSTRUCT(t2))->oid
                                                                                 : ((Form_pg_amproc)GETSTRUCT(t2))->oid);
        }
        systable_endscan(s2);
        table_close(rel, AccessShareLock);
      }
    return out;
  });
  for (int i = 0; i + 1 < list_length(members); i += 2)
    notes.extension_members.emplace(list_nth_oid(members, i), list_nth_oid(members, i + 1));
  notes.extension_members_known = true;
}

void note_dropped_index_tables(Node* parsetree, StartNotes& notes) {
  if (!parsetree || !IsA(parsetree, DropStmt) || reinterpret_cast<DropStmt*>(parsetree)->removeType != OBJECT_INDEX ||
      !capture_active())
    return;
  List* objects = reinterpret_cast<DropStmt*>(parsetree)->objects;
  ListCell* lc;
  foreach (lc, objects) {
    List* names = static_cast<List*>(lfirst(lc));
    const char* index = nullptr;
    const char* schema = nullptr;
    const char* table = pg::call([&]() -> const char* {
      Oid relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
      if (!OidIsValid(relid)) return nullptr;
      char kind = get_rel_relkind(relid);
      if (kind != RELKIND_INDEX && kind != RELKIND_PARTITIONED_INDEX) return nullptr;
      Oid t = IndexGetRelation(relid, true);
      index = get_rel_name(relid);
      schema = get_namespace_name(get_rel_namespace(relid));
      return OidIsValid(t) ? get_rel_name(t) : nullptr;
    });
    if (table && index && schema) notes.dropped_index_tables.push_back({schema, index, table});
  }
}

// The table of index `identity` ("public.i") in the newest recorded snapshot; nullopt if it is
// not there (or the catalog predates migrate.recorded_entry()). Runs inside an OwnerScope.
std::optional<std::string> recorded_index_table(const std::string& identity) {
  static pg::Query available{"SELECT pg_catalog.to_regprocedure('migrate.recorded_entry(bigint,text)') IS NOT NULL"};
  available.run();
  bool ok = pg::bool_value(0, 1);
  pg::free_result();
  if (!ok) return std::nullopt;
  static pg::Query table{
      "SELECT (pg_catalog.parse_ident(migrate.recorded_entry((SELECT pg_catalog.max(s.id) FROM migrate.schema_snapshots s), "
      "$1) OPERATOR(pg_catalog.->>) 'table'))[2]"};
  table.run({pg::text_param("index " + identity)});
  std::optional<std::string> out;
  if (pg::result_rows() > 0 && !pg::is_null(0, 1)) out = pg::text_value(0, 1);
  pg::free_result();
  return out;
}

struct Identified {
  bool found = false;
  std::string type;
  std::string identity;
  std::optional<std::string> schema;  // of a schema-qualified object
  bool temp_namespace = false;
  std::vector<std::string> names;     // as pg_identify_object_as_address's object_names
  std::optional<std::string> name;    // plain name where names has none (types, domains)
};

Identified identify(Oid classid, Oid objid, int32 objsubid) {
  Identified out;
  ObjectAddress address{classid, objid, objsubid};
  const ObjectAddress* a = &address;
  List* names = NIL;
  List* args = NIL;
  // Quoted as snapshot keys and the drop path's identities are (with quote_all_identifiers
  // off), whatever the session says: the revert check and exclusions compare them.
  char* identity = pg::call([&] {
    return with_plain_identifiers([&] {
#if PG_VERSION_NUM >= 140000
      return getObjectIdentityParts(a, &names, &args, true);
#else
      return getObjectIdentityParts(a, &names, &args);
#endif
    });
  });
  if (!identity) return out;
  char* type = pg::call([&] {
#if PG_VERSION_NUM >= 140000
    return getObjectTypeDescription(a, true);
#else
    return getObjectTypeDescription(a);
#endif
  });
  out.found = true;
  out.identity = identity;
  out.type = type ? type : "";
  ListCell* lc;
  foreach (lc, names) out.names.push_back(static_cast<char*>(lfirst(lc)));
  // Address names of a type: one qualified type name. (A domain's constraint has the same, and
  // drift::object_scope takes its domain's name from it, for this path and the drop path alike.)
  if (classid == TypeRelationId) {
    char* typname = pg::call([&] {
      HeapTuple tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(objid));
      if (!HeapTupleIsValid(tup)) return static_cast<char*>(nullptr);
      char* n = pstrdup(NameStr(((Form_pg_type)GETSTRUCT(tup))->typname));
      ReleaseSysCache(tup);
      return n;
    });
    out.name = optional_string(typname);
  }
  Oid nsp = InvalidOid;
  if (pg::call([&] { return is_objectclass_supported(classid); }))
    nsp = pg::call([&] { return get_object_namespace(a); });
  if (OidIsValid(nsp)) {
    out.temp_namespace = pg::call([&] { return isAnyTempNamespace(nsp); });
    out.schema = optional_string(pg::call([&] { return get_namespace_name_or_temp(nsp); }));
  }
  return out;
}

// An index, constraint, trigger, policy or rule renamed (its scope, its table's, is the same):
// the identity it had, as pg_identify_object() names it ("public.old_ix", "old on public.t").
std::optional<std::string> renamed_part(const CollectedCommand* cmd, const Identified& id) {
  if (!cmd || cmd->type != SCT_Simple || !cmd->parsetree || !IsA(cmd->parsetree, RenameStmt)) return std::nullopt;
  const RenameStmt* r = reinterpret_cast<const RenameStmt*>(cmd->parsetree);
  if (!r->newname) return std::nullopt;
  if (r->renameType == OBJECT_INDEX && r->relation && r->relation->relname && id.schema)
    return quoted(*id.schema) + "." + quoted(r->relation->relname);
  // A column or a composite type's attribute: "public.t.c2" was "public.t.c".
  if ((r->renameType == OBJECT_COLUMN || r->renameType == OBJECT_ATTRIBUTE) && r->subname) {
    std::string now = "." + quoted(r->newname);
    if (id.identity.size() > now.size() && id.identity.compare(id.identity.size() - now.size(), now.size(), now) == 0)
      return id.identity.substr(0, id.identity.size() - now.size()) + "." + quoted(r->subname);
    return std::nullopt;
  }
  bool part = r->renameType == OBJECT_TABCONSTRAINT || r->renameType == OBJECT_DOMCONSTRAINT ||
              r->renameType == OBJECT_TRIGGER || r->renameType == OBJECT_POLICY || r->renameType == OBJECT_RULE;
  std::string now = quoted(r->newname) + " on ";
  if (!part || !r->subname || id.identity.compare(0, now.size(), now) != 0) return std::nullopt;
  return quoted(r->subname) + id.identity.substr(now.size() - 4);
}

pg::Param text_or_null(const std::optional<std::string>& v) {
  return v ? pg::text_param(*v) : pg::null_param(TEXTOID);
}

// Inserts the rows of one event. Runs inside the caller's OwnerScope.
// standard_strings: the session's standard_conforming_strings, read before anything pinned it.
void insert_rows(const char* event, const std::string& role, const std::string& tag, const StatementText& statement,
                 bool standard_strings, std::vector<DriftRow> rows, Capture mode, LazySpi& spi) {
  if (rows.empty()) return;
  if (mode == Capture::kRestore) {
    spi.need();
    if (restore_row_pending()) return;
    rows.resize(1);
    rows[0].detail = rows[0].detail.empty() ? kRestoreDetail : rows[0].detail + "; " + kRestoreDetail;
  }
  const char* app = application_name;  // (the variable: GetConfigOption searches every setting)
  std::optional<std::string> application = app && *app ? std::optional<std::string>(app) : std::nullopt;
  std::optional<std::string> source = optional_string(statement.source);
  // Credentials never reach the log (README "What is redacted").
  std::optional<std::string> text;
  if (statement.text) text = drift::redact_statement(*statement.text, standard_strings);
  std::vector<drift::LogRow> log_rows;
  log_rows.reserve(rows.size());
  for (DriftRow& r : rows) log_rows.push_back({std::move(r.object_type), std::move(r.identity), std::move(r.schema), std::move(r.detail)});
  drift::LogStatement st{event, role, application, tag, text, source};
  st.negative_id = mode == Capture::kRestore;
  if (std::optional<long long> id = drift::append_rows(st, log_rows)) {
    if (mode == Capture::kRestore) restore_row_id = *id;
    return;
  }
  // A drift table laid out otherwise, or with statement-level triggers: insert through SQL.
  spi.need();
  static pg::Query insert{
      "INSERT INTO migrate.drift (role, application_name, event, command_tag, object_type, "
      "object_identity, schema_name, detail, statement, statement_source) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id"};
  for (const drift::LogRow& r : log_rows) {
    insert.run({pg::text_param(role), text_or_null(application), pg::text_param(event), pg::text_param(tag),
                pg::text_param(r.object_type), text_or_null(r.identity), text_or_null(r.schema),
                r.detail.empty() ? pg::null_param(TEXTOID) : pg::text_param(r.detail),
                text_or_null(text), text_or_null(source)});
    if (mode == Capture::kRestore) restore_row_id = pg::int8_value(0, 1);
    pg::free_result();
  }
}

std::string event_tag(EventTriggerData* trig) {
#if PG_VERSION_NUM >= 130000
  return GetCommandTagName(trig->tag);
#else
  return trig->tag;
#endif
}

}  // namespace

void forget_pending_rewrites() noexcept { pending_rewrites.clear(); }

void forget_start_notes() noexcept { start_notes.clear(); }

void forget_start_notes_since(SubTransactionId subxact) noexcept {
  start_notes.erase(std::remove_if(start_notes.begin(), start_notes.end(),
                                   [&](const StartNotes& n) { return n.subxact >= subxact; }),
                    start_notes.end());
}

}  // namespace pgm::drift

using namespace pgm;
using namespace pgm::drift;

// ddl_command_start, for the command tags 30_drift.sql lists: notes what the statement's
// sql_drop and ddl_command_end will need and can no longer read then (StartNotes), and the
// text of a statement the hook did not see (the library was loaded by this very call, in
// time for the DDL a statement running user code runs).
PGM_FUNCTION(pgm_drift_capture_start) {
  EventTriggerData* trig = event_data(fcinfo, "migrate.drift_capture_start");
  StartNotes& notes = notes_for(trig->parsetree);
  note_dropped_index_tables(trig->parsetree, notes);
  note_extension_members(trig->parsetree, notes);
  note_extensions_before(trig->parsetree, notes);
  // A migration's ALTER TABLE: what the relation has now, some of which the statement may
  // rename or drop without an event (for the snapshot refresh after it).
  if (in_migration()) drift::track_snapshot_relation_before_alter(trig->parsetree);
  if (hook_sees_statement() || !capture_active()) return PointerGetDatum(nullptr);
  stash_statement(trig->parsetree);
  return PointerGetDatum(nullptr);
}

namespace pgm::drift {
namespace {

object_access_hook_type previous_object_access = nullptr;

// A migration's statement that would drop pg_migrate itself by cascade (DROP EXTENSION
// plpgsql CASCADE, DROP OWNED BY its owner, DROP SCHEMA ... CASCADE of something it depends
// on): refused as PostgreSQL comes to drop the extension or the schema (the drop hook runs as
// each object is deleted; the error rolls back what went before). A statement naming pg_migrate
// is refused earlier (changes_pg_migrate).
// Plain C: PostgreSQL's errors pass through; no C++ object lives here.
void refuse_dropping_pg_migrate(Oid class_id, Oid object_id) {
  bool own = false;
  if (class_id == ExtensionRelationId) own = object_id == get_extension_oid("pg_migrate", true);
  else if (class_id == NamespaceRelationId) own = object_id == get_namespace_oid(kOwnSchema, true);
  if (!own)
    return;
  ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                  errmsg("a migration cannot drop pg_migrate"),
                  errdetail("The statement drops %s along with objects it depends on or that its owner owns.",
                            class_id == ExtensionRelationId ? "extension pg_migrate" : "schema migrate"),
                  errhint("%s", kChangesPgMigrateHint)));
}

// The relations a migration's statements create (OAT_POST_CREATE, not internal ones such as a
// toast table), for the snapshot refresh after it. For CREATE TABLE and CREATE INDEX that is
// everything the refresh needs (it describes a relation with its columns, constraints,
// indexes and owned sequences), so the event trigger need not call
// pg_event_trigger_ddl_commands(), which builds every command's identity strings: most of
// capture's cost inside a migration of CREATE TABLEs.
// And the drop guard above.
void on_object_access(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, void* arg) {
  if (previous_object_access) previous_object_access(access, class_id, object_id, sub_id, arg);
  if (access == OAT_DROP && (class_id == ExtensionRelationId || class_id == NamespaceRelationId) && in_migration())
    refuse_dropping_pg_migrate(class_id, object_id);
  if (access != OAT_POST_CREATE || class_id != RelationRelationId || sub_id != 0 || !in_migration()) return;
  const ObjectAccessPostCreate* create = static_cast<const ObjectAccessPostCreate*>(arg);
  if (create && create->is_internal) return;
  try {
    track_snapshot_object(RelationRelationId, object_id);
  } catch (...) {
    snapshot_must_be_whole();  // out of memory: the refresh describes everything instead
  }
}

}  // namespace

void install_object_access_hook() {
  previous_object_access = object_access_hook;
  object_access_hook = on_object_access;
}

bool created_relations_suffice(Node* parsetree) {
  // CREATE TABLE ... (not AS, not FOREIGN: other nodes) and CREATE INDEX change no object
  // but those they create; CREATE TABLE IF NOT EXISTS of an existing table creates nothing.
  return parsetree && (IsA(parsetree, CreateStmt) || IsA(parsetree, IndexStmt));
}

namespace {

// One row of pg_event_trigger_ddl_commands().
struct DdlCommand {
  CollectedCommand* command;
  Oid classid;
  Oid objid;
  int32 objsubid;
  bool in_extension;
  std::string object_type;
  std::optional<std::string> schema;
  std::optional<std::string> identity;
};

// pg_event_trigger_ddl_commands() called directly (pg::read_set_function): the same rows as
// the SQL function, without preparing, planning and running a query through SPI, which was
// most of capture's cost per DDL statement.
std::vector<DdlCommand> ddl_commands() {
  std::vector<DdlCommand> out;
  // Columns: classid, objid, objsubid, command_tag, object_type, schema_name,
  // object_identity, in_extension, command.
  pg::read_set_function(F_PG_EVENT_TRIGGER_DDL_COMMANDS, 9, [&](const Datum* v, const bool* isnull) {
    DdlCommand c;
    c.classid = isnull[0] ? InvalidOid : DatumGetObjectId(v[0]);
    c.objid = isnull[1] ? InvalidOid : DatumGetObjectId(v[1]);
    c.objsubid = isnull[2] ? 0 : DatumGetInt32(v[2]);
    auto text_of = [&](int i) {
      text* t = pg::call([&] { return DatumGetTextPP(v[i]); });
      return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
    };
    if (!isnull[4]) c.object_type = text_of(4);
    if (!isnull[5]) c.schema = text_of(5);
    if (!isnull[6]) c.identity = text_of(6);
    c.in_extension = !isnull[7] && DatumGetBool(v[7]);
    c.command = isnull[8] ? nullptr : reinterpret_cast<CollectedCommand*>(DatumGetPointer(v[8]));
    out.push_back(std::move(c));
  });
  return out;
}

}  // namespace
}  // namespace pgm::drift

PGM_FUNCTION(pgm_drift_capture_rewrite) {
  event_data(fcinfo, "migrate.drift_capture_rewrite");
  if (!capture_active()) return PointerGetDatum(nullptr);
  Oid relid = pg::call([] { return DatumGetObjectId(DirectFunctionCall1(pg_event_trigger_table_rewrite_oid, (Datum)0)); });
  int reason = pg::call([] { return DatumGetInt32(DirectFunctionCall1(pg_event_trigger_table_rewrite_reason, (Datum)0)); });
  for (Rewrite& r : pending_rewrites)
    if (r.relid == relid) {
      r.reason |= reason;
      return PointerGetDatum(nullptr);
    }
  pending_rewrites.push_back({relid, reason, utility_depth()});
  return PointerGetDatum(nullptr);
}

namespace {

// A migration must not change pg_migrate's own schema (register refuses such statements when
// they name it; this catches what reaches it through search_path or SET SCHEMA migrate): the
// statement fails, and with it the migration.
[[noreturn]] void refuse_change_to_own_schema(const std::string& object_type, const std::string& identity,
                                              const char* verb, bool out_of = false) {
  throw Error(sqlstate::kInsufficientPrivilege,
              fmt::format("a migration {} {} {} {} pg_migrate's schema {}", verb, object_type, identity,
                          out_of ? "out of" : "in", kOwnSchema),
              "pg_migrate's catalog is changed only by its own functions and ALTER EXTENSION pg_migrate UPDATE.",
              "Create the object in another schema (check the migration's search_path).");
}

// CREATE TABLE / CREATE INDEX, whose event-trigger path reads no command list: the relation
// created, or the table indexed, in pg_migrate's schema.
void refuse_relation_in_own_schema(Node* parsetree) {
  const RangeVar* rv = IsA(parsetree, CreateStmt) ? reinterpret_cast<CreateStmt*>(parsetree)->relation
                                                  : reinterpret_cast<IndexStmt*>(parsetree)->relation;
  const char* nsp = pg::call([&]() -> const char* {
    if (IsA(parsetree, CreateStmt)) {
      // The schema the table went to, as DefineRelation chose it: named, or search_path's
      // creation schema (known once the path is computed; looking the new table up by name and
      // reading its row was 3 % of a migration of one CREATE TABLE).
      if (rv->relpersistence == RELPERSISTENCE_TEMP) return nullptr;
      return rv->schemaname ? rv->schemaname : get_namespace_name(RangeVarGetCreationNamespace(rv));
    }
    Oid relid = RangeVarGetRelid(rv, NoLock, true);
    return OidIsValid(relid) ? get_namespace_name(get_rel_namespace(relid)) : nullptr;
  });
  if (nsp && std::strcmp(nsp, kOwnSchema) == 0)
    refuse_change_to_own_schema(IsA(parsetree, CreateStmt) ? "table" : "an index on table",
                                rv->relname ? rv->relname : "", "creates");
}

bool enables_or_disables_triggers(AlterTableType t) {
  switch (t) {
    case AT_EnableTrig: case AT_EnableAlwaysTrig: case AT_EnableReplicaTrig: case AT_DisableTrig:
    case AT_EnableTrigAll: case AT_DisableTrigAll: case AT_EnableTrigUser: case AT_DisableTrigUser:
      return true;
    default:
      return false;
  }
}

}  // namespace

PGM_FUNCTION(pgm_drift_capture_ddl) {
  EventTriggerData* trig = event_data(fcinfo, "migrate.drift_capture_ddl");
  std::optional<std::set<Oid>> extensions_before = retire_notes(trig->parsetree);
  if (in_migration()) {
    // Not drift: what the migration touched, for the snapshot recorded after it.
    pending_rewrites.clear();
    if (drift::created_relations_suffice(trig->parsetree)) {
      refuse_relation_in_own_schema(trig->parsetree);
      return PointerGetDatum(nullptr);
    }
    for (const DdlCommand& c : ddl_commands()) {
      if (c.in_extension) continue;
      if (c.schema == std::string(kOwnSchema))
        refuse_change_to_own_schema(c.object_type, c.identity.value_or(c.object_type), "changes");
      // SET SCHEMA out of pg_migrate's schema: the command names the old schema.
      if (c.command && c.command->type == SCT_Simple && c.command->parsetree &&
          IsA(c.command->parsetree, AlterObjectSchemaStmt) &&
          c.command->d.simple.secondaryObject.classId == NamespaceRelationId) {
        Oid old_nsp = c.command->d.simple.secondaryObject.objectId;
        const char* old_name = pg::call([&] { return get_namespace_name(old_nsp); });
        if (old_name && std::strcmp(old_name, kOwnSchema) == 0)
          refuse_change_to_own_schema(c.object_type, c.identity.value_or(c.object_type), "moves", true);
      }
      CollectedCommand* cmd = c.command;
      if (cmd && cmd->type == SCT_Grant) {
        Oid cls = grant_class(cmd->d.grant.istmt->objtype);
        ListCell* lc;
        if (OidIsValid(cls)) foreach (lc, cmd->d.grant.istmt->objects) drift::track_snapshot_object(cls, lfirst_oid(lc));
        continue;
      }
      drift::track_snapshot_object(c.classid, c.objid);
      if (cmd && cmd->type == SCT_AlterTable) {  // ATTACH/DETACH PARTITION name the partition
        ListCell* lc;
        foreach (lc, cmd->d.alterTable.subcmds) {
          CollectedATSubcmd* sub = static_cast<CollectedATSubcmd*>(lfirst(lc));
          drift::track_snapshot_object(sub->address.classId, sub->address.objectId);
          AlterTableCmd* at = sub->parsetree && IsA(sub->parsetree, AlterTableCmd)
                                  ? reinterpret_cast<AlterTableCmd*>(sub->parsetree) : nullptr;
          if (at && attaches_or_detaches(at->subtype) && at->def && IsA(at->def, PartitionCmd) &&
              reinterpret_cast<PartitionCmd*>(at->def)->name) {
            RangeVar* name = reinterpret_cast<PartitionCmd*>(at->def)->name;
            Oid partition = pg::call([&] { return RangeVarGetRelid(name, NoLock, true); });
            drift::track_snapshot_object(RelationRelationId, partition);
            // Attached, a foreign key of the partition matching the parent's becomes part of
            // it (no entry of its own), and so may a trigger; detached, the partition's copies
            // of its parent's triggers are dropped (internally: no sql_drop event).
            drift::track_snapshot_relation_parts(partition, {"constraint ", "trigger "});
          }
          if (at && enables_or_disables_triggers(at->subtype)) {
            // A partition's trigger has an entry only while it fires otherwise than its
            // parent's: enabling or disabling may remove it, here and in every partition below.
            Oid relid = cmd->d.alterTable.objectId;
            List* below = pg::call([&] { return find_all_inheritors(relid, NoLock, nullptr); });
            ListCell* rc;
            foreach (rc, below) drift::track_snapshot_relation_parts(lfirst_oid(rc), {"trigger "});
          }
        }
      }
    }
    return PointerGetDatum(nullptr);
  }
  // REFRESH MATERIALIZED VIEW fires the event but changes data, not the schema: a routine
  // refresh job is not drift.
  Capture mode = trig->tag == CMDTAG_REFRESH_MATERIALIZED_VIEW ? Capture::kOff : capture_mode();
  if (mode == Capture::kOff) {
    pending_rewrites.clear();
    return PointerGetDatum(nullptr);
  }
  // The rewrites of this command, not of one it is nested in (a volatile default's function
  // running DDL while the outer ALTER TABLE rewrites): those wait for that command's end.
  std::vector<Rewrite> rewrites;
  {
    int depth = utility_depth();
    std::vector<Rewrite> outer;
    for (const Rewrite& r : pending_rewrites) (r.depth >= depth ? rewrites : outer).push_back(r);
    pending_rewrites.swap(outer);
  }
  std::string tag = event_tag(trig);
  StatementText statement = current_statement(trig->parsetree);
  // The session's settings, before the OwnerScope that reading the exclusions may open pins
  // them: the identities below were quoted, and the statement is scanned, under these.
  const bool standard_strings = standard_conforming_strings;
  const bool quotes_all = quote_all_identifiers;

  std::string role = catalog::current_role_name();  // before any owner switch
  LazySpi spi;
  std::vector<Target> targets;
  for (const DdlCommand& c : ddl_commands()) {
    if (c.in_extension) continue;
    CollectedCommand* cmd = c.command;
    if (cmd && cmd->type == SCT_Grant) {
      InternalGrant* grant = cmd->d.grant.istmt;
      Oid cls = grant_class(grant->objtype);
      ListCell* lc;
      if (OidIsValid(cls)) {
        foreach (lc, grant->objects) add_target(targets, {cls, lfirst_oid(lc), 0, c.object_type, {}});
      } else {
        add_target(targets, {InvalidOid, InvalidOid, 0, c.object_type, {}});
      }
      continue;
    }
    std::string detail = cmd && cmd->type == SCT_AlterTable ? alter_table_detail(cmd) : std::string();
    add_target(targets, {c.classid, c.objid, c.objsubid, c.object_type, detail, cmd, c.schema, c.identity});
    // The partition an ATTACH / DETACH PARTITION changes has a row of its own (the command
    // reports only the partitioned table): the log then names it, and an acknowledgement that
    // leaves the row pending keeps the partition's difference.
    if (cmd && cmd->type == SCT_AlterTable) {
      ListCell* sc;
      foreach (sc, cmd->d.alterTable.subcmds) {
        CollectedATSubcmd* sub = static_cast<CollectedATSubcmd*>(lfirst(sc));
        AlterTableCmd* at = sub->parsetree && IsA(sub->parsetree, AlterTableCmd) ? reinterpret_cast<AlterTableCmd*>(sub->parsetree) : nullptr;
        RangeVar* partition = at ? partition_named(at) : nullptr;
        if (!partition) continue;
        Oid relid = pg::call([&] { return RangeVarGetRelid(partition, NoLock, true); });
        if (OidIsValid(relid))
          add_target(targets, {RelationRelationId, relid, 0, "table",
                               fmt::format("{} of {}", subcommand_name(at->subtype), c.identity.value_or(""))});
      }
    }
  }
  // CREATE EXTENSION ... CASCADE: the extensions it installed besides the named one.
  if (extensions_before && trig->parsetree && IsA(trig->parsetree, CreateExtensionStmt)) {
    for (Oid e : installed_extensions()) {
      bool named = std::any_of(targets.begin(), targets.end(), [&](const Target& t) {
        return t.classid == ExtensionRelationId && t.objid == e;
      });
      if (!extensions_before->count(e) && !named)
        add_target(targets, {ExtensionRelationId, e, 0, "extension", "installed by CASCADE"});
    }
  }
  for (const Rewrite& r : rewrites) {
    bool found = false;
    for (Target& t : targets)
      if (t.classid == RelationRelationId && t.objid == r.relid && t.objsubid == 0) {
        t.detail = t.detail.empty() ? rewrite_reason(r.reason) : t.detail + "; " + rewrite_reason(r.reason);
        found = true;
      }
    if (!found) add_target(targets, {RelationRelationId, r.relid, 0, "table", rewrite_reason(r.reason)});
  }
  if (targets.empty()) return PointerGetDatum(nullptr);

  const std::vector<drift::Exclusion>& exclusions = load_exclusions(spi);
  std::vector<DriftRow> rows;
  for (const Target& t : targets) {
    if (!OidIsValid(t.classid)) {  // ALTER DEFAULT PRIVILEGES: no object to name
      std::string type = t.object_type;
      std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
      rows.push_back({type, std::nullopt, std::nullopt, t.detail});
      continue;
    }
    // An object in a plain schema, as the function reported it, is recorded as reported: its
    // identity is quoted as identify() would quote it, and nothing more about it is needed.
    // (Anything else is identified again: temporary objects, pg_migrate's own, objects without
    // a schema, whose scope comes from their name parts, exclusions, quote_all_identifiers.)
    const bool renames = t.command && t.command->parsetree &&
                         (IsA(t.command->parsetree, RenameStmt) || IsA(t.command->parsetree, AlterObjectSchemaStmt));
    if (t.schema && t.identity && exclusions.empty() && !quotes_all && !drift::is_temp_schema(*t.schema) &&
        *t.schema != kOwnSchema && t.object_type != "schema" && !renames) {
      rows.push_back({t.object_type, t.identity, t.schema, t.detail});
      continue;
    }
    Identified id = identify(t.classid, t.objid, t.objsubid);
    if (!id.found || id.temp_namespace) continue;
    // CREATE EXTENSION / ALTER EXTENSION ... UPDATE of pg_migrate itself (adding or dropping
    // a member is recorded).
    if (t.classid == ExtensionRelationId && id.identity == "pg_migrate" &&
        !(t.command && t.command->parsetree && IsA(t.command->parsetree, AlterExtensionContentsStmt)))
      continue;
    drift::Scope scope = drift::object_scope(id.type, id.schema, id.names, id.name);
    if (id.type == "index" && t.classid == RelationRelationId)
      if (std::optional<std::string> table = index_table_name(t.objid)) scope.name = table;
    std::string detail = t.detail;
    // Renamed or moved: the name it had, so the log names it under both and an
    // acknowledgement that leaves the row pending keeps the differences of both
    // (drift::previous_identity reads it back).
    std::optional<drift::Scope> previous = scope_before(t.command, scope);
    std::string was;
    if (!watched(exclusions, scope)) {
      // An object that left the watched space (renamed into an excluded name, moved into an
      // excluded schema) is recorded: what happens to it next no longer is.
      if (!previous || !watched(exclusions, *previous)) continue;
      was = fmt::format("left the watched objects (was {})", describe_scope(*previous));
    } else if (previous && (previous->schema != scope.schema || previous->name != scope.name)) {
      bool set_schema = t.command && t.command->parsetree && IsA(t.command->parsetree, AlterObjectSchemaStmt);
      was = fmt::format("{} (was {})", set_schema || (scope.name && previous->name == scope.name) ? "moved" : "renamed",
                        previous->name ? describe_scope(*previous) : quoted(previous->schema.value_or("")));
    } else if (std::optional<std::string> old = renamed_part(t.command, id)) {
      was = fmt::format("renamed (was {})", *old);
    }
    if (!was.empty()) detail = detail.empty() ? was : detail + "; " + was;
    rows.push_back({id.type, id.identity, scope.schema, detail});
  }
  insert_rows("ddl_command_end", role, tag, statement, standard_strings, std::move(rows), mode, spi);
  return PointerGetDatum(nullptr);
}

namespace pgm::drift {
namespace {

// What PostgreSQL runs without firing event triggers, and the ProcessUtility hook records.
enum class Unfired { kNone, kReassignOwned, kEventTrigger, kExplainCreate, kClusterOn };

// An EXPLAIN option's boolean as defGetBoolean() reads it, without raising an error (called
// from the hook's frame before EXPLAIN checks its options: a bad value reads false here, and
// EXPLAIN then refuses it).
bool option_true(const DefElem* opt) {
  if (!opt->arg) return true;
#if PG_VERSION_NUM >= 150000
  if (IsA(opt->arg, Boolean)) return boolVal(opt->arg);
#endif
  if (IsA(opt->arg, Integer)) return intVal(opt->arg) != 0;
  bool value = false;
  if (IsA(opt->arg, String)) return parse_bool(strVal(opt->arg), &value) && value;
  return false;
}

// EXPLAIN ANALYZE of CREATE TABLE AS, SELECT INTO or CREATE MATERIALIZED VIEW creates the
// relation through the executor, not as a utility command. Plain C, raises nothing.
CreateTableAsStmt* explain_analyze_create(Node* n) {
  if (!n || !IsA(n, ExplainStmt)) return nullptr;
  ExplainStmt* e = reinterpret_cast<ExplainStmt*>(n);
  bool analyze = false;
  ListCell* lc;
  foreach (lc, e->options) {
    DefElem* opt = static_cast<DefElem*>(lfirst(lc));
    if (strcmp(opt->defname, "analyze") == 0) analyze = option_true(opt);
  }
  if (!analyze || !e->query || !IsA(e->query, Query)) return nullptr;
  Query* q = reinterpret_cast<Query*>(e->query);
  if (q->commandType != CMD_UTILITY || !q->utilityStmt || !IsA(q->utilityStmt, CreateTableAsStmt)) return nullptr;
  return reinterpret_cast<CreateTableAsStmt*>(q->utilityStmt);
}

Unfired unfired_kind(Node* n) {
  if (!n) return Unfired::kNone;
  switch (nodeTag(n)) {
    case T_ReassignOwnedStmt:
      return Unfired::kReassignOwned;
    case T_CreateEventTrigStmt:
    case T_AlterEventTrigStmt:
      return Unfired::kEventTrigger;
    case T_DropStmt:
      return reinterpret_cast<DropStmt*>(n)->removeType == OBJECT_EVENT_TRIGGER ? Unfired::kEventTrigger : Unfired::kNone;
    case T_RenameStmt:
      return reinterpret_cast<RenameStmt*>(n)->renameType == OBJECT_EVENT_TRIGGER ? Unfired::kEventTrigger : Unfired::kNone;
    case T_AlterOwnerStmt:
      return reinterpret_cast<AlterOwnerStmt*>(n)->objectType == OBJECT_EVENT_TRIGGER ? Unfired::kEventTrigger
                                                                                      : Unfired::kNone;
    case T_ExplainStmt:
      return explain_analyze_create(n) ? Unfired::kExplainCreate : Unfired::kNone;
    case T_ClusterStmt:  // CLUSTER t USING i marks i as the table's clustered index (pg_index)
      return reinterpret_cast<ClusterStmt*>(n)->relation && reinterpret_cast<ClusterStmt*>(n)->indexname
                 ? Unfired::kClusterOn
                 : Unfired::kNone;
    default:
      return Unfired::kNone;
  }
}

// Plain C: the index `relid` is clustered on, or InvalidOid.
Oid clustered_index(Oid relid) {
  if (!OidIsValid(relid)) return InvalidOid;
  Oid found = InvalidOid;
  Relation rel = table_open(IndexRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
  SysScanDesc scan = systable_beginscan(rel, IndexIndrelidIndexId, true, nullptr, 1, &key);
  HeapTuple tup;
  while (HeapTupleIsValid(tup = systable_getnext(scan)))
    if (((Form_pg_index)GETSTRUCT(tup))->indisclustered) found = ((Form_pg_index)GETSTRUCT(tup))->indexrelid;
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  return found;
}

std::string role_spec_name(RoleSpec* r) {
  const char* name = pg::call([&] { return get_rolespec_name(r); });
  return quoted(name);
}

// The rows of a statement no event trigger fires for (see unfired_kind).
std::vector<DriftRow> unfired_rows(Node* n, const UnfiredBefore& before, LazySpi& spi) {
  std::vector<DriftRow> rows;
  auto event_trigger = [&](const char* name, std::string detail) {
    rows.push_back({"event trigger", quoted(name), std::nullopt, std::move(detail)});
  };
  switch (nodeTag(n)) {
    case T_ReassignOwnedStmt: {
      ReassignOwnedStmt* r = reinterpret_cast<ReassignOwnedStmt*>(n);
      std::string to = role_spec_name(r->newrole);
      ListCell* lc;
      int i = 0;
      foreach (lc, r->roles) {
        if (i >= 64 || (before.existing & (uint64(1) << i)))  // (a role that owned nothing here: no change)
          rows.push_back({"role", role_spec_name(static_cast<RoleSpec*>(lfirst(lc))), std::nullopt,
                          fmt::format("REASSIGN OWNED: what it owned in this database now belongs to {}", to)});
        ++i;
      }
      break;
    }
    case T_CreateEventTrigStmt:
      event_trigger(reinterpret_cast<CreateEventTrigStmt*>(n)->trigname, "created");
      break;
    case T_AlterEventTrigStmt: {
      AlterEventTrigStmt* a = reinterpret_cast<AlterEventTrigStmt*>(n);
      const char* how = a->tgenabled == TRIGGER_DISABLED            ? "DISABLE"
                        : a->tgenabled == TRIGGER_FIRES_ON_REPLICA ? "ENABLE REPLICA"
                        : a->tgenabled == TRIGGER_FIRES_ALWAYS     ? "ENABLE ALWAYS"
                                                                   : "ENABLE";
      event_trigger(a->trigname, how);
      break;
    }
    case T_DropStmt: {
      ListCell* lc;
      int i = 0;
      foreach (lc, reinterpret_cast<DropStmt*>(n)->objects) {
        if (i >= 64 || (before.existing & (uint64(1) << i))) event_trigger(strVal(lfirst(lc)), "dropped");
        ++i;
      }
      break;
    }
    case T_RenameStmt: {
      RenameStmt* r = reinterpret_cast<RenameStmt*>(n);
      event_trigger(r->newname, fmt::format("renamed (was {})", quoted(strVal(r->object))));
      break;
    }
    case T_AlterOwnerStmt: {
      AlterOwnerStmt* a = reinterpret_cast<AlterOwnerStmt*>(n);
      event_trigger(strVal(a->object), fmt::format("owner changed to {}", role_spec_name(a->newowner)));
      break;
    }
    case T_ClusterStmt: {
      RangeVar* rv = reinterpret_cast<ClusterStmt*>(n)->relation;
      Oid relid = pg::call([&] { return RangeVarGetRelid(rv, NoLock, true); });
      Oid now = pg::call([&] { return clustered_index(relid); });
      if (!OidIsValid(now) || now == before.relation) break;  // clustered on that index before
      Identified id = identify(RelationRelationId, relid, 0);
      if (!id.found || id.temp_namespace) break;
      drift::Scope scope = drift::object_scope(id.type, id.schema, id.names, id.name);
      if (!watched(load_exclusions(spi), scope)) break;
      const char* index = pg::call([&] { return get_rel_name(now); });
      const char* was = OidIsValid(before.relation) ? pg::call([&] { return get_rel_name(before.relation); }) : nullptr;
      rows.push_back({id.type, id.identity, scope.schema,
                      fmt::format("clustered on index {} (was {})", quoted(index ? index : "?"),
                                  was ? quoted(was) : std::string("none"))});
      break;
    }
    case T_ExplainStmt: {
      CreateTableAsStmt* ctas = explain_analyze_create(n);
      RangeVar* rel = ctas->into->rel;
      Oid relid = pg::call([&] { return RangeVarGetRelid(rel, NoLock, true); });
      if (!OidIsValid(relid) || relid == before.relation) break;  // IF NOT EXISTS of an existing one
      Identified id = identify(RelationRelationId, relid, 0);
      if (!id.found || id.temp_namespace) break;
      drift::Scope scope = drift::object_scope(id.type, id.schema, id.names, id.name);
      if (!watched(load_exclusions(spi), scope)) break;
      rows.push_back({id.type, id.identity, scope.schema, "created by EXPLAIN ANALYZE"});
      break;
    }
    default:
      break;
  }
  return rows;
}

// Set by record_unfired() for its entry point (pg::invoke takes a function, not a closure).
Node* unfired_statement = nullptr;
UnfiredBefore unfired_state;

Datum record_unfired_impl(FunctionCallInfo) {
  Node* n = unfired_statement;
  Capture mode = capture_mode();
  if (mode == Capture::kOff) return (Datum)0;
  std::string tag;
  if (CreateTableAsStmt* ctas = explain_analyze_create(n))
    tag = GetCommandTagName(pg::call([&] { return CreateCommandTag(reinterpret_cast<Node*>(ctas)); }));
  else
    tag = GetCommandTagName(pg::call([&] { return CreateCommandTag(n); }));
  StatementText statement = current_statement(n);
  const bool standard_strings = standard_conforming_strings;
  std::string role = catalog::current_role_name();
  LazySpi spi;
  std::vector<DriftRow> rows = unfired_rows(n, unfired_state, spi);
  insert_rows("ddl_command_end", role, tag, statement, standard_strings, std::move(rows), mode, spi);
  return (Datum)0;
}

}  // namespace

// Plain C: whether `role` owns an object in this database (pg_shdepend; objects of the
// bootstrap superuser are not recorded there, and REASSIGN OWNED refuses that role anyway).
bool owns_objects_here(Oid role) {
  if (!OidIsValid(role)) return false;
  Relation shdepend = table_open(SharedDependRelationId, AccessShareLock);
  ScanKeyData key[2];
  ScanKeyInit(&key[0], Anum_pg_shdepend_refclassid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(AuthIdRelationId));
  ScanKeyInit(&key[1], Anum_pg_shdepend_refobjid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(role));
  SysScanDesc scan = systable_beginscan(shdepend, SharedDependReferenceIndexId, true, nullptr, 2, key);
  bool found = false;
  HeapTuple tup;
  while (!found && HeapTupleIsValid(tup = systable_getnext(scan))) {
    Form_pg_shdepend d = (Form_pg_shdepend)GETSTRUCT(tup);
    found = d->dbid == MyDatabaseId && d->deptype == SHARED_DEPENDENCY_OWNER;
  }
  systable_endscan(scan);
  table_close(shdepend, AccessShareLock);
  return found;
}

UnfiredBefore unfired_before(Node* parsetree) {
  UnfiredBefore out;
  if (IsA(parsetree, ReassignOwnedStmt)) {
    ListCell* lc;
    int i = 0;
    foreach (lc, reinterpret_cast<ReassignOwnedStmt*>(parsetree)->roles) {
      if (i < 64 && owns_objects_here(get_rolespec_oid(static_cast<RoleSpec*>(lfirst(lc)), true)))
        out.existing |= uint64(1) << i;
      ++i;
    }
    return out;
  }
  if (IsA(parsetree, ClusterStmt)) {
    // (relation: the index the table was clustered on before)
    out.relation = clustered_index(RangeVarGetRelid(reinterpret_cast<ClusterStmt*>(parsetree)->relation, NoLock, true));
    return out;
  }
  if (CreateTableAsStmt* ctas = explain_analyze_create(parsetree)) {
    if (ctas->into && ctas->into->rel) out.relation = RangeVarGetRelid(ctas->into->rel, NoLock, true);
  } else if (IsA(parsetree, DropStmt) && reinterpret_cast<DropStmt*>(parsetree)->removeType == OBJECT_EVENT_TRIGGER) {
    ListCell* lc;
    int i = 0;
    foreach (lc, reinterpret_cast<DropStmt*>(parsetree)->objects) {
      if (i < 64 && OidIsValid(get_event_trigger_oid(strVal(lfirst(lc)), true))) out.existing |= uint64(1) << i;
      ++i;
    }
  }
  return out;
}

bool fires_no_event_trigger(Node* parsetree) { return unfired_kind(parsetree) != Unfired::kNone; }

void record_unfired(Node* parsetree, UnfiredBefore before) {
  unfired_statement = parsetree;
  unfired_state = before;
  pg::invoke(record_unfired_impl, nullptr);
}

}  // namespace pgm::drift

PGM_FUNCTION(pgm_drift_capture_drop) {
  EventTriggerData* trig = event_data(fcinfo, "migrate.drift_capture_drop");
  bool migrating = in_migration();  // not drift: tracked for the snapshot after the migration
  Capture mode = migrating ? Capture::kOff : capture_mode();
  if (mode == Capture::kOff && !migrating) return PointerGetDatum(nullptr);
  std::string tag = event_tag(trig);
  StatementText statement = current_statement(trig->parsetree);
  const bool standard_strings = standard_conforming_strings;  // (before any OwnerScope)
  static pg::Query dropped_q{
      "SELECT classid, objid, objsubid, original, normal, is_temporary, object_type, schema_name, "
      "object_name, object_identity, address_names, address_args "
      "FROM pg_catalog.pg_event_trigger_dropped_objects()"};
  std::string role = catalog::current_role_name();  // before the owner switch
  const bool quotes_all = quote_all_identifiers;      // (pinned off for pg_migrate's own SQL)
  LazySpi spi;
  spi.need();
  std::vector<drift::DroppedObject> dropped;
  std::vector<std::optional<std::string>> schemas, object_names, identities;
  uint64 n = dropped_q.run();
  for (uint64 i = 0; i < n; ++i) {
    drift::DroppedObject d;
    bool isnull;
    d.classid = DatumGetObjectId(pg::datum_value(i, 1, &isnull));
    d.objid = DatumGetObjectId(pg::datum_value(i, 2, &isnull));
    d.objsubid = DatumGetInt32(pg::datum_value(i, 3, &isnull));
    d.original = pg::bool_value(i, 4);
    d.normal = pg::bool_value(i, 5);
    d.is_temporary = pg::bool_value(i, 6);
    d.object_type = pg::text_value(i, 7);
    Datum names = pg::datum_value(i, 11, &isnull);
    if (!isnull) {
      Datum* elems = nullptr;
      bool* nulls = nullptr;
      int count = 0;
      pg::call([&] {
        deconstruct_array(DatumGetArrayTypeP(names), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
      });
      for (int k = 0; k < count; ++k) {
        Datum e = elems[k];
        d.address_names.push_back(nulls[k] ? std::string() : std::string(pg::call([&] { return TextDatumGetCString(e); })));
      }
    }
    // A domain constraint's name is in address_args: {domain} + {constraint}.
    if (migrating && d.object_type == "domain constraint" && !pg::is_null(i, 12)) {
      Datum args = pg::datum_value(i, 12, &isnull);
      Datum* elems = nullptr;
      bool* nulls = nullptr;
      int count = 0;
      pg::call([&] {
        deconstruct_array(DatumGetArrayTypeP(args), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &count);
      });
      if (count > 0 && !nulls[0]) {
        Datum e = elems[0];
        d.address_names.push_back(std::string(pg::call([&] { return TextDatumGetCString(e); })));
      }
    }
    schemas.push_back(pg::is_null(i, 8) ? std::nullopt : std::optional<std::string>(pg::text_value(i, 8)));
    object_names.push_back(pg::is_null(i, 9) ? std::nullopt : std::optional<std::string>(pg::text_value(i, 9)));
    identities.push_back(pg::is_null(i, 10) ? std::nullopt : std::optional<std::string>(pg::text_value(i, 10)));
    dropped.push_back(std::move(d));
  }
  pg::free_result();
  if (migrating) {
    // What the statement drops, or a CASCADE takes along; not what goes with it internally (a
    // foreign key's triggers on a referenced table of pg_migrate's).
    for (size_t i = 0; i < dropped.size(); ++i)
      if (schemas[i] == std::string(kOwnSchema) && (dropped[i].original || dropped[i].normal))
        refuse_change_to_own_schema(dropped[i].object_type, identities[i].value_or(dropped[i].object_type), "drops");
    for (const drift::DroppedObject& d : dropped)
      if (!d.is_temporary) drift::track_snapshot_drop(d.object_type, d.address_names);
    return PointerGetDatum(nullptr);
  }
  const StartNotes* notes = noted_for(trig->parsetree);
  for (drift::DroppedObject& d : dropped)
    d.extension_member = notes && notes->extension_members.count({d.classid, d.objid}) > 0;
  std::vector<size_t> keep = drift::dropped_to_record(dropped, notes && notes->extension_members_known);
  if (keep.empty()) return PointerGetDatum(nullptr);
  // (copied: the queries below must not find `notes` moved by another statement's notes)
  const std::vector<DroppedIndexTable> index_tables = notes ? notes->dropped_index_tables : std::vector<DroppedIndexTable>{};
  const std::vector<drift::Exclusion>& exclusions = load_exclusions(spi);
  std::vector<DriftRow> rows;
  for (size_t i : keep) {
    const drift::DroppedObject& d = dropped[i];
    drift::Scope scope = drift::object_scope(d.object_type, schemas[i], d.address_names, object_names[i]);
    if (d.object_type == "index" && d.address_names.size() == 2 && !exclusions.empty()) {
      bool noted = false;
      for (const DroppedIndexTable& x : index_tables)
        if (x.schema == d.address_names[0] && x.index == d.address_names[1]) {
          scope.name = x.table;
          noted = true;
        }
      // Dropped by a cascade (with the function of an expression index...): its table as the
      // reference snapshot recorded it.
      if (!noted && identities[i])
        if (std::optional<std::string> table = recorded_index_table(quotes_all ? plain_quoted(*identities[i]) : *identities[i]))
          scope.name = table;
    }
    if (!watched(exclusions, scope)) continue;
    std::optional<std::string> identity = identities[i];
    if (identity && quotes_all) identity = plain_quoted(*identity);
    rows.push_back({d.object_type, identity, scope.schema, d.original ? "dropped" : "dropped by cascade"});
  }
  insert_rows("sql_drop", role, tag, statement, standard_strings, std::move(rows), mode, spi);
  return PointerGetDatum(nullptr);
}

