#include "script_parse.hpp"

#include <algorithm>
#include <cstring>

#include "core/migration_files.hpp"
#include "core/script.hpp"
#include "pg/scan.hpp"
#include "pg/srf.hpp"

extern "C" {
#include "access/genam.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_namespace.h"
#include "catalog/namespace.h"
#include "utils/acl.h"
#include "utils/syscache.h"
#include "commands/prepare.h"
#include "nodes/nodeFuncs.h"
#include "utils/fmgroids.h"
#include "utils/portal.h"
}

namespace pgm {

std::string ScriptLabel::describe() const {
  if (version == "C") return fmt::format("callback {}", name);  // migrate.run_callback()
  return fmt::format("migration {} (\"{}\")", version, name);
}

size_t char_pos_to_byte(const std::string& s, int cursorpos) {
  size_t byte = 0;
  for (int c = 1; c < cursorpos && byte < s.size(); ++c) {
    const char* p = s.c_str() + byte;
    int len = pg::call([&] { return pg_mblen(p); });
    byte += len > 0 ? len : 1;
  }
  return std::min(byte, s.size());
}

std::vector<ScriptStatement> parse_script(const std::string& script, const ScriptLabel& label) {
  // A pg_dump's \restrict lines are blanks to the parser (and between statements, so no
  // statement's text holds one).
  std::optional<std::string> cleaned = without_dump_restrict_lines(script);
  const std::string& parsed = cleaned ? *cleaned : script;
  const char* text = parsed.c_str();
  List* raw = nullptr;
  try {
    // Without the caller's error context callbacks: called from PL/pgSQL, SPI's callback would
    // move the error position into its own query before this code sees it (PG_TRY in pg::call
    // restores the stack).
    raw = pg::call([&] {
      error_context_stack = nullptr;
      return pg_parse_query(text);
    });
  } catch (pg::PgError& e) {
    ErrorData* edata = e.data();
    if (edata->cursorpos > 0) {
      size_t at = char_pos_to_byte(script, edata->cursorpos);
      int line = line_at(script, at);
      if (is_psql_meta_command_at(script, at)) {
        size_t start = script.find('\\', line_start(script, at));
        throw Error(sqlstate::kSyntaxError,
                    fmt::format("{} script of {} contains the psql meta-command \"{}\" at line {}",
                                label.which, label.describe(), word_at(script, start), line),
                    {},
                    "Migrations run inside the server, where psql meta-commands are not "
                    "available; write plain SQL.");
      }
      std::string message = fmt::format("{} script of {} has a syntax error at line {}: {}",
                                        label.which, label.describe(), line, edata->message);
      const char* m = message.c_str();
      pg::call([&] {
        edata->message = MemoryContextStrdup(GetMemoryChunkContext(edata), m);
        // Point the caret into the script rather than into the caller's query.
        edata->internalquery = MemoryContextStrdup(GetMemoryChunkContext(edata), text);
        edata->internalpos = edata->cursorpos;
        edata->cursorpos = 0;
      });
    }
    throw;
  }
  return split_statements(raw, parsed);
}

namespace {

// golang-migrate and psql files often wrap their statements in BEGIN ... COMMIT. A
// transactional migration is one transaction already: a script whose first statement is a plain
// BEGIN (or START TRANSACTION) and whose last is a plain COMMIT (or END), with no other
// transaction control between them, runs as the statements between them.
void drop_transaction_wrapper(std::vector<ScriptStatement>& stmts, const std::string& script) {
  if (stmts.size() < 2) return;
  auto is = [](const ScriptStatement& s, TransactionStmtKind kind) {
    if (!IsA(s.parsetree, TransactionStmt)) return false;
    TransactionStmt* t = castNode(TransactionStmt, s.parsetree);
    return t->kind == kind && t->options == NIL && !t->chain;
  };
  if (!(is(stmts.front(), TRANS_STMT_BEGIN) || is(stmts.front(), TRANS_STMT_START)) ||
      !is(stmts.back(), TRANS_STMT_COMMIT))
    return;
  for (size_t i = 1; i + 1 < stmts.size(); ++i)
    if (IsA(stmts[i].parsetree, TransactionStmt)) return;
  if (has_no_transaction_directive(script)) return;  // refused there as transaction control
  stmts.pop_back();
  stmts.erase(stmts.begin());
}

}  // namespace

std::vector<ScriptStatement> split_statements(List* raw, const std::string& script) {
  std::vector<ScriptStatement> out;
  out.reserve(list_length(raw));
  LineCounter lines(script);  // statements come in order: one pass numbers them all
  ListCell* cell;
  foreach (cell, raw) {
    RawStmt* rs = lfirst_node(RawStmt, cell);
    size_t loc = rs->stmt_location < 0 ? 0 : static_cast<size_t>(rs->stmt_location);
    size_t end = rs->stmt_len > 0 ? loc + static_cast<size_t>(rs->stmt_len) : script.size();
    size_t begin = skip_blanks_and_comments(script, loc);
    if (begin >= end) continue;
    out.push_back({begin, end, lines.line_at(begin), rs->stmt});
  }
  drop_transaction_wrapper(out, script);
  return out;
}

std::string statement_text(const std::string& script, const ScriptStatement& stmt) {
  std::string s = script.substr(stmt.begin, stmt.end - stmt.begin);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r'))
    s.pop_back();
  return s;
}

namespace {

bool has_option(List* options, const char* name) {
  ListCell* lc;
  foreach (lc, options)
    if (strcmp(((DefElem*)lfirst(lc))->defname, name) == 0) return true;
  return false;
}

bool has_true_option(List* options, const char* name) {
  ListCell* lc;
  foreach (lc, options) {
    DefElem* opt = (DefElem*)lfirst(lc);
    if (strcmp(opt->defname, name) == 0) {
      // A bare option (no argument) means true; "concurrently false" means false.
      if (!opt->arg) return true;
      return pg::call([&] { return defGetBoolean(opt); });
    }
  }
  return false;
}

}  // namespace

bool is_split_point(Node* node) {
  if (nodeTag(node) != T_TransactionStmt) return false;
  TransactionStmtKind kind = castNode(TransactionStmt, node)->kind;
  return kind == TRANS_STMT_COMMIT;
}

const char* top_level_statement(Node* node) {
  switch (nodeTag(node)) {
    case T_IndexStmt:
      if (castNode(IndexStmt, node)->concurrent) return "CREATE INDEX CONCURRENTLY";
      break;
    case T_DropStmt:
      if (castNode(DropStmt, node)->concurrent) return "DROP INDEX CONCURRENTLY";
      break;
    case T_ReindexStmt: {
      ReindexStmt* r = castNode(ReindexStmt, node);
      if (has_true_option(r->params, "concurrently")) return "REINDEX CONCURRENTLY";
      // Several tables, each in a transaction of its own.
      if (r->kind == REINDEX_OBJECT_SCHEMA) return "REINDEX SCHEMA";
      if (r->kind == REINDEX_OBJECT_DATABASE) return "REINDEX DATABASE";
      if (r->kind == REINDEX_OBJECT_SYSTEM) return "REINDEX SYSTEM";
      break;
    }
    case T_VacuumStmt:
      if (castNode(VacuumStmt, node)->is_vacuumcmd) return "VACUUM";
      break;
#if PG_VERSION_NUM >= 140000
    case T_AlterTableStmt: {
      ListCell* lc;
      foreach (lc, castNode(AlterTableStmt, node)->cmds) {
        AlterTableCmd* cmd = lfirst_node(AlterTableCmd, lc);
        if (cmd->subtype == AT_DetachPartition && cmd->def && IsA(cmd->def, PartitionCmd) &&
            castNode(PartitionCmd, cmd->def)->concurrent)
          return "ALTER TABLE ... DETACH PARTITION CONCURRENTLY";
      }
      break;
    }
#endif
    case T_ClusterStmt:
      if (castNode(ClusterStmt, node)->relation == nullptr) return "CLUSTER without a table";
      break;
    case T_CreateSubscriptionStmt: {
      // A replication slot, created unless connect or create_slot is false, is not transactional.
      List* options = castNode(CreateSubscriptionStmt, node)->options;
      bool connect = !has_option(options, "connect") || has_true_option(options, "connect");
      bool create_slot = has_option(options, "create_slot") ? has_true_option(options, "create_slot") : connect;
      if (create_slot) return "CREATE SUBSCRIPTION ... WITH (create_slot = true)";
      break;
    }
    case T_AlterSubscriptionStmt: {
      AlterSubscriptionStmt* alter = castNode(AlterSubscriptionStmt, node);
      if (alter->kind == ALTER_SUBSCRIPTION_REFRESH) return "ALTER SUBSCRIPTION ... REFRESH PUBLICATION";
      bool publications = alter->kind == ALTER_SUBSCRIPTION_SET_PUBLICATION ||
                          alter->kind == ALTER_SUBSCRIPTION_ADD_PUBLICATION ||
                          alter->kind == ALTER_SUBSCRIPTION_DROP_PUBLICATION;
      if (publications && (!has_option(alter->options, "refresh") || has_true_option(alter->options, "refresh")))
        return "ALTER SUBSCRIPTION ... PUBLICATION with refresh";
      break;
    }
    default:
      break;
  }
  return nullptr;
}

namespace {

// Whether a list of names (String nodes, or lists of them for qualified names) holds `name`
// as a one-part name.
bool names_include(List* names, const char* name) {
  ListCell* lc;
  foreach (lc, names) {
    Node* n = static_cast<Node*>(lfirst(lc));
    if (IsA(n, String) && std::strcmp(strVal(n), name) == 0) return true;
    if (IsA(n, List) && list_length(castNode(List, n)) == 1 && IsA(linitial(castNode(List, n)), String) &&
        std::strcmp(strVal(linitial(castNode(List, n))), name) == 0)
      return true;
  }
  return false;
}

}  // namespace

namespace {

// A name list ("migrate", "x", ...) qualified with pg_migrate's schema.
bool in_own_schema(List* names) {
  return list_length(names) >= 2 && IsA(linitial(names), String) && std::strcmp(strVal(linitial(names)), "migrate") == 0;
}
// pg_migrate's event triggers (drift capture, the snapshot refresh after a migration).
bool own_event_trigger(const char* name) {
  if (!name) return false;
  for (const char* own : {"migrate_drift_start", "migrate_drift_ddl", "migrate_drift_drop", "migrate_drift_rewrite"})
    if (std::strcmp(name, own) == 0) return true;
  return false;
}
bool own_event_trigger(Node* name) { return name && IsA(name, String) && own_event_trigger(strVal(name)); }

bool in_own_schema(const RangeVar* rv) { return rv && rv->schemaname && std::strcmp(rv->schemaname, "migrate") == 0; }
// An object of a DROP, RENAME, ALTER ... SET SCHEMA or OWNER TO: a name list, an
// ObjectWithArgs (functions, operators) or a TypeName.
bool in_own_schema(Node* object) {
  if (!object) return false;
  if (IsA(object, List)) return in_own_schema(castNode(List, object));
  if (IsA(object, ObjectWithArgs)) return in_own_schema(castNode(ObjectWithArgs, object)->objname);
  if (IsA(object, TypeName)) return in_own_schema(castNode(TypeName, object)->names);
  return false;
}

// Plain C walker: a call of setval() or nextval() whose sequence is a literal naming one in
// pg_migrate's schema ('migrate.history_id_seq', '"migrate".x', with a cast or not).
bool own_sequence_call_walker(Node* node, void* context) {
  if (!node) return false;
  if (IsA(node, FuncCall)) {
    FuncCall* call = reinterpret_cast<FuncCall*>(node);
    Node* last = static_cast<Node*>(llast(call->funcname));
    const char* fname = IsA(last, String) ? strVal(last) : "";
    if ((std::strcmp(fname, "setval") == 0 || std::strcmp(fname, "nextval") == 0) && call->args != NIL) {
      Node* arg = static_cast<Node*>(linitial(call->args));
      while (arg && IsA(arg, TypeCast)) arg = reinterpret_cast<TypeCast*>(arg)->arg;
      if (arg && IsA(arg, A_Const) && IsA(&reinterpret_cast<A_Const*>(arg)->val, String)) {
        // The schema part as regclass input reads it: white space around, "quoted" exactly,
        // unquoted in any case.
        const char* p = strVal(&reinterpret_cast<A_Const*>(arg)->val);
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
        bool own = false;
        if (*p == '"') {
          own = std::strncmp(p, "\"migrate\"", 9) == 0;
          p += own ? 9 : 0;
        } else {
          own = pg_strncasecmp(p, "migrate", 7) == 0;
          p += own ? 7 : 0;
        }
        while (own && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
        if (own && *p == '.') return true;
      }
    }
  }
  return raw_expression_tree_walker(node, reinterpret_cast<bool (*)()>(own_sequence_call_walker), context);
}

}  // namespace

const char* changes_pg_migrate(Node* node) noexcept {
  constexpr const char* kExtension = "pg_migrate";
  constexpr const char* kSchema = "migrate";
  constexpr const char* kOwnObject = "a change to pg_migrate's schema migrate";
  constexpr const char* kOwnEventTrigger = "a change to pg_migrate's event triggers";
  // The one-part name of an extension or schema statement.
  auto named = [](Node* object, const char* name) {
    return object && IsA(object, String) && std::strcmp(strVal(object), name) == 0;
  };
  const RangeVar* relation = nullptr;  // the relation a statement creates or changes
  switch (nodeTag(node)) {
    case T_CreateStmt: relation = reinterpret_cast<CreateStmt*>(node)->relation; break;
    case T_CreateTableAsStmt: relation = reinterpret_cast<CreateTableAsStmt*>(node)->into->rel; break;
    case T_ViewStmt: relation = reinterpret_cast<ViewStmt*>(node)->view; break;
    case T_IndexStmt: relation = reinterpret_cast<IndexStmt*>(node)->relation; break;
    case T_CreateTrigStmt: relation = reinterpret_cast<CreateTrigStmt*>(node)->relation; break;
    case T_RuleStmt: relation = reinterpret_cast<RuleStmt*>(node)->relation; break;
    case T_CreatePolicyStmt: relation = reinterpret_cast<CreatePolicyStmt*>(node)->table; break;
    case T_AlterTableStmt: relation = reinterpret_cast<AlterTableStmt*>(node)->relation; break;
    case T_CreateFunctionStmt:
      if (in_own_schema(reinterpret_cast<CreateFunctionStmt*>(node)->funcname)) return kOwnObject;
      break;
    // Writes to pg_migrate's tables by name (also refused at run time, whatever the path).
    case T_InsertStmt:
      if (in_own_schema(reinterpret_cast<InsertStmt*>(node)->relation)) return "a write to pg_migrate's tables";
      break;
    case T_UpdateStmt:
      if (in_own_schema(reinterpret_cast<UpdateStmt*>(node)->relation)) return "a write to pg_migrate's tables";
      break;
    case T_DeleteStmt:
      if (in_own_schema(reinterpret_cast<DeleteStmt*>(node)->relation)) return "a write to pg_migrate's tables";
      break;
    case T_TruncateStmt: {
      ListCell* lc;
      foreach (lc, reinterpret_cast<TruncateStmt*>(node)->relations)
        if (in_own_schema(static_cast<RangeVar*>(lfirst(lc)))) return "TRUNCATE of pg_migrate's tables";
      break;
    }
    case T_AlterFunctionStmt:
      if (in_own_schema(reinterpret_cast<Node*>(reinterpret_cast<AlterFunctionStmt*>(node)->func))) return kOwnObject;
      break;
    case T_AlterOwnerStmt: {
      AlterOwnerStmt* owner = reinterpret_cast<AlterOwnerStmt*>(node);
      if (in_own_schema(owner->relation) || in_own_schema(owner->object)) return kOwnObject;
      if (owner->objectType == OBJECT_SCHEMA && named(owner->object, kSchema)) return "ALTER SCHEMA migrate OWNER";
      if (owner->objectType == OBJECT_EVENT_TRIGGER && own_event_trigger(owner->object)) return kOwnEventTrigger;
      break;
    }
    case T_DropStmt: {
      DropStmt* drop = reinterpret_cast<DropStmt*>(node);
      if (drop->removeType == OBJECT_EXTENSION && names_include(drop->objects, kExtension))
        return "DROP EXTENSION pg_migrate";
      if (drop->removeType == OBJECT_SCHEMA && names_include(drop->objects, kSchema)) return "DROP SCHEMA migrate";
      if (drop->removeType == OBJECT_EVENT_TRIGGER) {
        ListCell* ec;
        foreach (ec, drop->objects)
          if (own_event_trigger(static_cast<Node*>(lfirst(ec)))) return kOwnEventTrigger;
      }
      // A trigger, policy or rule is named (table..., name): its table is qualified with
      // three parts or more ("DROP TRIGGER t ON migrate" is a table of the user's named migrate).
      bool on_table = drop->removeType == OBJECT_TRIGGER || drop->removeType == OBJECT_POLICY ||
                      drop->removeType == OBJECT_RULE;
      ListCell* lc;
      foreach (lc, drop->objects) {
        Node* object = static_cast<Node*>(lfirst(lc));
        if (on_table && (!IsA(object, List) || list_length(castNode(List, object)) < 3)) continue;
        if (in_own_schema(object)) return kOwnObject;
      }
      break;
    }
    case T_AlterExtensionStmt:
      if (std::strcmp(reinterpret_cast<AlterExtensionStmt*>(node)->extname, kExtension) == 0)
        return "ALTER EXTENSION pg_migrate";
      break;
    case T_AlterExtensionContentsStmt:
      if (std::strcmp(reinterpret_cast<AlterExtensionContentsStmt*>(node)->extname, kExtension) == 0)
        return "ALTER EXTENSION pg_migrate";
      break;
    case T_AlterObjectSchemaStmt: {
      AlterObjectSchemaStmt* move = reinterpret_cast<AlterObjectSchemaStmt*>(node);
      if (in_own_schema(move->relation) || in_own_schema(move->object)) return kOwnObject;
      if (move->objectType == OBJECT_EXTENSION && named(move->object, kExtension))
        return "ALTER EXTENSION pg_migrate SET SCHEMA";
      break;
    }
    // A comment or security label on one of pg_migrate's objects changes it (the event trigger
    // refuses it as the migration runs; said at register, as for the other changes). A
    // column, trigger, policy, rule or constraint is named (table..., name): its table is in
    // pg_migrate's schema with three parts or more ("COMMENT ON COLUMN migrate.c" is a column
    // of the user's table named migrate).
    case T_CommentStmt:
    case T_SecLabelStmt: {
      bool comment = IsA(node, CommentStmt);
      ObjectType type = comment ? reinterpret_cast<CommentStmt*>(node)->objtype : reinterpret_cast<SecLabelStmt*>(node)->objtype;
      Node* object = comment ? reinterpret_cast<CommentStmt*>(node)->object : reinterpret_cast<SecLabelStmt*>(node)->object;
      bool on_table = type == OBJECT_COLUMN || type == OBJECT_TRIGGER || type == OBJECT_POLICY ||
                      type == OBJECT_RULE || type == OBJECT_TABCONSTRAINT;
      if (on_table && (!object || !IsA(object, List) || list_length(castNode(List, object)) < 3)) break;
      if (in_own_schema(object)) return kOwnObject;
      if ((type == OBJECT_EXTENSION && named(object, kExtension)) || (type == OBJECT_SCHEMA && named(object, kSchema)))
        return type == OBJECT_EXTENSION ? "a comment on extension pg_migrate" : "a comment on pg_migrate's schema migrate";
      break;
    }
    // Disabling, dropping, renaming or handing over pg_migrate's event triggers: the migration's
    // snapshot and later drift capture would miss what they record.
    case T_AlterEventTrigStmt:
      if (own_event_trigger(reinterpret_cast<AlterEventTrigStmt*>(node)->trigname)) return kOwnEventTrigger;
      break;
    case T_RenameStmt: {
      RenameStmt* rename = reinterpret_cast<RenameStmt*>(node);
      if (rename->renameType == OBJECT_EVENT_TRIGGER && own_event_trigger(rename->object)) return kOwnEventTrigger;
      if (in_own_schema(rename->relation) || in_own_schema(rename->object)) return kOwnObject;
      if (rename->renameType == OBJECT_SCHEMA && rename->subname && std::strcmp(rename->subname, kSchema) == 0)
        return "ALTER SCHEMA migrate RENAME";
      break;
    }
    default:
      break;
  }
  if (in_own_schema(relation)) return kOwnObject;
  // setval('migrate.history_id_seq', 1) / nextval(...): pg_migrate's sequences by name (the
  // next history row would then collide with an existing one).
  if ((IsA(node, SelectStmt) || IsA(node, InsertStmt) || IsA(node, UpdateStmt) || IsA(node, DeleteStmt)) &&
      own_sequence_call_walker(node, nullptr))
    return "a change to pg_migrate's sequences";
  return nullptr;
}

namespace {

// The owner of extension pg_migrate, InvalidOid if it is not installed. (PostgreSQL 15 has no
// syscache for pg_extension.)
Oid pg_migrate_extension_owner() {
  Oid owner = InvalidOid;
  Relation rel = table_open(ExtensionRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ, CStringGetDatum("pg_migrate"));
  SysScanDesc scan = systable_beginscan(rel, ExtensionNameIndexId, true, nullptr, 1, &key);
  HeapTuple tuple = systable_getnext(scan);
  if (HeapTupleIsValid(tuple)) owner = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extowner;
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  return owner;
}

Oid own_schema_owner() {
  Oid nsp = get_namespace_oid("migrate", true);
  if (!OidIsValid(nsp)) return InvalidOid;
  HeapTuple tuple = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
  if (!HeapTupleIsValid(tuple)) return InvalidOid;
  Oid owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tuple))->nspowner;
  ReleaseSysCache(tuple);
  return owner;
}

}  // namespace

