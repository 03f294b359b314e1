#include "core/drift_redact.hpp"

#include <gtest/gtest.h>

#include <cctype>

using namespace pgm::drift;

namespace {

// A small stand-in for PostgreSQL's scanner, enough for the statements below: words,
// '...' / E'...' / $tag$...$tag$ literals (decoded), one-character punctuation.
std::optional<std::vector<SqlToken>> tokenize(std::string_view s) {
  std::vector<SqlToken> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) { ++i; continue; }
    SqlToken t;
    t.start = i;
    bool e_string = (c == 'E' || c == 'e') && i + 1 < s.size() && s[i + 1] == '\'';
    if (c == '\'' || e_string || c == '$') {
      size_t end = literal_end(s, i, false);
      if (end == std::string_view::npos) return std::nullopt;
      t.kind = SqlToken::kString;
      if (c == '$') {
        size_t tag_end = s.find('$', i + 1);
        size_t tag_len = tag_end - i + 1;
        t.text = std::string(s.substr(tag_end + 1, end - tag_len - tag_end - 1));
      } else {
        for (size_t k = i + (e_string ? 2 : 1); k + 1 < end; ++k) {
          if (e_string && s[k] == '\\') { t.text += s[++k]; continue; }
          if (s[k] == '\'') ++k;
          t.text += s[k];
        }
      }
      i = end;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      t.kind = SqlToken::kWord;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_'))
        t.text += static_cast<char>(std::tolower(static_cast<unsigned char>(s[i++])));
    } else if (c == '"') {
      size_t end = s.find('"', i + 1);
      t.kind = SqlToken::kWord;
      t.text = std::string(s.substr(i + 1, end - i - 1));
      i = end + 1;
    } else {
      t.kind = SqlToken::kOther;
      t.punct = c;
      ++i;
    }
    out.push_back(t);
  }
  return out;
}

std::string redact(std::string_view sql) { return redact_credentials(sql, tokenize, false); }

}  // namespace

TEST(DriftRedact, PasswordLikeNames) {
  EXPECT_TRUE(password_like("password"));
  EXPECT_TRUE(password_like("SSLPassword"));
  EXPECT_TRUE(password_like("passwd"));
  EXPECT_TRUE(password_like("client_secret"));
  EXPECT_TRUE(password_like("api_key"));
  EXPECT_TRUE(password_like("auth_token"));
  EXPECT_FALSE(password_like("user"));
  EXPECT_FALSE(password_like("host"));
  EXPECT_FALSE(password_like("dbname"));
}

TEST(DriftRedact, Prefilter) {
  EXPECT_FALSE(may_carry_credentials("COMMENT ON TABLE t IS 'x'"));
  EXPECT_FALSE(may_carry_credentials("CREATE TABLE t (id int)"));
  EXPECT_TRUE(may_carry_credentials("CREATE ROLE r PASSWORD 'x'"));
  EXPECT_TRUE(may_carry_credentials("create user mapping for r server s"));
  EXPECT_TRUE(may_carry_credentials("SELECT 'postgres://u:p@h/db'"));
}

TEST(DriftRedact, LiteralEnd) {
  EXPECT_EQ(literal_end("'abc' x", 0, false), 5u);
  EXPECT_EQ(literal_end("'it''s' x", 0, false), 7u);
  EXPECT_EQ(literal_end("E'a\\'b' x", 0, false), 7u);
  EXPECT_EQ(literal_end("'a\\'", 0, false), 4u);        // backslash is a plain character
  EXPECT_EQ(literal_end("'a\\'b' x", 0, true), 6u);     // standard_conforming_strings off
  EXPECT_EQ(literal_end("$$a'b$$ x", 0, false), 7u);
  EXPECT_EQ(literal_end("$q$a$$b$q$;", 0, false), 10u);
  EXPECT_EQ(literal_end("'a'\n  'b' x", 0, false), 9u);  // continued on the next line
  EXPECT_EQ(literal_end("'a' 'b'", 0, false), 3u);       // no newline: two tokens
  EXPECT_EQ(literal_end("U&'d\\0061t' x", 0, false), 11u);
  EXPECT_EQ(literal_end("'open", 0, false), std::string_view::npos);
}

TEST(DriftRedact, Requote) {
  EXPECT_EQ(requote_literal("'x'", "it's"), "'it''s'");
  EXPECT_EQ(requote_literal("'x'", "a\\b"), "E'a\\\\b'");
  EXPECT_EQ(requote_literal("$f$x$f$", "body 'q'"), "$f$body 'q'$f$");
  EXPECT_EQ(requote_literal("$$x$$", "has $$ inside"), "'has $$ inside'");
}

TEST(DriftRedact, Conninfo) {
  EXPECT_EQ(redact_conninfo("host=db1 password=s3cret dbname=app").value(), "host=db1 password=<redacted> dbname=app");
  EXPECT_EQ(redact_conninfo("host = db1 password = 'a b\\' c' user=x").value(), "host = db1 password = <redacted> user=x");
  EXPECT_EQ(redact_conninfo("sslpassword=k host=h").value(), "sslpassword=<redacted> host=h");
  // an unterminated quoted password (libpq refuses it): still redacted, to the end
  EXPECT_EQ(redact_conninfo("host=db password='c1\\' user=u").value(), "host=db password=<redacted>");
  EXPECT_FALSE(redact_conninfo("host='db user=u"));
  EXPECT_FALSE(redact_conninfo("host=db1 dbname=app").has_value());
  EXPECT_FALSE(redact_conninfo("not a conninfo password").has_value());
  EXPECT_EQ(redact_conninfo("postgresql://app:s3cret@db1:5432/app?sslmode=require").value(),
            "postgresql://app:<redacted>@db1:5432/app?sslmode=require");
  EXPECT_EQ(redact_conninfo("postgres://db1/app?user=app&password=s3cret&x=1").value(),
            "postgres://db1/app?user=app&password=<redacted>&x=1");
  EXPECT_FALSE(redact_conninfo("postgresql://app@db1/app").has_value());
}

