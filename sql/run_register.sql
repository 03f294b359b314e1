-- Non-transactional, split and batched migrations: what register accepts and refuses, the
-- stored modes, and migrate.apply()/revert() refusing what only CALL migrate.run() can run.
CREATE EXTENSION pg_migrate;
SET client_min_messages = warning;
CREATE TABLE rr (id int PRIMARY KEY, a int, b int);
CREATE TABLE rr_parted (id int, a int) PARTITION BY RANGE (id);

-- accepted in a non-transactional script; the modes are stored
SELECT migrate.register('1', 'index', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY rr_a ON rr (a);\nVACUUM (ANALYZE) rr;\n-- pg_migrate:batch 100 pause 5ms\nUPDATE rr SET b = a WHERE b IS NULL;',
                        E'-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY rr_a;');
SELECT migrate.register('2', 'parts', E'CREATE TABLE rr2 (id int);\nCOMMIT AND CHAIN;\nINSERT INTO rr2 VALUES (1);\nCOMMIT;', 'DROP TABLE rr2;');
SELECT version, up_mode, down_mode FROM migrate.migrations ORDER BY version_parts;

-- refused, each with its reason
SELECT migrate.register('3', 'x', E'CREATE INDEX CONCURRENTLY rr_b ON rr (b);');
SELECT migrate.register('3', 'x', E'ALTER TABLE rr_parted DETACH PARTITION rr_part CONCURRENTLY;');
SELECT migrate.register('3', 'x', E'SELECT 1;\n-- pg_migrate:no-transaction\nVACUUM rr;');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\nCREATE TABLE rr3 ();\nCOMMIT;');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY ON rr (b);');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 0\nUPDATE rr SET b = 1 WHERE b IS NULL;');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10 soon\nUPDATE rr SET b = 1 WHERE b IS NULL;');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nCREATE TABLE rr4 ();');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- PG_MIGRATE: batch 10\nUPDATE rr SET b = 1 WHERE b IS NULL;');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nUPDATE rr SET b = 1;');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nDELETE FROM rr USING rr2 WHERE rr.id = rr2.id;');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nUPDATE rr SET b = 1 WHERE b IS NULL RETURNING id;');
-- A subquery on the table itself, or with LIMIT, would pick other rows in every batch.
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nDELETE FROM rr WHERE id IN (SELECT id FROM rr ORDER BY id LIMIT 100);');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nUPDATE rr SET b = 1 WHERE b IS NULL AND id IN (SELECT id FROM pg_class LIMIT 5);');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nUPDATE rr SET b = 1 WHERE b IS NULL AND EXISTS (SELECT 1 FROM public.rr r2 WHERE r2.id = rr.id + 1);');
-- A subquery on another table is fine, also one of the same name in another schema.
CREATE SCHEMA rr_other;
CREATE TABLE rr_other.rr (id int);
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nDELETE FROM rr WHERE id IN (SELECT id FROM rr_other.rr);') AS registered;
SELECT migrate.unregister('3');
DROP SCHEMA rr_other CASCADE;
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nUPDATE rr SET b = 1 WHERE b IS NULL AND id IN (SELECT oid::int FROM pg_class);') AS registered;
SELECT migrate.unregister('3');
SELECT migrate.register('3', 'x', E'-- pg_migrate:batch 10\nUPDATE rr SET b = 1 WHERE b IS NULL;');
SELECT migrate.register('3', 'x', E'BEGIN;\nCREATE TABLE rr5 ();');
-- misspelt directives would be plain comments: refused with their line
SELECT migrate.register('3', 'x', E'-- pg_migrate:no_transaction\nCREATE INDEX CONCURRENTLY rr_c ON rr (b);');
SELECT migrate.register('3', 'x', E'-- pg_migrate:no-transaction\nVACUUM rr;\n-- pg_migrate:bacth 5000\nUPDATE rr SET b = 1 WHERE b IS NULL;');
-- the batch directive before a later statement of a transactional script, through sync too
SELECT migrate.register('3', 'x', E'SELECT 1;\n-- pg_migrate:batch 10\nUPDATE rr SET b = 1 WHERE b IS NULL;');
SELECT * FROM migrate.sync(jsonb_build_array(jsonb_build_object('file', 'V3__x.sql', 'version', '3', 'name', 'x',
       'up', E'ALTER TABLE rr ADD COLUMN z int;\n-- pg_migrate:batch 10\nUPDATE rr SET z = 1 WHERE z IS NULL;')));
SELECT count(*) AS still_two FROM migrate.migrations;

