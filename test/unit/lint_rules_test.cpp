#include "core/lint_rules.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace pgm::lint;

namespace {

TableInfo existing(double rows, int64_t pages) {
  TableInfo t;
  t.name = "public.orders";
  t.exists = true;
  t.reltuples = rows;
  t.relpages = pages;
  return t;
}

TableInfo created() {
  TableInfo t;
  t.name = "orders";
  t.created_in_script = true;
  return t;
}

Fact fact(Action a, TableInfo t, std::string object = "c", std::string detail = "x") {
  Fact f{a, std::move(t), std::move(object), std::move(detail), {}};
  f.other.name = "public.customers";
  return f;
}

}  // namespace

TEST(LintRules, NamesAreUniqueAndKnown) {
  std::set<std::string> names;
  for (const RuleInfo& r : rules()) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_TRUE(is_known_rule(r.name));
    EXPECT_GT(std::string(r.description).size(), 10u);
  }
  EXPECT_EQ(names.size(), 38u);
  EXPECT_FALSE(is_known_rule("require-concurrent-index"));
  EXPECT_STREQ(rule_name(Action::CreateIndex), "require-concurrent-index-creation");
  EXPECT_STREQ(rule_name(Action::AddColumnRewrite), "adding-field-with-volatile-default");
}

TEST(LintRules, DoBlockIsAWarning) {
  Fact f;
  f.action = Action::UnlintedDoBlock;
  std::optional<Finding> found = evaluate(f, Thresholds{});
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->rule, "unlinted-do-block");
  EXPECT_EQ(found->severity, Severity::Info);
  EXPECT_NE(found->message.find("not linted"), std::string::npos);
}

TEST(LintRules, UnbatchedUpdateOfLargeTablesOnly) {
  Thresholds th;
  th.large_table_rows = 1000;
  auto f = evaluate({Action::UnbatchedUpdate, existing(5000, 50), "", "UPDATE", {}}, th);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->rule, "require-batched-update");
  EXPECT_EQ(f->severity, Severity::Warning);
  EXPECT_NE(f->hint.find("-- pg_migrate:batch"), std::string::npos);
  EXPECT_FALSE(evaluate({Action::UnbatchedUpdate, existing(999, 5), "", "UPDATE", {}}, th));
  EXPECT_FALSE(evaluate({Action::UnbatchedUpdate, existing(-1, 0), "", "DELETE", {}}, th));
  EXPECT_FALSE(evaluate({Action::UnbatchedUpdate, created(), "", "UPDATE", {}}, th));
}

TEST(LintRules, SeverityRisesWithSize) {
  Thresholds th;
  th.large_table_rows = 1000;
  EXPECT_EQ(size_severity(existing(0, 0), th), Severity::Info);
  EXPECT_EQ(size_severity(existing(10, 1), th), Severity::Warning);
  EXPECT_EQ(size_severity(existing(999, 5), th), Severity::Warning);
  EXPECT_EQ(size_severity(existing(1000, 5), th), Severity::Error);
  EXPECT_EQ(size_severity(existing(-1, 0), th), Severity::Warning);  // unknown
  EXPECT_EQ(size_severity(created(), th), Severity::Info);
  TableInfo missing;
  missing.name = "nope";
  EXPECT_EQ(size_severity(missing, th), Severity::Info);
}

TEST(LintRules, DescribeTableStatesSize) {
  EXPECT_EQ(describe_table(existing(0, 0)), "public.orders (empty)");
  EXPECT_EQ(describe_table(existing(250000, 1280)), "public.orders (about 250,000 rows, 10.0 MB)");
  EXPECT_EQ(describe_table(existing(-1, 0)), "public.orders (size unknown: never vacuumed or analyzed)");
  EXPECT_EQ(describe_table(existing(-1, 10)),
            "public.orders (10 pages, 80 kB; row count unknown: not analyzed since its data was written)");
  EXPECT_EQ(describe_table(created()), "orders (created by this script)");
  EXPECT_EQ(describe_table(existing(3e6, 262144)), "public.orders (about 3,000,000 rows, 2.0 GB)");
}

TEST(LintRules, GroupThousands) {
  EXPECT_EQ(group_thousands(0), "0");
  EXPECT_EQ(group_thousands(999), "999");
  EXPECT_EQ(group_thousands(1000), "1,000");
  EXPECT_EQ(group_thousands(1234567), "1,234,567");
  EXPECT_EQ(group_thousands(-1234), "-1,234");
}

