// Directives of non-transactional and batched migrations (README "Indexes and data on busy
// tables"). Pure C++: no PostgreSQL header.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgm {

// How a script runs. kTransaction: in one transaction (COMMIT / COMMIT AND CHAIN split it into
// consecutive transactions under CALL migrate.run()). kNoTransaction: the script begins with
// the line `-- pg_migrate:no-transaction`; every statement commits on its own, at top level.
enum class ScriptMode { kTransaction, kNoTransaction };

inline constexpr std::string_view kNoTransactionDirective = "-- pg_migrate:no-transaction";
inline constexpr std::string_view kBatchDirective = "-- pg_migrate:batch";
// The directive as a block comment opening the first line, for files the pg_migrate command
// marks non-transactional without adding a line (diesel's metadata.toml).
inline constexpr std::string_view kNoTransactionBlock = "/* pg_migrate:no-transaction */";

// True if the first line of `script` that is not blank is exactly the directive (trailing
// white space and a trailing '\r' allowed), or begins with kNoTransactionBlock.
bool has_no_transaction_directive(std::string_view script);

// True if some line of `script` other than the first non-blank one mentions the directive:
// a misplaced directive is an error rather than silently a transactional migration.
bool has_misplaced_no_transaction_directive(std::string_view script);

// A comment line of `script` that looks like a pg_migrate directive ("-- pg_migrate:...", any
// case or spacing) but is none of "-- pg_migrate:no-transaction", "-- pg_migrate:batch ..." and
// "-- pg_migrate:ignore ...": a misspelt directive would otherwise be a plain comment and the
// script run otherwise than its author meant. Its 1-based line and text, or nothing.
struct UnknownDirective {
  int line = 0;
  std::string text;
};
std::optional<UnknownDirective> find_unknown_directive(std::string_view script);

// The pg_migrate directives of a script, each with the place it stands: the lines between
// statements (`spans`: each statement's [begin, end) byte offsets, in order) that mention
// "pg_migrate:", numbered by the statement they precede. The checksum ignores comments, so a
// changed, added or removed directive (an `ignore` of a lint rule, a `batch` size) of a script
// whose statements stay the same changes only this.
std::string directive_signature(std::string_view script, const std::vector<std::pair<size_t, size_t>>& spans);

struct BatchDirective {
  long rows = 0;       // rows per batch (1 .. 1,000,000)
  long pause_ms = -1;  // pause between batches; -1: pg_migrate.batch_pause
  int line_offset = 0; // 0-based line of the directive within the scanned text
};

// Looks for `-- pg_migrate:batch <rows> [pause <ms>ms]` among the comment lines of `gap` (the
// text between the previous statement and this one). Returns nothing if there is none; throws
// std::invalid_argument with the reason if the directive is malformed or given twice.
std::optional<BatchDirective> find_batch_directive(std::string_view gap);

}  // namespace pgm
