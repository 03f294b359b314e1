#include "core/script.hpp"

#include <gtest/gtest.h>

using namespace pgm;

TEST(Script, SkipsWhitespaceAndComments) {
  std::string s = "  \n-- note\n /* a /* nested */ b */\n  CREATE TABLE t();";
  size_t at = skip_blanks_and_comments(s, 0);
  EXPECT_EQ(s.substr(at, 6), "CREATE");
  EXPECT_EQ(line_at(s, at), 4);
}

TEST(Script, SkipToEndWhenOnlyComments) {
  std::string s = "-- only\n/* this */  ";
  EXPECT_EQ(skip_blanks_and_comments(s, 0), s.size());
  EXPECT_EQ(skip_blanks_and_comments("/* unterminated", 0), std::string("/* unterminated").size());
}

TEST(Script, LineNumbers) {
  std::string s = "a\nb\n\nc";
  EXPECT_EQ(line_at(s, 0), 1);
  EXPECT_EQ(line_at(s, 2), 2);
  EXPECT_EQ(line_at(s, 5), 4);
}

TEST(Script, LineBreaksAsTheScannerEndsLines) {
  // "\r\n" is one break, a lone "\r" (old Mac files) is one too.
  std::string s = "a\r\nb\rc\n\r\nd";
  EXPECT_EQ(line_at(s, 0), 1);
  EXPECT_EQ(line_at(s, 2), 1);  // at the "\n" of the first "\r\n"
  EXPECT_EQ(line_at(s, 3), 2);  // b
  EXPECT_EQ(line_at(s, 5), 3);  // c
  EXPECT_EQ(line_at(s, s.size() - 1), 5);  // d
  LineCounter lines(s);
  for (size_t at : {s.size() - 1, size_t{2}, size_t{3}, size_t{0}, size_t{5}, size_t{7}}) EXPECT_EQ(lines.line_at(at), line_at(s, at)) << at;
  EXPECT_EQ(line_start(s, 5), 5u);
  EXPECT_EQ(line_end(s, 5), 6u);
  EXPECT_EQ(line_start(s, 3), 3u);
  EXPECT_EQ(line_end(s, 0), 1u);
  // A -- comment ends at a lone "\r" too.
  std::string cr = "-- note\rCREATE TABLE t();";
  EXPECT_EQ(cr.substr(skip_blanks_and_comments(cr, 0), 6), "CREATE");
}

TEST(Script, LineCounterMatchesLineAtInAnyOrder) {
  std::string s = "a\nb\n\nc\n";
  LineCounter lines(s);
  for (size_t at : {0, 2, 5, 4, 1, 7, 100, 3, 0}) EXPECT_EQ(lines.line_at(at), line_at(s, at)) << at;
}

TEST(Script, LineCounterIsLinearOnLongScripts) {
  // 200,000 one-line statements: numbering them in order must not rescan the script (the old
  // line_at per statement took minutes here; a linear pass takes milliseconds).
  std::string s;
  for (int i = 0; i < 200000; ++i) s += "SELECT 1;\n";
  LineCounter lines(s);
  long long sum = 0;
  for (size_t at = 0; at < s.size(); at += 10) sum += lines.line_at(at);
  EXPECT_EQ(lines.line_at(s.size() - 1), 200000);
  EXPECT_EQ(sum, 200000LL * 200001 / 2);
}

TEST(Script, OneLinePreview) {
  EXPECT_EQ(one_line_preview("CREATE  TABLE\n\tt (\n id int)"), "CREATE TABLE t ( id int)");
  EXPECT_EQ(one_line_preview("abcdefghij", 4), "abcd...");
  // Never cuts inside a UTF-8 sequence: "é" is two bytes.
  EXPECT_EQ(one_line_preview("aé", 2), "a...");
}

TEST(Script, Hex) {
  const unsigned char b[] = {0x00, 0xab, 0xff, 0x10};
  EXPECT_EQ(to_hex(b, 4), "00abff10");
}

TEST(Script, PsqlMetaCommand) {
  std::string s = "SELECT 1;\n  \\set x 1\nSELECT 2;";
  EXPECT_TRUE(is_psql_meta_command_at(s, s.find('\\')));
  EXPECT_FALSE(is_psql_meta_command_at(s, 0));
  EXPECT_EQ(word_at(s, s.find('\\')), "\\set");
}

