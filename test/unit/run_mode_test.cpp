#include "core/run_mode.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace pgm;

TEST(RunMode, DirectiveOnFirstNonBlankLine) {
  EXPECT_TRUE(has_no_transaction_directive("-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);"));
  EXPECT_TRUE(has_no_transaction_directive("\n  \r\n-- pg_migrate:no-transaction  \r\nVACUUM t;"));
  EXPECT_FALSE(has_no_transaction_directive("CREATE TABLE t();\n-- pg_migrate:no-transaction\n"));
  EXPECT_FALSE(has_no_transaction_directive("-- pg_migrate:no-transaction please\nVACUUM;"));
  EXPECT_FALSE(has_no_transaction_directive("-- PG_MIGRATE:NO-TRANSACTION\nVACUUM;"));
  EXPECT_FALSE(has_no_transaction_directive(""));
  EXPECT_TRUE(has_no_transaction_directive("-- pg_migrate:no-transaction\rVACUUM t;"));  // old Mac line ends
  // The block form the command writes in front of a diesel file (same line numbers).
  EXPECT_TRUE(has_no_transaction_directive("/* pg_migrate:no-transaction */ CREATE INDEX CONCURRENTLY i ON t (a);"));
  EXPECT_TRUE(has_no_transaction_directive("\n/* pg_migrate:no-transaction */ -- up\nVACUUM;"));
  EXPECT_FALSE(has_no_transaction_directive("/* pg_migrate:no-transaction*/ VACUUM;"));
  EXPECT_FALSE(has_no_transaction_directive("SELECT 1; /* pg_migrate:no-transaction */"));
}

TEST(RunMode, MisplacedDirective) {
  EXPECT_FALSE(has_misplaced_no_transaction_directive("-- pg_migrate:no-transaction\nVACUUM t;"));
  EXPECT_TRUE(has_misplaced_no_transaction_directive("CREATE TABLE t();\n-- pg_migrate:no-transaction\n"));
  EXPECT_TRUE(has_misplaced_no_transaction_directive("-- pg_migrate:no-transactions\nVACUUM;"));
  EXPECT_FALSE(has_misplaced_no_transaction_directive("CREATE TABLE t();"));
  EXPECT_FALSE(has_misplaced_no_transaction_directive("/* pg_migrate:no-transaction */ VACUUM t;"));
  EXPECT_TRUE(has_misplaced_no_transaction_directive("/* pg_migrate:no-transaction */ VACUUM t; -- pg_migrate:no-transaction"));
  EXPECT_TRUE(has_misplaced_no_transaction_directive("/* pg_migrate:no-transaction */\n-- pg_migrate:no-transaction\n"));
}

TEST(RunMode, BatchDirective) {
  auto d = find_batch_directive("\n-- backfill\n-- pg_migrate:batch 5000\n");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rows, 5000);
  EXPECT_EQ(d->pause_ms, -1);
  EXPECT_EQ(d->line_offset, 2);
  d = find_batch_directive("-- pg_migrate:batch 10 pause 25ms");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rows, 10);
  EXPECT_EQ(d->pause_ms, 25);
  EXPECT_FALSE(find_batch_directive("-- just a comment\n"));
  EXPECT_FALSE(find_batch_directive(""));
}

TEST(RunMode, BadBatchDirectives) {
  EXPECT_THROW(find_batch_directive("-- pg_migrate:batch"), std::invalid_argument);
  EXPECT_THROW(find_batch_directive("-- pg_migrate:batch 0"), std::invalid_argument);
  EXPECT_THROW(find_batch_directive("-- pg_migrate:batch -5"), std::invalid_argument);
  EXPECT_THROW(find_batch_directive("-- pg_migrate:batch 2000000"), std::invalid_argument);
  EXPECT_THROW(find_batch_directive("-- pg_migrate:batch 10 rows"), std::invalid_argument);
  EXPECT_THROW(find_batch_directive("-- pg_migrate:batch 10 pause soon"), std::invalid_argument);
  EXPECT_THROW(find_batch_directive("-- pg_migrate:batches 10"), std::invalid_argument);
  EXPECT_THROW(find_batch_directive("-- pg_migrate:batch 10\n-- pg_migrate:batch 20"), std::invalid_argument);
  // Near misses are refused, not taken for comments (the statement would run in one piece).
  for (const char* miss : {"--pg_migrate:batch 10", "-- PG_MIGRATE:BATCH 10", "-- pg_migrate: batch 10",
                           "--   pg_migrate:batch 10", "  -- Pg_Migrate:Batch 10 pause 5ms"})
    EXPECT_THROW(find_batch_directive(miss), std::invalid_argument) << miss;
  try {
    find_batch_directive("-- pg_migrate:batches 10");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown directive \"pg_migrate:batches\""), std::string::npos) << e.what();
  }
  // Other pg_migrate comments are not batch directives.
  EXPECT_FALSE(find_batch_directive("-- pg_migrate:ignore ban-drop-column\n-- pg_migrate:no-transaction"));
}

