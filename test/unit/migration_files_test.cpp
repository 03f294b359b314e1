#include "core/migration_files.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace pgm::files;

TEST(FileNames, OwnAndDbmate) {
  auto f = parse_file_name("20240101120000_add_users.sql");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->layout, Layout::Timestamped);
  EXPECT_EQ(f->part, Part::Sections);
  EXPECT_EQ(f->version, "20240101120000");
  EXPECT_EQ(f->description, "add users");
  // What `pg_migrate new "Größe ändern"` writes reads back with its letters.
  auto accented = parse_file_name("20240101120000_" + slug("Größe ändern") + ".sql");
  ASSERT_TRUE(accented);
  EXPECT_EQ(accented->version, "20240101120000");
  EXPECT_EQ(accented->description, "größe ändern");
}

TEST(FileNames, Flyway) {
  auto v = parse_file_name("V1__init.sql");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->layout, Layout::Flyway);
  EXPECT_EQ(v->part, Part::Up);
  EXPECT_EQ(v->version, "1");
  EXPECT_EQ(v->description, "init");
  auto dotted = parse_file_name("V1.2_3__add_email_column.sql");
  ASSERT_TRUE(dotted);
  EXPECT_EQ(dotted->version, "1.2.3");
  EXPECT_EQ(dotted->description, "add email column");
  auto undo = parse_file_name("U2__drop.sql");
  ASSERT_TRUE(undo);
  EXPECT_EQ(undo->part, Part::Down);
  EXPECT_EQ(undo->version, "2");
  auto r = parse_file_name("R__views.sql");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->part, Part::Repeatable);
  EXPECT_EQ(r->version, "");
  EXPECT_EQ(r->description, "views");
  EXPECT_FALSE(parse_file_name("V__x.sql"));
  EXPECT_FALSE(parse_file_name("V1_x.sql"));
  EXPECT_FALSE(parse_file_name("V1..2__x.sql"));
  EXPECT_FALSE(parse_file_name("Va__x.sql"));
  EXPECT_FALSE(parse_file_name("R1__x.sql"));
}

TEST(FileNames, GolangMigrate) {
  auto up = parse_file_name("000001_create_users.up.sql");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->layout, Layout::UpDown);
  EXPECT_EQ(up->part, Part::Up);
  EXPECT_EQ(up->version, "000001");
  EXPECT_EQ(up->description, "create users");
  auto down = parse_file_name("000001_create_users.down.sql");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->part, Part::Down);
  EXPECT_FALSE(parse_file_name("create_users.up.sql"));
}

TEST(FileNames, DieselFolders) {
  auto up = parse_file_name("2019-02-26-002946_create_users/up.sql");
  ASSERT_TRUE(up);
  EXPECT_EQ(up->layout, Layout::Folder);
  EXPECT_EQ(up->part, Part::Up);
  EXPECT_EQ(up->version, "20190226002946");
  EXPECT_EQ(up->description, "create users");
  auto down = parse_file_name("00000000000000_diesel_initial_setup/down.sql");
  ASSERT_TRUE(down);
  EXPECT_EQ(down->part, Part::Down);
  EXPECT_EQ(down->version, "00000000000000");
  EXPECT_FALSE(parse_file_name("2019-02-26-002946_create_users/metadata.toml"));
  EXPECT_FALSE(parse_file_name("users/up.sql"));
  auto nested = parse_file_name("2019/2019-02-26-002946_create_users/up.sql");
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->version, "20190226002946");
}

TEST(FileNames, InSubfolders) {
  // Flyway reads its locations recursively: a file in a subfolder is named as at the top.
  auto v = parse_file_name("release_1/sub/V1_2__add_email.sql");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->layout, Layout::Flyway);
  EXPECT_EQ(v->version, "1.2");
  EXPECT_EQ(v->description, "add email");
  auto r = parse_file_name("views/R__owners.sql");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->part, Part::Repeatable);
  // dbmate, golang-migrate and sqlx read one folder: their names in a subfolder are not migrations.
  EXPECT_FALSE(parse_file_name("archive/20240101120000_add_users.sql"));
  EXPECT_FALSE(parse_file_name("seeds/1_data.up.sql"));
  EXPECT_FALSE(parse_file_name("docs/notes.sql"));
  EXPECT_FALSE(parse_file_name("V1__init.sql/README.md"));
}

