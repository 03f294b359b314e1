// Shared by lint (src/lint.cpp), plan (src/plan.cpp) and verify (src/verify.cpp).
#pragma once

#include <optional>

#include "core/lint_rules.hpp"
#include "script_parse.hpp"

namespace pgm::safety {

// Settings (defined in src/settings.cpp).
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
// The same for a script already parsed by parse_script (it did parse: no syntax error row).
std::vector<LintRow> lint_parsed_script(const std::string& script, const std::vector<ScriptStatement>& parsed);

// Findings per statement index (parse_script order), for plan. A script that does not parse
// yields no statements and its syntax error in `syntax_error`.
struct StatementLint {
  ScriptStatement stmt;
  std::vector<lint::Finding> findings;
};
std::vector<StatementLint> lint_statements(const std::string& script, std::optional<LintRow>* syntax_error);
// The same for a script already parsed (parse_script): no second parse.
std::vector<StatementLint> lint_parsed(const std::string& script, const std::vector<ScriptStatement>& stmts);

// True if the relation was created in the current transaction (e.g. by an earlier migration
// of the same apply or plan): nobody else can see it, so its locks block nobody.
bool created_in_transaction(Oid relid);

// Sets lock_timeout for the current (sub)transaction to pg_migrate.plan_lock_timeout.
void set_plan_lock_timeout();

// "rule (severity)" for plan's findings column.
std::string finding_label(const lint::Finding& f);

}  // namespace pgm::safety