const char* changes_pg_migrate_owner(Node* node) {
  List* roles = nullptr;
  const char* what = nullptr;
  if (IsA(node, ReassignOwnedStmt)) {
    roles = reinterpret_cast<ReassignOwnedStmt*>(node)->roles;
    what = "REASSIGN OWNED BY the owner of pg_migrate";
  } else if (IsA(node, DropOwnedStmt)) {
    roles = reinterpret_cast<DropOwnedStmt*>(node)->roles;
    what = "DROP OWNED BY the owner of pg_migrate";
  } else {
    return nullptr;
  }
  Oid extension_owner = pg_migrate_extension_owner();
  Oid schema_owner = own_schema_owner();
  ListCell* lc;
  foreach (lc, roles) {
    Oid role = get_rolespec_oid(static_cast<RoleSpec*>(lfirst(lc)), true);
    if (OidIsValid(role) && (role == extension_owner || role == schema_owner)) return what;
  }
  return nullptr;
}

void check_runnable(const ScriptStatement& stmt, const std::string& script, const ScriptLabel& label,
                    ScriptMode mode) {
  Node* node = stmt.parsetree;
  if (const char* own = changes_pg_migrate(node))
    throw Error(sqlstate::kFeatureNotSupported,
                fmt::format("{} cannot run inside a migration: {} script of {}, line {}", own, label.which,
                            label.describe(), stmt.line),
                fmt::format("Statement: {}", one_line_preview(statement_text(script, stmt))),
                kChangesPgMigrateHint);
  const char* not_in_transaction = top_level_statement(node);
  if (not_in_transaction && mode == ScriptMode::kNoTransaction) return;
  switch (nodeTag(node)) {
    case T_TransactionStmt: {
      if (mode == ScriptMode::kTransaction && is_split_point(node)) return;
      const char* tag = pg::call([&] { return GetCommandTagName(CreateCommandTag(node)); });
      throw Error(sqlstate::kInvalidTransactionTermination,
                  fmt::format("{} script of {} uses transaction control ({}) at line {}",
                              label.which, label.describe(), tag, stmt.line),
                  fmt::format("Statement: {}", one_line_preview(statement_text(script, stmt))),
                  mode == ScriptMode::kNoTransaction
                      ? "In a non-transactional migration every statement commits on its own; "
                        "remove the statement."
                  : castNode(TransactionStmt, node)->kind == TRANS_STMT_BEGIN ||
                          castNode(TransactionStmt, node)->kind == TRANS_STMT_START
                      ? "A migration runs inside one transaction: a script wrapped in one plain BEGIN; ... "
                        "COMMIT; runs as the statements between them, other transaction control is "
                        "refused. Remove the statement."
                      : "A migration runs inside one transaction; only COMMIT and COMMIT AND CHAIN "
                        "may split it into consecutive transactions (CALL migrate.run()). Remove "
                        "the statement.");
    }
    case T_CreatedbStmt:
      not_in_transaction = "CREATE DATABASE";
      break;
    case T_DropdbStmt:
      not_in_transaction = "DROP DATABASE";
      break;
    case T_CreateTableSpaceStmt:
      not_in_transaction = "CREATE TABLESPACE";
      break;
    case T_DropTableSpaceStmt:
      not_in_transaction = "DROP TABLESPACE";
      break;
    case T_AlterSystemStmt:
      not_in_transaction = "ALTER SYSTEM";
      break;
    case T_DiscardStmt:
      if (castNode(DiscardStmt, node)->target == DISCARD_ALL)
        throw Error(sqlstate::kActiveSqlTransaction,
                    fmt::format("DISCARD ALL cannot run inside a migration: {} script of {}, line {}", label.which,
                                label.describe(), stmt.line),
                    fmt::format("Statement: {}", one_line_preview(statement_text(script, stmt))),
                    "DISCARD ALL cannot run in a transaction, and would only reset the session that applies "
                    "the migration: it changes nothing in the database. Remove the statement.");
      break;
    case T_AlterDatabaseStmt: {
      // Moving a database needs it free of every session, the applying one included.
      ListCell* lc;
      foreach (lc, castNode(AlterDatabaseStmt, node)->options)
        if (std::strcmp(castNode(DefElem, lfirst(lc))->defname, "tablespace") == 0)
          not_in_transaction = "ALTER DATABASE ... SET TABLESPACE";
      break;
    }
    case T_CopyStmt: {
      CopyStmt* copy = castNode(CopyStmt, node);
      if (copy->filename == nullptr && !copy->is_program)
        throw Error(sqlstate::kFeatureNotSupported,
                    fmt::format("{} script of {} uses COPY {} at line {}", label.which,
                                label.describe(), copy->is_from ? "FROM STDIN" : "TO STDOUT", stmt.line),
                    {}, "A migration has no client connection to stream data; use INSERT, or COPY from a server file.");
      break;
    }
    default:
      break;
  }
  if (not_in_transaction) {
    bool schema_level = top_level_statement(node) != nullptr;
    throw Error(sqlstate::kActiveSqlTransaction,
                fmt::format("{} cannot run inside a migration: {} script of {}, line {}",
                            not_in_transaction, label.which, label.describe(), stmt.line),
                fmt::format("Statement: {}", one_line_preview(statement_text(script, stmt))),
                schema_level
                    ? "Every migration runs inside one transaction unless its script begins with "
                      "the line \"-- pg_migrate:no-transaction\"; such a migration runs each "
                      "statement on its own at top level (CALL migrate.run() or the pg_migrate "
                      "command)."
                    : "Every migration runs inside one transaction. Run this statement on its own, "
                      "outside pg_migrate, or use its transactional form.");
  }
}

