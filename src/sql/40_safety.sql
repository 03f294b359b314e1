-- Safe migrations: lint, plan (dry run) and verify (proven reverts). See doc/safety.md.

-- Lints a migration script with the server's parser against the live catalog.
CREATE FUNCTION migrate.lint(sql text)
    RETURNS TABLE(line int, statement text, rule text, severity text, message text, hint text)
    AS 'MODULE_PATHNAME', 'pgm_lint' LANGUAGE C VOLATILE STRICT;

-- The lint rules and what each one reports.
CREATE FUNCTION migrate.lint_rules()
    RETURNS TABLE(rule text, description text)
    AS 'MODULE_PATHNAME', 'pgm_lint_rules' LANGUAGE C IMMUTABLE;

-- Dry run of the pending migrations (as migrate.apply(target) would run them): one row per
-- statement with its lint findings, the locks it took, the relations it rewrote and its
-- duration. Runs inside a subtransaction that is always rolled back.
CREATE FUNCTION migrate.plan(target text DEFAULT NULL)
    RETURNS TABLE(version text, name text, line int, statement text, status text, locks text[],
                  rewrites text[], duration_ms float8, findings text[], error text)
    AS 'MODULE_PATHNAME', 'pgm_plan' LANGUAGE C VOLATILE;

-- Proves reverts: for each pending migration (or the one given), inside a subtransaction that
-- is always rolled back, snapshot the schema, run up, run down, snapshot again and report every
-- object that differs. status: ok, differs (one row per object), no_down, failed, skipped.
CREATE FUNCTION migrate.verify(version text DEFAULT NULL)
    RETURNS TABLE(version text, name text, status text, object text, change text, detail text)
    AS 'MODULE_PATHNAME', 'pgm_verify' LANGUAGE C VOLATILE;

-- pg_dump keeps the scripts that ran (migrate.scripts, see 10_catalog.sql). Registered here, at
-- the end, in the order an upgrade from 0.1.0 registers it.
SELECT pg_catalog.pg_extension_config_dump('migrate.scripts', '');

-- plan and verify run migration scripts: deploy roles only, like apply.
REVOKE ALL ON FUNCTION migrate.plan(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.verify(text) FROM PUBLIC;