-- apply() and revert() refuse; CALL migrate.run() must be top level
SELECT * FROM migrate.apply();
SELECT * FROM migrate.apply('1');
BEGIN;
CALL migrate.run();
ROLLBACK;
SELECT migrate.run_forget('1');
-- verify cannot try them in a transaction it rolls back; plan skips what runs on its own
SELECT version, status, detail FROM migrate.verify();
SELECT version, line, status, error FROM migrate.plan();

-- run: the split migration (run only up to 2 would need 1 first: version order)
CALL migrate.run();
SELECT version, state FROM migrate.status();
SELECT * FROM rr2;
SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = 'rr'::regclass ORDER BY 1;
SELECT * FROM migrate.revert(2);
CALL migrate.run_revert(2);
SELECT version, state FROM migrate.status();
SELECT action, version FROM migrate.history ORDER BY id;
-- a batch directive followed by no statement would batch nothing: refused with its line
SELECT migrate.register('4', 'trailing', E'-- pg_migrate:no-transaction\nUPDATE rr SET a = 1 WHERE a IS NULL;\n-- pg_migrate:batch 100\n');
SELECT migrate.register('4', 'only', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 100\n');
SELECT migrate.register('4', 'in a transaction', E'UPDATE rr SET a = 1 WHERE a IS NULL;\n-- pg_migrate:batch 100');
SELECT migrate.register('4', 'malformed', E'-- pg_migrate:no-transaction\nUPDATE rr SET a = 1 WHERE a IS NULL;\n-- pg_migrate:batch is not needed: one row\n');
-- a partitioned table cannot be batched by ctid ranges: refused by register when it exists
-- then, else when the statement runs (here the script creates it)
SELECT migrate.register('4', 'parted', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nUPDATE rr_parted SET a = 1 WHERE a IS NULL;');
SELECT migrate.register('4', 'parted', E'-- pg_migrate:no-transaction\nCREATE TABLE rr_parted2 (a int) PARTITION BY RANGE (a);\n-- pg_migrate:batch 10\nDELETE FROM rr_parted2 WHERE a IS NULL;');
CALL migrate.run();
SELECT version, state FROM migrate.status();
SELECT statement, line, phase FROM migrate.progress WHERE version = '4';
SELECT migrate.run_forget('4') IS NOT NULL AS forgotten, migrate.unregister('4');
CALL migrate.run_revert_to('0');
-- run_revert(2) stopped in its second migration, then repeated after the fix: it finishes
-- that revert and stops (it reverted one more, the migration below, before).
SELECT migrate.register('70', 'a70', 'CREATE TABLE rr70 (a int);', 'DROP TABLE rr70;');
SELECT migrate.register('71', 'a71', E'-- pg_migrate:no-transaction\nCREATE TABLE rr71 (a int);',
                        E'-- pg_migrate:no-transaction\nDROP TABLE rr71;\nSELECT 1/0;');
SELECT migrate.register('72', 'a72', 'CREATE TABLE rr72 (a int);', 'DROP TABLE rr72;');
CALL migrate.run();
CALL migrate.run_revert(2);
SELECT migrate.repair('71', down => E'-- pg_migrate:no-transaction\nDROP TABLE rr71;\nSELECT 1;');
CALL migrate.run_revert(2);
SELECT version, state FROM migrate.status() WHERE version IN ('70', '71', '72');
SELECT to_regclass('rr70') IS NOT NULL AS rr70_kept;
CALL migrate.run_revert_to('0');
-- The worker runs a top-level statement with the caller's settings: a literal is read with the
-- caller's standard_conforming_strings, as in the session.
SET standard_conforming_strings = off;
SELECT migrate.register('80', 'backslash', $m$-- pg_migrate:no-transaction
CREATE INDEX CONCURRENTLY rr_bs ON rr (a) WHERE length('a\\b') = 3;
$m$, 'DROP INDEX rr_bs;');
CALL migrate.run();
RESET standard_conforming_strings;
SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'rr_bs'::regclass;
-- ... and a statement reaching pg_migrate's schema through search_path is refused there too.
SELECT migrate.register('81', 'own schema', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY rr_own ON history (version);\n');
SET search_path = migrate, public;
CALL migrate.run();
RESET search_path;
SELECT to_regclass('migrate.rr_own') IS NULL AS not_created;
SELECT migrate.run_forget('81') IS NOT NULL AS forgotten, migrate.unregister('81');
CALL migrate.run_revert_to('0');
DROP TABLE rr, rr_parted, rr_parted2;
DROP EXTENSION pg_migrate;
DROP SCHEMA migrate;
