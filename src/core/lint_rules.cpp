#include "core/lint_rules.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace pgm::lint {

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Error: return "error";
  }
  return "error";
}

namespace {

struct RuleDef {
  Action action;
  RuleInfo info;
};

const std::vector<RuleDef>& rule_defs() {
  static const std::vector<RuleDef> defs = {
      {Action::AddColumnRewrite,
       {"adding-field-with-volatile-default",
        "ADD COLUMN with a volatile default, identity, serial or stored generated column rewrites the table"}},
      {Action::AddRequiredColumn,
       {"adding-required-field", "ADD COLUMN ... NOT NULL without a default fails on a table with rows"}},
      {Action::ChangeColumnType,
       {"changing-column-type", "ALTER COLUMN ... TYPE that rewrites the table and its indexes"}},
      {Action::SetNotNull,
       {"adding-not-nullable-field",
        "SET NOT NULL scans the table under ACCESS EXCLUSIVE unless a validated CHECK (col IS NOT NULL) exists"}},
      {Action::CreateIndex,
       {"require-concurrent-index-creation", "CREATE INDEX without CONCURRENTLY on an existing table blocks writes"}},
      {Action::DropIndex,
       {"require-concurrent-index-deletion", "DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the table"}},
      {Action::AddForeignKey,
       {"adding-foreign-key-constraint", "ADD FOREIGN KEY without NOT VALID scans the table, blocking writes"}},
      {Action::AddCheck,
       {"constraint-missing-not-valid", "ADD CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE"}},
      {Action::AddUnique,
       {"disallowed-unique-constraint",
        "ADD UNIQUE / PRIMARY KEY without USING INDEX builds the index under ACCESS EXCLUSIVE"}},
      {Action::RenameColumn, {"renaming-column", "renaming a column breaks deployed code"}},
      {Action::RenameTable, {"renaming-table", "renaming a table breaks deployed code"}},
      {Action::DropColumn, {"ban-drop-column", "dropping a column breaks deployed code and loses data"}},
      {Action::DropTable, {"ban-drop-table", "dropping a table breaks deployed code and loses data"}},
      {Action::TruncateCascade,
       {"ban-truncate-cascade", "TRUNCATE ... CASCADE silently empties every referencing table"}},
      {Action::VacuumFull, {"ban-vacuum-full", "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE"}},
      {Action::Cluster, {"ban-cluster", "CLUSTER rewrites the table under ACCESS EXCLUSIVE"}},
      {Action::LockTable, {"ban-lock-table", "an explicit LOCK TABLE is held until the migration commits"}},
      {Action::Reindex,
       {"require-concurrent-reindex",
        "REINDEX without CONCURRENTLY blocks writes to the table and reads that use its indexes"}},
      {Action::ValidateRightAfter,
       {"constraint-validated-in-same-transaction",
        "VALIDATE CONSTRAINT in the transaction that added the constraint NOT VALID: the scan runs under the "
        "lock the ADD took"}},
      {Action::TransactionControl,
       {"transaction-nesting", "BEGIN / COMMIT / ROLLBACK / SAVEPOINT inside a migration"}},
      {Action::IntPrimaryKey,
       {"prefer-bigint-over-int", "int, smallint or serial primary keys run out; use bigint"}},
      {Action::SerialColumn, {"prefer-identity", "serial columns: use GENERATED ... AS IDENTITY"}},
      {Action::CharColumn, {"ban-char-field", "char(n) columns: use text or varchar"}},
      {Action::TimestampColumn,
       {"prefer-timestamptz", "timestamp without time zone columns: use timestamptz"}},
      {Action::NotAllowed,
       {"not-allowed-in-migration", "a statement that cannot run inside a migration's transaction"}},
      {Action::SyntaxError, {"syntax-error", "the script does not parse"}},
      {Action::UnknownRule, {"unknown-lint-rule", "a pg_migrate:ignore comment names an unknown rule"}},
      {Action::UnbatchedUpdate,
       {"require-batched-update", "UPDATE / DELETE of a large table in one transaction instead of in batches"}},
      {Action::AttachPartitionScan,
       {"attach-partition-scan",
        "ATTACH PARTITION scans the table it attaches under ACCESS EXCLUSIVE unless a CHECK constraint proves the bound"}},
      {Action::DefaultPartitionScan,
       {"default-partition-scan",
        "a new partition of a table with a default partition scans the default partition under ACCESS EXCLUSIVE"}},
      {Action::DetachPartition,
       {"require-concurrent-detach-partition",
        "DETACH PARTITION without CONCURRENTLY takes ACCESS EXCLUSIVE on the partitioned table"}},
      {Action::DetachConcurrentlyWithDefault,
       {"detach-concurrently-with-default-partition",
        "DETACH PARTITION ... CONCURRENTLY of a partitioned table that has a default partition: PostgreSQL refuses it"}},
      {Action::RefreshMatView,
       {"require-concurrent-refresh",
        "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks every read of the view until it ends"}},
      {Action::RewriteTable,
       {"ban-table-rewrite",
        "SET TABLESPACE, SET LOGGED / UNLOGGED and SET ACCESS METHOD copy the table under ACCESS EXCLUSIVE"}},
      {Action::BatchedVolatileWhere,
       {"batched-where-volatile",
        "a batched UPDATE / DELETE whose WHERE clause calls a volatile function: every batch evaluates it again"}},
      {Action::AlterDomainScan,
       {"ban-alter-domain-with-add-constraint",
        "ALTER DOMAIN ... ADD CONSTRAINT (without NOT VALID), VALIDATE CONSTRAINT or SET NOT NULL checks every row of every table using the domain"}},
      {Action::UnlintedDoBlock,
       {"unlinted-do-block", "a DO block: lint cannot see the statements it runs (nor the gate their findings would close)"}},
      {Action::SessionOnly,
       {"session-only-statement", "LISTEN / LOAD (and SET in a non-transactional script): they affect the session, or the statement, that runs them, not the database"}},
  };
  return defs;
}

bool has_rows_or_pages(const TableInfo& t) { return t.reltuples > 0 || t.relpages > 0; }

std::string size_mb(int64_t pages) {
  double mb = static_cast<double>(pages) * 8192.0 / (1024.0 * 1024.0);
  if (mb < 1.0) return fmt::format("{} kB", pages * 8);
  if (mb >= 1024.0) return fmt::format("{:.1f} GB", mb / 1024.0);
  return fmt::format("{:.1f} MB", mb);
}

Severity max_severity(Severity a, Severity b) { return static_cast<int>(a) >= static_cast<int>(b) ? a : b; }

}  // namespace