std::vector<SessionOnlyStatement> session_only_statements(const std::vector<ScriptStatement>& stmts,
                                                          ScriptMode mode) {
  std::vector<SessionOnlyStatement> found;
  for (size_t i = 0; i < stmts.size(); ++i) {
    if (mode == ScriptMode::kNoTransaction && IsA(stmts[i].parsetree, VariableSetStmt))
      found.push_back({i, "SET", "In a non-transactional script every statement runs on its own, so a SET "
                                 "lasts for that statement only and the next ones do not see it; qualify "
                                 "names (schema.table) instead of SET search_path."});
    else if (IsA(stmts[i].parsetree, ListenStmt))
      found.push_back({i, "LISTEN", "A migration's LISTEN registers the session that applies it, not the "
                                    "application's sessions; run it in the session that needs it."});
    else if (IsA(stmts[i].parsetree, LoadStmt))
      found.push_back({i, "LOAD", "LOAD loads a library into the session that applies the migration only; it "
                                  "changes nothing in the database (shared_preload_libraries or "
                                  "session_preload_libraries do it for every session)."});
  }
  return found;
}

void check_statements(const std::vector<ScriptStatement>& stmts, const std::string& script,
                      const ScriptLabel& label, ScriptMode mode) {
  for (const ScriptStatement& s : stmts) check_runnable(s, script, label, mode);
}

