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
  std::string describe() const;  // migration 2 ("add email"); version "C": callback afterMigrate.sql
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

// check_runnable() for every statement.
void check_statements(const std::vector<ScriptStatement>& stmts, const std::string& script,
                      const ScriptLabel& label, ScriptMode mode = ScriptMode::kTransaction);

// Statements whose only effect is on the session that applies the migration, which outlives
// it there (LISTEN registers that session, LOAD loads a library into it): lint warns of them.
struct SessionOnlyStatement {
  size_t index;      // in the statements
  std::string what;  // "LISTEN", "LOAD", "SET" (a non-transactional script's)
  std::string hint;
};
std::vector<SessionOnlyStatement> session_only_statements(const std::vector<ScriptStatement>& stmts,
                                                          ScriptMode mode);

// Prepared statements and WITH HOLD cursors outlive the script that made them in the session
// that ran it: a rollback does not undo PREPARE, and a WITH HOLD cursor survives its commit (a
// lock-timeout retry, running the script again, then failed on "already exists"). note() takes
// the names a script is about to create that do not exist yet; settle() (once it ran, or
// failed) remembers which of them it created, by their creation time; clear() deallocates and
// closes exactly those (not a later statement or cursor of the session's that took the name)
// and forgets them; absorb() moves another list's entries into this one.
class SessionLeftovers {
 public:
  void note(const std::vector<ScriptStatement>& stmts);
  void settle();
  void clear();
  // clear() after a failure, before its error goes on: a failing cleanup does not replace that
  // error (a cancel still ends the call). False if the cleanup failed: the caller must then end
  // the call with its error rather than carry on (a retry) in the transaction.
  bool clear_after_failure();
  void absorb(SessionLeftovers& other);

 private:
  struct Entry {
    std::string name;
    bool cursor = false;
    bool settled = false;
    TimestampTz created = 0;
    // The session's own of that name when noted. Creation times are those of the top-level
    // statement: one the session created earlier in the same statement (a DO block that
    // prepares and then calls migrate.apply()) and the script replaced looks untouched.
    std::optional<TimestampTz> before;
  };
  std::vector<Entry> entries_;
};

// The leftovers of the migrations, repeatables, plans and verifications this backend runs:
// cleared after each script and, after a failure, when the next one begins.
SessionLeftovers& script_leftovers();

// The session's prepared statements and holdable cursors, by name and creation time.
struct SessionObject {
  std::string name;
  bool cursor = false;
  TimestampTz created = 0;
};
std::vector<SessionObject> session_objects();

// Drops every prepared statement and holdable cursor of the session that is not in `before`:
// what a dry run (plan(), verify()) created, also through dynamic SQL (EXECUTE 'PREPARE ...'
// in a DO block), which the statement-by-statement tracking above does not see.
void drop_created_since(const std::vector<SessionObject>& before);

// The statement's name if it cannot run inside a transaction block (CREATE INDEX CONCURRENTLY,
// VACUUM, ...) and a non-transactional migration runs it at top level; nullptr otherwise.
const char* top_level_statement(Node* parsetree);

// What the statement does to pg_migrate itself ("DROP EXTENSION pg_migrate", "ALTER SCHEMA
// migrate", ...), which a migration must not do: its own history could not be written. nullptr
// for any other statement. Plain C: called from the ProcessUtility hook.
const char* changes_pg_migrate(Node* parsetree) noexcept;
// REASSIGN OWNED / DROP OWNED BY a role that owns pg_migrate (its extension or schema
// migrate): which of the two, else nullptr. Reads the catalogs, so only at run time (the
// ProcessUtility hook); PostgreSQL's errors pass through it (it holds no C++ object).
const char* changes_pg_migrate_owner(Node* parsetree);
// The hint of that refusal, when registered and at run time.
inline constexpr const char* kChangesPgMigrateHint =
    "A migration cannot drop or change pg_migrate, which records it; run the statement on its own, outside "
    "pg_migrate.";

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

// SHA-256 over the script's tokens as PostgreSQL's core scanner returns them: white space,
// comments, line endings and the case of keywords and unquoted identifiers do not count;
// every change to what runs (a name, a literal, an operator) does (the checksum sync compares).
std::string script_checksum(const std::string& raw);
// The script's pg_migrate directives and where they stand (directive_signature()): what the
// checksum leaves out but changes how the script runs or is linted. Parses the script.
std::string script_directives(const std::string& script, const ScriptLabel& label);
// The checksum 0.9.0's library and older computed ("tokens 1": every `;` counted), to recognise
// the checksums they stored.
std::string legacy_script_checksum(const std::string& raw);

}  // namespace pgm