const std::vector<RuleInfo>& rules() {
  static const std::vector<RuleInfo> list = [] {
    std::vector<RuleInfo> out;
    for (const RuleDef& d : rule_defs()) out.push_back(d.info);
    return out;
  }();
  return list;
}

bool is_known_rule(std::string_view name) {
  for (const RuleDef& d : rule_defs())
    if (name == d.info.name) return true;
  return false;
}

const char* rule_name(Action a) {
  for (const RuleDef& d : rule_defs())
    if (d.action == a) return d.info.name;
  return "unknown";
}

std::string group_thousands(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0) out.push_back(',');
    out.push_back(*it);
    ++count;
  }
  if (n < 0) out.push_back('-');
  std::reverse(out.begin(), out.end());
  return out;
}

std::string describe_table(const TableInfo& t) {
  if (t.created_in_script) return fmt::format("{} (created by this script)", t.name);
  if (!t.exists) return fmt::format("{} (not in the catalog yet)", t.name);
  if (t.committed_by_script) return fmt::format("{} (created and committed by an earlier part of this script: size unknown)", t.name);
  if (t.partitioned && t.partitions == 0) return fmt::format("{} (partitioned table without partitions)", t.name);
  if (t.partitioned) {
    std::string parts = fmt::format("{} partition{}", t.partitions, t.partitions == 1 ? "" : "s");
    if (t.reltuples < 0) return fmt::format("{} (partitioned table, {}, size unknown: never vacuumed or analyzed)", t.name, parts);
    return fmt::format("{} (partitioned table, about {} rows in {}{}, {})", t.name,
                       group_thousands(static_cast<int64_t>(t.reltuples + 0.5)), parts,
                       t.size_partial ? " whose row counts are known" : "", size_mb(t.relpages));
  }
  if (t.children > 0) {
    std::string kids = fmt::format("{} inheritance child{}", t.children, t.children == 1 ? "" : "ren");
    if (t.reltuples < 0) return fmt::format("{} (with its {}, size unknown: never vacuumed or analyzed)", t.name, kids);
    return fmt::format("{} (about {} rows with its {}{}, {})", t.name,
                       group_thousands(static_cast<int64_t>(t.reltuples + 0.5)), kids,
                       t.size_partial ? " (some row counts unknown)" : "", size_mb(t.relpages));
  }
  if (t.reltuples < 0) {
    if (t.relpages > 0)
      return fmt::format("{} ({} page{}, {}; row count unknown: not analyzed since its data was written)", t.name,
                         group_thousands(t.relpages), t.relpages == 1 ? "" : "s", size_mb(t.relpages));
    return fmt::format("{} (size unknown: never vacuumed or analyzed)", t.name);
  }
  if (t.reltuples == 0 && t.relpages == 0) return fmt::format("{} (empty)", t.name);
  int64_t rows = static_cast<int64_t>(t.reltuples + 0.5);
  return fmt::format("{} (about {} row{}, {})", t.name, group_thousands(rows), rows == 1 ? "" : "s", size_mb(t.relpages));
}

