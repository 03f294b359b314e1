#include "pg/scan.hpp"

namespace pgm::pg::scan {
namespace {

// Each token kind with a text the scanner returns it for (standard_conforming_strings on).
struct Probe {
  Token kind;
  const char* text;
};
constexpr Probe kProbes[] = {
    {Token::kIdent, "a"},           {Token::kUIdent, "U&\"a\""},  {Token::kFConst, "1.5"},
    {Token::kSConst, "'a'"},        {Token::kUSConst, "U&'a'"},   {Token::kBConst, "b'1'"},
    {Token::kXConst, "x'1'"},       {Token::kOp, "||"},           {Token::kIConst, "1"},
    {Token::kParam, "$1"},          {Token::kTypecast, "::"},     {Token::kDotDot, ".."},
    {Token::kColonEquals, ":="},    {Token::kEqualsGreater, "=>"}, {Token::kLessEquals, "<="},
    {Token::kGreaterEquals, ">="},  {Token::kNotEquals, "<>"}};
constexpr int kProbeCount = sizeof(kProbes) / sizeof(kProbes[0]);

int codes[kProbeCount];  // the code of kProbes[i].kind
bool learned = false;

int scan_one(const char* text) {
  core_yy_extra_type extra;
  core_yyscan_t scanner = scanner_init(text, &extra, &ScanKeywords, ScanKeywordTokens);
  extra.standard_conforming_strings = true;
  core_YYSTYPE value;
  YYLTYPE location;
  int code = core_yylex(&value, &location, scanner);
  int after = core_yylex(&value, &location, scanner);
  scanner_finish(scanner);
  return after == 0 ? code : -1;
}

void learn() {
  for (int i = 0; i < kProbeCount; ++i) {
    int code = scan_one(kProbes[i].text);
    bool distinct = code >= 256;
    for (int k = 0; k < i && distinct; ++k) distinct = codes[k] != code;
    if (!distinct)
      ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                      errmsg("pg_migrate cannot read this server's SQL scanner: \"%s\" scans as token %d",
                             kProbes[i].text, code)));
    codes[i] = code;
  }
  learned = true;
}

}  // namespace

core_yyscan_t begin(const char* text, core_yy_extra_type* extra) {
  if (!learned) learn();
  return scanner_init(text, extra, &ScanKeywords, ScanKeywordTokens);
}

Token classify(int code) {
  if (code == 0) return Token::kEnd;
  if (code < 256) return Token::kChar;
  for (int i = 0; i < kProbeCount; ++i)
    if (codes[i] == code) return kProbes[i].kind;
  return Token::kKeyword;
}

}  // namespace pgm::pg::scan