namespace {

// The creation time of the prepared statement or cursor `name`, or nullopt if there is none.
std::optional<TimestampTz> created_at(const std::string& name, bool cursor) {
  const char* n = name.c_str();
  bool found = false;
  TimestampTz created = pg::call([&]() -> TimestampTz {
    if (cursor) {
      Portal portal = GetPortalByName(n);
      found = PortalIsValid(portal);
      return found ? portal->creation_time : 0;
    }
    PreparedStatement* ps = FetchPreparedStatement(n, false);
    found = ps != nullptr;
    return found ? ps->prepare_time : 0;
  });
  if (!found) return std::nullopt;
  return created;
}

// Deallocates the prepared statement (or closes the cursor) `name` if it is the one created at
// `created`: one the session made anew under that name stays.
void drop_if_created_at(const std::string& name, bool cursor, TimestampTz created) {
  const char* n = name.c_str();
  pg::call([&] {
    if (cursor) {
      Portal portal = GetPortalByName(n);
      if (PortalIsValid(portal) && portal->creation_time == created && portal->status != PORTAL_ACTIVE)
        PortalDrop(portal, false);
    } else {
      PreparedStatement* ps = FetchPreparedStatement(n, false);
      if (ps && ps->prepare_time == created) DropPreparedStatement(n, false);
    }
  });
}

}  // namespace

