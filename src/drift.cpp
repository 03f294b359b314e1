// Drift (README "Drift"): event triggers recording DDL run outside migrations into
// migrate.drift with the text of each statement, recorded schema snapshots, schema_diff(),
// acknowledgements and the CI status.
//
// Statement text: a ProcessUtility hook keeps a stack of the utility statements running in
// this backend (query string + location); the innermost one is the statement an event trigger
// fires for. The hook is active once the library is loaded: from backend start when it is in
// shared_preload_libraries or session_preload_libraries, otherwise from the first event
// trigger call (or pg_migrate function) of the session. Until then the trigger re-parses
// debug_query_string and picks the statement whose parse tree equal()s the event's.
#include <algorithm>
#include <optional>

#include "xact.hpp"
#include "catalog.hpp"
#include "core/drift_rules.hpp"
#include "drift_hooks.hpp"
#include "module_init.hpp"
#include "pg/spi.hpp"
#include "pg/srf.hpp"
#include "settings.hpp"

extern "C" {
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_language.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "tcop/deparse_utility.h"
#include "utils/aclchk_internal.h"
}

namespace pgm {
namespace {

// pg_migrate.drift_capture and pg_migrate.drift_snapshots_kept, defined in src/settings.cpp.
bool& capture_setting = settings::drift_capture;
int& snapshots_kept = settings::drift_snapshots_kept;

// ---------------------------------------------------------------------------------------
// The statement stack kept by the ProcessUtility hook. Plain data: the hook frame holds no
// C++ object, so PostgreSQL errors pass through it safely.
struct StatementFrame {
  const char* query;
  int location;
  int length;
};
constexpr int kMaxFrames = 64;
StatementFrame frames[kMaxFrames];
int frame_depth = 0;
bool loaded_at_backend_start = false;
ProcessUtility_hook_type previous_process_utility = nullptr;

// PostgreSQL 14+ signature (pg_migrate supports 14-17).
void drift_process_utility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                           ProcessUtilityContext context, ParamListInfo params,
                           QueryEnvironment* query_env, DestReceiver* dest, QueryCompletion* qc) {
  int saved_depth = frame_depth;
  if (frame_depth < kMaxFrames)
    frames[frame_depth] = {query_string, pstmt->stmt_location, pstmt->stmt_len};
  frame_depth++;
  PG_TRY();
  {
    if (previous_process_utility)
      previous_process_utility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
    else
      standard_ProcessUtility(pstmt, query_string, read_only_tree, context, params, query_env, dest, qc);
  }
  PG_FINALLY();
  { frame_depth = saved_depth; }
  PG_END_TRY();
}

struct StatementText {
  std::optional<std::string> text;
  const char* source = nullptr;  // hook, parse, enclosing, query
};

// The parsed form of the last client query string the fallback looked at.
struct ParsedQuery {
  std::string query;
  struct Stmt {
    int location;
    int length;
    Node* tree;
  };
  std::vector<Stmt> stmts;
  bool valid = false;
};
ParsedQuery parsed_cache;
MemoryContext parse_context = nullptr;

void parse_client_query(const std::string& query) {
  if (parsed_cache.valid && parsed_cache.query == query) return;
  parsed_cache.valid = false;
  parsed_cache.stmts.clear();
  if (!parse_context)
    parse_context = pg::call([] {
      return AllocSetContextCreate(TopMemoryContext, "pg_migrate drift parse", ALLOCSET_SMALL_SIZES);
    });
  MemoryContext cxt = parse_context;
  pg::call([&] { MemoryContextReset(cxt); });
  const char* q = query.c_str();
  List* raw = nullptr;
  {
    // The string was parsed once already; a failure now (changed settings) just means no match.
    pg::SubTransaction sub;
    try {
      raw = pg::call([&] {
        MemoryContext old = MemoryContextSwitchTo(cxt);
#if PG_VERSION_NUM >= 140000
        List* l = raw_parser(q, RAW_PARSE_DEFAULT);
#else
        List* l = raw_parser(q);
#endif
        MemoryContextSwitchTo(old);
        return l;
      });
      sub.commit();
    } catch (pg::PgError&) {
      sub.rollback();
      raw = nullptr;
    }
  }
  ListCell* lc;
  foreach (lc, raw) {
    RawStmt* rs = lfirst_node(RawStmt, lc);
    parsed_cache.stmts.push_back({rs->stmt_location, rs->stmt_len, rs->stmt});
  }
  parsed_cache.query = query;
  parsed_cache.valid = true;
}

// Texts found at ddl_command_start for statements the hook did not see (the library was
// loaded by that very statement): the parse tree is still pristine then, so equal() matches.
// ddl_command_end and sql_drop get the same tree pointer.
struct StashedText {
  Node* tree;
  StatementText text;
};
std::vector<StashedText> stash;

StatementText text_from_client_query(Node* parsetree);

bool hook_sees_statement() { return frame_depth > 0 && frame_depth <= kMaxFrames && frames[frame_depth - 1].query; }

void stash_statement(Node* parsetree) {
  if (hook_sees_statement() || !parsetree) return;
  if (stash.size() >= 16) stash.clear();
  stash.push_back({parsetree, text_from_client_query(parsetree)});
}

StatementText current_statement(Node* parsetree) {
  if (hook_sees_statement()) {
    const StatementFrame& f = frames[frame_depth - 1];
    return {drift::statement_text(f.query, f.location, f.length), "hook"};
  }
  for (auto it = stash.rbegin(); it != stash.rend(); ++it)
    if (it->tree == parsetree) return it->text;
  return text_from_client_query(parsetree);
}

StatementText text_from_client_query(Node* parsetree) {
  const char* client = debug_query_string;
  if (!client) return {};
  std::string query(client);
  parse_client_query(query);
  if (parsetree) {
    for (const ParsedQuery::Stmt& s : parsed_cache.stmts) {
      Node* tree = s.tree;
      bool same = pg::call([&] { return equal(tree, parsetree); });
      if (same) return {drift::statement_text(client, s.location, s.length), "parse"};
    }
  }
  if (parsed_cache.stmts.size() == 1)
    return {drift::statement_text(client, parsed_cache.stmts[0].location, parsed_cache.stmts[0].length), "enclosing"};
  return {drift::statement_text(client, 0, 0), "query"};
}

// ---------------------------------------------------------------------------------------
// Capture.

// Tables rewritten by the running statement (table_rewrite event), reported with its row.
struct Rewrite {
  Oid relid;
  int reason;
};
std::vector<Rewrite> pending_rewrites;

void on_xact(XactEvent event, void*) {
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_ABORT) {
    pending_rewrites.clear();
    // The stashed parse trees belong to statements of this transaction; their memory is gone
    // afterwards and a later tree may get the same address.
    stash.clear();
  }
}
void on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
  if (event == SUBXACT_EVENT_ABORT_SUB) pending_rewrites.clear();
}