TEST(LintRules, LockRulesSkipTablesCreatedInTheScript) {
  Thresholds th;
  for (Action a : {Action::AddColumnRewrite, Action::AddRequiredColumn, Action::ChangeColumnType,
                   Action::SetNotNull, Action::CreateIndex, Action::DropIndex, Action::AddForeignKey,
                   Action::AddCheck, Action::AddUnique, Action::RenameColumn, Action::RenameTable,
                   Action::DropColumn, Action::DropTable, Action::TruncateCascade, Action::VacuumFull,
                   Action::Cluster, Action::LockTable, Action::Reindex, Action::AttachPartitionScan,
                   Action::DefaultPartitionScan, Action::DetachPartition, Action::RefreshMatView,
                   Action::RewriteTable}) {
    EXPECT_FALSE(evaluate(fact(a, created()), th).has_value()) << rule_name(a);
    auto f = evaluate(fact(a, existing(50, 2)), th);
    ASSERT_TRUE(f.has_value()) << rule_name(a);
    EXPECT_EQ(f->rule, rule_name(a));
    EXPECT_FALSE(f->hint.empty()) << rule_name(a);
  }
}

TEST(LintRules, CreateIndexSeverityAndMessage) {
  Thresholds th;
  th.large_table_rows = 100000;
  auto small = evaluate(fact(Action::CreateIndex, existing(500, 3), "orders_idx"), th);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->severity, Severity::Warning);
  EXPECT_EQ(small->message,
            "CREATE INDEX orders_idx without CONCURRENTLY blocks writes to public.orders (about 500 "
            "rows, 24 kB) while the index builds");
  auto big = evaluate(fact(Action::CreateIndex, existing(2e6, 20000), ""), th);
  EXPECT_EQ(big->severity, Severity::Error);
  EXPECT_NE(big->message.find("CREATE INDEX without CONCURRENTLY"), std::string::npos);
  EXPECT_NE(big->message.find("about 2,000,000 rows"), std::string::npos);
  auto empty = evaluate(fact(Action::CreateIndex, existing(0, 0)), th);
  EXPECT_EQ(empty->severity, Severity::Info);
}

TEST(LintRules, RequiredColumnDependsOnRows) {
  Thresholds th;
  EXPECT_EQ(evaluate(fact(Action::AddRequiredColumn, existing(5, 1)), th)->severity, Severity::Error);
  EXPECT_EQ(evaluate(fact(Action::AddRequiredColumn, existing(0, 0)), th)->severity, Severity::Info);
  EXPECT_EQ(evaluate(fact(Action::AddRequiredColumn, existing(-1, 0)), th)->severity, Severity::Warning);
}

TEST(LintRules, FixedSeverities) {
  Thresholds th;
  EXPECT_EQ(evaluate(fact(Action::TransactionControl, {}, "", "COMMIT"), th)->severity, Severity::Error);
  EXPECT_EQ(evaluate(fact(Action::TruncateCascade, existing(0, 0)), th)->severity, Severity::Error);
  EXPECT_EQ(evaluate(fact(Action::RenameColumn, existing(1e9, 1)), th)->severity, Severity::Warning);
  EXPECT_EQ(evaluate(fact(Action::VacuumFull, existing(0, 0)), th)->severity, Severity::Warning);
  EXPECT_EQ(evaluate(fact(Action::IntPrimaryKey, created(), "id", "integer"), th)->severity,
            Severity::Warning);
  EXPECT_EQ(evaluate(fact(Action::TimestampColumn, created()), th)->rule, "prefer-timestamptz");
  auto unknown = evaluate(fact(Action::UnknownRule, {}, "no-such-rule"), th);
  EXPECT_EQ(unknown->message, "pg_migrate:ignore names unknown rule \"no-such-rule\"");
}