Severity size_severity(const TableInfo& t, const Thresholds& thresholds) {
  if (t.created_in_script || !t.exists) return Severity::Info;
  // A partitioned table: the size of its partitions, which the statement rewrites or scans.
  if (t.reltuples < 0) return Severity::Warning;  // unknown size
  if (t.reltuples == 0 && t.relpages == 0) return Severity::Info;
  return t.reltuples >= thresholds.large_table_rows ? Severity::Error : Severity::Warning;
}

std::optional<Finding> evaluate(const Fact& f, const Thresholds& th) {
  const std::string rule = rule_name(f.action);
  const std::string table = describe_table(f.table);
  const bool created = f.table.created_in_script;
  const Severity by_size = size_severity(f.table, th);
  auto named = [](const char* what, const std::string& name) {
    return name.empty() ? std::string(what) : fmt::format("{} {}", what, name);
  };
  auto finding = [&](Severity s, std::string message, std::string hint) {
    return std::optional<Finding>(Finding{rule, s, std::move(message), std::move(hint)});
  };

  switch (f.action) {
    case Action::AddColumnRewrite:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("adding column {} to {} with {} rewrites the whole table under an "
                                 "ACCESS EXCLUSIVE lock",
                                 f.object, table, f.detail),
                     "Add the column without a default (or with a non-volatile one), backfill existing "
                     "rows in batches, then set the default.");
    case Action::AddRequiredColumn: {
      if (created) return std::nullopt;
      Severity s = !f.table.exists ? Severity::Info
                   : f.table.reltuples < 0 && f.table.relpages == 0 ? Severity::Warning
                   : has_rows_or_pages(f.table) ? Severity::Error
                                                : Severity::Info;
      std::string why = s == Severity::Error ? "fails: its existing rows have no value for it"
                                             : "fails as soon as the table has rows, and breaks "
                                               "deployed code that inserts without it";
      return finding(s,
                     fmt::format("adding NOT NULL column {} without a default to {} {}", f.object, table, why),
                     "Add the column with a non-volatile DEFAULT, or add it nullable, backfill it, and "
                     "enforce NOT NULL through a validated CHECK constraint.");
    }
    case Action::ChangeColumnType:
      if (created) return std::nullopt;
      if (!f.indexes.empty())
        return finding(by_size,
                       fmt::format("changing the type of column {} of {} to {} does not rewrite the table but "
                                   "rebuilds its index{} {} under an ACCESS EXCLUSIVE lock",
                                   f.object, table, f.detail,
                                   f.indexes.find(", ") != std::string::npos ? "es" : "", f.indexes),
                       "Build the indexes the new type needs first (CREATE INDEX CONCURRENTLY, in a migration "
                       "whose script begins with \"-- pg_migrate:no-transaction\"), or add a column of the new "
                       "type, backfill it in batches and switch the application over.");
      return finding(by_size,
                     fmt::format("changing the type of column {} of {} to {} rewrites the table and "
                                 "its indexes under an ACCESS EXCLUSIVE lock",
                                 f.object, table, f.detail),
                     "Add a column of the new type, backfill it in batches and switch the application "
                     "over; or make a binary-compatible change (varchar(n) to a larger n or to text).");
    case Action::SetNotNull:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("SET NOT NULL on column {} scans all of {} under an ACCESS EXCLUSIVE lock",
                                 f.object, table),
                     "First ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID and VALIDATE it (a "
                     "weaker lock); SET NOT NULL then skips the scan, and the CHECK can be dropped.");
    case Action::CreateIndex:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("{} without CONCURRENTLY blocks writes to {} while the index builds",
                                 named("CREATE INDEX", f.object), table),
                     f.table.partitioned
                         // PostgreSQL refuses CONCURRENTLY on a partitioned table.
                         ? "Create it ON ONLY the partitioned table (no build), build each partition's index "
                           "with CREATE INDEX CONCURRENTLY in a migration whose script begins with the line "
                           "\"-- pg_migrate:no-transaction\", then ALTER INDEX ... ATTACH PARTITION each one."
                         : "Build it with CREATE INDEX CONCURRENTLY in a migration whose script begins with "
                           "the line \"-- pg_migrate:no-transaction\" (applied by CALL migrate.run() or the "
                           "pg_migrate command), then rely on it here.");
    case Action::DropIndex:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("{} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on {}, "
                                 "blocking every query on it",
                                 named("DROP INDEX", f.object), table),
                     f.table.partitioned
                         // PostgreSQL refuses DROP INDEX CONCURRENTLY of a partitioned index.
                         ? "A partitioned index cannot be dropped CONCURRENTLY: drop it when the table is quiet "
                           "(the lock reaches every partition), with a short pg_migrate.lock_timeout and retries."
                         : "Drop it with DROP INDEX CONCURRENTLY in a migration whose script begins with the "
                           "line \"-- pg_migrate:no-transaction\" (applied by CALL migrate.run()).");
    case Action::AddForeignKey:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("adding {} to {} without NOT VALID scans it under a SHARE ROW EXCLUSIVE "
                                 "lock, also held on {}, blocking writes to both",
                                 named("foreign key", f.object), table, f.other.name),
                     f.table.partitioned
                         // PostgreSQL refuses NOT VALID foreign keys on a partitioned table.
                         ? "A partitioned table's foreign key cannot be added NOT VALID: add it to each partition "
                           "(NOT VALID, then VALIDATE CONSTRAINT in a later migration), or to the parent when "
                           "the tables are quiet."
                     : f.object.rfind("on new column ", 0) == 0
                         // A column constraint has no NOT VALID: the key is added as a table constraint.
                         ? "Add the column without REFERENCES, then ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY "
                           "... NOT VALID, and VALIDATE CONSTRAINT in a later migration (a SHARE UPDATE "
                           "EXCLUSIVE lock)."
                         : "Add the constraint with NOT VALID, then run ALTER TABLE ... VALIDATE CONSTRAINT "
                           "in a later migration: validation takes only a SHARE UPDATE EXCLUSIVE lock.");
    case Action::AddCheck:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("adding {} to {} without NOT VALID scans the whole table under an "
                                 "ACCESS EXCLUSIVE lock",
                                 named("CHECK constraint", f.object), table),
                     "Add the constraint with NOT VALID, then VALIDATE CONSTRAINT in a later migration.");
    case Action::AddUnique:
      if (created) return std::nullopt;
      if (f.detail == "EXCLUDE constraint")
        return finding(by_size,
                       fmt::format("adding {} to {} builds its index under an ACCESS EXCLUSIVE lock",
                                   named("EXCLUDE constraint", f.object), table),
                       "An exclusion constraint cannot take an index built beforehand: add it while the table "
                       "is small, or in a maintenance window.");
      return finding(by_size,
                     fmt::format("adding {} to {} without USING INDEX builds its index under an ACCESS "
                                 "EXCLUSIVE lock",
                                 named(f.detail.empty() ? "UNIQUE constraint" : f.detail.c_str(), f.object),
                                 table),
                     f.table.partitioned
                         // Neither CONCURRENTLY nor USING INDEX exists for a partitioned table.
                         ? "A partitioned table's constraint cannot use an index built beforehand: enforce it "
                           "with a unique index instead: CREATE UNIQUE INDEX ON ONLY the table, build each "
                           "partition's with CREATE UNIQUE INDEX CONCURRENTLY (a \"-- pg_migrate:no-transaction\" "
                           "migration), then ALTER INDEX ... ATTACH PARTITION each one."
                         : "Build a unique index with CREATE UNIQUE INDEX CONCURRENTLY first (in a migration "
                           "whose script begins with \"-- pg_migrate:no-transaction\"), then ADD CONSTRAINT ... "
                           "UNIQUE USING INDEX (or PRIMARY KEY USING INDEX).");
    case Action::RenameColumn:
      if (created) return std::nullopt;
      return finding(Severity::Warning,
                     fmt::format("renaming column {} of {} to {} breaks deployed code that uses the old name",
                                 f.object, f.table.name, f.detail),
                     "Add the new column, write both, backfill, move readers over, and drop the old "
                     "column in a later release.");
    case Action::RenameTable:
      if (created) return std::nullopt;
      return finding(Severity::Warning,
                     fmt::format("renaming table {} to {} breaks deployed code that uses the old name",
                                 f.table.name, f.detail),
                     "Keep the old name reachable (e.g. an updatable view) while old and new code run "
                     "side by side.");
    case Action::DropColumn:
      if (created) return std::nullopt;
      return finding(Severity::Warning,
                     fmt::format("dropping column {} of {} breaks deployed code that still uses it, and "
                                 "its data is lost",
                                 f.object, table),
                     "Stop using the column in the application one release before dropping it.");
    case Action::DropTable:
      if (created) return std::nullopt;
      return finding(Severity::Warning,
                     fmt::format("dropping table {} breaks deployed code that still uses it, and its "
                                 "data is lost",
                                 table),
                     "Stop using the table one release before; consider renaming it first and dropping "
                     "it in a later migration.");
    case Action::TruncateCascade:
      if (created) return std::nullopt;
      return finding(Severity::Error,
                     fmt::format("TRUNCATE ... CASCADE on {} also empties every table that references it "
                                 "through a foreign key",
                                 f.table.name),
                     "Name every table to truncate explicitly and drop CASCADE.");
    case Action::VacuumFull:
      if (created) return std::nullopt;
      return finding(max_severity(Severity::Warning, by_size),
                     fmt::format("VACUUM FULL rewrites {} under an ACCESS EXCLUSIVE lock", table),
                     "Use pg_repack or pg_squeeze to compact a table online.");
    case Action::Cluster:
      if (created) return std::nullopt;
      return finding(max_severity(Severity::Warning, by_size),
                     fmt::format("CLUSTER rewrites {} under an ACCESS EXCLUSIVE lock", table),
                     "Use pg_repack to reorder a table online.");
    case Action::RefreshMatView:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("REFRESH MATERIALIZED VIEW without CONCURRENTLY rebuilds {} under an ACCESS "
                                 "EXCLUSIVE lock: every read of the view waits until it ends",
                                 table),
                     "Use REFRESH MATERIALIZED VIEW CONCURRENTLY (reads go on; it needs a unique index on the view "
                     "that covers all rows), or refresh outside migrations.");
    case Action::RewriteTable:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("{} copies {} under an ACCESS EXCLUSIVE lock: reads and writes wait until it ends",
                                 f.detail, table),
                     "Move or convert a large table online (pg_repack can move it to another tablespace), or run "
                     "it in a maintenance window.");
    case Action::Reindex:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("{} without CONCURRENTLY blocks writes to {}, and every query that "
                                 "uses the rebuilt indexes, until it ends",
                                 named("REINDEX", f.object), table),
                     "Use REINDEX ... CONCURRENTLY in a migration whose script begins with the line "
                     "\"-- pg_migrate:no-transaction\" (it cannot run inside a transaction).");
    case Action::ValidateRightAfter:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("validating {} of {} in the transaction that added it NOT VALID scans the table "
                                 "while the {} lock the ADD took is still held: NOT VALID gains nothing",
                                 named("constraint", f.object), table, f.detail),
                     "Validate it after a COMMIT in a split migration, or in a later migration applied in a "
                     "transaction of its own (apply() runs every pending migration in one transaction: apply "
                     "up to this one first): VALIDATE CONSTRAINT on its own takes only a SHARE UPDATE "
                     "EXCLUSIVE lock.");
    case Action::AttachPartitionScan:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("ATTACH PARTITION of {} to {} scans {} under an ACCESS EXCLUSIVE lock to check "
                                 "that every row fits the partition bound: it has no validated CHECK constraint "
                                 "that could prove it",
                                 table, f.other.name, f.table.name),
                     "First add a CHECK constraint matching the bound (ADD CONSTRAINT ... NOT VALID, then "
                     "VALIDATE CONSTRAINT in a later migration, under a SHARE UPDATE EXCLUSIVE lock): ATTACH "
                     "PARTITION then skips the scan, and the CHECK can be dropped afterwards. Build the "
                     "partitioned table's indexes on it beforehand too (CREATE INDEX CONCURRENTLY): ATTACH "
                     "builds those it lacks under its lock.");
    case Action::DefaultPartitionScan:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("{} {} scans the default partition {} under an ACCESS EXCLUSIVE lock to check "
                                 "that none of its rows belong to the new partition{}",
                                 f.detail, f.object, table,
                                 f.detail == "ATTACH PARTITION"
                                     ? ""
                                     : fmt::format(", holding ACCESS EXCLUSIVE on {} (every query on it waits)",
                                                   f.other.name)),
                     "First give the default partition a CHECK constraint that excludes the new partition's "
                     "values (NOT VALID, then VALIDATE CONSTRAINT in a later migration), or move those rows "
                     "out: PostgreSQL then skips the scan.");
    case Action::DetachPartition:
      if (created) return std::nullopt;
      return finding(max_severity(Severity::Warning, by_size),
                     fmt::format("DETACH PARTITION {} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on {}: "
                                 "every query on it waits, and queues behind the queries running",
                                 f.object, table),
                     "Use DETACH PARTITION ... CONCURRENTLY (SHARE UPDATE EXCLUSIVE) in a migration whose script "
                     "begins with \"-- pg_migrate:no-transaction\" (it cannot run in a transaction), or accept "
                     "a short lock on a quiet table.");
    case Action::DetachConcurrentlyWithDefault:
      return finding(Severity::Error,
                     fmt::format("DETACH PARTITION {} CONCURRENTLY fails: {} has a default partition, and "
                                 "PostgreSQL detaches concurrently only from a partitioned table without one",
                                 f.object, table),
                     "Detach without CONCURRENTLY (ACCESS EXCLUSIVE on the partitioned table, briefly on a "
                     "quiet table), or first detach the default partition (not concurrently) in an earlier "
                     "statement.");
    case Action::LockTable:
      if (created) return std::nullopt;
      return finding(max_severity(Severity::Warning, by_size),
                     fmt::format("LOCK TABLE {} IN {} MODE holds the lock until the migration's "
                                 "transaction ends",
                                 table, f.detail),
                     "Let each statement take the lock it needs; keep migrations that lock busy tables short.");
    case Action::TransactionControl:
      return finding(Severity::Error,
                     fmt::format("transaction control ({}) inside a migration", f.detail),
                     f.object == "no-transaction"
                         ? "Remove the statement: in a non-transactional script each statement commits on its own."
                         : "Remove the statement: a migration runs inside the caller's transaction and "
                           "commits or rolls back with it.");
    case Action::IntPrimaryKey:
      return finding(Severity::Warning,
                     fmt::format("primary key column {} of {} is {}", f.object, f.table.name, f.detail),
                     "Use bigint (e.g. bigint GENERATED BY DEFAULT AS IDENTITY): a 32-bit key runs out "
                     "at 2,147,483,647 and widening it later rewrites the table.");
    case Action::SerialColumn:
      return finding(Severity::Warning,
                     fmt::format("column {} of {} uses the pseudo-type {}", f.object, f.table.name, f.detail),
                     "Use GENERATED BY DEFAULT AS IDENTITY: the sequence then belongs to the column "
                     "(privileges, CREATE TABLE LIKE, dropping the default).");
    case Action::CharColumn:
      return finding(Severity::Warning,
                     fmt::format("column {} of {} is {}", f.object, f.table.name, f.detail),
                     "Use text (or varchar(n) / a CHECK on length): char(n) pads with blanks and is "
                     "never faster.");
    case Action::TimestampColumn:
      return finding(Severity::Warning,
                     fmt::format("column {} of {} is timestamp without time zone", f.object, f.table.name),
                     "Use timestamptz: it stores an absolute point in time; timestamp without time "
                     "zone loses the offset and compares wrongly across zones and DST changes.");
    case Action::NotAllowed:
      return finding(Severity::Error, f.detail, f.object);
    case Action::SyntaxError:
      return finding(Severity::Error, f.detail, "");
    case Action::SessionOnly:
      return finding(Severity::Warning, f.detail, f.object);
    case Action::AlterDomainScan:
      if (created) return std::nullopt;
      return finding(by_size,
                     fmt::format("{} checks every row of {} (column {}) under a SHARE lock, blocking its writes",
                                 f.detail, table, f.object),
                     "A domain's constraint is checked on every row under a SHARE lock whether it is added or "
                     "validated later (NOT VALID only moves the scan to VALIDATE): run it when the tables are quiet, "
                     "or put the constraint on the tables instead (ADD CONSTRAINT ... NOT VALID, then VALIDATE "
                     "CONSTRAINT, which takes a lock writes pass).");
    case Action::UnlintedDoBlock:
      // (info: DO blocks that check or backfill are common, and reviewed; the point is that
      // lint, and its gate, do not vouch for them)
      return finding(Severity::Info,
                     "the statements this DO block runs are not linted: a lock it takes or a table it rewrites is "
                     "not reported here, and pg_migrate.lint_blocks_apply cannot stop it",
                     "Write the statements out in the script where you can (they are then checked); once the block "
                     "is reviewed, silence this with \"-- pg_migrate:ignore unlinted-do-block\" before it.");
    case Action::BatchedVolatileWhere:
      return finding(Severity::Warning,
                     fmt::format("the WHERE clause of the batched {} of {} calls {}(), which may return another value "
                                 "at each call: every batch (and every pass) evaluates it again, so the batches may "
                                 "change other rows than the statement run once would",
                                 f.detail, table, f.object),
                     "Compute the value once, before the batched statement (into a table, or as a literal in the "
                     "script), and compare with that.");
    case Action::UnbatchedUpdate:
      if (created || !f.table.exists || f.table.reltuples < th.large_table_rows) return std::nullopt;
      return finding(Severity::Warning,
                     fmt::format("{} of {} runs in one transaction: it holds the lock of every row it "
                                 "changes until the migration commits, and dead rows pile up until then",
                                 f.detail, table),
                     f.detail == "MERGE" || f.detail.find("WITH query") != std::string::npos
                         // (a batch is one UPDATE or DELETE restricted to a range of blocks)
                         ? "Write it as plain UPDATE, DELETE and INSERT statements and run the UPDATE/DELETE in "
                           "batches: in a migration whose script begins with \"-- pg_migrate:no-transaction\", "
                           "precede each with \"-- pg_migrate:batch 5000\"; its WHERE clause must exclude rows "
                           "already done."
                     : f.table.partitioned
                         // (batches are ranges of one heap's blocks: register refuses a partitioned table)
                         ? "Run it in batches, one statement per partition: in a migration whose script begins "
                           "with the line \"-- pg_migrate:no-transaction\", precede each with "
                           "\"-- pg_migrate:batch 5000\"; its WHERE clause must exclude rows already done."
                         : "Run it in batches: put it in a migration whose script begins with the line "
                           "\"-- pg_migrate:no-transaction\" and precede it with \"-- pg_migrate:batch 5000\"; "
                           "its WHERE clause must exclude rows already done.");
    case Action::UnknownRule:
      return finding(Severity::Warning,
                     fmt::format("pg_migrate:ignore names unknown rule \"{}\"", f.object),
                     "See migrate.lint_rules() for the rule names.");
  }
  return std::nullopt;
}

std::vector<std::string> ignored_rules(std::string_view gap) {
  static constexpr std::string_view kKeyword = "pg_migrate:ignore";
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = gap.find(kKeyword, at)) != std::string_view::npos) {
    size_t i = at + kKeyword.size();
    at = i;
    // "pg_migrate:ignore-foo" is not the keyword.
    if (i < gap.size() && !std::isspace(static_cast<unsigned char>(gap[i]))) continue;
    for (;;) {
      while (i < gap.size() && (gap[i] == ' ' || gap[i] == '\t')) ++i;
      size_t start = i;
      while (i < gap.size() && (std::isalnum(static_cast<unsigned char>(gap[i])) || gap[i] == '-' ||
                                gap[i] == '_'))
        ++i;
      if (i == start) break;
      std::string name(gap.substr(start, i - start));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      out.push_back(std::move(name));
      while (i < gap.size() && (gap[i] == ' ' || gap[i] == '\t')) ++i;
      if (i < gap.size() && gap[i] == ',') {
        ++i;
        continue;
      }
      break;
    }
  }
  return out;
}

}  // namespace pgm::lint

#include "core/no_pg.hpp"
