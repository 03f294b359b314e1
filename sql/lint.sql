-- migrate.lint: every rule with a positive and a negative case, tables created in the same
-- script, size-aware severity, silencing comments, syntax errors, register and apply.
CREATE EXTENSION pg_migrate;
CREATE TABLE lint_big (id int PRIMARY KEY, v text, n int, d date);
INSERT INTO lint_big SELECT g, 'x', g, current_date FROM generate_series(1, 5000) g;
CREATE TABLE lint_small (id bigint PRIMARY KEY, v text);
INSERT INTO lint_small SELECT g, 'x' FROM generate_series(1, 10) g;
CREATE TABLE lint_empty (id bigint PRIMARY KEY, v text);
CREATE TABLE lint_fresh (id bigint);  -- never analyzed: size unknown
CREATE INDEX lint_big_n ON lint_big (n);
ANALYZE lint_big, lint_small, lint_empty;
SET pg_migrate.lint_large_table_rows = 1000;

-- Shows rule and severity per line.
CREATE FUNCTION lint_rules_of(script text) RETURNS TABLE(line int, rule text, severity text)
  LANGUAGE sql AS $$ SELECT line, rule, severity FROM migrate.lint(script) $$;

SELECT count(*) AS rules, count(DISTINCT rule) AS distinct_rules FROM migrate.lint_rules();
SELECT rule FROM migrate.lint_rules() ORDER BY rule;

-- adding-field-with-volatile-default
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big ADD COLUMN r float8 DEFAULT random();
ALTER TABLE lint_big ADD COLUMN u uuid DEFAULT gen_random_uuid();
ALTER TABLE lint_big ADD COLUMN s bigserial;
ALTER TABLE lint_big ADD COLUMN i bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE lint_big ADD COLUMN g int GENERATED ALWAYS AS (n * 2) STORED;$$);
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big ADD COLUMN t timestamptz DEFAULT now();
ALTER TABLE lint_big ADD COLUMN c int DEFAULT 0;
ALTER TABLE lint_big ADD COLUMN x text;$$);

-- adding-required-field: fails on a table with rows; harmless on an empty one
SELECT * FROM migrate.lint('ALTER TABLE lint_big ADD COLUMN req int NOT NULL;');
SELECT * FROM lint_rules_of('ALTER TABLE lint_empty ADD COLUMN req int NOT NULL;');
SELECT * FROM lint_rules_of('ALTER TABLE lint_big ADD COLUMN req int NOT NULL DEFAULT 0;');

-- changing-column-type: rewrites vs binary-compatible changes
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big ALTER COLUMN n TYPE bigint;
ALTER TABLE lint_big ALTER COLUMN v TYPE varchar(10);
ALTER TABLE lint_big ALTER COLUMN d TYPE text USING d::text;$$);
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big ALTER COLUMN v TYPE varchar;
ALTER TABLE lint_small ALTER COLUMN v TYPE varchar(20);$$);
SELECT * FROM lint_rules_of($$CREATE TABLE lint_vc (v varchar(20));
ALTER TABLE lint_vc ALTER COLUMN v TYPE varchar(10);$$);

-- adding-not-nullable-field: unless a validated CHECK (col IS NOT NULL) exists
SELECT * FROM lint_rules_of('ALTER TABLE lint_big ALTER COLUMN v SET NOT NULL;');
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big ADD CONSTRAINT v_nn CHECK (v IS NOT NULL) NOT VALID;
ALTER TABLE lint_big VALIDATE CONSTRAINT v_nn;
ALTER TABLE lint_big ALTER COLUMN v SET NOT NULL;
ALTER TABLE lint_big ALTER COLUMN id SET NOT NULL;$$);
ALTER TABLE lint_small ADD CONSTRAINT v_nn CHECK (v IS NOT NULL);
SELECT * FROM lint_rules_of('ALTER TABLE lint_small ALTER COLUMN v SET NOT NULL;');
ALTER TABLE lint_small DROP CONSTRAINT v_nn;
SELECT * FROM lint_rules_of('ALTER TABLE lint_small ALTER COLUMN v SET NOT NULL;');