TEST(FileNames, NotMigrations) {
  EXPECT_FALSE(parse_file_name("README.md"));
  EXPECT_FALSE(parse_file_name("schema.sql"));
  EXPECT_FALSE(parse_file_name("_x.sql"));
  EXPECT_FALSE(parse_file_name("123.sql"));
  EXPECT_FALSE(parse_file_name("123_.sql"));
}

TEST(Sections, UpAndDownKeepFileLines) {
  std::string text =
      "-- header comment\n"
      "-- migrate:up\n"
      "CREATE TABLE t (id int);\n"
      "\n"
      "-- migrate:down\n"
      "DROP TABLE t;\n";
  Sections s = split_sections(text);
  EXPECT_TRUE(s.has_markers);
  EXPECT_EQ(s.up, "\n\nCREATE TABLE t (id int);\n");
  ASSERT_TRUE(s.down);
  EXPECT_EQ(*s.down, "\n\n\n\n\nDROP TABLE t;\n");
  EXPECT_FALSE(s.up_no_transaction);
}

TEST(Sections, NoMarkersIsAllUp) {
  Sections s = split_sections("CREATE TABLE t (id int);\n\n\n");
  EXPECT_FALSE(s.has_markers);
  EXPECT_EQ(s.up, "CREATE TABLE t (id int);\n");
  EXPECT_FALSE(s.down);
}

TEST(Sections, EmptyDownIsNoDown) {
  Sections s = split_sections("-- migrate:up\nSELECT 1;\n-- migrate:down\n-- nothing\n\n");
  EXPECT_FALSE(s.down);
}

TEST(Sections, TransactionFalse) {
  Sections s = split_sections("-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n"
                              "-- migrate:down\nDROP INDEX i;\n");
  EXPECT_TRUE(s.up_no_transaction);
  EXPECT_FALSE(s.down_no_transaction);
}

// The directive as the file's first line, above the up marker, is the up script's (on the
// marker's line, so the statements keep their lines), not the down script's; a comment first
// is not a directive.
TEST(Sections, DirectiveAboveUpMarker) {
  Sections s = split_sections("-- pg_migrate:no-transaction\n-- migrate:up\nCREATE INDEX CONCURRENTLY i ON t (a);\n"
                              "-- migrate:down\nDROP INDEX i;\n");
  EXPECT_TRUE(s.up_no_transaction);
  EXPECT_FALSE(s.down_no_transaction);
  EXPECT_EQ(s.up, "\n-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
  ASSERT_TRUE(s.down);
  EXPECT_FALSE(has_no_transaction_directive(*s.down));
  EXPECT_TRUE(split_sections("\n-- morph:nontransactional\n-- migrate:up\nSELECT 1;\n").up_no_transaction);
  EXPECT_FALSE(split_sections("-- create the index\n-- pg_migrate:no-transaction\n-- migrate:up\nSELECT 1;\n").up_no_transaction);
  EXPECT_FALSE(split_sections("-- migrate:up\nSELECT 1;\n").up_no_transaction);
}

// SQL above the up marker belongs to no section: refused, naming its line (comments, block
// comments and the directive are fine).
TEST(Sections, StatementAboveUpMarker) {
  try {
    split_sections("-- header\n\nCREATE TABLE pre (id int);\n-- migrate:up\nCREATE TABLE post (id int);\n");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()),
              "line 3: SQL above \"-- migrate:up\" belongs to no section; move it below the marker (or make it a comment)");
  }
  EXPECT_THROW(split_sections("SELECT 1;\n-- +goose Up\nSELECT 2;\n"), std::invalid_argument);
  EXPECT_THROW(split_sections("/* a */ SELECT 1;\n-- migrate:up\nSELECT 2;\n"), std::invalid_argument);
  EXPECT_NO_THROW(split_sections("/* a\n /* nested */ still a comment\n*/\n-- note\n\t\n-- migrate:up\nSELECT 2;\n"));
  EXPECT_NO_THROW(split_sections("/* pg_migrate:no-transaction */\n-- migrate:up\nSELECT 2;\n"));
}

