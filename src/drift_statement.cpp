// Drift: the text of the statement an event trigger fires for (README "The statement text, and
// shared_preload_libraries"), and its redaction.
//
// A ProcessUtility hook keeps a stack of the utility statements running in this backend (query
// string + location); the innermost one is the statement an event trigger fires for. The hook
// is active once the library is loaded: from backend start when it is in
// shared_preload_libraries or session_preload_libraries, otherwise from the first event
// trigger call (or pg_migrate function) of the session. Until then the trigger re-parses
// debug_query_string and picks the statement whose parse tree equal()s the event's.
//
// Redaction: the rules are pure (src/core/drift_redact.cpp); this file tokenizes with
// PostgreSQL's core scanner.
#include "drift_statement.hpp"

#include <cstring>

#include "xact.hpp"
#include "core/drift_redact.hpp"
#include "drift_internal.hpp"
#include "drift_snapshot.hpp"
#include "pg/guard.hpp"
#include "pg/scan.hpp"
#include "script_parse.hpp"

extern "C" {
#include "parser/parser.h"
#include "tcop/pquery.h"
#include "tcop/utility.h"
#include "utils/portal.h"
}

namespace pgm::drift {
namespace {

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
bool loaded_at_start = false;
ProcessUtility_hook_type previous_process_utility = nullptr;

// PostgreSQL 14+ signature (pg_migrate supports 14-17).
void drift_process_utility(PlannedStmt* pstmt, const char* query_string, bool read_only_tree,
                           ProcessUtilityContext context, ParamListInfo params,
                           QueryEnvironment* query_env, DestReceiver* dest, QueryCompletion* qc) {
  if (pstmt->utilityStmt && in_migration()) {
    // Also through dynamic SQL, which the check when a script is registered does not see.
    const char* own = changes_pg_migrate(pstmt->utilityStmt);
    if (!own) own = changes_pg_migrate_owner(pstmt->utilityStmt);
    if (own)
      ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("%s cannot run inside a migration", own),
                      errhint("%s", kChangesPgMigrateHint)));
    // A migration's statement the snapshot refresh cannot follow object by object.
    track_snapshot_statement(pstmt->utilityStmt);
  }
  // Statements PostgreSQL runs without firing event triggers are recorded here (after they
  // ran; not a migration's).
  const bool unfired = pstmt->utilityStmt && fires_no_event_trigger(pstmt->utilityStmt) && !in_migration();
  const UnfiredBefore before = unfired ? unfired_before(pstmt->utilityStmt) : UnfiredBefore{};
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
    if (unfired) record_unfired(pstmt->utilityStmt, before);
  }
  PG_FINALLY();
  { frame_depth = saved_depth; }
  PG_END_TRY();
}

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
  // The scanner warned of a backslash in a literal under standard_conforming_strings = off
  // when the statement ran; parsed again here it warned a second time.
  const bool warned = escape_string_warning;
  {
    // The string was parsed once already; a failure now (changed settings) just means no match.
    pg::SubTransaction sub;
    escape_string_warning = false;  // (once the subtransaction is open: it is restored on every path below)
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
    } catch (pg::PgError& e) {
      escape_string_warning = warned;
      sub.rollback();
      if (e.is_interrupt()) throw;  // a cancel during the parse ends the statement
      raw = nullptr;
    }
  }
  escape_string_warning = warned;
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

}  // namespace

int utility_depth() { return frame_depth; }

bool hook_sees_statement() { return frame_depth > 0 && frame_depth <= kMaxFrames && frames[frame_depth - 1].query; }

void stash_statement(Node* parsetree) {
  if (hook_sees_statement() || !parsetree) return;
  if (stash.size() >= 16) stash.clear();
  stash.push_back({parsetree, text_from_client_query(parsetree)});
}

StatementText current_statement(Node* parsetree) {
  if (hook_sees_statement()) {
    const StatementFrame& f = frames[frame_depth - 1];
    return {statement_text(f.query, f.location, f.length), "hook"};
  }
  for (auto it = stash.rbegin(); it != stash.rend(); ++it)
    if (it->tree == parsetree) return it->text;
  return text_from_client_query(parsetree);
}

