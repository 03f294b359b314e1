// Splitting a migration script into statements with PostgreSQL's own parser, and refusing
// statements that cannot run inside a migration's transaction.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/run_mode.hpp"
#include "pg/guard.hpp"

namespace pgm {

struct ScriptStatement {
  size_t begin;      // byte offset of the statement's first token in the script
  size_t end;        // byte offset just past its last character (before any ';')
  int line;          // 1-based line of `begin`
  Node* parsetree;   // raw parse tree (palloc'd in the caller's memory context)
};

// What a script is, for messages: `migration 2 ("add email")` and which script.
struct ScriptLabel {
  std::string version;
  std::string name;
  const char* which;  // "up" or "down"
  std::string describe() const;  // migration 2 ("add email")
};

// Parses `script` with the server's raw parser. A syntax error becomes an error naming the
// script and line (SQLSTATE kept, position shown inside the script).
std::vector<ScriptStatement> parse_script(const std::string& script, const ScriptLabel& label);

// The statements of an already parsed script (pg_parse_query's list), numbered by line in one
// pass. Comment-only or empty parts are skipped.
std::vector<ScriptStatement> split_statements(List* raw, const std::string& script);

// Throws pgm::Error if the statement cannot run inside a migration (transaction control,
// CREATE INDEX CONCURRENTLY, VACUUM, COPY FROM STDIN, ...). In a non-transactional script
// (kNoTransaction) the statements that must run at top level are accepted; in a transactional
// one COMMIT and COMMIT AND CHAIN are accepted as split points (CALL migrate.run()).
void check_runnable(const ScriptStatement& stmt, const std::string& script, const ScriptLabel& label,
                    ScriptMode mode = ScriptMode::kTransaction);

// check_runnable() for every statement, then check_session_state().
void check_statements(const std::vector<ScriptStatement>& stmts, const std::string& script,
                      const ScriptLabel& label, ScriptMode mode = ScriptMode::kTransaction);

// The statements whose effect is only on the session that applies the migration, and would
// outlive it there: a PREPARE without a later DEALLOCATE (or DEALLOCATE ALL), a DECLARE ...
// WITH HOLD without a later CLOSE (or CLOSE ALL), and any LISTEN, LOAD or DISCARD.
struct SessionStateLeft {
  size_t index;      // in the statements
  std::string what;  // e.g. "PREPARE ins without a later DEALLOCATE"
  std::string hint;
};
std::vector<SessionStateLeft> session_state_left(const std::vector<ScriptStatement>& stmts);

// Throws (0A000) for the first statement session_state_left() finds.
void check_session_state(const std::vector<ScriptStatement>& stmts, const std::string& script,
                         const ScriptLabel& label);

// The names the statements PREPARE: a lock-timeout retry deallocates those the failed attempt
// left (PREPARE is not undone by a rollback).
std::vector<std::string> prepared_names(const std::vector<ScriptStatement>& stmts);

// The statement's name if it cannot run inside a transaction block (CREATE INDEX CONCURRENTLY,
// VACUUM, ...) and a non-transactional migration runs it at top level; nullptr otherwise.
const char* top_level_statement(Node* parsetree);

// True for COMMIT and COMMIT AND CHAIN (split points of a transactional script).
bool is_split_point(Node* parsetree);

// Statement text (no trailing ';').
std::string statement_text(const std::string& script, const ScriptStatement& stmt);

// Converts a 1-based character position (as in ErrorData.cursorpos) to a byte offset.
size_t char_pos_to_byte(const std::string& s, int cursorpos);

// SHA-256 of the bytes, lower-case hex, computed with PostgreSQL's cryptohash.
std::string sha256_hex(std::string_view bytes);

}  // namespace pgm

namespace pgm {

// Relations a statement locks by name (target table, indexed table, DML target, referenced tables of
// foreign keys, dropped or renamed tables, ...), for naming what a lock timeout waited on.
std::vector<RangeVar*> lock_targets(Node* parsetree);

// True when the statement (or a data-modifying WITH of it) inserts into, updates or deletes
// from a system catalog by name: a change no event trigger describes.
bool writes_system_catalog(Node* parsetree);

}  // namespace pgm