TEST(Sections, Errors) {
  EXPECT_THROW(split_sections("-- migrate:up\nA;\n-- migrate:up\nB;\n"), std::invalid_argument);
  EXPECT_THROW(split_sections("-- migrate:down\nA;\n-- migrate:up\nB;\n"), std::invalid_argument);
  try {
    split_sections("-- migrate:up\nA;\n-- migrate:up\n");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos);
  }
}

// goose's one-file format: annotations case-insensitive, StatementBegin/End kept as comments,
// NO TRANSACTION for both sections wherever it stands.
TEST(Sections, Goose) {
  std::string text =
      "-- +goose Up\n"
      "-- +goose StatementBegin\n"
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1; SELECT 2';\n"
      "-- +goose StatementEnd\n"
      "CREATE TABLE users (id int);\n"
      "-- +goose Down\n"
      "DROP TABLE users;\n";
  Sections s = split_sections(text);
  EXPECT_TRUE(s.has_markers);
  EXPECT_EQ(s.up, "\n-- +goose StatementBegin\nCREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1; SELECT 2';\n"
                  "-- +goose StatementEnd\nCREATE TABLE users (id int);\n");
  ASSERT_TRUE(s.down);
  EXPECT_EQ(*s.down, "\n\n\n\n\n\nDROP TABLE users;\n");
  EXPECT_FALSE(s.up_no_transaction);
  Sections lower = split_sections("-- +goose up\nSELECT 1;\n-- +goose down\nSELECT 2;\n");
  ASSERT_TRUE(lower.down);
  EXPECT_EQ(lower.up, "\nSELECT 1;\n");
  Sections nt = split_sections("-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n"
                               "-- +goose Down\nDROP INDEX CONCURRENTLY i;\n");
  EXPECT_TRUE(nt.up_no_transaction);
  EXPECT_TRUE(nt.down_no_transaction);
  EXPECT_TRUE(has_no_transaction_directive(nt.up));
  ASSERT_TRUE(nt.down);
  EXPECT_TRUE(has_no_transaction_directive(*nt.down));
}