void SessionLeftovers::note(const std::vector<ScriptStatement>& stmts) {
  for (const ScriptStatement& s : stmts) {
    Node* node = s.parsetree;
    bool cursor = IsA(node, DeclareCursorStmt) && (castNode(DeclareCursorStmt, node)->options & CURSOR_OPT_HOLD);
    if (!IsA(node, PrepareStmt) && !cursor) continue;
    std::string name = cursor ? castNode(DeclareCursorStmt, node)->portalname : castNode(PrepareStmt, node)->name;
    bool listed = std::any_of(entries_.begin(), entries_.end(),
                              [&](const Entry& e) { return e.cursor == cursor && e.name == name; });
    // One the session has already is not the script's, unless the script replaces it
    // (DEALLOCATE p; PREPARE p): settle() tells by the creation time.
    if (listed) continue;
    std::optional<TimestampTz> before = created_at(name, cursor);
    entries_.push_back({std::move(name), cursor, false, 0, before});
  }
}

void SessionLeftovers::settle() {
  std::vector<Entry> kept;
  for (Entry& e : entries_) {
    if (!e.settled) {
      std::optional<TimestampTz> created = created_at(e.name, e.cursor);
      if (!created) continue;  // not created (or gone with a rollback)
      if (e.before && *e.before == *created) continue;  // the session's, untouched
      e.created = *created;
      e.settled = true;
    }
    kept.push_back(std::move(e));
  }
  entries_.swap(kept);
}

