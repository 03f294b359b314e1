// Drift capture: redaction of the recorded statement text. The rules are pure
// (src/core/drift_redact.cpp); this file tokenizes with PostgreSQL's core scanner.
#include "drift_statement.hpp"

#include "core/drift_redact.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "parser/gramparse.h"
#include "parser/parser.h"
#include "parser/scanner.h"
}

namespace pgm::drift {
namespace {

struct RawToken {
  int kind;  // SqlToken::Kind
  int start;
  char punct;
  char* text;  // palloc'd, or nullptr
};

// Scans `sql` (NUL-terminated) into a palloc'd array; errors (an unterminated literal inside a
// string that is not SQL) are PostgreSQL errors the caller turns into "does not scan".
RawToken* scan(const char* sql, int* count) {
  core_yy_extra_type extra;
  core_yyscan_t scanner = scanner_init(sql, &extra, &ScanKeywords, ScanKeywordTokens);
  extra.escape_string_warning = false;  // the statement was scanned once already
  int capacity = 64, n = 0;
  RawToken* tokens = static_cast<RawToken*>(palloc(sizeof(RawToken) * capacity));
  core_YYSTYPE value;
  YYLTYPE location;
  for (;;) {
    int token = core_yylex(&value, &location, scanner);
    if (token == 0) break;
    if (n == capacity) {
      capacity *= 2;
      tokens = static_cast<RawToken*>(repalloc(tokens, sizeof(RawToken) * capacity));
    }
    RawToken& t = tokens[n++];
    t.start = location;
    t.punct = 0;
    t.text = nullptr;
    if (token == IDENT || token == UIDENT) {
      t.kind = SqlToken::kWord;
      t.text = value.str;
    } else if (token == SCONST || token == USCONST) {
      t.kind = SqlToken::kString;
      t.text = value.str;
    } else if (token < 256) {
      t.kind = SqlToken::kOther;
      t.punct = static_cast<char>(token);
    } else if (token == FCONST || token == BCONST || token == XCONST || token == Op || token == ICONST ||
               token == PARAM || token == TYPECAST || token == DOT_DOT || token == COLON_EQUALS ||
               token == EQUALS_GREATER || token == LESS_EQUALS || token == GREATER_EQUALS || token == NOT_EQUALS) {
      t.kind = SqlToken::kOther;
    } else {  // a keyword: the scanner gives its text
      t.kind = SqlToken::kWord;
      t.text = const_cast<char*>(value.keyword);
    }
  }
  scanner_finish(scanner);
  *count = n;
  return tokens;
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
    // Literal contents may not be SQL at all: a scanner error just means "nothing to redact".
    pg::SubTransaction sub;
    int count = 0;
    RawToken* raw = nullptr;
    try {
      raw = pg::call([&] { return scan(text, &count); });
      sub.commit();
    } catch (pg::PgError& e) {
      int code = e.sqlerrcode();
      sub.rollback();
      if (code == ERRCODE_QUERY_CANCELED || code == ERRCODE_ADMIN_SHUTDOWN) throw;
      raw = nullptr;
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

std::string redact_statement(const std::string& text) {
  if (!may_carry_credentials(text)) return text;
  return redact_credentials(text, tokenize, !standard_conforming_strings);
}

}  // namespace pgm::drift