TEST(LintRules, IgnoreComments) {
  using V = std::vector<std::string>;
  EXPECT_EQ(ignored_rules("\n-- pg_migrate:ignore ban-drop-column\n"), V{"ban-drop-column"});
  EXPECT_EQ(ignored_rules("-- pg_migrate:ignore a-b, c-d ,e  -- because\n"), (V{"a-b", "c-d", "e"}));
  EXPECT_EQ(ignored_rules("/* pg_migrate:ignore Renaming-Column */"), V{"renaming-column"});
  EXPECT_EQ(ignored_rules("-- pg_migrate:ignore ban-drop-table: unused since v3\n"), V{"ban-drop-table"});
  EXPECT_EQ(ignored_rules("-- pg_migrate:ignore x\n-- pg_migrate:ignore y\n"), (V{"x", "y"}));
  EXPECT_TRUE(ignored_rules("-- pg_migrate:ignored x\n").empty());
  EXPECT_TRUE(ignored_rules("-- nothing here\n").empty());
  EXPECT_TRUE(ignored_rules("-- pg_migrate:ignore\n").empty());
}

TEST(LintRules, ReindexWithoutConcurrentlyBySize) {
  Thresholds th;
  th.large_table_rows = 1000;
  auto big = evaluate(fact(Action::Reindex, existing(5000, 100), "TABLE t"), th);
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->rule, "require-concurrent-reindex");
  EXPECT_EQ(big->severity, Severity::Error);
  EXPECT_NE(big->message.find("REINDEX TABLE t without CONCURRENTLY"), std::string::npos) << big->message;
  EXPECT_FALSE(evaluate(fact(Action::Reindex, created(), "TABLE t"), th).has_value());
}

TEST(LintRules, RefreshAndRewriteBySize) {
  Thresholds th;
  th.large_table_rows = 1000;
  auto refresh = evaluate(fact(Action::RefreshMatView, existing(5000, 100)), th);
  ASSERT_TRUE(refresh.has_value());
  EXPECT_EQ(refresh->rule, "require-concurrent-refresh");
  EXPECT_EQ(refresh->severity, Severity::Error);
  EXPECT_NE(refresh->hint.find("CONCURRENTLY"), std::string::npos);
  Fact move = fact(Action::RewriteTable, existing(5000, 100));
  move.detail = "SET TABLESPACE fast";
  auto rewrite = evaluate(move, th);
  ASSERT_TRUE(rewrite.has_value());
  EXPECT_EQ(rewrite->rule, "ban-table-rewrite");
  EXPECT_EQ(rewrite->message.rfind("SET TABLESPACE fast copies ", 0), 0u) << rewrite->message;
  EXPECT_EQ(evaluate(fact(Action::RewriteTable, existing(0, 0)), th)->severity, Severity::Info);
}

TEST(LintRules, BatchedVolatileWhereWarnsWhateverTheSize) {
  Thresholds th;
  th.large_table_rows = 1000;
  for (int64_t rows : {0, 5000}) {
    Fact f = fact(Action::BatchedVolatileWhere, existing(rows, rows / 50));
    f.object = "random";
    f.detail = "DELETE";
    auto found = evaluate(f, th);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->rule, "batched-where-volatile");
    EXPECT_EQ(found->severity, Severity::Warning);
    EXPECT_EQ(found->message.rfind("the WHERE clause of the batched DELETE of public.orders", 0), 0u) << found->message;
    EXPECT_NE(found->message.find("calls random()"), std::string::npos) << found->message;
  }
}

TEST(LintRules, PartitionScansBySize) {
  Thresholds th;
  th.large_table_rows = 1000;
  auto attach = evaluate(fact(Action::AttachPartitionScan, existing(5000, 100)), th);
  ASSERT_TRUE(attach.has_value());
  EXPECT_EQ(attach->rule, "attach-partition-scan");
  EXPECT_EQ(attach->severity, Severity::Error);
  EXPECT_NE(attach->message.find("ATTACH PARTITION of public.orders (about 5,000 rows"), std::string::npos)
      << attach->message;
  EXPECT_NE(attach->message.find("to public.customers scans public.orders"), std::string::npos) << attach->message;
  EXPECT_EQ(evaluate(fact(Action::AttachPartitionScan, existing(10, 1)), th)->severity, Severity::Warning);
  // The default partition's scan: under ATTACH the parent keeps SHARE UPDATE EXCLUSIVE; CREATE
  // TABLE ... PARTITION OF holds ACCESS EXCLUSIVE on it meanwhile.
  auto attached = evaluate(fact(Action::DefaultPartitionScan, existing(5000, 100), "p2030", "ATTACH PARTITION"), th);
  ASSERT_TRUE(attached.has_value());
  EXPECT_EQ(attached->rule, "default-partition-scan");
  EXPECT_EQ(attached->message.find("every query on it waits"), std::string::npos) << attached->message;
  auto created_partition =
      evaluate(fact(Action::DefaultPartitionScan, existing(5000, 100), "p2030", "CREATE TABLE ... PARTITION OF"), th);
  ASSERT_TRUE(created_partition.has_value());
  EXPECT_NE(created_partition->message.find("CREATE TABLE ... PARTITION OF p2030 scans the default partition "
                                            "public.orders"),
            std::string::npos)
      << created_partition->message;
  EXPECT_NE(created_partition->message.find("holding ACCESS EXCLUSIVE on public.customers"), std::string::npos)
      << created_partition->message;
}