void SessionLeftovers::clear() {
  settle();
  // One by one, each forgotten once dropped: after a failure the rest stays listed (next clear).
  while (!entries_.empty()) {
    const Entry& e = entries_.back();
    drop_if_created_at(e.name, e.cursor, e.created);
    entries_.pop_back();
  }
}

bool SessionLeftovers::clear_after_failure() {
  try {
    clear();
    return true;
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) throw;
    return false;
  }
}

void SessionLeftovers::absorb(SessionLeftovers& other) {
  other.settle();
  for (Entry& e : other.entries_) entries_.push_back(std::move(e));
  other.entries_.clear();
}

SessionLeftovers& script_leftovers() {
  static SessionLeftovers leftovers;
  return leftovers;
}

std::vector<SessionObject> session_objects() {
  std::vector<SessionObject> out;
  auto add = [&](const Datum* v, const bool* isnull, bool cursor, int time_column) {
    if (isnull[0]) return;
    const char* name = pg::call([&] { return TextDatumGetCString(v[0]); });
    out.push_back({name, cursor, isnull[time_column] ? 0 : DatumGetTimestampTz(v[time_column])});
  };
  // pg_prepared_statement(): name, statement, prepare_time, ...
  pg::read_set_function(F_PG_PREPARED_STATEMENT, 3, [&](const Datum* v, const bool* n) { add(v, n, false, 2); });
  // pg_cursor(): name, statement, is_holdable, is_binary, is_scrollable, creation_time; the
  // others end with the transaction.
  pg::read_set_function(F_PG_CURSOR, 6, [&](const Datum* v, const bool* n) {
    if (!n[2] && DatumGetBool(v[2])) add(v, n, true, 5);
  });
  return out;
}

void drop_created_since(const std::vector<SessionObject>& before) {
  for (const SessionObject& now : session_objects()) {
    bool kept = std::any_of(before.begin(), before.end(), [&](const SessionObject& b) {
      return b.cursor == now.cursor && b.name == now.name && b.created == now.created;
    });
    if (!kept) drop_if_created_at(now.name, now.cursor, now.created);
  }
}