TEST(DriftRedact, UserMappingAllOptions) {
  EXPECT_EQ(redact("CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'app', password 'p''w')"),
            "CREATE USER MAPPING FOR app SERVER s OPTIONS (user '<redacted>', password '<redacted>')");
  EXPECT_EQ(redact("ALTER USER MAPPING FOR app SERVER s OPTIONS (SET password 'new', ADD sslkey '/k', DROP user)"),
            "ALTER USER MAPPING FOR app SERVER s OPTIONS (SET password '<redacted>', ADD sslkey '<redacted>', DROP user)");
}

TEST(DriftRedact, ServerOptionsPasswordLikeOnly) {
  EXPECT_EQ(redact("CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (host 'db1', api_token 'abc', \"Password\" 'x')"),
            "CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (host 'db1', api_token '<redacted>', \"Password\" '<redacted>')");
  EXPECT_EQ(redact("ALTER SERVER s OPTIONS (SET secret 'abc')"), "ALTER SERVER s OPTIONS (SET secret '<redacted>')");
  // Not password-like, not a user mapping: kept.
  EXPECT_EQ(redact("ALTER SERVER s OPTIONS (SET host 'db2') ; CREATE TABLE token_t ()"),
            "ALTER SERVER s OPTIONS (SET host 'db2') ; CREATE TABLE token_t ()");
}

TEST(DriftRedact, RolesAndSubscriptions) {
  EXPECT_EQ(redact("CREATE ROLE app LOGIN PASSWORD 'x'"), "CREATE ROLE app LOGIN PASSWORD '<redacted>'");
  EXPECT_EQ(redact("ALTER USER app WITH ENCRYPTED PASSWORD E'a\\'b' VALID UNTIL 'infinity'"),
            "ALTER USER app WITH ENCRYPTED PASSWORD '<redacted>' VALID UNTIL 'infinity'");
  EXPECT_EQ(redact("ALTER ROLE app PASSWORD NULL"), "ALTER ROLE app PASSWORD NULL");
  EXPECT_EQ(redact("CREATE SUBSCRIPTION sub CONNECTION 'host=p dbname=a' PUBLICATION pub"),
            "CREATE SUBSCRIPTION sub CONNECTION '<redacted>' PUBLICATION pub");
  EXPECT_EQ(redact("ALTER SUBSCRIPTION sub CONNECTION 'host=p password=x'"),
            "ALTER SUBSCRIPTION sub CONNECTION '<redacted>'");
}

TEST(DriftRedact, NestedAndConninfoLiterals) {
  // A function body calling dblink with a password.
  EXPECT_EQ(redact("CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$SELECT dblink_connect('host=h password=pw')$$"),
            "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS $$SELECT dblink_connect('host=h password=<redacted>')$$");
  // A DO block running a user mapping through EXECUTE: quotes doubled inside.
  EXPECT_EQ(redact("DO $$BEGIN EXECUTE 'CREATE USER MAPPING FOR r SERVER s OPTIONS (password ''pw'')'; END$$"),
            "DO $$BEGIN EXECUTE 'CREATE USER MAPPING FOR r SERVER s OPTIONS (password ''<redacted>'')'; END$$");
  EXPECT_EQ(redact("COMMENT ON TABLE t IS 'postgresql://u:pw@h/db'"), "COMMENT ON TABLE t IS 'postgresql://u:<redacted>@h/db'");
  // Nothing to redact: the same text.
  std::string plain = "CREATE TABLE t (id int, note text DEFAULT 'password is not set')";
  EXPECT_EQ(redact(plain), plain);
  // A statement the scanner refuses is not recorded when it may carry a credential (it fails
  // closed), and is recorded as it is when it cannot; a nested literal that does not scan is no
  // SQL and stays.
  EXPECT_EQ(redact("CREATE ROLE r PASSWORD 'open"), pgm::drift::kNotScanned);
  EXPECT_EQ(redact("CREATE TABLE t (a text DEFAULT 'open"), "CREATE TABLE t (a text DEFAULT 'open");
  EXPECT_EQ(redact("COMMENT ON TABLE t IS 'the token''s ''table'"), "COMMENT ON TABLE t IS 'the token''s ''table'");
}

// Bodies within bodies: scanned 8 levels deep; below that the body is redacted whole (before,
// a password 5 levels deep was kept in clear).
TEST(DriftRedact, DeeplyNestedBodies) {
  auto nest = [](int levels) {
    std::string sql = "ALTER ROLE x PASSWORD 'hunter4'";
    for (int i = 0; i < levels; ++i) sql = "DO $d" + std::to_string(i) + "$BEGIN EXECUTE $e" + std::to_string(i) + "$" + sql +
                                           "$e" + std::to_string(i) + "$; END$d" + std::to_string(i) + "$";
    return sql;
  };
  for (int levels : {1, 2, 4, 5, 8, 12}) {
    std::string out = redact(nest(levels));
    EXPECT_EQ(out.find("hunter4"), std::string::npos) << levels << " levels: " << out;
    EXPECT_NE(out.find("<redacted>"), std::string::npos) << levels << " levels: " << out;
  }
  EXPECT_NE(redact(nest(12)).find("<redacted> (SQL nested more than 8 levels deep)"), std::string::npos);
  EXPECT_NE(redact(nest(3)).find("PASSWORD '<redacted>'"), std::string::npos);
}