TEST(LintRules, DetachPartitionWithoutConcurrentlyIsAtLeastAWarning) {
  Thresholds th;
  th.large_table_rows = 1000;
  auto small = evaluate(fact(Action::DetachPartition, existing(10, 1), "public.p2020"), th);
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->rule, "require-concurrent-detach-partition");
  EXPECT_EQ(small->severity, Severity::Warning);  // the lock, not the size, is the risk
  EXPECT_NE(small->message.find("DETACH PARTITION public.p2020 without CONCURRENTLY"), std::string::npos);
  EXPECT_NE(small->hint.find("-- pg_migrate:no-transaction"), std::string::npos);
  EXPECT_EQ(evaluate(fact(Action::DetachPartition, existing(5000, 100), "p"), th)->severity, Severity::Error);
}

TEST(LintRules, DetachConcurrentlyWithADefaultPartitionIsAnError) {
  Thresholds th;
  auto small = evaluate(fact(Action::DetachConcurrentlyWithDefault, existing(10, 1), "public.p2020"), th);
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->rule, "detach-concurrently-with-default-partition");
  EXPECT_EQ(small->severity, Severity::Error);  // the statement fails, whatever the size
  EXPECT_NE(small->message.find("DETACH PARTITION public.p2020 CONCURRENTLY fails"), std::string::npos) << small->message;
  EXPECT_NE(small->hint.find("first detach the default partition"), std::string::npos);
}

TEST(LintRules, ValidateRightAfterNotValid) {
  Thresholds th;
  th.large_table_rows = 1000;
  Fact f = fact(Action::ValidateRightAfter, existing(5000, 100), "orders_status_nn");
  f.detail = "ACCESS EXCLUSIVE";
  auto big = evaluate(f, th);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->rule, "constraint-validated-in-same-transaction");
  EXPECT_EQ(big->severity, Severity::Error);
  EXPECT_NE(big->message.find("while the ACCESS EXCLUSIVE lock the ADD took is still held"), std::string::npos) << big->message;
  EXPECT_FALSE(evaluate(fact(Action::ValidateRightAfter, created(), "c"), th).has_value());
}

// A type change that does not rewrite the table but rebuilds indexes says so.
TEST(LintRules, TypeChangeRebuildingIndexes) {
  Thresholds th;
  th.large_table_rows = 1000;
  Fact f = fact(Action::ChangeColumnType, existing(150000, 800), "created", "timestamp with time zone");
  f.indexes = "orders_created_idx";
  auto one = evaluate(f, th);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->rule, "changing-column-type");
  EXPECT_EQ(one->severity, Severity::Error);
  EXPECT_NE(one->message.find("does not rewrite the table but rebuilds its index orders_created_idx"), std::string::npos)
      << one->message;
  f.indexes = "a, b";
  auto two = evaluate(f, th);
  ASSERT_TRUE(two);
  EXPECT_NE(two->message.find("rebuilds its indexes a, b"), std::string::npos) << two->message;
  f.indexes.clear();
  auto rewrite = evaluate(f, th);
  ASSERT_TRUE(rewrite);
  EXPECT_NE(rewrite->message.find("rewrites the table and its indexes"), std::string::npos) << rewrite->message;
}