std::string sha256_hex(std::string_view bytes) {
  uint8 digest[PG_SHA256_DIGEST_LENGTH];
  const uint8* data = reinterpret_cast<const uint8*>(bytes.data());
  size_t len = bytes.size();
  pg_cryptohash_ctx* ctx = pg::call([] { return pg_cryptohash_create(PG_SHA256); });
  bool ok = pg::call([&] {
    bool good = pg_cryptohash_init(ctx) == 0 && pg_cryptohash_update(ctx, data, len) == 0 &&
                pg_cryptohash_final(ctx, digest, sizeof digest) == 0;
    pg_cryptohash_free(ctx);
    return good;
  });
  if (!ok) throw Error(sqlstate::kInternalError, "could not compute a SHA-256 checksum");
  return to_hex(digest, sizeof digest);
}

}  // namespace pgm

namespace pgm {
namespace {

void add_foreign_key_targets(List* constraints, std::vector<RangeVar*>& out) {
  ListCell* lc;
  foreach (lc, constraints) {
    Node* n = (Node*)lfirst(lc);
    if (IsA(n, Constraint) && castNode(Constraint, n)->contype == CONSTR_FOREIGN &&
        castNode(Constraint, n)->pktable)
      out.push_back(castNode(Constraint, n)->pktable);
  }
}

}  // namespace

std::vector<RangeVar*> lock_targets(Node* node) {
  std::vector<RangeVar*> out;
  ListCell* lc;
  switch (nodeTag(node)) {
    case T_AlterTableStmt: {
      AlterTableStmt* s = castNode(AlterTableStmt, node);
      out.push_back(s->relation);
      foreach (lc, s->cmds) {
        AlterTableCmd* cmd = (AlterTableCmd*)lfirst(lc);
        if (cmd->def && IsA(cmd->def, Constraint)) {
          Node* def = cmd->def;
          add_foreign_key_targets(pg::call([&] { return list_make1(def); }), out);
        }
        if (cmd->def && IsA(cmd->def, ColumnDef)) add_foreign_key_targets(castNode(ColumnDef, cmd->def)->constraints, out);
      }
      break;
    }
    case T_CreateStmt: {
      CreateStmt* s = castNode(CreateStmt, node);
      add_foreign_key_targets(s->constraints, out);
      foreach (lc, s->tableElts) {
        Node* e = (Node*)lfirst(lc);
        if (IsA(e, ColumnDef)) add_foreign_key_targets(castNode(ColumnDef, e)->constraints, out);
      }
      foreach (lc, s->inhRelations) out.push_back((RangeVar*)lfirst(lc));
      break;
    }
    case T_IndexStmt:
      out.push_back(castNode(IndexStmt, node)->relation);
      break;
    case T_CreateTrigStmt:
      out.push_back(castNode(CreateTrigStmt, node)->relation);
      break;
    case T_RuleStmt:
      out.push_back(castNode(RuleStmt, node)->relation);
      break;
    case T_RenameStmt:
      if (castNode(RenameStmt, node)->relation) out.push_back(castNode(RenameStmt, node)->relation);
      break;
    case T_LockStmt:
      foreach (lc, castNode(LockStmt, node)->relations) out.push_back((RangeVar*)lfirst(lc));
      break;
    case T_TruncateStmt:
      foreach (lc, castNode(TruncateStmt, node)->relations) out.push_back((RangeVar*)lfirst(lc));
      break;
    case T_ClusterStmt:
      if (castNode(ClusterStmt, node)->relation) out.push_back(castNode(ClusterStmt, node)->relation);
      break;
    case T_InsertStmt:
      out.push_back(castNode(InsertStmt, node)->relation);
      break;
    case T_UpdateStmt:
      out.push_back(castNode(UpdateStmt, node)->relation);
      break;
    case T_DeleteStmt:
      out.push_back(castNode(DeleteStmt, node)->relation);
      break;
#if PG_VERSION_NUM >= 150000
    case T_MergeStmt:
      out.push_back(castNode(MergeStmt, node)->relation);
      break;
#endif
    case T_DropStmt: {
      DropStmt* s = castNode(DropStmt, node);
      if (s->removeType == OBJECT_TABLE || s->removeType == OBJECT_INDEX ||
          s->removeType == OBJECT_VIEW || s->removeType == OBJECT_MATVIEW ||
          s->removeType == OBJECT_SEQUENCE || s->removeType == OBJECT_FOREIGN_TABLE) {
        foreach (lc, s->objects) {
          List* names = (List*)lfirst(lc);
          RangeVar* rv = pg::call([&] { return makeRangeVarFromNameList(names); });
          out.push_back(rv);
        }
      }
      break;
    }
    default:
      break;
  }
  return out;
}

namespace {

// Plain C walker over a raw parse tree (no C++ object alive): stops at the first
// INSERT/UPDATE/DELETE/MERGE whose target is a system catalog.
bool catalog_write_walker(Node* node, void* context) {
  if (!node) return false;
  RangeVar* target = nullptr;
  switch (nodeTag(node)) {
    case T_InsertStmt: target = castNode(InsertStmt, node)->relation; break;
    case T_UpdateStmt: target = castNode(UpdateStmt, node)->relation; break;
    case T_DeleteStmt: target = castNode(DeleteStmt, node)->relation; break;
#if PG_VERSION_NUM >= 150000
    case T_MergeStmt: target = castNode(MergeStmt, node)->relation; break;
#endif
    default: break;
  }
  if (target) {
    Oid relid = RangeVarGetRelid(target, NoLock, true);
    if (OidIsValid(relid) && IsCatalogRelationOid(relid)) return true;
  }
#if PG_VERSION_NUM >= 160000
  return raw_expression_tree_walker(node, catalog_write_walker, context);
#else
  // PostgreSQL < 16 declares the walker without a prototype; through void (*)() to say so.
  return raw_expression_tree_walker(
      node, reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(catalog_write_walker)), context);
#endif
}

}  // namespace