bool drift_log_present() {
  return pg::call([] {
    Oid nsp = get_namespace_oid("migrate", true);
    return OidIsValid(nsp) && OidIsValid(get_relname_relid("drift", nsp));
  });
}

// pg_dump and pg_restore scripts run with check_function_bodies off and an empty search_path.
// The objects a restore creates are the dumped schema, not drift (and capturing them would
// collide with the dumped drift rows restored right after).
bool restoring_dump() {
  return !check_function_bodies && namespace_search_path != nullptr && namespace_search_path[0] == '\0';
}

bool capture_active() {
  return capture_setting && !in_migration() && !creating_extension && !restoring_dump() &&
         drift_log_present();
}

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
    case AT_EnableTrig: case AT_EnableAlwaysTrig: case AT_EnableReplicaTrig: case AT_EnableTrigAll:
    case AT_EnableTrigUser: return "ENABLE TRIGGER";
    case AT_DisableTrig: case AT_DisableTrigAll: case AT_DisableTrigUser: return "DISABLE TRIGGER";
    case AT_EnableRule: case AT_EnableAlwaysRule: case AT_EnableReplicaRule: return "ENABLE RULE";
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

std::string object_identity(const ObjectAddress& address) {
  if (!OidIsValid(address.classId) || !OidIsValid(address.objectId)) return {};
  const ObjectAddress* a = &address;
  char* id = pg::call([&] {
#if PG_VERSION_NUM >= 140000
    return getObjectIdentity(a, true);
#else
    return getObjectIdentity(a);
#endif
  });
  return id ? std::string(id) : std::string();
}

