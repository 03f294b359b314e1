// Lint rules: the decisions of migrate.lint(), in pure C++ (no PostgreSQL header).
//
// The server side (src/lint.cpp) walks each statement's raw parse tree and the live catalog
// and turns what the statement does into Facts (one per lock- or compatibility-relevant
// action, with what is known about the table: whether it exists, whether the same script
// created it, its size from pg_class). evaluate() turns a Fact into a Finding: the stable rule
// name, a severity that rises with the table's size, a message that states that size, and a
// hint. Silencing comments ("-- pg_migrate:ignore rule-a, rule-b") are parsed here too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgm::lint {

enum class Severity { Info = 0, Warning = 1, Error = 2 };
const char* severity_name(Severity s);  // "info", "warning", "error"

// What the catalog says about a table a statement touches.
struct TableInfo {
  std::string name;               // schema-qualified when it exists, else as written
  bool exists = false;            // found in the catalog (before the script runs)
  bool created_in_script = false; // created by an earlier statement of the same script
  bool committed_by_script = false; // created by an earlier part of a script split by COMMIT (exists, size unknown)
  double reltuples = -1;          // pg_class.reltuples; -1 = never vacuumed or analyzed
  int64_t relpages = 0;           // pg_class.relpages (8 kB pages)
  bool partitioned = false;       // sizes are then its partitions' summed (reltuples -1 if none is known)
  int partitions = 0;             // of a partitioned table: its leaf partitions
  bool size_partial = false;      // of a partitioned table: some partitions' row counts unknown
  int children = 0;               // a table with inheritance children: how many (sizes then summed with
                                  // theirs: a statement without ONLY reaches them too)
  double own_reltuples = -1;      // with children: the table's own size (what reaches it alone)
  int64_t own_relpages = 0;
};

// The lock- and compatibility-relevant things a statement can do.
enum class Action {
  AddColumnRewrite,     // ADD COLUMN whose default forces a rewrite (volatile, identity, serial, stored generated)
  AddRequiredColumn,    // ADD COLUMN ... NOT NULL without a default
  ChangeColumnType,     // ALTER COLUMN TYPE that rewrites the table
  SetNotNull,           // ALTER COLUMN SET NOT NULL without a validated CHECK (col IS NOT NULL)
  CreateIndex,          // CREATE INDEX without CONCURRENTLY
  DropIndex,            // DROP INDEX without CONCURRENTLY
  AddForeignKey,        // ADD FOREIGN KEY without NOT VALID
  AddCheck,             // ADD CHECK without NOT VALID
  AddUnique,            // ADD UNIQUE / PRIMARY KEY without USING INDEX
  RenameColumn,
  RenameTable,
  DropColumn,
  DropTable,
  TruncateCascade,
  VacuumFull,
  Cluster,
  LockTable,
  Reindex,              // REINDEX TABLE / INDEX without CONCURRENTLY
  ValidateRightAfter,   // VALIDATE CONSTRAINT of a constraint the same transaction added NOT VALID
  TransactionControl,
  IntPrimaryKey,        // int/smallint/serial primary key column
  SerialColumn,         // serial/bigserial column
  CharColumn,           // char(n) column
  TimestampColumn,      // timestamp without time zone column
  NotAllowed,           // a statement that cannot run inside a migration at all
  SyntaxError,
  UnknownRule,          // a silencing comment names a rule that does not exist
  UnbatchedUpdate,      // UPDATE / DELETE of a large table in one transaction (no -- pg_migrate:batch)
  SessionOnly,          // LISTEN / LOAD: affects only the session that applies the migration
  AttachPartitionScan,  // ATTACH PARTITION of a table no validated CHECK constraint may prove the bound of
  DefaultPartitionScan, // a new partition (ATTACH, CREATE TABLE ... PARTITION OF) of a table with a default partition
  DetachPartition,      // DETACH PARTITION without CONCURRENTLY: ACCESS EXCLUSIVE on the partitioned table
  DetachConcurrentlyWithDefault,  // DETACH ... CONCURRENTLY of a table with a default partition: it fails
  RefreshMatView,       // REFRESH MATERIALIZED VIEW without CONCURRENTLY: ACCESS EXCLUSIVE, reads blocked
  RewriteTable,         // SET TABLESPACE, SET LOGGED / UNLOGGED, SET ACCESS METHOD: a copy under ACCESS EXCLUSIVE
  BatchedVolatileWhere, // a batched UPDATE / DELETE whose WHERE calls a volatile function: each batch evaluates it again
  UnlintedDoBlock,      // a DO block: the statements it runs are not linted
  AlterDomainScan,      // ALTER DOMAIN ADD CONSTRAINT (not NOT VALID) / SET NOT NULL: checks every column of the domain
};

struct Fact {
  Action action;
  TableInfo table;     // the table the action locks or changes (may be empty)
  std::string object;  // column, index, constraint or type involved, for messages
  std::string detail;  // action-specific: rewrite reason, lock mode, new type, error text, ...
  TableInfo other;     // the referenced table of a foreign key; the partitioned table of a partition
  std::string indexes;  // ChangeColumnType that does not rewrite the table: the indexes it rebuilds
};

struct Finding {
  std::string rule;
  Severity severity;
  std::string message;
  std::string hint;
};

struct Thresholds {
  double large_table_rows = 100000;  // pg_migrate.lint_large_table_rows
};

struct RuleInfo {
  const char* name;
  const char* description;
};

// Every rule, in a stable order (migrate.lint_rules()).
const std::vector<RuleInfo>& rules();
bool is_known_rule(std::string_view name);
const char* rule_name(Action a);

// The finding for a fact, or nothing when the action is harmless here (e.g. on a table the
// same script created: nobody else can see it yet, so its locks block nobody).
std::optional<Finding> evaluate(const Fact& fact, const Thresholds& thresholds);

// "public.orders (about 250,000 rows, 1,234 pages)", "public.t (empty)", ...
std::string describe_table(const TableInfo& t);
// Severity of a lock held on `t` for a time that grows with its size.
Severity size_severity(const TableInfo& t, const Thresholds& thresholds);

// Rules silenced by "pg_migrate:ignore" comments in `gap` (the text between the previous
// statement and this one). Syntax: "-- pg_migrate:ignore rule-a, rule-b" (also inside
// /* ... */). Names are returned as written; check them with is_known_rule.
std::vector<std::string> ignored_rules(std::string_view gap);

// Formats 1234567 as "1,234,567".
std::string group_thousands(int64_t n);

}  // namespace pgm::lint