-- require-concurrent-index-creation: severity rises with the table's size; the message says how big
SELECT line, severity, message FROM migrate.lint($$CREATE INDEX ON lint_big (v);
CREATE INDEX ON lint_small (v);
CREATE INDEX ON lint_empty (v);
CREATE INDEX ON lint_fresh (id);
CREATE INDEX ON lint_missing (id);$$);
SET pg_migrate.lint_large_table_rows = 10000;
SELECT * FROM lint_rules_of('CREATE INDEX ON lint_big (v);');
SET pg_migrate.lint_large_table_rows = 1000;
-- a table created earlier in the same script is empty and invisible to others: no finding
SELECT * FROM lint_rules_of($$CREATE TABLE lint_new (id bigint PRIMARY KEY, v text);
CREATE INDEX ON lint_new (v);
CREATE UNIQUE INDEX lint_new_v ON public.lint_new (v);
ALTER TABLE lint_new ADD COLUMN r float8 DEFAULT random();
ALTER TABLE lint_new ADD COLUMN q int NOT NULL;
ALTER TABLE lint_new ALTER COLUMN v SET NOT NULL;
ALTER TABLE lint_new ADD CONSTRAINT c CHECK (id > 0);
ALTER TABLE lint_new ADD CONSTRAINT f FOREIGN KEY (id) REFERENCES lint_big (id);
ALTER TABLE lint_new ADD CONSTRAINT u UNIQUE (v);
ALTER TABLE lint_new ALTER COLUMN v TYPE int USING 1;
ALTER TABLE lint_new RENAME COLUMN v TO w;
ALTER TABLE lint_new DROP COLUMN w;
DROP INDEX lint_new_v;
ALTER TABLE lint_new RENAME TO lint_new2;
CREATE INDEX ON lint_new2 (id);
DROP TABLE lint_new2;$$);
SELECT * FROM lint_rules_of($$CREATE TABLE lint_ctas AS SELECT * FROM lint_big;
CREATE INDEX ON lint_ctas (v);$$);

-- require-concurrent-index-deletion
SELECT line, rule, severity, message FROM migrate.lint('DROP INDEX lint_big_n;');
SELECT * FROM lint_rules_of('CREATE INDEX lint_tmp ON lint_empty (v); DROP INDEX lint_tmp;');

-- adding-foreign-key-constraint / constraint-missing-not-valid
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big ADD CONSTRAINT f FOREIGN KEY (n) REFERENCES lint_small (id);
ALTER TABLE lint_big ADD CONSTRAINT c CHECK (n > 0);
ALTER TABLE lint_big ADD COLUMN s bigint REFERENCES lint_small (id);$$);
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big ADD CONSTRAINT f FOREIGN KEY (n) REFERENCES lint_small (id) NOT VALID;
ALTER TABLE lint_big VALIDATE CONSTRAINT f;
ALTER TABLE lint_big ADD CONSTRAINT c CHECK (n > 0) NOT VALID;$$);

-- disallowed-unique-constraint
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big ADD CONSTRAINT u UNIQUE (n);
ALTER TABLE lint_small ADD COLUMN e text UNIQUE;$$);
SELECT * FROM lint_rules_of('ALTER TABLE lint_big ADD CONSTRAINT u UNIQUE USING INDEX lint_big_n;');

-- renaming-column / renaming-table
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big RENAME COLUMN v TO w;
ALTER TABLE lint_small RENAME TO lint_tiny;$$);
SELECT * FROM lint_rules_of('ALTER TABLE lint_big RENAME CONSTRAINT lint_big_pkey TO lint_big_pk;');
-- lines end at "\n", "\r\n" or a lone "\r" (old Mac files), as PostgreSQL's scanner ends them
SELECT line, rule FROM migrate.lint(E'SELECT 1;\r-- a comment\rALTER TABLE lint_big RENAME COLUMN v TO w;\r\n\rDROP TABLE lint_small;');
SELECT line, rule FROM migrate.lint(E'SELECT 1;\r-- a comment\rALTER TABLE lint_big RENAME COLUMN v TO w;\r\n\rSELEC oops;');