// A MERGE or a data-modifying WITH query cannot carry a batch directive: the hint says what to write.
TEST(LintRules, UnbatchedMergeHint) {
  Thresholds th;
  th.large_table_rows = 1000;
  auto merge = evaluate(fact(Action::UnbatchedUpdate, existing(150000, 800), "", "MERGE"), th);
  ASSERT_TRUE(merge);
  EXPECT_NE(merge->hint.find("Write it as plain UPDATE, DELETE and INSERT statements"), std::string::npos) << merge->hint;
  auto cte = evaluate(fact(Action::UnbatchedUpdate, existing(150000, 800), "", "DELETE in a WITH query"), th);
  ASSERT_TRUE(cte);
  EXPECT_NE(cte->message.find("DELETE in a WITH query of public.orders"), std::string::npos) << cte->message;
  auto plain = evaluate(fact(Action::UnbatchedUpdate, existing(150000, 800), "", "UPDATE"), th);
  ASSERT_TRUE(plain);
  EXPECT_NE(plain->hint.find("precede it with"), std::string::npos) << plain->hint;
}

// A partitioned table is judged by its partitions' summed size (before, always a warning).
TEST(LintRules, PartitionedTableBySize) {
  Thresholds th;
  th.large_table_rows = 1000;
  TableInfo parent = existing(150000, 800);
  parent.partitioned = true;
  parent.partitions = 3;
  auto big = evaluate(fact(Action::ChangeColumnType, parent, "k"), th);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->severity, Severity::Error);
  EXPECT_NE(big->message.find("(partitioned table, about 150,000 rows in 3 partitions, "), std::string::npos) << big->message;
  parent.reltuples = 10;
  auto small = evaluate(fact(Action::ChangeColumnType, parent, "k"), th);
  ASSERT_TRUE(small);
  EXPECT_EQ(small->severity, Severity::Warning);
  parent.reltuples = -1;
  auto unknown = evaluate(fact(Action::ChangeColumnType, parent, "k"), th);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->severity, Severity::Warning);
  EXPECT_NE(unknown->message.find("partitioned table, 3 partitions, size unknown"), std::string::npos) << unknown->message;
}

TEST(LintRules, PartitionedIndexHintAvoidsConcurrently) {
  Thresholds th;
  th.large_table_rows = 1000;
  TableInfo parent = existing(5000, 50);
  parent.partitioned = true;
  auto f = evaluate(fact(Action::CreateIndex, parent, "events_at"), th);
  ASSERT_TRUE(f);
  EXPECT_NE(f->hint.find("ON ONLY"), std::string::npos);
  EXPECT_NE(f->hint.find("ATTACH PARTITION"), std::string::npos);
  auto plain = evaluate(fact(Action::CreateIndex, existing(5000, 50), "orders_at"), th);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->hint.find("ON ONLY"), std::string::npos);
}

// Hints on a partitioned table never suggest what PostgreSQL refuses there (NOT VALID foreign
// keys, DROP INDEX CONCURRENTLY, USING INDEX / CONCURRENTLY for a constraint's index); a new
// column's REFERENCES has no NOT VALID.
TEST(LintRules, PartitionedHintsAvoidWhatPostgresRefuses) {
  Thresholds th;
  th.large_table_rows = 1000;
  TableInfo parent = existing(5000, 50);
  parent.partitioned = true;
  auto fk = evaluate(fact(Action::AddForeignKey, parent, "ev_fk"), th);
  ASSERT_TRUE(fk);
  EXPECT_NE(fk->hint.find("cannot be added NOT VALID"), std::string::npos) << fk->hint;
  auto drop = evaluate(fact(Action::DropIndex, parent, "ev_at"), th);
  ASSERT_TRUE(drop);
  EXPECT_EQ(drop->hint.find("DROP INDEX CONCURRENTLY"), std::string::npos) << drop->hint;
  auto unique = evaluate(fact(Action::AddUnique, parent, "ev_u"), th);
  ASSERT_TRUE(unique);
  EXPECT_EQ(unique->hint.find("USING INDEX"), std::string::npos) << unique->hint;
  EXPECT_NE(unique->hint.find("ON ONLY"), std::string::npos) << unique->hint;
  auto column = evaluate(fact(Action::AddForeignKey, existing(5000, 50), "on new column c"), th);
  ASSERT_TRUE(column);
  EXPECT_NE(column->hint.find("Add the column without REFERENCES"), std::string::npos) << column->hint;
  auto plain = evaluate(fact(Action::DropIndex, existing(5000, 50), "i"), th);
  ASSERT_TRUE(plain);
  EXPECT_NE(plain->hint.find("DROP INDEX CONCURRENTLY"), std::string::npos);
}
