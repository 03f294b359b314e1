// PostgreSQL's core scanner (the lexer every SQL string goes through), with its token codes
// learned at run time: they are defined by the grammar's parser/gram.h, which PostgreSQL 16
// stopped installing, and their values differ between versions anyway.
#pragma once

#include "pg/pg.hpp"

extern "C" {
#include "parser/scanner.h"
}

namespace pgm::pg::scan {

// What a token returned by core_yylex is.
enum class Token {
  kEnd,           // 0: the end of the text
  kChar,          // a one-character token: the code is the character
  kKeyword,       // yylval.keyword is the keyword, down-cased
  kIdent,         // identifier: yylval.str, unquoted ones down-cased
  kUIdent,        // U&"..." identifier: yylval.str, escapes not decoded
  kFConst,        // 1.5: yylval.str
  kSConst,        // 'a', E'a', $$a$$: yylval.str, the value
  kUSConst,       // U&'...': yylval.str, escapes not decoded
  kBConst,        // b'101': yylval.str
  kXConst,        // x'1f': yylval.str
  kOp,            // an operator of more than one character: yylval.str
  kIConst,        // 1: yylval.ival
  kParam,         // $1: yylval.ival
  kTypecast,      // ::
  kDotDot,        // ..
  kColonEquals,   // :=
  kEqualsGreater, // =>
  kLessEquals,    // <=
  kGreaterEquals, // >=
  kNotEquals,     // <> or !=
};

// scanner_init() with the server's keyword list. PostgreSQL errors (call it inside pg::call);
// the first call of the backend also learns the token codes.
core_yyscan_t begin(const char* text, core_yy_extra_type* extra);

// The kind of a token core_yylex returned from a scanner begin() set up.
Token classify(int code);

}  // namespace pgm::pg::scan