-- ban-drop-column / ban-drop-table
SELECT line, rule, severity, message FROM migrate.lint($$ALTER TABLE lint_big DROP COLUMN d;
DROP TABLE lint_empty;$$);
SELECT * FROM lint_rules_of('DROP TABLE IF EXISTS lint_nothing_here; ALTER TABLE lint_big DROP CONSTRAINT IF EXISTS nope;');

-- ban-truncate-cascade
SELECT * FROM lint_rules_of('TRUNCATE lint_small CASCADE;');
SELECT * FROM lint_rules_of('TRUNCATE lint_small;');

-- ban-vacuum-full / ban-cluster / ban-lock-table
SELECT * FROM lint_rules_of($$VACUUM FULL lint_small;
CLUSTER lint_big USING lint_big_pkey;
LOCK TABLE lint_small IN SHARE MODE;$$);
SELECT message FROM migrate.lint('LOCK TABLE lint_small IN SHARE MODE;');
SELECT * FROM lint_rules_of('ANALYZE lint_big; SELECT count(*) FROM lint_big;');

-- transaction-nesting (COMMIT is a split point of a transactional script, no finding; in a
-- non-transactional one it is)
SELECT * FROM lint_rules_of('BEGIN; SAVEPOINT a; COMMIT;');
SELECT * FROM lint_rules_of(E'-- pg_migrate:no-transaction\nVACUUM lint_big;\nCOMMIT;');
-- require-batched-update: an UPDATE/DELETE of a large table, unless batched
SELECT * FROM lint_rules_of('UPDATE lint_big SET id = id; DELETE FROM lint_small;');
SELECT * FROM lint_rules_of(E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 1000\nUPDATE lint_big SET id = id WHERE id < 0;');
-- batched-where-volatile: random() or clock_timestamp() in a batched WHERE (each batch calls it
-- again); now() (one value per batch's transaction) and the same call unbatched are not flagged
SELECT line, rule, severity, message FROM migrate.lint(E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 1000\nDELETE FROM lint_big WHERE id < 0 AND random() < 0.5;\n-- pg_migrate:batch 1000\nUPDATE lint_small SET id = id WHERE id > 0 AND now() < pg_catalog.clock_timestamp();\n-- pg_migrate:batch 1000\nUPDATE lint_small SET id = id WHERE id > 0 AND now() < now();');
SELECT * FROM lint_rules_of('DELETE FROM lint_small WHERE random() < 0.5;');
-- A name that cannot be looked up (too many dotted parts) stops neither lint nor the rest.
SELECT line, rule FROM migrate.lint(E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 1000\nDELETE FROM lint_small WHERE id < a.b.c.d();\nALTER TABLE lint_big ADD COLUMN q int DEFAULT a.b.c.d();\nCREATE INDEX ON lint_big (id);');

-- prefer-bigint-over-int / prefer-identity / ban-char-field / prefer-timestamptz
SELECT * FROM lint_rules_of($$CREATE TABLE lint_t1 (id int PRIMARY KEY, code char(3), at timestamp);
CREATE TABLE lint_t2 (id serial, PRIMARY KEY (id));
CREATE TABLE lint_t3 (id smallint, n int);
ALTER TABLE lint_t3 ADD PRIMARY KEY (id);
ALTER TABLE lint_big ADD COLUMN at2 timestamp without time zone;$$);
SELECT * FROM lint_rules_of($$CREATE TABLE lint_t1 (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  code text, at timestamptz, n int, c "char", v varchar(3));$$);

-- not-allowed-in-migration
SELECT line, rule, message FROM migrate.lint($$CREATE INDEX CONCURRENTLY ON lint_empty (v);
SELECT 1;$$);
-- an unknown rule in a silencing comment after the last statement is still reported
SELECT line, rule FROM migrate.lint('ALTER TABLE lint_big ADD COLUMN x int; -- pg_migrate:ignore bogus-rule');
-- ADD EXCLUDE builds its index under ACCESS EXCLUSIVE, as ADD UNIQUE does
SELECT line, rule, severity, message FROM migrate.lint('ALTER TABLE lint_big ADD EXCLUDE USING btree (v WITH =);');
-- session-only-statement: what affects only the session that applies the migration
SELECT line, rule, severity, message FROM migrate.lint($$LISTEN deploys;
PREPARE p AS SELECT 1;
LOAD 'auto_explain';
DISCARD PLANS;$$);
-- and SET in a non-transactional script, where it lasts for its own statement only (not in a
-- transactional one, where it lasts for the migration)
SELECT line, rule, severity, message FROM migrate.lint($$-- pg_migrate:no-transaction
SET search_path = lint_app;
CREATE INDEX CONCURRENTLY lint_nt_i ON lint_big (v);$$);
SELECT count(*) AS none FROM migrate.lint($$SET LOCAL search_path = public; SELECT 1;$$);

-- silencing: "-- pg_migrate:ignore rule[, rule]" applies to the next statement only
SELECT * FROM lint_rules_of($$-- pg_migrate:ignore require-concurrent-index-creation
CREATE INDEX ON lint_big (v);
CREATE INDEX ON lint_big (d);
/* pg_migrate:ignore ban-drop-column, renaming-column */ ALTER TABLE lint_big DROP COLUMN d;
-- pg_migrate:ignore ban-drop-colum
ALTER TABLE lint_big DROP COLUMN v;$$);
-- a silencing comment at the end of a statement's line is that statement's, not the next one's
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big DROP COLUMN d; -- pg_migrate:ignore ban-drop-column
ALTER TABLE lint_big DROP COLUMN v;
CREATE INDEX ON lint_big (v); CREATE INDEX ON lint_big (d); -- pg_migrate:ignore require-concurrent-index-creation$$);

-- syntax errors are rows with their line, not errors
SELECT * FROM migrate.lint(E'CREATE TABLE a (id bigint);\n\nCREATE TABEL b ();');
SELECT * FROM migrate.lint(E'SELECT 1;\n\\set x 1\n');
SELECT * FROM migrate.lint('');
SELECT * FROM migrate.lint(NULL);
-- references that do not resolve yet do not stop the lint
SELECT * FROM lint_rules_of($$ALTER TABLE lint_big ADD COLUMN z no_such_type DEFAULT no_such_function();
CREATE INDEX ON lint_big (v);$$);

-- register reports findings (WARNING for warning/error, NOTICE for info)
SELECT migrate.register('1', 'index big', 'CREATE INDEX lint_big_v ON lint_big (v);', 'DROP INDEX lint_big_v;');
SELECT migrate.register('2', 'index empty', 'CREATE INDEX lint_empty_v ON lint_empty (v);', 'DROP INDEX lint_empty_v;');
SELECT migrate.register('3', 'new table', 'CREATE TABLE lint_n (id bigint PRIMARY KEY); CREATE INDEX ON lint_n (id);', 'DROP TABLE lint_n;');

-- A data fix of rows named by a unique key is not a statement to batch; by another column,
-- or by a range of the key, it is.
SELECT line, rule FROM migrate.lint($$UPDATE lint_big SET v = 'x' WHERE id = 1;
DELETE FROM lint_big WHERE id IN (1, 2, 3);
UPDATE lint_big SET v = 'x' WHERE 7 = id AND v IS NULL;
UPDATE lint_big SET v = 'x' WHERE n = 1;
DELETE FROM lint_big WHERE id < 10 OR id = 5;
UPDATE lint_big SET v = 'x' WHERE id = n;
UPDATE lint_big SET v = 'x' FROM lint_small s WHERE s.id = 1;
DELETE FROM lint_big USING lint_small s WHERE s.id = 1;
UPDATE lint_big b SET v = 'x' WHERE b.id = 2;$$);
-- A type change after an earlier one of the same column, or of a column renamed in the
-- script, cannot be proven rewrite-free from the catalog: a finding.
SELECT line, rule FROM migrate.lint('ALTER TABLE lint_big ALTER COLUMN v TYPE varchar(10);
ALTER TABLE lint_big ALTER COLUMN v TYPE varchar(5);
ALTER TABLE lint_big ALTER COLUMN v TYPE varchar(20);
ALTER TABLE lint_big ALTER COLUMN v TYPE text;');
SELECT line, rule FROM migrate.lint('ALTER TABLE lint_big RENAME COLUMN v TO v_old;
ALTER TABLE lint_big RENAME COLUMN d TO v;
ALTER TABLE lint_big ALTER COLUMN v TYPE text;');
-- A table with inheritance children is sized with them (without ONLY a statement reaches them).
CREATE TABLE lint_inh (id int, v text);
CREATE TABLE lint_inh_child () INHERITS (lint_inh);
INSERT INTO lint_inh_child SELECT g, 'x' FROM generate_series(1, 5000) g;
ANALYZE lint_inh;
ANALYZE lint_inh_child;
SELECT line, rule, severity, message FROM migrate.lint('ALTER TABLE lint_inh ADD COLUMN u uuid DEFAULT gen_random_uuid();
ALTER TABLE ONLY lint_inh ALTER COLUMN v SET NOT NULL;
UPDATE lint_inh SET v = ''y'';
CREATE INDEX lint_inh_v ON lint_inh (v);
ALTER TABLE lint_inh ADD CONSTRAINT lint_inh_u UNIQUE (id);');
-- (the parent's unique key does not cover its children: an UPDATE by it reaches them all)
ALTER TABLE lint_inh ADD PRIMARY KEY (id);
SELECT line, rule FROM migrate.lint('UPDATE lint_inh SET v = ''y'' WHERE id = 1;
UPDATE ONLY lint_inh SET v = ''y'' WHERE id = 1;');
DROP TABLE lint_inh CASCADE;
-- An index or a schema renamed earlier in the script is the same one under its new name.
CREATE INDEX lint_big_rn ON lint_big (n);
CREATE SCHEMA lint_shop;
CREATE TABLE lint_shop.items AS SELECT g AS id FROM generate_series(1, 5000) g;
ANALYZE lint_shop.items;
SELECT line, rule, severity FROM migrate.lint('ALTER INDEX lint_big_rn RENAME TO lint_big_rn2;
DROP INDEX lint_big_rn2;
ALTER SCHEMA lint_shop RENAME TO lint_store;
ALTER TABLE lint_store.items ADD COLUMN u uuid DEFAULT gen_random_uuid();');
DROP INDEX lint_big_rn;
DROP SCHEMA lint_shop CASCADE;
-- A constraint added to a domain in use checks every row of the tables using it.
CREATE DOMAIN lint_qty AS int;
CREATE TABLE lint_qtys (id int, q lint_qty);
INSERT INTO lint_qtys SELECT g, g FROM generate_series(1, 5000) g;
ANALYZE lint_qtys;
CREATE DOMAIN lint_qty2 AS lint_qty;
CREATE TABLE lint_qtys2 (id int, q2 lint_qty2, qa lint_qty[]);
INSERT INTO lint_qtys2 SELECT g, g, ARRAY[g] FROM generate_series(1, 5000) g;
ANALYZE lint_qtys2;
CREATE DOMAIN lint_nn AS int NOT NULL;
CREATE TABLE lint_nns (id int, n lint_nn);
INSERT INTO lint_nns SELECT g, g FROM generate_series(1, 5000) g;
ANALYZE lint_nns;
SELECT line, rule, severity, message FROM migrate.lint('ALTER DOMAIN lint_qty ADD CONSTRAINT pos CHECK (VALUE > 0);
ALTER DOMAIN lint_qty ADD CONSTRAINT pos2 CHECK (VALUE > 0) NOT VALID;
ALTER DOMAIN lint_qty VALIDATE CONSTRAINT pos2;
ALTER DOMAIN lint_qty SET NOT NULL;
ALTER DOMAIN lint_nn SET NOT NULL;');
-- (a column whose type the script changed first is not dropped with the domain)
SELECT line, rule, message FROM migrate.lint('ALTER TABLE lint_qtys ALTER COLUMN q TYPE int;
DROP DOMAIN lint_qty CASCADE;');
DROP TABLE lint_qtys, lint_qtys2, lint_nns;
DROP DOMAIN lint_qty2, lint_qty, lint_nn;
-- What a CASCADE takes along: the tables of a dropped schema, the columns of a dropped domain.
CREATE SCHEMA lint_gone;
CREATE TABLE lint_gone.t1 (id int);
CREATE DOMAIN lint_posint AS int;
CREATE TABLE lint_dom (id int, q lint_posint);
SELECT line, rule, severity FROM migrate.lint('DROP SCHEMA lint_gone CASCADE;
DROP DOMAIN lint_posint CASCADE;
DROP DOMAIN IF EXISTS lint_nosuch CASCADE;');
DROP SCHEMA lint_gone CASCADE;
DROP TABLE lint_dom;
DROP DOMAIN lint_posint;
-- A silencing comment between two statements on one line is the second one's.
SELECT line, rule, statement FROM migrate.lint('ALTER TABLE lint_big DROP COLUMN n; /* pg_migrate:ignore ban-drop-column */ ALTER TABLE lint_big DROP COLUMN d;');
-- A DO block's statements are not linted: said (info), whatever the block does.
SELECT line, rule, severity FROM migrate.lint($m$DO $$ BEGIN EXECUTE 'CREATE INDEX ON lint_big (v)'; END $$;$m$);
-- pg_migrate.lint_blocks_apply: error-level findings block apply (off by default)
SHOW pg_migrate.lint_blocks_apply;
SET pg_migrate.lint_blocks_apply = on;
SELECT version FROM migrate.apply();
SELECT version, state FROM migrate.status();
SELECT migrate.register('1', 'index big', E'-- pg_migrate:ignore require-concurrent-index-creation\nCREATE INDEX lint_big_v ON lint_big (v);', 'DROP INDEX lint_big_v;');
SELECT version FROM migrate.apply();
SELECT migrate.register('4', 'drop column', 'ALTER TABLE lint_big DROP COLUMN d;');
SELECT version FROM migrate.apply();
-- A CALL migrate.run() resumed after its script was registered again (the failed statement
-- replaced) lints the statements still to run, as a new run does.
SELECT migrate.register('5', 'resumed', E'-- pg_migrate:no-transaction\nSELECT 1;\nSELECT 1/0;\n');
CALL migrate.run();
SELECT migrate.register('5', 'resumed', E'-- pg_migrate:no-transaction\nSELECT 1;\nCREATE INDEX lint_big_r ON lint_big (v);\n');
CALL migrate.run();
SELECT to_regclass('lint_big_r') IS NULL AS not_built, (SELECT state FROM migrate.status() WHERE version = '5');
SELECT migrate.run_forget('5') IS NOT NULL AS forgotten, migrate.unregister('5');
-- A repeatable migration is linted before it runs, as a migration and a callback are.
SELECT action FROM migrate.sync('[{"file": "R__idx.sql", "name": "idx", "repeatable": true, "up": "CREATE INDEX lint_big_w ON lint_big (v);"}]', dry_run => false) WHERE name = 'idx';
SELECT * FROM migrate.apply_repeatables('idx');
SELECT to_regclass('lint_big_w') IS NULL AS not_built;
RESET pg_migrate.lint_blocks_apply;
RESET pg_migrate.lint_large_table_rows;

DROP FUNCTION lint_rules_of(text);
DROP EXTENSION pg_migrate;
DROP TABLE lint_big, lint_small, lint_empty, lint_fresh, lint_n;
