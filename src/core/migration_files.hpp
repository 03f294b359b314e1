// Migration files in a folder: which layout a file name follows (pg_migrate/dbmate, Flyway,
// golang-migrate/morph, diesel/sqlx folders), the version and description it names, the
// `-- migrate:up` / `-- migrate:down` sections of a file, directives, slugs for new files and
// the normalization checksums are computed over. Pure C++ (no PostgreSQL header): shared by
// the pg_migrate command and the server's sync function, unit-tested without a server.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgm::files {

enum class Layout {
  Timestamped,  // <digits>_<slug>.sql: pg_migrate's own and dbmate's (sections), sqlx (up only)
  Flyway,       // V<version>__<desc>.sql, U<version>__<desc>.sql, R__<desc>.sql
  UpDown,       // golang-migrate / morph / sqlx: <version>_<name>.up.sql and .down.sql
  Folder,       // diesel: <version>_<name>/up.sql and down.sql
};

enum class Part {
  Sections,    // one file holding the up script and, after `-- migrate:down`, the down script
  Up,          // the up script only
  Down,        // the down script only
  Repeatable,  // Flyway R__: re-applied whenever its content changes
};

struct FileName {
  Layout layout;
  Part part;
  std::string version;      // as written, with separators made dots (Flyway 1_1 -> 1.1);
                            // diesel's 2019-02-26-002946 -> 20190226002946; "" for repeatables
  std::string description;  // human name: underscores of Flyway/diesel names become spaces
};

// Classifies a path relative to the migrations folder: "V1__init.sql",
// "20240101120000_add_users.sql", "1_init.up.sql", "2019-02-26-002946_users/up.sql"; in
// Flyway's and diesel's in subfolders too ("release_1/V1__init.sql",
// "2024/2019-02-26-002946_users/up.sql"), as those tools read them.
// nullopt if the name follows no layout (not a migration).
std::optional<FileName> parse_file_name(std::string_view relative_path);

const char* layout_name(Layout layout);

// Flyway's SQL callbacks: "<event>.sql" or "<event>__<description>.sql" (at any depth, as
// Flyway reads them), e.g. afterMigrate__grants.sql. pg_migrate runs those of the events below
// (kCallbackEvents, in the order an apply reaches them); a file named after another Flyway
// event (beforeClean, afterInfo, ...) is recognised so that it is reported, not ignored.
struct CallbackName {
  std::string event;        // beforeMigrate, afterMigrate, ...
  std::string description;  // "" for <event>.sql
  bool supported;           // pg_migrate runs it (is_callback_event)
};
std::optional<CallbackName> parse_callback_name(std::string_view relative_path);

// The callback events pg_migrate runs: beforeMigrate, beforeEachMigrate, afterEachMigrate,
// afterVersioned, beforeRepeatables, afterMigrate, afterMigrateApplied, afterMigrateError.
extern const char* const kCallbackEvents[8];
bool is_callback_event(std::string_view event);
// The events for messages: "beforeMigrate, beforeEachMigrate, ...".
std::string callback_event_list();

// The sections of a file in pg_migrate's (= dbmate's) format. `up` and `down` keep the line
// numbers of the file: everything outside a section is blanked to empty lines, so line N of a
// script is line N of the file. A file without `-- migrate:up` is all up script.
struct Sections {
  std::string up;
  std::optional<std::string> down;
  bool up_no_transaction = false;    // `-- migrate:up transaction:false`
  bool down_no_transaction = false;  // `-- migrate:down transaction:false`
  bool has_markers = false;
};
// Throws std::invalid_argument naming the line for a second `-- migrate:up` or a down
// section before the up section.
Sections split_sections(std::string_view text);

// The line (1-based) of the first down-section marker of dbmate, goose or sql-migrate in a
// file that is one script (Flyway's V/U files): that tool would stop the up script there, a
// Flyway file runs the rest too. 0 if there is none.
int down_section_marker_line(std::string_view text);

// True if the script's first non-blank line is a non-transactional directive:
// `-- pg_migrate:no-transaction`, dbmate's `-- migrate:up transaction:false` (also :down) or
// morph's `-- morph:nontransactional`, sqlx's `-- no-transaction`, or a first line that begins
// with `/* pg_migrate:no-transaction */` (with_no_transaction_block).
bool has_no_transaction_directive(std::string_view script);

// The script with its first non-blank line made "-- pg_migrate:no-transaction" when it carries
// another tool's no-transaction directive (morph's line is replaced, line numbers stay), so the
// server sees one directive. Other scripts are returned unchanged.
std::string with_pg_migrate_directive(std::string script);

// The script marked non-transactional without adding a line: "/* pg_migrate:no-transaction */ "
// in front of it (for a file its tool marks so elsewhere: diesel's metadata.toml). Unchanged if
// it already carries a directive.
std::string with_no_transaction_block(std::string script);

// diesel's metadata.toml next to up.sql: false if it says `run_in_transaction = false`. Throws
// std::invalid_argument for a value other than true or false.
bool diesel_runs_in_transaction(std::string_view toml);

// Byte offset of the first invalid UTF-8 sequence or NUL byte (no SQL text holds one), or
// npos if there is none.
size_t invalid_utf8_at(std::string_view text);

// "Add users table!" -> "add_users_table": letters and digits (ASCII ones in lower case,
// letters of other scripts as written), runs of anything else (punctuation, symbols, white
// space, emoji, invalid UTF-8) become one '_'; at most 60 characters. Empty if nothing is left.
std::string slug(std::string_view name);

// Text as checksums see it: CRLF and lone CR become LF, white space at the end of the text
// is dropped (an editor's final newline or a CRLF checkout does not change a checksum).
std::string normalize(std::string_view text);

// The bytes a file's source checksum hashes: file name, name, normalized up and down (and the
// repeatable flag), separated by NUL bytes. The command and the server compute the same
// SHA-256 over it, so an unchanged file is recognised without sending or parsing its script.
std::string source_digest_input(std::string_view file, std::string_view name, std::string_view up,
                                const std::optional<std::string>& down, bool repeatable);

// The bytes a folder digest hashes: every file's name and source checksum, sorted by file name.
// The server records the digest of a folder it found exactly in sync (migrate.sync_digest), so
// a later run with the same folder and an unchanged catalog needs no per-file work.
std::string folder_digest_input(std::vector<std::pair<std::string, std::string>> file_and_checksum);

}  // namespace pgm::files