TEST(Sections, SqlMigrate) {
  Sections s = split_sections("-- +migrate Up notransaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n"
                              "-- +migrate Down\nDROP INDEX i;\n");
  EXPECT_TRUE(s.up_no_transaction);
  EXPECT_FALSE(s.down_no_transaction);
  EXPECT_EQ(s.up, "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
  ASSERT_TRUE(s.down);
  EXPECT_EQ(*s.down, "\n\n\nDROP INDEX i;\n");
}

TEST(Sections, GooseAndSqlMigrateErrors) {
  auto message = [](const std::string& text) {
    try {
      split_sections(text);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(message("-- +goose Down\nSELECT 1;\n-- +goose Up\nSELECT 2;\n"),
            "\"-- +goose Down\" before \"-- +goose Up\" at line 1");
  EXPECT_EQ(message("-- +goose StatementBegin\nSELECT 1;\n-- +goose StatementEnd\n"),
            "no \"-- +goose Up\" line: the file has -- +goose annotations but no up section");
  EXPECT_EQ(message("-- +goose ENVSUB ON\n-- +goose Up\nSELECT '${X}';\n"),
            "line 1: \"-- +goose ENVSUB ON\": environment variable substitution (ENVSUB) is not supported: the "
            "script runs as written");
  EXPECT_EQ(message("-- +goose Up\nSELECT 1;\n-- +goose Sideways\n"), "line 3: \"-- +goose Sideways\": unknown annotation");
  EXPECT_EQ(message("-- +migrate Up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n"),
            "line 3: \"-- migrate:down\" mixes markers of two tools (the file began with \"-- +migrate\")");
  EXPECT_EQ(message("-- +migrate Up sideways\nSELECT 1;\n"), "line 1: \"-- +migrate Up sideways\": unknown option \"sideways\"");
  // Prose that merely starts with the word is no annotation.
  EXPECT_FALSE(split_sections("-- +gooseberry pie\nSELECT 1;\n").has_markers);
}

TEST(Sections, MarkerNeedsWordBoundary) {
  Sections s = split_sections("-- migrate:upper is not a marker\nSELECT 1;\n");
  EXPECT_FALSE(s.has_markers);
}

TEST(Sections, NearMissMarkersAreRefused) {
  EXPECT_THROW(split_sections("-- migrate:up\nCREATE TABLE t ();\n-- migrate: down\nDROP TABLE t;\n"), std::invalid_argument);
  EXPECT_THROW(split_sections("-- MIGRATE:UP\nSELECT 1;\n"), std::invalid_argument);
  EXPECT_THROW(split_sections("-- migrate :down\r\n"), std::invalid_argument);
  try {
    split_sections("-- migrate:up\nSELECT 1;\n-- Migrate:Down\nSELECT 2;\n");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "line 3: \"-- Migrate:Down\" is not a section marker; write \"-- migrate:down\"");
  }
  // not near misses: other words, a word boundary
  EXPECT_NO_THROW(split_sections("-- migrate: upgrade the counters\nSELECT 1;\n"));
  EXPECT_NO_THROW(split_sections("-- Migrate: up to 3 retries are done by the worker\nSELECT 1;\n"));
  EXPECT_THROW(split_sections("-- migrate: up transaction:false\nSELECT 1;\n"), std::invalid_argument);
  EXPECT_NO_THROW(split_sections("-- migrated:down\nSELECT 1;\n"));
}

TEST(Directives, NoTransaction) {
  EXPECT_TRUE(has_no_transaction_directive("-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"));
  EXPECT_TRUE(has_no_transaction_directive("\n\n  -- morph:nontransactional\r\nSELECT 1;"));
  EXPECT_TRUE(has_no_transaction_directive("-- migrate:up transaction:false\nSELECT 1;"));
  EXPECT_FALSE(has_no_transaction_directive("SELECT 1;\n-- pg_migrate:no-transaction\n"));
  EXPECT_FALSE(has_no_transaction_directive("-- another comment\n-- pg_migrate:no-transaction\n"));
  EXPECT_FALSE(has_no_transaction_directive("-- pg_migrate:no-transactions\n"));
  EXPECT_TRUE(has_no_transaction_directive("-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"));  // sqlx
  EXPECT_TRUE(has_no_transaction_directive("/* pg_migrate:no-transaction */ VACUUM;"));
  EXPECT_EQ(with_pg_migrate_directive("-- no-transaction\nVACUUM;"), "-- pg_migrate:no-transaction\nVACUUM;");
}

TEST(Directives, DieselMetadata) {
  EXPECT_TRUE(diesel_runs_in_transaction(""));
  EXPECT_TRUE(diesel_runs_in_transaction("# nothing\nother = 1\n"));
  EXPECT_FALSE(diesel_runs_in_transaction("run_in_transaction = false\n"));
  EXPECT_FALSE(diesel_runs_in_transaction("\xEF\xBB\xBFrun_in_transaction = false\n"));  // a byte order mark
  EXPECT_FALSE(diesel_runs_in_transaction("  run_in_transaction=false   # for CREATE INDEX CONCURRENTLY\r\n"));
  EXPECT_TRUE(diesel_runs_in_transaction("run_in_transaction = true"));
  EXPECT_THROW(diesel_runs_in_transaction("run_in_transaction = \"no\""), std::invalid_argument);
  EXPECT_EQ(with_no_transaction_block("CREATE INDEX CONCURRENTLY i ON t (a);"),
            "/* pg_migrate:no-transaction */ CREATE INDEX CONCURRENTLY i ON t (a);");
  EXPECT_EQ(with_no_transaction_block("-- pg_migrate:no-transaction\nVACUUM;"), "-- pg_migrate:no-transaction\nVACUUM;");
}

TEST(Slugs, Basic) {
  EXPECT_EQ(slug("Add users table!"), "add_users_table");
  EXPECT_EQ(slug("  --x--y--  "), "x_y");
  EXPECT_EQ(slug("Größe"), "größe");  // letters of other scripts are kept as written
  EXPECT_EQ(slug("Ajouter l'état — «brouillon»"), "ajouter_l_état_brouillon");
  EXPECT_EQ(slug("用户表 添加"), "用户表_添加");
  EXPECT_EQ(slug("emoji 🚀 launch"), "emoji_launch");
  EXPECT_EQ(slug("𠮷野家"), "𠮷野家");          // CJK Extension B is letters, not emoji
  EXPECT_EQ(slug("µ-Einheit ª"), "µ_einheit_ª");  // Latin-1 letters among the symbols
  EXPECT_EQ(slug("می\u200cخواهم"), "می\u200cخواهم");  // a zero-width non-joiner stays inside a word
  EXPECT_EQ(slug("bad\xff\xfe bytes"), "bad_bytes");      // invalid UTF-8 separates
  EXPECT_EQ(slug("cut\xc3"), "cut");                        // a truncated sequence too
  EXPECT_EQ(slug(std::string(70, 'a') + "é"), std::string(60, 'a'));
  std::string long_name;
  for (int i = 0; i < 70; ++i) long_name += "é";
  EXPECT_EQ(slug(long_name).size(), 120u);  // 60 characters, not 60 bytes: no sequence cut
  std::string wide;
  for (int i = 0; i < 70; ++i) wide += "\U00020000";  // four bytes each
  EXPECT_EQ(slug(wide).size(), 200u);  // at most 200 bytes: a file name fits in 255
  EXPECT_EQ(slug("!!!"), "");
  EXPECT_EQ(slug(std::string(100, 'a')).size(), 60u);
}

TEST(Checksums, NormalizationIgnoresLineEndingsAndFinalWhitespace) {
  EXPECT_EQ(normalize("a\r\nb\r\n"), "a\nb");
  EXPECT_EQ(normalize("a\rb"), "a\nb");
  EXPECT_EQ(normalize("a\nb\n\n  \t\n"), "a\nb");
  EXPECT_NE(normalize("a \nb"), normalize("a\nb"));  // inside the text white space may matter
  auto lf = source_digest_input("V1__x.sql", "x", "CREATE TABLE t ();\n", std::nullopt, false);
  auto crlf = source_digest_input("V1__x.sql", "x", "CREATE TABLE t ();\r\n\r\n", std::nullopt, false);
  EXPECT_EQ(lf, crlf);
  EXPECT_NE(lf, source_digest_input("V1__x.sql", "x", "CREATE TABLE u ();\n", std::nullopt, false));
  EXPECT_NE(lf, source_digest_input("V1__x.sql", "x", "CREATE TABLE t ();\n", std::string(""), false));
  EXPECT_NE(lf, source_digest_input("V1__x.sql", "x", "CREATE TABLE t ();\n", std::nullopt, true));
  EXPECT_NE(lf, source_digest_input("V1__y.sql", "x", "CREATE TABLE t ();\n", std::nullopt, false));
}

TEST(Checksums, FolderDigestInputIsOrderIndependent) {
  auto a = folder_digest_input({{"V2__b.sql", "22"}, {"V1__a.sql", "11"}});
  auto b = folder_digest_input({{"V1__a.sql", "11"}, {"V2__b.sql", "22"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, folder_digest_input({{"V1__a.sql", "11"}, {"V2__b.sql", "23"}}));
  EXPECT_NE(a, folder_digest_input({{"V1__a.sql", "11"}}));
}

TEST(Directives, OtherToolsBecomePgMigrates) {
  Sections s = split_sections("-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n"
                              "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY i;\n");
  EXPECT_EQ(s.up, "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n");
  ASSERT_TRUE(s.down);
  EXPECT_EQ(*s.down, "\n\n-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY i;\n");
  EXPECT_EQ(with_pg_migrate_directive("\n-- morph:nontransactional\nVACUUM t;"),
            "\n-- pg_migrate:no-transaction\nVACUUM t;");
  EXPECT_EQ(with_pg_migrate_directive("-- pg_migrate:no-transaction\nVACUUM t;"), "-- pg_migrate:no-transaction\nVACUUM t;");
  EXPECT_EQ(with_pg_migrate_directive("SELECT 1;"), "SELECT 1;");
}

TEST(Encoding, Utf8Validation) {
  EXPECT_EQ(invalid_utf8_at("CREATE TABLE größe ();"), std::string_view::npos);
  EXPECT_EQ(invalid_utf8_at("ab\xff"), 2u);
  EXPECT_EQ(invalid_utf8_at("a\xc3"), 1u);           // truncated
  EXPECT_EQ(invalid_utf8_at("\xc0\xaf"), 0u);        // overlong
  EXPECT_EQ(invalid_utf8_at("\xed\xa0\x80"), 0u);    // surrogate
  EXPECT_EQ(invalid_utf8_at(std::string("a\0b", 3)), 1u);
  EXPECT_EQ(invalid_utf8_at("😀"), std::string_view::npos);
}

TEST(FileNames, FlywayCallbacks) {
  auto a = parse_callback_name("afterMigrate.sql");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->event, "afterMigrate");
  EXPECT_EQ(a->description, "");
  EXPECT_TRUE(a->supported);
  auto g = parse_callback_name("db/callbacks/beforeEachMigrate__set_role_owner.sql");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->event, "beforeEachMigrate");
  EXPECT_EQ(g->description, "set role owner");
  EXPECT_TRUE(g->supported);
  for (const char* e : kCallbackEvents) EXPECT_TRUE(is_callback_event(e)) << e;
  // Flyway's other events are recognised, and not run.
  auto clean = parse_callback_name("beforeClean.sql");
  ASSERT_TRUE(clean);
  EXPECT_FALSE(clean->supported);
  EXPECT_FALSE(is_callback_event("beforeClean"));
  // Not callbacks: another case, an empty description, another extension, a migration.
  EXPECT_FALSE(parse_callback_name("aftermigrate.sql"));
  EXPECT_FALSE(parse_callback_name("afterMigrate__.sql"));
  EXPECT_FALSE(parse_callback_name("afterMigrate.txt"));
  EXPECT_FALSE(parse_callback_name("afterMigrateNow.sql"));
  EXPECT_FALSE(parse_callback_name("V1__afterMigrate.sql"));
  // And callbacks are not migrations.
  EXPECT_FALSE(parse_file_name("afterMigrate.sql"));
  EXPECT_FALSE(parse_file_name("beforeMigrate__x.sql"));
}

TEST(Sections, DownMarkerInAWholeFileScript) {
  using pgm::files::down_section_marker_line;
  EXPECT_EQ(down_section_marker_line("CREATE TABLE t (id int);\n"), 0);
  EXPECT_EQ(down_section_marker_line("-- migrate:up\nCREATE TABLE t (id int);\n-- migrate:down\nDROP TABLE t;\n"), 3);
  EXPECT_EQ(down_section_marker_line("CREATE TABLE t (id int);\n-- +goose Down\nDROP TABLE t;"), 2);
  EXPECT_EQ(down_section_marker_line("-- +migrate Down\nDROP TABLE t;"), 1);
  EXPECT_EQ(down_section_marker_line("-- migrate:up\nCREATE TABLE t (id int);\n"), 0);  // an up marker only: harmless
  EXPECT_EQ(down_section_marker_line("-- migrate:downgrade notes\nSELECT 1;\n"), 0);      // not a marker
}