TEST(Script, DumpRestrictLinesBlanked) {
  std::string dump = "--\n-- PostgreSQL database dump\n--\n\n\\restrict AbC123xyz\n\nSET x = 1;\nCREATE TABLE t (id int);\n\n\\unrestrict AbC123xyz\n";
  std::optional<std::string> out = without_dump_restrict_lines(dump);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->size(), dump.size());
  EXPECT_EQ(out->find('\\'), std::string::npos);
  EXPECT_EQ(out->substr(0, 33), dump.substr(0, 33));
  EXPECT_NE(out->find("SET x = 1;\nCREATE TABLE t (id int);"), std::string::npos);
  EXPECT_FALSE(without_dump_restrict_lines("SELECT 1;"));
  EXPECT_FALSE(without_dump_restrict_lines("\\restrict\nSELECT 1;"));           // no key: not pg_dump's
  EXPECT_FALSE(without_dump_restrict_lines("\\restrict a b\nSELECT 1;"));       // two words
  EXPECT_FALSE(without_dump_restrict_lines("SELECT 'x \\restrict k';"));        // not at a line's start
  EXPECT_TRUE(without_dump_restrict_lines("SELECT 1;\r\n\\unrestrict k\r\n"));  // CRLF
}

TEST(Script, DoBlockFailedLine) {
  const std::string stmt = "DO $$ BEGIN\n  INSERT INTO t VALUES (1);\nEND $$";
  const std::string own = "SQL statement \"" + stmt + "\"";
  EXPECT_EQ(do_block_failed_line("SQL statement \"INSERT INTO t VALUES (1)\"\nPL/pgSQL function inline_code_block line 4 at SQL statement\n" + own, stmt), 4);
  // A function the block calls fails: the block's own line is the one that counts.
  EXPECT_EQ(do_block_failed_line("PL/pgSQL function f() line 9 at RAISE\nSQL statement \"SELECT f()\"\nPL/pgSQL function inline_code_block line 2 at PERFORM\n" + own, stmt), 2);
  // migrate.apply() called from a DO block: that block's line (after the frame) is the caller's.
  EXPECT_EQ(do_block_failed_line("PL/pgSQL function inline_code_block line 3 at RAISE\n" + own +
                                 "\nPL/pgSQL function inline_code_block line 5 at PERFORM", stmt), 3);
  EXPECT_FALSE(do_block_failed_line("PL/pgSQL function inline_code_block line 3 at RAISE", stmt));  // no frame
  EXPECT_FALSE(do_block_failed_line("PL/pgSQL function f() line 9 at RAISE\n" + own, stmt));
  EXPECT_FALSE(do_block_failed_line("PL/pgSQL function inline_code_block line x\n" + own, stmt));
  EXPECT_FALSE(do_block_failed_line("", stmt));
}

TEST(Script, ControlCharacterAt) {
  EXPECT_EQ(pgm::control_character_at("create users"), std::string_view::npos);
  EXPECT_EQ(pgm::control_character_at("Größe ändern"), std::string_view::npos);  // UTF-8 bytes are not control characters
  EXPECT_EQ(pgm::control_character_at("a\nb"), 1u);
  EXPECT_EQ(pgm::control_character_at("ab\x1b[31mRED"), 2u);
  EXPECT_EQ(pgm::control_character_at("tab\there"), 3u);
  // UTF-8 C1 controls (NEL, the 8-bit CSI) and the Unicode line and paragraph separators
  EXPECT_EQ(pgm::control_character_at("a\xc2\x85" "b"), 1u);
  EXPECT_EQ(pgm::control_character_at("a\xc2\x9b" "31mb"), 1u);
  EXPECT_EQ(pgm::control_character_at("ab\xe2\x80\xa8" "c"), 2u);
  EXPECT_EQ(pgm::control_character_at("ab\xe2\x80\xa9" "c"), 2u);
  EXPECT_EQ(pgm::control_character_at("\xc2\xa0nbsp \xe2\x80\x94 dash"), std::string_view::npos);  // printable
  EXPECT_EQ(pgm::code_point_at("a\xc2\x85", 1), 0x85u);
  EXPECT_EQ(pgm::code_point_at("\xe2\x80\xa8", 0), 0x2028u);
  EXPECT_EQ(pgm::code_point_at("\x1b", 0), 0x1bu);
  EXPECT_EQ(pgm::control_character_at("del\x7f"), 3u);
}

TEST(Script, CaseInsensitiveWordsFoundAnywhere) {
  pgm::CaseInsensitiveWords words{"rename", "u&", "\\"};
  EXPECT_TRUE(words.found_in("ALTER TABLE t RENAME TO u"));
  EXPECT_TRUE(words.found_in("x ReNaMe"));
  EXPECT_TRUE(words.found_in("SELECT U&'a'"));
  EXPECT_TRUE(words.found_in("E'\\x70'"));
  EXPECT_FALSE(words.found_in("renam"));       // a word cut short at the end
  EXPECT_FALSE(words.found_in("INSERT INTO t VALUES (1)"));
  EXPECT_FALSE(words.found_in(""));
  // Words sharing a first letter are each tried (the second after the first failed there).
  pgm::CaseInsensitiveWords shared{"passw", "pwd", "passphrase", "token"};
  EXPECT_TRUE(shared.found_in("x PASSPHRASE"));
  EXPECT_TRUE(shared.found_in("p PWD"));
  EXPECT_TRUE(shared.found_in("pass pass tOkEn"));
  EXPECT_FALSE(shared.found_in("pass phrase pw d toke"));
}