namespace {

StatementText text_from_client_query(Node* parsetree) {
  const char* client = debug_query_string;
  if (!client) return {};
  // The statement the client's portal runs now: the statement itself when the event is for
  // it (exact: its location in the query string, even when running it changed its tree, as
  // CREATE SCHEMA ... CREATE TABLE t does, so that it may equal another statement's), else the
  // one nested DDL (a DO block, a function) runs in.
  int location = -1, length = 0;
  bool itself = false;
  pg::call([&] {
    Portal portal = ActivePortal;
    if (!portal || !portal->sourceText || std::strcmp(portal->sourceText, client) != 0 ||
        list_length(portal->stmts) != 1 || !IsA(linitial(portal->stmts), PlannedStmt))
      return;
    PlannedStmt* ps = linitial_node(PlannedStmt, portal->stmts);
    location = ps->stmt_location;
    length = ps->stmt_len;
    itself = parsetree && ps->utilityStmt == parsetree;
  });
  if (itself) return {statement_text(client, location, length), "parse"};
  std::string query(client);
  parse_client_query(query);
  if (parsetree) {
    for (const ParsedQuery::Stmt& s : parsed_cache.stmts) {
      Node* tree = s.tree;
      bool same = pg::call([&] { return equal(tree, parsetree); });
      if (same) return {statement_text(client, s.location, s.length), "parse"};
    }
  }
  if (parsed_cache.stmts.size() == 1)
    return {statement_text(client, parsed_cache.stmts[0].location, parsed_cache.stmts[0].length), "enclosing"};
  if (location >= 0) return {statement_text(client, location, length), "enclosing"};
  return {statement_text(client, 0, 0), "query"};
}

}  // namespace

void install_statement_hook() {
  // Loaded before the first query of the backend: shared or session preload.
  loaded_at_start = debug_query_string == nullptr;
  previous_process_utility = ProcessUtility_hook;
  ProcessUtility_hook = drift_process_utility;
}

bool loaded_at_backend_start() { return loaded_at_start; }

void forget_stashed_statements() noexcept { stash.clear(); }

}  // namespace pgm::drift

