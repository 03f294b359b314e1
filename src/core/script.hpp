// Text helpers for migration scripts: where a statement really starts, its line, a short
// one-line preview for messages, hex encoding of digests. Pure C++ (no PostgreSQL header).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgm {

// Offset of the first character at or after `offset` that is neither white space nor part of
// an SQL comment ("-- ..." or nested "/* ... */"). Returns sql.size() if there is none.
size_t skip_blanks_and_comments(std::string_view sql, size_t offset);

// 1-based line number of `offset` in `sql`.
int line_at(std::string_view sql, size_t offset);

// Line numbers of many offsets of one script in linear total time: each call counts only the
// newlines between the previous offset and this one (forwards or backwards), so numbering the
// statements of a script in order costs one pass over it, not one pass per statement.
class LineCounter {
 public:
  explicit LineCounter(std::string_view sql) : sql_(sql) {}
  int line_at(size_t offset);

 private:
  std::string_view sql_;
  size_t pos_ = 0;
  int line_ = 1;
};

// The offset where the line holding `offset` starts, and where it ends (its line break or the
// end of the text); a line ends at "\n", "\r\n" or a lone "\r".
size_t line_start(std::string_view sql, size_t offset);
size_t line_end(std::string_view sql, size_t offset);

// The statement folded to one line (runs of white space become one space), cut at `max_chars`
// with "..." appended, for error messages and result rows.
std::string one_line_preview(std::string_view statement, size_t max_chars = 200);

// Lower-case hexadecimal of a byte string.
std::string to_hex(const unsigned char* bytes, size_t length);

// True if the line holding `offset` starts (after white space) with a backslash: a psql
// meta-command such as \set or \i, which the server cannot run.
bool is_psql_meta_command_at(std::string_view sql, size_t offset);

// The line within a DO block's body that failed, from the error's context ("PL/pgSQL function
// inline_code_block line 4 at SQL statement"), or nothing (another language, or messages in
// another language than English). `statement` is the DO statement as run: the context after
// its own frame ('SQL statement "DO ..."') is the caller's (a DO block calling migrate.apply()).
std::optional<int> do_block_failed_line(std::string_view error_context, std::string_view statement);

// pg_dump (15.14, 16.10, 17.6 and later) brackets a plain dump with the psql meta-commands
// "\restrict <key>" and "\unrestrict <key>", which only guard psql's own restore: a copy of
// `sql` with those lines blanked (same length, so positions and lines stay), or nothing when it
// has none. A schema-only dump is a common baseline migration.
std::optional<std::string> without_dump_restrict_lines(std::string_view sql);

// The first word at `offset` (e.g. "\gset" or "COMMIT"), for messages.
std::string word_at(std::string_view sql, size_t offset);

// The byte offset of the first control character (U+0000..U+001F, U+007F, and in UTF-8 the C1
// controls U+0080..U+009F and the line breaks U+2028, U+2029) of `text`, or npos: a migration's
// name is one line of text, printed as it is in tables and on terminals.
size_t control_character_at(std::string_view text);

// The code point of the UTF-8 sequence at byte `at` (the byte itself when it starts none).
unsigned code_point_at(std::string_view text, size_t at);

// A set of words looked for in a text, ASCII letters in any case, without copying it: one
// pass, and a byte no word starts with is passed over at once (scripts of megabytes, every
// captured statement). The words are given in lower case and must outlive the set (literals).
class CaseInsensitiveWords {
 public:
  CaseInsensitiveWords(std::initializer_list<std::string_view> lower_case_words);
  bool found_in(std::string_view text) const;

 private:
  std::vector<std::string_view> words_;
  // Per byte, the words (bit i: words_[i]) starting with it, either case: a byte starting none
  // costs one load (capture redacts every DDL statement's text with one of these).
  std::array<uint64_t, 256> starting_{};
};

}  // namespace pgm