// "ADD COLUMN public.t.c, SET NOT NULL email" for ALTER TABLE's subcommands.
std::string alter_table_detail(CollectedCommand* cmd) {
  std::vector<std::string> parts;
  ListCell* lc;
  foreach (lc, cmd->d.alterTable.subcmds) {
    CollectedATSubcmd* sub = static_cast<CollectedATSubcmd*>(lfirst(lc));
    if (!sub->parsetree || !IsA(sub->parsetree, AlterTableCmd)) continue;
    AlterTableCmd* at = reinterpret_cast<AlterTableCmd*>(sub->parsetree);
    const char* name = subcommand_name(at->subtype);
    if (!name) continue;
    std::string target = at->name ? std::string(at->name) : object_identity(sub->address);
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
};

void add_target(std::vector<Target>& targets, Target t) {
  for (Target& existing : targets) {
    if (existing.classid == t.classid && existing.objid == t.objid && existing.objsubid == t.objsubid &&
        OidIsValid(t.classid)) {
      if (existing.detail.empty()) existing.detail = t.detail;
      return;
    }
  }
  targets.push_back(std::move(t));
}

// Inside an OwnerScope (whose GUC nest level restores it): capture's statements run with
// their generic plans; a custom plan per DDL statement would cost more than the insert.
void use_generic_plans() {
  pg::call([] {
    (void)set_config_option("plan_cache_mode", "force_generic_plan", PGC_USERSET, PGC_S_SESSION,
                            GUC_ACTION_SAVE, true, 0, false);
  });
}

// The exclusions are read once per backend and kept until migrate.drift_exclusions changes:
// its statement trigger sends a relcache invalidation (to this backend at the next command, to
// the others at commit), whose callback drops the cached copy. Saves a query per DDL.
std::vector<drift::Exclusion>* cached_exclusions = nullptr;  // lives for the backend
bool exclusions_valid = false;
Oid exclusions_relid = InvalidOid;

void on_relcache_invalidation(Datum, Oid relid) {
  if (!OidIsValid(relid) || relid == exclusions_relid) exclusions_valid = false;
}

const std::vector<drift::Exclusion>& load_exclusions() {
  if (exclusions_valid && cached_exclusions) return *cached_exclusions;
  static pg::Query q{"SELECT schema_pattern, name_pattern FROM migrate.drift_exclusions"};
  std::vector<drift::Exclusion> out;
  uint64 n = q.run();
  for (uint64 i = 0; i < n; ++i) out.push_back({pg::text_value(i, 1), pg::text_value(i, 2)});
  pg::free_result();
  exclusions_relid = pg::call([] {
    Oid nsp = get_namespace_oid("migrate", true);
    return OidIsValid(nsp) ? get_relname_relid("drift_exclusions", nsp) : InvalidOid;
  });
  if (!cached_exclusions) cached_exclusions = new std::vector<drift::Exclusion>();
  cached_exclusions->swap(out);
  exclusions_valid = true;
  return *cached_exclusions;
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
struct Identified {
  bool found = false;
  std::string type;
  std::string identity;
  std::optional<std::string> schema;  // of a schema-qualified object
  bool temp_namespace = false;
  std::vector<std::string> names;     // as pg_identify_object_as_address's object_names
};

Identified identify(Oid classid, Oid objid, int32 objsubid) {
  Identified out;
  ObjectAddress address{classid, objid, objsubid};
  const ObjectAddress* a = &address;
  List* names = NIL;
  List* args = NIL;
  char* identity = pg::call([&] {
#if PG_VERSION_NUM >= 140000
    return getObjectIdentityParts(a, &names, &args, true);
#else
    return getObjectIdentityParts(a, &names, &args);
#endif
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
  Oid nsp = InvalidOid;
  if (pg::call([&] { return is_objectclass_supported(classid); }))
    nsp = pg::call([&] { return get_object_namespace(a); });
  if (OidIsValid(nsp)) {
    out.temp_namespace = pg::call([&] { return isAnyTempNamespace(nsp); });
    out.schema = optional_string(pg::call([&] { return get_namespace_name_or_temp(nsp); }));
  }
  return out;
}

pg::Param text_or_null(const std::optional<std::string>& v) {
  return v ? pg::text_param(*v) : pg::null_param(TEXTOID);
}

// Inserts the rows of one event. Runs inside the caller's OwnerScope.
void insert_rows(const char* event, const std::string& role, const std::string& tag,
                 const StatementText& statement, const std::vector<DriftRow>& rows) {
  static pg::Query insert{
      "INSERT INTO migrate.drift (role, application_name, event, command_tag, object_type, "
      "object_identity, schema_name, detail, statement, statement_source) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"};
  const char* app = GetConfigOption("application_name", true, false);
  std::optional<std::string> application = app && *app ? std::optional<std::string>(app) : std::nullopt;
  std::optional<std::string> source = optional_string(statement.source);
  for (const DriftRow& r : rows) {
    insert.run({pg::text_param(role), text_or_null(application), pg::text_param(event), pg::text_param(tag),
                pg::text_param(r.object_type), text_or_null(r.identity), text_or_null(r.schema),
                r.detail.empty() ? pg::null_param(TEXTOID) : pg::text_param(r.detail),
                text_or_null(statement.text), text_or_null(source)});
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

void drift_init() {
  // Loaded before the first query of the backend: shared or session preload.
  loaded_at_backend_start = debug_query_string == nullptr;
  previous_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = drift_process_utility;
  CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0);
  RegisterXactCallback(on_xact, nullptr);
  RegisterSubXactCallback(on_subxact, nullptr);
}

void drift_record_snapshot(const char* reason) {
  static pg::Query insert{
      "INSERT INTO migrate.schema_snapshots (reason, snapshot) "
      "VALUES ($1, migrate.schema_snapshot())"};
  static pg::Query prune{
      "DELETE FROM migrate.schema_snapshots WHERE id < (SELECT s.id FROM migrate.schema_snapshots s "
      "ORDER BY s.id DESC OFFSET $1 - 1 LIMIT 1)"};
  catalog::OwnerScope owner;
  insert.run({pg::text_param(reason)});
  prune.run({pg::int8_param(snapshots_kept)});
}

}  // namespace pgm

using namespace pgm;

// ddl_command_start: loads the library (and so the hook) as early as possible in a session,
// and notes the text of a statement the hook did not see.
PGM_FUNCTION(pgm_drift_capture_start) {
  EventTriggerData* trig = event_data(fcinfo, "migrate.drift_capture_start");
  if (hook_sees_statement() || !capture_active()) return PointerGetDatum(nullptr);
  stash_statement(trig->parsetree);
  return PointerGetDatum(nullptr);
}

namespace pgm {
namespace {

// One row of pg_event_trigger_ddl_commands().
struct DdlCommand {
  CollectedCommand* command;
  Oid classid;
  Oid objid;
  int32 objsubid;
  bool in_extension;
  std::string object_type;
};

// Calls pg_event_trigger_ddl_commands() directly through fmgr in materialize mode: the same
// rows as the SQL function, without preparing, planning and running a query through SPI,
// which was most of capture's cost per DDL statement.
std::vector<DdlCommand> ddl_commands() {
  struct Raw {
    Datum values[9];
    bool nulls[9];
  };
  std::vector<DdlCommand> out;
  MemoryContext context = CurrentMemoryContext;
  ExprContext* econtext = pg::call([] { return CreateStandaloneExprContext(); });
  Tuplestorestate* store = nullptr;
  TupleDesc desc = nullptr;
  pg::call([&] {
    FmgrInfo flinfo;
    fmgr_info(F_PG_EVENT_TRIGGER_DDL_COMMANDS, &flinfo);
    ReturnSetInfo rsinfo;
    memset(&rsinfo, 0, sizeof rsinfo);
    rsinfo.type = T_ReturnSetInfo;
    rsinfo.econtext = econtext;
    rsinfo.allowedModes = (int)SFRM_Materialize;
    rsinfo.returnMode = SFRM_Materialize;
    LOCAL_FCINFO(fcinfo, 0);
    InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, nullptr, (Node*)&rsinfo);
    (void)FunctionCallInvoke(fcinfo);
    store = rsinfo.setResult;
    desc = rsinfo.setDesc;
  });
  if (store && desc) {
    TupleTableSlot* slot = pg::call([&] { return MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple); });
    Raw raw;
    while (pg::call([&] {
      if (!tuplestore_gettupleslot(store, true, false, slot)) return false;
      slot_getallattrs(slot);
      for (int k = 0; k < 9 && k < desc->natts; ++k) {
        raw.values[k] = slot->tts_values[k];
        raw.nulls[k] = slot->tts_isnull[k];
      }
      return true;
    })) {
      // Columns: classid, objid, objsubid, command_tag, object_type, schema_name,
      // object_identity, in_extension, command.
      DdlCommand c;
      c.classid = raw.nulls[0] ? InvalidOid : DatumGetObjectId(raw.values[0]);
      c.objid = raw.nulls[1] ? InvalidOid : DatumGetObjectId(raw.values[1]);
      c.objsubid = raw.nulls[2] ? 0 : DatumGetInt32(raw.values[2]);
      if (!raw.nulls[4]) {
        text* t = pg::call([&] { return DatumGetTextPP(raw.values[4]); });
        c.object_type.assign(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
      }
      c.in_extension = !raw.nulls[7] && DatumGetBool(raw.values[7]);
      c.command = raw.nulls[8] ? nullptr : reinterpret_cast<CollectedCommand*>(DatumGetPointer(raw.values[8]));
      out.push_back(std::move(c));
    }
    pg::call([&] { ExecDropSingleTupleTableSlot(slot); });
  }
  pg::call([&] {
    if (store) tuplestore_end(store);
    FreeExprContext(econtext, true);
    MemoryContextSwitchTo(context);
  });
  return out;
}

}  // namespace
}  // namespace pgm

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
  pending_rewrites.push_back({relid, reason});
  return PointerGetDatum(nullptr);
}

PGM_FUNCTION(pgm_drift_capture_ddl) {
  EventTriggerData* trig = event_data(fcinfo, "migrate.drift_capture_ddl");
  if (!capture_active()) {
    pending_rewrites.clear();
    return PointerGetDatum(nullptr);
  }
  std::vector<Rewrite> rewrites;
  rewrites.swap(pending_rewrites);
  std::string tag = event_tag(trig);
  StatementText statement = current_statement(trig->parsetree);

  pg::SpiConnection spi;
  catalog::OwnerScope owner;
  use_generic_plans();
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
    add_target(targets, {c.classid, c.objid, c.objsubid, c.object_type, detail});
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

  const std::vector<drift::Exclusion>& exclusions = load_exclusions();
  std::vector<DriftRow> rows;
  for (const Target& t : targets) {
    if (!OidIsValid(t.classid)) {  // ALTER DEFAULT PRIVILEGES: no object to name
      std::string type = t.object_type;
      std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
      rows.push_back({type, std::nullopt, std::nullopt, t.detail});
      continue;
    }
    Identified id = identify(t.classid, t.objid, t.objsubid);
    if (!id.found || id.temp_namespace) continue;
    drift::Scope scope = drift::object_scope(id.type, id.schema, id.names, std::nullopt);
    if (scope.schema && drift::is_temp_schema(*scope.schema)) continue;
    if (drift::excluded(exclusions, scope.schema, scope.name)) continue;
    rows.push_back({id.type, id.identity, scope.schema, t.detail});
  }
  insert_rows("ddl_command_end", owner.caller_role(), tag, statement, rows);
  return PointerGetDatum(nullptr);
}

PGM_FUNCTION(pgm_drift_capture_drop) {
  EventTriggerData* trig = event_data(fcinfo, "migrate.drift_capture_drop");
  if (!capture_active()) return PointerGetDatum(nullptr);
  std::string tag = event_tag(trig);
  StatementText statement = current_statement(trig->parsetree);
  static pg::Query dropped_q{
      "SELECT classid, objid, objsubid, original, normal, is_temporary, object_type, schema_name, "
      "object_name, object_identity, address_names "
      "FROM pg_catalog.pg_event_trigger_dropped_objects()"};
  pg::SpiConnection spi;
  catalog::OwnerScope owner;
  use_generic_plans();
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
    schemas.push_back(pg::is_null(i, 8) ? std::nullopt : std::optional<std::string>(pg::text_value(i, 8)));
    object_names.push_back(pg::is_null(i, 9) ? std::nullopt : std::optional<std::string>(pg::text_value(i, 9)));
    identities.push_back(pg::is_null(i, 10) ? std::nullopt : std::optional<std::string>(pg::text_value(i, 10)));
    dropped.push_back(std::move(d));
  }
  pg::free_result();
  std::vector<size_t> keep = drift::dropped_to_record(dropped);
  if (keep.empty()) return PointerGetDatum(nullptr);
  const std::vector<drift::Exclusion>& exclusions = load_exclusions();
  std::vector<DriftRow> rows;
  for (size_t i : keep) {
    const drift::DroppedObject& d = dropped[i];
    drift::Scope scope = drift::object_scope(d.object_type, schemas[i], d.address_names, object_names[i]);
    if (scope.schema && drift::is_temp_schema(*scope.schema)) continue;
    if (drift::excluded(exclusions, scope.schema, scope.name)) continue;
    rows.push_back({d.object_type, identities[i], scope.schema, d.original ? "dropped" : "dropped by cascade"});
  }
  insert_rows("sql_drop", owner.caller_role(), tag, statement, rows);
  return PointerGetDatum(nullptr);
}

// Statement trigger on migrate.drift_exclusions: tells every backend's capture to re-read it.
PGM_FUNCTION(pgm_drift_exclusions_changed) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    throw Error("39P01", "migrate.drift_exclusions_changed() must be called as a trigger");
  TriggerData* trig = reinterpret_cast<TriggerData*>(fcinfo->context);
  pg::call([&] { CacheInvalidateRelcache(trig->tg_relation); });
  return PointerGetDatum(nullptr);
}