TEST(RunMode, UnknownDirectives) {
  EXPECT_FALSE(find_unknown_directive("-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);\n"));
  EXPECT_FALSE(find_unknown_directive("-- pg_migrate:batch 100 pause 5ms\nUPDATE t SET a = 1 WHERE a IS NULL;"));
  EXPECT_FALSE(find_unknown_directive("-- pg_migrate:ignore ban-drop-column\nALTER TABLE t DROP COLUMN c;"));
  EXPECT_FALSE(find_unknown_directive("-- a comment naming pg_migrate:no_transaction is not a directive\nSELECT 1;"));
  for (const char* bad : {"-- pg_migrate:no_transaction", "-- pg_migrate:notransaction", "-- pg_migrate: no-transaction",
                          "-- pg_migrate:no-transction", "  -- pg_migrate:bacth 5000", "-- PG_MIGRATE:IGNORE x",
                          "--pg_migrate:batch 10", "-- pg_migrate:ignored x"}) {
    std::string script = std::string("SELECT 1;\n\n") + bad + "\nSELECT 2;\n";
    std::optional<UnknownDirective> d = find_unknown_directive(script);
    ASSERT_TRUE(d) << bad;
    EXPECT_EQ(d->line, 3) << bad;
    EXPECT_EQ(d->text, std::string(bad).substr(std::string(bad).find('-'))) << bad;
  }
}

TEST(DirectiveSignature, DirectivesAndTheirPlaceCount) {
  // Two statements: "SELECT 1" at [X, Y) and "UPDATE t SET a = 1" after it.
  auto spans_of = [](const std::string& s) {
    std::vector<std::pair<size_t, size_t>> spans;
    size_t a = s.find("SELECT 1"), b = s.find("UPDATE t");
    spans.push_back({a, a + 8});
    spans.push_back({b, b + 18});
    return spans;
  };
  std::string plain = "SELECT 1;\nUPDATE t SET a = 1;\n";
  std::string ignored = "-- pg_migrate:ignore ban-x\nSELECT 1;\nUPDATE t SET a = 1;\n";
  std::string ignored_later = "SELECT 1;\n-- pg_migrate:ignore ban-x\nUPDATE t SET a = 1;\n";
  std::string batched = "SELECT 1;\n-- pg_migrate:batch 100\nUPDATE t SET a = 1;\n";
  std::string batched_other = "SELECT 1;\n-- pg_migrate:batch 1000\nUPDATE t SET a = 1;\n";
  std::string trailing = "SELECT 1; -- pg_migrate:ignore ban-x\nUPDATE t SET a = 1;\n";
  std::string commented = "-- a plain comment\nSELECT 1;\n/* another */\nUPDATE t SET a = 1;\n";
  EXPECT_EQ(directive_signature(plain, spans_of(plain)), "");
  EXPECT_EQ(directive_signature(commented, spans_of(commented)), "");
  EXPECT_EQ(directive_signature(ignored, spans_of(ignored)), "0\t-- pg_migrate:ignore ban-x\n");
  EXPECT_EQ(directive_signature(ignored_later, spans_of(ignored_later)), "1\t-- pg_migrate:ignore ban-x\n");
  EXPECT_NE(directive_signature(batched, spans_of(batched)), directive_signature(batched_other, spans_of(batched_other)));
  EXPECT_EQ(directive_signature(trailing, spans_of(trailing)), "1\t; -- pg_migrate:ignore ban-x\n");
  // A directive's text inside a statement (a string literal) is no directive.
  EXPECT_EQ(directive_signature("SELECT '-- pg_migrate:batch 5';", {{0, 30}}), "");
}
