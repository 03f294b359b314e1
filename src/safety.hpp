// Shared by lint (src/lint.cpp), plan (src/plan.cpp) and verify (src/verify.cpp).
#pragma once

#include <optional>

#include "core/lint_rules.hpp"
#include "script_parse.hpp"

namespace pgm::safety {

// Settings (defined in safety_init).
extern bool lint_blocks_apply;        // pg_migrate.lint_blocks_apply
extern int lint_large_table_rows;     // pg_migrate.lint_large_table_rows
extern int plan_lock_timeout_ms;      // pg_migrate.plan_lock_timeout
extern bool require_verified_revert;  // pg_migrate.require_verified_revert

lint::Thresholds thresholds();

struct LintRow {
  int line;
  std::string statement;  // one-line preview
  lint::Finding finding;
};

// Lints a script with the server's parser against the live catalog. Never throws for a bad
// script: a syntax error is a row. Needs an SPI connection.
std::vector<LintRow> lint_script(const std::string& script);

// Findings per statement index (parse_script order), for plan. A script that does not parse
// yields no statements and its syntax error in `syntax_error`.
struct StatementLint {
  ScriptStatement stmt;
  std::vector<lint::Finding> findings;
};
std::vector<StatementLint> lint_statements(const std::string& script, std::optional<LintRow>* syntax_error);

// Relations a statement names directly (as written), for naming lock holders.
std::vector<RangeVar*> statement_relations(Node* parsetree);

// True if the relation was created in the current transaction (e.g. by an earlier migration
// of the same apply or plan): nobody else can see it, so its locks block nobody.
bool created_in_transaction(Oid relid);

// Sets lock_timeout for the current (sub)transaction to pg_migrate.plan_lock_timeout.
void set_plan_lock_timeout();

// "rule (severity)" for plan's findings column.
std::string finding_label(const lint::Finding& f);

// Pending migrations as apply selects them: above the baseline, in version order, up to
// `target` (which must be registered). Applies apply's out-of-order check.
struct PendingMigration {
  std::string version;
  std::string name;
  bool has_down;
};
std::vector<PendingMigration> pending_migrations(const std::optional<std::string>& target_text);

// Runs a script statement by statement as the caller (like apply), undoing its settings
// afterwards. Errors name the migration and line.
void run_script_as_caller(const std::string& script, const ScriptLabel& label);

}  // namespace pgm::safety