bool writes_system_catalog(Node* parsetree) {
  // The raw tree walker knows queries only (utility statements are not its business); EXPLAIN,
  // COPY (query) TO and PREPARE carry one.
  if (!parsetree) return false;
  if (IsA(parsetree, ExplainStmt)) return writes_system_catalog(castNode(ExplainStmt, parsetree)->query);
  if (IsA(parsetree, CopyStmt)) return writes_system_catalog(castNode(CopyStmt, parsetree)->query);
  if (IsA(parsetree, PrepareStmt)) return writes_system_catalog(castNode(PrepareStmt, parsetree)->query);
  switch (nodeTag(parsetree)) {
    case T_InsertStmt: case T_UpdateStmt: case T_DeleteStmt: case T_SelectStmt:
#if PG_VERSION_NUM >= 150000
    case T_MergeStmt:
#endif
      return pg::call([&] { return catalog_write_walker(parsetree, nullptr); });
    default:
      return false;
  }
}

namespace {

// Appends a token's identity: keywords by name, identifiers as the scanner folds them,
// literals by value. Token codes are never hashed (they differ between PostgreSQL versions).
void append_token(std::string& out, int tok, const core_YYSTYPE& val) {
  auto with = [&](char kind, const char* s) {
    out += kind;
    out += s ? s : "";
    out += '\0';
  };
  using pg::scan::Token;
  switch (pg::scan::classify(tok)) {
    case Token::kEnd:
    case Token::kChar:
      out += 'c';
      out += static_cast<char>(tok);
      out += '\0';
      return;
    case Token::kIdent: with('i', val.str); return;
    case Token::kUIdent: with('u', val.str); return;
    case Token::kFConst: with('f', val.str); return;
    case Token::kSConst: with('s', val.str); return;
    case Token::kUSConst: with('U', val.str); return;
    case Token::kBConst: with('b', val.str); return;
    case Token::kXConst: with('x', val.str); return;
    case Token::kOp: with('o', val.str); return;
    case Token::kIConst: with('n', std::to_string(val.ival).c_str()); return;
    case Token::kParam: with('p', std::to_string(val.ival).c_str()); return;
    case Token::kTypecast: with('o', "::"); return;
    case Token::kDotDot: with('o', ".."); return;
    case Token::kColonEquals: with('o', ":="); return;
    case Token::kEqualsGreater: with('o', "=>"); return;
    case Token::kLessEquals: with('o', "<="); return;
    case Token::kGreaterEquals: with('o', ">="); return;
    case Token::kNotEquals: with('o', "<>"); return;
    case Token::kKeyword: with('k', val.keyword); return;
  }
}

}  // namespace

namespace {

// SHA-256 over the script's tokens as the core scanner returns them (script_checksum() below);
// every_semicolon: "tokens 1", as 0.9.0's library and older computed it.
std::string token_checksum(const std::string& raw, bool every_semicolon) {
  std::string text = files::normalize(raw);
  std::string tokens = every_semicolon ? "pg_migrate tokens 1" : "pg_migrate tokens 2";
  tokens += '\0';
  const size_t empty_size = tokens.size();
  bool separator_pending = false;  // a `;` after a statement, counted if another follows
  const char* str = text.c_str();
  // The scanner's allocations (buffer, one string per token) go into a context of their own.
  MemoryContext scratch = pg::call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_migrate script checksum", ALLOCSET_SMALL_SIZES);
  });
  MemoryContext outer = MemoryContextSwitchTo(scratch);
  try {
    core_yy_extra_type extra;
    core_yyscan_t scanner = pg::call([&] {
      core_yyscan_t s = pg::scan::begin(str, &extra);
      extra.escape_string_warning = false;
      return s;
    });
    for (;;) {
      core_YYSTYPE val;
      YYLTYPE loc;
      val.str = nullptr;
      int tok = pg::call([&] { return core_yylex(&val, &loc, scanner); });
      if (tok == 0) break;
      if (tok == ';' && !every_semicolon) {
        separator_pending = tokens.size() > empty_size;
        continue;
      }
      if (separator_pending) append_token(tokens, ';', val);
      separator_pending = false;
      append_token(tokens, tok, val);
    }
    pg::call([&] { scanner_finish(scanner); });
  } catch (...) {
    MemoryContextSwitchTo(outer);  // (the error's data is in the entry point's context)
    throw;
  }
  MemoryContextSwitchTo(outer);
  pg::call([&] { MemoryContextDelete(scratch); });
  return sha256_hex(tokens);
}

}  // namespace

// SHA-256 over the script's tokens as PostgreSQL's core scanner returns them: white space,
// comments, line endings and the case of keywords and unquoted identifiers do not count;
// every change to what runs (a name, a literal, an operator) does. Nor do semicolons that end
// no statement (leading, repeated, the script's last): a `;` counts only between two
// statements. ("tokens 1", 0.9.0's library and older, counted every `;`: sync compares a
// checksum stored then with the stored script's checksum now.)
std::string script_checksum(const std::string& raw) { return token_checksum(raw, false); }

std::string legacy_script_checksum(const std::string& raw) { return token_checksum(raw, true); }

std::string script_directives(const std::string& script, const ScriptLabel& label) {
  std::vector<std::pair<size_t, size_t>> spans;
  for (const ScriptStatement& s : parse_script(script, label)) spans.push_back({s.begin, s.end});
  return directive_signature(script, spans);
}

}  // namespace pgm
