// Credential redaction for the statement text drift capture records (README "Drift",
// "What is redacted"). Pure: works on the tokens PostgreSQL's core scanner produced (the
// caller tokenizes, src/drift_statement.cpp); no PostgreSQL header. Unit-tested in
// test/unit/drift_redact_test.cpp.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgm::drift {

// One token of SQL text as the core scanner reports it.
struct SqlToken {
  enum Kind { kWord, kString, kOther };
  Kind kind = kOther;
  // kWord: the keyword or identifier (unquoted ones down-cased, as the scanner gives them);
  // kString: the literal's value; kOther: empty.
  std::string text;
  size_t start = 0;  // byte offset of the token in the text
  char punct = 0;    // kOther: the character of a one-character token ('(', ',', ';' ...)
};

// Tokenizes SQL text with PostgreSQL's scanner; nullopt when the text does not scan.
using SqlTokenizer = std::function<std::optional<std::vector<SqlToken>>(std::string_view)>;

// What is replaced: a string literal's value, or a value inside a connection string.
constexpr const char* kRedacted = "<redacted>";
// What is recorded instead of a statement that may carry a credential but does not scan.
constexpr const char* kNotScanned = "<redacted: the statement does not scan as it was run, and may carry a credential>";

// True for option names that carry a secret: names containing password, passwd, pwd,
// secret, token, credential, passphrase or api_key/apikey (case-insensitive).
bool password_like(std::string_view option_name);

// Cheap test whether text could carry a credential this module redacts (one of the words
// above, "connection", "mapping", or a URI "://"); texts without any are left alone unscanned.
bool may_carry_credentials(std::string_view text);

// A libpq connection string (keyword=value pairs, or a postgres:// / postgresql:// URI) with
// the values of password-like keywords (password, sslpassword, ...) and a URI's password
// replaced by <redacted>. nullopt when the text is not such a string or has no password.
std::optional<std::string> redact_conninfo(std::string_view conninfo);

// The end (offset after the closing quote) of the string literal starting at `start`: '...',
// E'...', U&'...', N'...', $tag$...$tag$, including SQL's continuation of a quoted literal on a
// following line. `backslash_escapes`: standard_conforming_strings is off. npos if unterminated.
size_t literal_end(std::string_view text, size_t start, bool backslash_escapes);

// `value` as an SQL string literal of the same kind as the literal `original` (dollar quotes
// kept; otherwise '...' or, with backslashes, E'...').
std::string requote_literal(std::string_view original, std::string_view value);

// The text with credentials redacted:
//  * PASSWORD 'x' (CREATE/ALTER ROLE/USER/GROUP);
//  * CONNECTION '...' (CREATE/ALTER SUBSCRIPTION): the whole connection string;
//  * OPTIONS (...) values: all of them in USER MAPPING statements (PostgreSQL shows
//    umoptions only to privileged readers), those of password-like names elsewhere (SERVER,
//    FOREIGN DATA WRAPPER, FOREIGN TABLE, columns);
//  * every other string literal that is a connection string or URI with a password: the
//    password (dblink_connect in a function body ...);
//  * string literals holding SQL (function and DO bodies, EXECUTE strings): redacted
//    recursively by the same rules (depth 4).
// Literal replacement is '<redacted>'. Text that does not tokenize is kNotScanned (a nested
// literal that does not tokenize is no SQL and stays).
std::string redact_credentials(std::string_view sql, const SqlTokenizer& tokenize, bool backslash_escapes,
                               int depth = 0);

}  // namespace pgm::drift