PGM_FUNCTION(pgm_schema_diff) {
  pg::ResultSet out(fcinfo);
  pg::SpiConnection spi;
  static pg::Query q{
      "SELECT d.object, d.change, d.detail FROM migrate.snapshot_diff("
      " (SELECT s.snapshot FROM migrate.schema_snapshots s ORDER BY s.id DESC LIMIT 1), "
      " migrate.schema_snapshot()) d, "
      " LATERAL (SELECT pg_catalog.parse_ident(pg_catalog.substr(d.object, "
      "   pg_catalog.strpos(d.object, ' ') + 1), false) AS names, "
      "   pg_catalog.split_part(d.object, ' ', 1) AS kind) k "
      "WHERE k.kind = 'extension' OR NOT migrate.drift_excluded(k.names[1], "
      "  CASE WHEN k.kind = 'schema' THEN NULL ELSE k.names[2] END) "
      "ORDER BY d.object"};
  catalog::OwnerScope owner;
  uint64 n = q.run();
  for (uint64 i = 0; i < n; ++i) {
    std::string detail = pg::text_value(i, 3);
    out.add_row({pg::Cell::text(pg::text_value(i, 1)), pg::Cell::text(pg::text_value(i, 2)),
                 pg::is_null(i, 3) ? pg::Cell::null_value() : pg::Cell::text(detail)});
  }
  pg::free_result();
  return out.done();
}

