-- Safe migrations: lint, plan (dry run) and verify (proven reverts). See doc/safety.md.

-- Lints a migration script with the server's parser against the live catalog.
CREATE FUNCTION migrate.lint(sql text)
    RETURNS TABLE(line int, statement text, rule text, severity text, message text, hint text)
    AS 'MODULE_PATHNAME', 'pgm_lint' LANGUAGE C VOLATILE STRICT;

-- The lint rules and what each one reports.
CREATE FUNCTION migrate.lint_rules()
    RETURNS TABLE(rule text, description text)
    AS 'MODULE_PATHNAME', 'pgm_lint_rules' LANGUAGE C IMMUTABLE;