namespace pgm::drift {
namespace {

struct RawToken {
  int kind;  // SqlToken::Kind
  int start;
  int unicode_end;  // U&"..." or U&'...': where its text (with a UESCAPE clause) ends; else 0
  char punct;
  char* text;  // palloc'd, or nullptr
};

// Scans `sql` (NUL-terminated) with the core scanner into a palloc'd array; errors (an
// unterminated literal inside a string that is not SQL) are PostgreSQL errors the caller
// turns into "does not scan". A U&"..." identifier or U&'...' string comes with its escapes
// undecoded (decode_unicode() below), and with the UESCAPE clause that may follow it.
RawToken* scan(const char* sql, int* count) {
  core_yy_extra_type extra;
  core_yyscan_t scanner = pg::scan::begin(sql, &extra);
  extra.escape_string_warning = false;  // the statement was scanned once already
  int capacity = 64, n = 0;
  RawToken* tokens = static_cast<RawToken*>(palloc(sizeof(RawToken) * capacity));
  core_YYSTYPE value;
  YYLTYPE location;
  int uescape = 0;  // 1: a UESCAPE keyword follows a U& token; 2: its string
  for (;;) {
    using pg::scan::Token;
    int code = core_yylex(&value, &location, scanner);
    Token token = pg::scan::classify(code);
    if (token == Token::kEnd) break;
    if (n > 0 && tokens[n - 1].unicode_end < 0) tokens[n - 1].unicode_end = location;
    if (uescape == 1 && token == Token::kKeyword && strcmp(value.keyword, "uescape") == 0) {
      uescape = 2;  // part of the U& token before it
      continue;
    }
    if (uescape == 2 && token == Token::kSConst) {
      uescape = 0;
      tokens[n - 1].unicode_end = -1;  // ends where the next token starts
      continue;
    }
    uescape = 0;
    if (n == capacity) {
      capacity *= 2;
      tokens = static_cast<RawToken*>(repalloc(tokens, sizeof(RawToken) * capacity));
    }
    RawToken& t = tokens[n++];
    t.start = location;
    t.unicode_end = 0;
    t.punct = 0;
    t.text = nullptr;
    if (token == Token::kIdent || token == Token::kUIdent) {
      t.kind = SqlToken::kWord;
      t.text = value.str;
    } else if (token == Token::kSConst || token == Token::kUSConst) {
      t.kind = SqlToken::kString;
      t.text = value.str;
    } else if (token == Token::kChar) {
      t.kind = SqlToken::kOther;
      t.punct = static_cast<char>(code);
    } else if (token == Token::kKeyword) {  // the scanner gives its text
      t.kind = SqlToken::kWord;
      t.text = const_cast<char*>(value.keyword);
    } else {
      t.kind = SqlToken::kOther;
    }
    if (token == Token::kUIdent || token == Token::kUSConst) {
      t.unicode_end = -1;  // ends where the next token starts
      uescape = 1;
    }
  }
  if (n > 0 && tokens[n - 1].unicode_end < 0) tokens[n - 1].unicode_end = static_cast<int>(strlen(sql));
  scanner_finish(scanner);
  *count = n;
  return tokens;
}

// The value of a U&"..." identifier or U&'...' string (sql[start, end): the token, with its
// UESCAPE clause), as the parser decodes it: the grammar's lexer does, and it is not
// installed for extensions, so the token is parsed as the target of a SELECT. PostgreSQL
// errors for an escape the parser refuses.
char* decode_unicode(const char* sql, int start, int end, bool identifier) {
  StringInfoData select;
  initStringInfo(&select);
  appendStringInfoString(&select, identifier ? "SELECT 1 AS " : "SELECT ");
  appendBinaryStringInfo(&select, sql + start, end - start);
  List* parsed = raw_parser(select.data, RAW_PARSE_DEFAULT);
  Node* stmt = linitial_node(RawStmt, parsed)->stmt;
  ResTarget* target = linitial_node(ResTarget, castNode(SelectStmt, stmt)->targetList);
  if (identifier) return target->name;
  return strVal(&castNode(A_Const, target->val)->val);
}

std::optional<std::vector<SqlToken>> tokenize(std::string_view sql) {
  std::string copy(sql);  // the scanner needs a terminated string
  const char* text = copy.c_str();
  MemoryContext context = pg::call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_migrate redact", ALLOCSET_SMALL_SIZES);
  });
  MemoryContext old = MemoryContextSwitchTo(context);
  std::optional<std::vector<SqlToken>> out;
  try {
    // Literal contents may not be SQL at all: a scanner error just means "does not scan".
    int count = 0;
    RawToken* raw = nullptr;
    {
      pg::SubTransaction sub;
      try {
        raw = pg::call([&] { return scan(text, &count); });
        sub.commit();
      } catch (pg::PgError& e) {
        sub.rollback();
        if (e.is_interrupt()) throw;
        raw = nullptr;
      }
    }
    if (raw) {
      std::vector<SqlToken> tokens;
      tokens.reserve(count);
      for (int i = 0; i < count; ++i) {
        SqlToken t;
        t.kind = static_cast<SqlToken::Kind>(raw[i].kind);
        t.start = static_cast<size_t>(raw[i].start);
        t.punct = raw[i].punct;
        if (raw[i].text) t.text = raw[i].text;
        // U&"pass\0077ord" is read as password. An escape the parser refuses leaves the
        // token as written (and the rest of the text is still read: a DO body is not
        // parsed until it runs, and may hide a password after a bad escape).
        if (raw[i].unicode_end > 0) {
          pg::SubTransaction sub;
          try {
            bool identifier = t.kind == SqlToken::kWord;
            const char* decoded =
                pg::call([&] { return decode_unicode(text, raw[i].start, raw[i].unicode_end, identifier); });
            sub.commit();
            t.text = decoded;
          } catch (pg::PgError& e) {
            sub.rollback();
            if (e.is_interrupt()) throw;
          }
        }
        tokens.push_back(std::move(t));
      }
      out = std::move(tokens);
    }
  } catch (...) {
    MemoryContextSwitchTo(old);
    MemoryContextDelete(context);
    throw;
  }
  MemoryContextSwitchTo(old);
  MemoryContextDelete(context);
  return out;
}

}  // namespace

std::string redact_statement(const std::string& text, bool standard_strings) {
  if (!may_carry_credentials(text)) return text;
  // The scanner reads the setting's variable: as the session read the statement, for the
  // length of the call.
  struct Restore {
    bool saved;
    ~Restore() { standard_conforming_strings = saved; }
  } restore{standard_conforming_strings};
  standard_conforming_strings = standard_strings;
  std::string out = redact_credentials(text, tokenize, !standard_strings);
  // Scanned under the setting in force when the event fires; a statement of a query string
  // that changed it before this statement ("SET standard_conforming_strings = off; CREATE
  // USER MAPPING ... 'C:\'") was read under the other one.
  if (out == kNotScanned) {
    standard_conforming_strings = !standard_strings;
    std::string other = redact_credentials(text, tokenize, standard_strings);
    if (other != kNotScanned) out = std::move(other);
  }
  return out;
}

}  // namespace pgm::drift