PGM_FUNCTION(pgm_acknowledge_drift) {
  if (PG_ARGISNULL(0))
    throw Error(sqlstate::kNullValueNotAllowed, "note must not be NULL",
                {}, "Say what was reviewed, e.g. migrate.acknowledge_drift('hotfix index, see ticket 123').");
  text* t = pg::call([&] { return PG_GETARG_TEXT_PP(0); });
  std::string note(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
  if (note.find_first_not_of(" \t\r\n") == std::string::npos)
    throw Error(sqlstate::kInvalidParameterValue, "note must not be empty",
                {}, "Say what was reviewed, e.g. migrate.acknowledge_drift('hotfix index, see ticket 123').");
  std::optional<int64> up_to;
  if (!PG_ARGISNULL(1)) {
    up_to = PG_GETARG_INT64(1);
    if (*up_to < 1)
      throw Error(sqlstate::kInvalidParameterValue,
                  fmt::format("up_to must be a drift id (at least 1), not {}", *up_to));
  }
  ensure_not_in_migration("migrate.acknowledge_drift");
  pg::SpiConnection spi;
  catalog::lock_catalog();
  static pg::Query count{
      "SELECT pg_catalog.count(*) FROM migrate.drift WHERE acknowledgement_id IS NULL "
      "AND ($1::int8 IS NULL OR id <= $1::int8)"};
  static pg::Query record{
      "WITH a AS (INSERT INTO migrate.drift_acknowledgements (role, note, up_to, drift_rows) "
      "VALUES ($1, $2, $3, $4) RETURNING id) "
      "UPDATE migrate.drift d SET acknowledgement_id = a.id FROM a "
      "WHERE d.acknowledgement_id IS NULL AND ($3::int8 IS NULL OR d.id <= $3::int8)"};
  int64 rows;
  {
    catalog::OwnerScope owner;
    pg::Param up = up_to ? pg::int8_param(*up_to) : pg::null_param(INT8OID);
    count.run({up});
    rows = pg::int8_value(0, 1);
    pg::free_result();
    record.run({pg::text_param(owner.caller_role()), pg::text_param(note), up, pg::int8_param(rows)});
  }
  drift_record_snapshot("acknowledge");
  return Int64GetDatum(rows);
}

PGM_FUNCTION(pgm_drift_status) {
  pg::ResultSet out(fcinfo);
  pg::SpiConnection spi;
  static pg::Query q{
      "SELECT pg_catalog.count(*), pg_catalog.min(captured_at), pg_catalog.max(captured_at), "
      " (SELECT pg_catalog.count(*) FROM migrate.schema_diff()), "
      " (SELECT s.taken_at FROM migrate.schema_snapshots s ORDER BY s.id DESC LIMIT 1), "
      " (SELECT s.reason FROM migrate.schema_snapshots s ORDER BY s.id DESC LIMIT 1), "
      " (SELECT pg_catalog.string_agg(e.evtname, ', ' ORDER BY e.evtname) FROM pg_catalog.pg_event_trigger e "
      "   JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass "
      "    AND d.objid = e.oid AND d.deptype = 'e' "
      "   JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid AND x.extname = 'pg_migrate' "
      "  WHERE e.evtenabled <> 'A'), "
      " (SELECT pg_catalog.count(*) FROM pg_catalog.pg_event_trigger e "
      "   JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass "
      "    AND d.objid = e.oid AND d.deptype = 'e' "
      "   JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid AND x.extname = 'pg_migrate') "
      "FROM migrate.drift WHERE acknowledgement_id IS NULL"};
  catalog::OwnerScope owner;
  q.run();
  std::string not_always = pg::text_value(0, 7);
  int64 triggers = pg::int8_value(0, 8);
  std::string capture;
  if (!capture_setting)
    capture = "off (pg_migrate.drift_capture is off)";
  else if (triggers < 4)
    capture = "off (event triggers of pg_migrate are missing)";
  else if (!not_always.empty())
    capture = fmt::format("degraded (event trigger {} not ENABLE ALWAYS)", not_always);
  else
    capture = "on";
  std::string statement_capture =
      loaded_at_backend_start ? "exact (preloaded)" : "exact after the session's first DDL (not preloaded)";
  auto ts = [](int col) {
    bool isnull;
    Datum d = pg::datum_value(0, col, &isnull);
    return isnull ? pg::Cell::null_value() : pg::Cell{d, false};
  };
  std::string reason = pg::text_value(0, 6);
  out.add_row({pg::Cell::int8(pg::int8_value(0, 1)), ts(2), ts(3), pg::Cell::int8(pg::int8_value(0, 4)), ts(5),
               pg::is_null(0, 6) ? pg::Cell::null_value() : pg::Cell::text(reason), pg::Cell::text(capture),
               pg::Cell::text(statement_capture)});
  pg::free_result();
  return out.done();
}
