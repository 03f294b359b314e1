-- migrate.sync: a whole folder in one statement, from plain SQL (README "Sync from SQL").
CREATE EXTENSION pg_migrate;
-- Checksums over the statements as the scanner sees them: comments, white space, line endings
-- and keyword case do not count; what runs does.
SELECT migrate.script_checksum(E'CREATE TABLE t (id int); -- note\n') =
       migrate.script_checksum(E'/* header */\r\ncreate   table T (\r\n  id INT\r\n);') AS formatting_ignored,
       migrate.script_checksum('CREATE TABLE t (id int)') = migrate.script_checksum('CREATE TABLE t (id bigint)') AS type_counts,
       migrate.script_checksum($$SELECT 'a  b'$$) = migrate.script_checksum($$SELECT 'a b'$$) AS literal_counts,
       migrate.script_checksum('SELECT "T"') = migrate.script_checksum('SELECT t') AS quoted_case_counts;
-- Nor do semicolons that end no statement (leading, repeated, the last); one between two
-- statements does.
SELECT migrate.script_checksum('CREATE TABLE t (id int)') = migrate.script_checksum(E'CREATE TABLE t (id int);\n') AS final_semicolon_ignored,
       migrate.script_checksum('SELECT 1; SELECT 2') = migrate.script_checksum(E';SELECT 1;;\n; SELECT 2;;') AS repeated_ignored,
       migrate.script_checksum('SELECT 1; SELECT 2') = migrate.script_checksum('SELECT 1 SELECT 2') AS separator_counts,
       migrate.script_checksum($$SELECT ';'$$) = migrate.script_checksum('SELECT') AS quoted_semicolon_counts,
       migrate.script_checksum('-- nothing') = migrate.script_checksum(';;') AS empty_scripts_alike;
-- A folder: two versioned migrations and a repeatable one.
SELECT file, version, name, kind, state, action FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id int PRIMARY KEY);", "down": "DROP TABLE sy_users;"},
  {"file": "V2__email.sql", "version": "2", "name": "email", "up": "ALTER TABLE sy_users ADD COLUMN email text;"},
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id FROM sy_users;"}
]$$);
SELECT version, name, state FROM migrate.status();
SELECT version, file_name FROM migrate.migration_files ORDER BY version;
SELECT version, name FROM migrate.apply();
-- One repeatable by name (0.9.0): an unknown name is an error, a NULL one too.
SELECT name, file FROM migrate.apply_repeatables('no such view');
SELECT name, file FROM migrate.apply_repeatables(NULL);
SELECT name, file FROM migrate.apply_repeatables('view');
SELECT count(*) AS nothing_more FROM migrate.apply_repeatables('view');
SELECT count(*) AS nothing_more FROM migrate.apply_repeatables();
-- The same folder again (CRLF and a final newline): everything unchanged, nothing written.
SELECT generation AS gen FROM migrate.catalog_state \gset
SELECT file, state, action, detail FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id int PRIMARY KEY);\r\n\r\n", "down": "DROP TABLE sy_users;\r\n"},
  {"file": "V2__email.sql", "version": "2", "name": "email", "up": "ALTER TABLE sy_users ADD COLUMN email text;\n"},
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id FROM sy_users;"}
]$$);
SELECT generation = :gen AS catalog_untouched FROM migrate.catalog_state;
-- Checksums only (what the pg_migrate command sends first): unchanged files need no script
-- (the repeatable is left out here, so it is reported without a file).
SELECT file, action FROM migrate.sync((SELECT jsonb_agg(jsonb_build_object('file', f.file_name, 'version', f.version,
  'name', m.name, 'checksum', f.source_checksum)) FROM migrate.migration_files f JOIN migrate.migrations m USING (version)), true);
-- A comment added to an applied file: its statements did not change, so it is not an edit.
SELECT file, state, action, detail FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "-- the users\nCREATE TABLE sy_users (\n  id int PRIMARY KEY\n);", "down": "DROP TABLE sy_users;"},
  {"file": "V2__email.sql", "version": "2", "name": "email", "up": "ALTER TABLE sy_users ADD COLUMN email text;"},
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id FROM sy_users;"}
]$$);
-- An edited applied file is refused with the file name and both checksums; nothing is written.
SELECT file, action FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id bigint PRIMARY KEY);", "down": "DROP TABLE sy_users;"}
]$$);
-- The same in a dry run: reported, not refused. V2's file is missing: reported as such.
SELECT file, version, state, action FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id bigint PRIMARY KEY);", "down": "DROP TABLE sy_users;"}
]$$, dry_run => true);
-- A pending migration is replaced when its file changes (NOTICE), unregistered when its file goes.
SELECT file, action FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id int PRIMARY KEY);", "down": "DROP TABLE sy_users;"},
  {"file": "V2__email.sql", "version": "2", "name": "email", "up": "ALTER TABLE sy_users ADD COLUMN email text;"},
  {"file": "V3__idx.sql", "version": "3", "name": "idx", "up": "CREATE INDEX sy_i ON sy_users (email);"},
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id, email FROM sy_users;"}
]$$);
SELECT file, action FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id int PRIMARY KEY);", "down": "DROP TABLE sy_users;"},
  {"file": "V2__email.sql", "version": "2", "name": "email", "up": "ALTER TABLE sy_users ADD COLUMN email text;"},
  {"file": "V3__idx.sql", "version": "3", "name": "idx", "up": "CREATE UNIQUE INDEX sy_i ON sy_users (email);"},
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id, email FROM sy_users;"}
]$$);
SELECT file, action FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id int PRIMARY KEY);", "down": "DROP TABLE sy_users;"},
  {"file": "V2__email.sql", "version": "2", "name": "email", "up": "ALTER TABLE sy_users ADD COLUMN email text;"},
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id, email FROM sy_users;"}
]$$);
SELECT version FROM migrate.status();
-- The changed repeatable is re-applied and recorded.
SELECT name, file FROM migrate.apply_repeatables();
SELECT version, name, action, detail FROM migrate.history WHERE version = 'R' ORDER BY id;
-- A repeatable changed, synced, then its file removed: apply_repeatables() in the same
-- transaction refuses to run the text synced before (the file is gone); after another sync
-- that has the file it runs.
BEGIN;
SELECT file, action FROM migrate.sync($$[
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id, email, 1 AS one FROM sy_users;"}
]$$) WHERE file = 'R__view.sql';
SELECT file, state, action FROM migrate.sync('[]') WHERE file = 'R__view.sql';
SAVEPOINT gone;
SELECT count(*) FROM migrate.apply_repeatables();
ROLLBACK TO gone;
SELECT file, action FROM migrate.sync($$[
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id, email, 1 AS one FROM sy_users;"}
]$$) WHERE file = 'R__view.sql';
SELECT name, file FROM migrate.apply_repeatables();
ROLLBACK;
-- A sync rolled back to a savepoint does not count: the one before it found the file gone.
BEGIN;
SELECT file, action FROM migrate.sync($$[
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id, email, 1 AS one FROM sy_users;"}
]$$) WHERE file = 'R__view.sql';
SELECT file, state, action FROM migrate.sync('[]') WHERE file = 'R__view.sql';
SAVEPOINT s;
SELECT file, action FROM migrate.sync($$[
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id, email, 1 AS one FROM sy_users;"}
]$$) WHERE file = 'R__view.sql';
ROLLBACK TO s;
SELECT count(*) FROM migrate.apply_repeatables();
ROLLBACK;
-- Retired once (its file removed on purpose), then changed (no longer retired) and its file removed again: the
-- pending text is not run either.
BEGIN;
SELECT name FROM migrate.apply_repeatables();
SELECT file, state, action FROM migrate.sync('[]', accept_edited => true) WHERE file = 'R__view.sql';
SELECT file, action FROM migrate.sync($$[
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id, email, 2 AS two FROM sy_users;"}
]$$) WHERE file = 'R__view.sql';
SELECT file, state, action FROM migrate.sync('[]') WHERE file = 'R__view.sql';
SELECT count(*) FROM migrate.apply_repeatables();
ROLLBACK;
-- Bad input: clear errors naming the file, nothing written.
SELECT * FROM migrate.sync('{"file": "x"}');
SELECT * FROM migrate.sync('[{"file": "V1__a.sql", "version": "1", "name": "a", "up": "SELECT 1"}, {"file": "V01__b.sql", "version": "01", "name": "b", "up": "SELECT 2"}]');
SELECT * FROM migrate.sync('[{"file": "Vx__a.sql", "version": "x", "name": "a", "up": "SELECT 1"}]');
SELECT * FROM migrate.sync('[{"file": "V9__a.sql", "version": "9", "name": "a"}]');
SELECT * FROM migrate.sync('[{"file": "V9__a.sql", "version": "9", "name": "a", "up": "SELEC 1"}]');
-- Non-transactional scripts and COMMIT split points go through migrate.register, which records
-- how they run (CALL migrate.run() applies them).
BEGIN;
SELECT file, action FROM migrate.sync('[{"file": "V9__a.sql", "version": "9", "name": "a", "up": "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY sy_c ON sy_users (id);", "no_transaction": true}]') WHERE file = 'V9__a.sql';
SELECT version, up_mode FROM migrate.migrations WHERE version = '9';
ROLLBACK;
BEGIN;
SELECT file, action FROM migrate.sync('[{"file": "V9__a.sql", "version": "9", "name": "a", "up": "CREATE TABLE sy_x (id int);\nCOMMIT;\nSELECT 1;"}]') WHERE file = 'V9__a.sql';
SELECT version, up_mode FROM migrate.migrations WHERE version = '9';
ROLLBACK;
SELECT count(*) AS still_two FROM migrate.migrations;
-- repair (accept_edited): the edited applied file is accepted as it is now, and history says so.
SELECT file, action FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id bigint PRIMARY KEY);", "down": "DROP TABLE sy_users;"},
  {"file": "V2__email.sql", "version": "2", "name": "email", "up": "ALTER TABLE sy_users ADD COLUMN email text;"},
  {"file": "R__view.sql", "name": "view", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_v AS SELECT id, email FROM sy_users;"}
]$$, accept_edited => true);
SELECT version, action, detail->>'file' AS file FROM migrate.history WHERE action = 'repair';
-- A down script changed in the file is checked as migrate.repair() checks one; a split or
-- non-transactional one is taken with its run mode (CALL migrate.run_revert() runs it).
SELECT file, action FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id bigint PRIMARY KEY);", "down": "BEGIN;\nDROP TABLE sy_users;"}
]$$, accept_edited => true) WHERE file = 'V1__users.sql';
SELECT file, action FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id bigint PRIMARY KEY);", "down": "DROP TABLE sy_users;\nCOMMIT;\nSELECT 1;"}
]$$, dry_run => true) WHERE file = 'V1__users.sql';
-- A dry run (what pg_migrate check and status do) names a changed name or down script, and
-- says when sync would refuse it; a reformatted down script is no change.
SELECT file, action, detail FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "the users", "up": "CREATE TABLE sy_users (id bigint PRIMARY KEY);", "down": "BEGIN;\nDROP TABLE sy_users;"}
]$$, dry_run => true) WHERE file = 'V1__users.sql';
SELECT file, action, detail FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id bigint PRIMARY KEY);", "down": "\n-- reformatted\ndrop  table sy_users ;"}
]$$, dry_run => true) WHERE file = 'V1__users.sql';
SELECT file, action, detail FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id bigint PRIMARY KEY);"}
]$$, dry_run => true) WHERE file = 'V1__users.sql';
-- The no-transaction line is a comment to the scanner, but it changes how the down script runs.
SELECT file, action, detail FROM migrate.sync($$[
  {"file": "V1__users.sql", "version": "1", "name": "users", "up": "CREATE TABLE sy_users (id bigint PRIMARY KEY);", "down": "-- pg_migrate:no-transaction\nDROP TABLE sy_users;"}
]$$, dry_run => true) WHERE file = 'V1__users.sql';
SELECT count(*) AS validate_problems FROM migrate.validate();
-- Direct writes are refused.
DELETE FROM migrate.migration_files;
UPDATE migrate.repeatables SET applied_checksum = NULL;
DROP EXTENSION pg_migrate;
DROP VIEW sy_v;
DROP TABLE sy_users;

-- migrate.sync_confirm(): after sync and apply in one transaction, the folder the sync saw is
-- recorded as in sync without being sent again (what the pg_migrate command does after apply).
CREATE EXTENSION pg_migrate;
\set folder '[{"file": "V1__a.sql", "version": "1", "name": "a", "up": "CREATE TABLE sc_a (id int);"}, {"file": "V2__b.sql", "version": "2", "name": "b", "up": "CREATE TABLE sc_b (id int);"}, {"file": "R__v.sql", "name": "v", "repeatable": true, "up": "CREATE OR REPLACE VIEW sc_v AS SELECT 1 AS one;"}]'
-- The folder's digest, as a sync that finds it in sync records it.
BEGIN;
SELECT count(*) FROM migrate.sync(:'folder');
SELECT count(*) FROM migrate.apply();
SELECT count(*) FROM migrate.apply_repeatables();
SELECT count(*) FROM migrate.sync(:'folder');
SELECT folder_digest AS digest FROM migrate.sync_state \gset
ROLLBACK;
BEGIN;
SELECT action, state FROM migrate.sync(:'folder') ORDER BY file;
SELECT migrate.sync_confirm(:'digest') AS pending_left;        -- false: nothing applied yet
SELECT count(*) FROM migrate.apply('1');
SELECT migrate.sync_confirm(:'digest') AS pending_left;        -- false: 2 and the repeatable wait
SELECT count(*) FROM migrate.apply();
SELECT count(*) FROM migrate.apply_repeatables();
SELECT migrate.sync_confirm('0123') AS other_folder;           -- false: not the folder synced
SELECT migrate.sync_digest(:'digest') AS known_before;
SELECT migrate.sync_confirm(:'digest') AS confirmed;           -- true: recorded
SELECT migrate.sync_digest(:'digest') AS known_after;
COMMIT;
SELECT migrate.sync_digest(:'digest') AS known_committed;
DROP EXTENSION pg_migrate;
DROP VIEW sc_v;
DROP TABLE sc_a, sc_b;
-- Anything else changing the catalog between sync and confirm, or another transaction: false.
CREATE EXTENSION pg_migrate;
BEGIN;
SELECT count(*) FROM migrate.sync(:'folder');
SELECT migrate.register('3', 'not in the folder', 'SELECT 1');
SELECT count(*) FROM migrate.apply();
SELECT count(*) FROM migrate.apply_repeatables();
SELECT migrate.sync_confirm(:'digest') AS after_register;
ROLLBACK;
-- A sync in a rolled-back savepoint: its registrations are gone (and the lock was released).
BEGIN;
SAVEPOINT s;
SELECT count(*) FROM migrate.sync(:'folder');
ROLLBACK TO SAVEPOINT s;
SELECT count(*) FROM migrate.sync('[]', dry_run => true);
SELECT count(*) FROM migrate.apply();
SELECT migrate.sync_confirm(:'digest') AS after_rollback_to_savepoint;
ROLLBACK;
SELECT count(*) FROM migrate.sync(:'folder');
BEGIN;
SELECT count(*) FROM migrate.apply();
SELECT count(*) FROM migrate.apply_repeatables();
SELECT migrate.sync_confirm(:'digest') AS other_transaction;
SELECT migrate.sync_confirm(NULL);
ROLLBACK;
-- A NULL switch is refused, not taken as false (a NULL dry_run wrote).
SELECT count(*) FROM migrate.sync(:'folder', NULL);
SELECT count(*) FROM migrate.sync(:'folder', true, NULL);
SELECT count(*) AS migrations FROM migrate.migrations;
DROP EXTENSION pg_migrate;
-- An empty or comment-only file is a no-op migration, as register takes it (with its NOTICE).
CREATE EXTENSION pg_migrate;
SELECT file, state, action FROM migrate.sync($$[
  {"file": "V1__placeholder.sql", "version": "1", "name": "placeholder", "up": "-- filled in later\n", "down": ""}
]$$);
SELECT version, name FROM migrate.apply();
SELECT count(*) AS reverted FROM migrate.revert(1);
DROP EXTENSION pg_migrate;
-- Elements are checked before anything is read: objects with the documented keys and types only.
CREATE EXTENSION pg_migrate;
SELECT count(*) FROM migrate.sync('[null]', dry_run => true);
SELECT count(*) FROM migrate.sync('[{"file": "a.sql", "verison": "1", "name": "x", "up": "SELECT 1"}]', dry_run => true);
SELECT count(*) FROM migrate.sync('[{"file": "a.sql", "version": 1, "name": "x", "up": "SELECT 1"}]', dry_run => true);
SELECT count(*) FROM migrate.sync('[{"file": "R__a.sql", "name": "x", "up": "SELECT 1", "repeatable": "yes"}]', dry_run => true);
SELECT count(*) FROM migrate.sync('[{"file": "a.sql", "version": "1", "name": "x", "up": "SELECT 1"},
                                    {"file": "a.sql", "version": "2", "name": "y", "up": "SELECT 2"}]', dry_run => true);
SELECT file, action FROM migrate.sync('[{"file": "a.sql", "version": "1", "name": "x", "up": "SELECT 1", "down": null, "no_transaction": false}]', dry_run => true);
DROP EXTENSION pg_migrate;
-- A long script the scanner refuses: an error, not a crash (its data outlives the scanner's memory).
CREATE EXTENSION pg_migrate;
DO $$ BEGIN
  PERFORM migrate.script_checksum('select $x$ ' || repeat('x', 100000));
EXCEPTION WHEN syntax_error THEN RAISE NOTICE 'refused: %', SQLSTATE;
END $$;
-- The error names the script's line (its caret was put in the caller's query).
SELECT migrate.script_checksum(E'SELECT 1;\nSELECT $$');
SELECT migrate.script_checksum('SELECT 1') IS NOT NULL AS still_works;
DROP EXTENSION pg_migrate;
-- Checksums stored by 0.9.0's library or older ("tokens 1") counted every `;`: a file whose
-- statements are the stored script's is not an edit, and sync writes today's checksum for a
-- versioned file; a repeatable keeps its applied state. The rows are written as such a library
-- wrote them: tokens1() is its checksum, token by token (kind letter, text, NUL).
CREATE EXTENSION pg_migrate;
CREATE FUNCTION pg_temp.tokens1(VARIADIC tokens text[]) RETURNS text LANGUAGE sql AS $$
  SELECT pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to('pg_migrate tokens 1', 'UTF8') || '\x00'::bytea ||
         (SELECT pg_catalog.string_agg(pg_catalog.convert_to(t, 'UTF8') || '\x00'::bytea, ''::bytea ORDER BY o)
            FROM unnest(tokens) WITH ORDINALITY u(t, o))), 'hex') $$;
SELECT file, action FROM migrate.sync($$[
  {"file": "V1__a.sql", "version": "1", "name": "a", "up": "CREATE TABLE sy_old (id int)"},
  {"file": "R__v.sql", "name": "v", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_old_v AS SELECT 1 AS one"}
]$$);
SELECT count(*) AS applied FROM migrate.apply();
SELECT name FROM migrate.apply_repeatables();
ALTER TABLE migrate.migration_files DISABLE TRIGGER protect;
ALTER TABLE migrate.repeatables DISABLE TRIGGER protect;
UPDATE migrate.migration_files SET script_checksum = pg_temp.tokens1('kcreate', 'ktable', 'isy_old', 'c(', 'iid', 'kint', 'c)');
UPDATE migrate.repeatables SET script_checksum = pg_temp.tokens1('kcreate', 'kor', 'kreplace', 'kview', 'isy_old_v', 'kas', 'kselect', 'n1', 'kas', 'ione');
UPDATE migrate.repeatables SET applied_checksum = script_checksum;
ALTER TABLE migrate.migration_files ENABLE ALWAYS TRIGGER protect;
ALTER TABLE migrate.repeatables ENABLE ALWAYS TRIGGER protect;
SELECT file, state, action, detail FROM migrate.sync($$[
  {"file": "V1__a.sql", "version": "1", "name": "a", "up": "CREATE TABLE sy_old (id int);\n"},
  {"file": "R__v.sql", "name": "v", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_old_v AS SELECT 1 AS one;\n"}
]$$);
SELECT f.script_checksum = migrate.script_checksum(m.up_sql) AS file_row_checksum_today
  FROM migrate.migration_files f JOIN migrate.migrations m USING (version);
SELECT count(*) AS repeatables_to_apply FROM migrate.apply_repeatables();
-- A real edit is still one.
SELECT file, state, action FROM migrate.sync($$[
  {"file": "V1__a.sql", "version": "1", "name": "a", "up": "CREATE TABLE sy_old (id bigint);"},
  {"file": "R__v.sql", "name": "v", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_old_v AS SELECT 2 AS one;"}
]$$, dry_run => true);
-- A checksum that is no script's old checksum (here an accepted edit's) is not matched against the
-- stored script: the file is compared with it alone.
ALTER TABLE migrate.migration_files DISABLE TRIGGER protect;
UPDATE migrate.migration_files SET script_checksum = migrate.script_checksum('CREATE TABLE sy_old (id bigint)'), source_checksum = 'x';
ALTER TABLE migrate.migration_files ENABLE ALWAYS TRIGGER protect;
SELECT file, state, action FROM migrate.sync($$[
  {"file": "V1__a.sql", "version": "1", "name": "a", "up": "CREATE TABLE sy_old (id int);"}
]$$, dry_run => true);
-- A repeatable whose file goes back to the script applied last, after such a library synced
-- another (pending) one: applied, not run again.
ALTER TABLE migrate.repeatables DISABLE TRIGGER protect;
UPDATE migrate.repeatables SET up_sql = 'CREATE OR REPLACE VIEW sy_old_v AS SELECT 3 AS one', source_checksum = 'y',
  script_checksum = pg_temp.tokens1('kcreate', 'kor', 'kreplace', 'kview', 'isy_old_v', 'kas', 'kselect', 'n3', 'kas', 'ione'),
  applied_checksum = pg_temp.tokens1('kcreate', 'kor', 'kreplace', 'kview', 'isy_old_v', 'kas', 'kselect', 'n1', 'kas', 'ione');
ALTER TABLE migrate.repeatables ENABLE ALWAYS TRIGGER protect;
SELECT file, state, action FROM migrate.sync($$[
  {"file": "R__v.sql", "name": "v", "repeatable": true, "up": "CREATE OR REPLACE VIEW sy_old_v AS SELECT 1 AS one"}
]$$, accept_edited => false);
SELECT count(*) AS repeatables_to_apply FROM migrate.apply_repeatables();
-- A pending file whose directives change while its statements do not (the checksum leaves
-- comments out) is registered again: the stored script is what runs and is linted. Removing
-- an `ignore` brings the lint finding back (apply refuses it under lint_blocks_apply); a
-- `batch` size changes. Once applied, a changed directive changes nothing that runs.
CREATE TABLE sy_dir (id int);
SELECT file, action FROM migrate.sync($$[
  {"file": "V30__dir.sql", "version": "30", "name": "dir", "up": "-- pg_migrate:ignore ban-truncate-cascade\nTRUNCATE sy_dir CASCADE;"},
  {"file": "V31__batch.sql", "version": "31", "name": "batch", "up": "-- pg_migrate:no-transaction\n-- pg_migrate:batch 100\nUPDATE sy_dir SET id = 1 WHERE id IS NULL;"}
]$$) WHERE file LIKE 'V3%';
SELECT file, action, detail FROM migrate.sync($$[
  {"file": "V30__dir.sql", "version": "30", "name": "dir", "up": "TRUNCATE sy_dir CASCADE;"},
  {"file": "V31__batch.sql", "version": "31", "name": "batch", "up": "-- pg_migrate:no-transaction\n-- pg_migrate:batch 1000\nUPDATE sy_dir SET id = 1 WHERE id IS NULL;"}
]$$, dry_run => true) WHERE file LIKE 'V3%';
SET client_min_messages = warning;
SELECT file, action, detail FROM migrate.sync($$[
  {"file": "V30__dir.sql", "version": "30", "name": "dir", "up": "TRUNCATE sy_dir CASCADE;"},
  {"file": "V31__batch.sql", "version": "31", "name": "batch", "up": "-- pg_migrate:no-transaction\n-- pg_migrate:batch 1000\nUPDATE sy_dir SET id = 1 WHERE id IS NULL;"}
]$$) WHERE file LIKE 'V3%';
SELECT version, up_sql FROM migrate.migrations WHERE version IN ('30', '31') ORDER BY version;
SELECT file, action FROM migrate.sync($$[
  {"file": "V30__dir.sql", "version": "30", "name": "dir", "up": "TRUNCATE sy_dir CASCADE;"}
]$$) WHERE file LIKE 'V3%';
RESET client_min_messages;
SET pg_migrate.lint_blocks_apply = on;
\set VERBOSITY terse
SELECT version FROM migrate.apply();
\set VERBOSITY default
RESET pg_migrate.lint_blocks_apply;
SELECT file, action FROM migrate.sync($$[
  {"file": "V30__dir.sql", "version": "30", "name": "dir", "up": "-- pg_migrate:ignore ban-truncate-cascade\nTRUNCATE sy_dir CASCADE;"}
]$$) WHERE file LIKE 'V3%';
SELECT version FROM migrate.apply();
SELECT file, action, detail FROM migrate.sync($$[
  {"file": "V30__dir.sql", "version": "30", "name": "dir", "up": "TRUNCATE sy_dir CASCADE;"}
]$$, dry_run => true) WHERE file LIKE 'V3%';
-- A dry run says what the real sync would refuse (it answered "new"): a syntax error, a
-- statement its transaction cannot run, a bad down script, a non-transactional repeatable.
SELECT file, action, detail FROM migrate.sync($$[
  {"file": "V40__typo.sql", "version": "40", "name": "typo", "up": "selec 1"},
  {"file": "V41__vacuum.sql", "version": "41", "name": "vacuum", "up": "VACUUM"},
  {"file": "V42__down.sql", "version": "42", "name": "down", "up": "SELECT 1", "down": "drop tabl"},
  {"file": "R__idx.sql", "name": "idx", "repeatable": true, "up": "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY sy_i ON sy_dir (id);"}
]$$, dry_run => true) WHERE file LIKE 'V4%' OR file LIKE 'R__idx%';
DROP TABLE sy_dir;
DROP TABLE sy_old;
DROP VIEW sy_old_v;
DROP EXTENSION pg_migrate;
-- A file below the baseline is registered without checks (it never runs): a comment added to
-- one whose script does not even parse is no change (sync compared its directives, parsing it,
-- and every later sync failed with its syntax error). A version longer than 255 characters is
-- refused for a new file only.
CREATE EXTENSION pg_migrate;
SELECT migrate.baseline('5', 'existing schema');
SELECT file, state, action FROM migrate.sync($$[
  {"file": "V3__broken.sql", "version": "3", "name": "broken", "up": "CREATE TABLE sy_b (id int;"}
]$$);
SELECT file, state, action FROM migrate.sync($$[
  {"file": "V3__broken.sql", "version": "3", "name": "broken", "up": "-- a comment\nCREATE TABLE sy_b (id int;"}
]$$, dry_run => true);
SELECT count(*) FROM migrate.sync(pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
  'file', 'V9__long.sql', 'version', repeat('9', 256), 'name', 'long', 'up', 'SELECT 1')), dry_run => true);
-- A script beginning with the no-transaction directive is non-transactional without the file's
-- "no_transaction" flag too (it was registered as a transactional script, which apply then ran
-- in a transaction); the dry run and the write refuse the same things.
CREATE TABLE sy_parted (a int) PARTITION BY RANGE (a);
SELECT file, action, detail FROM migrate.sync($$[
  {"file": "V3__broken.sql", "version": "3", "name": "broken", "up": "CREATE TABLE sy_b (id int;"},
  {"file": "V6__batch.sql", "version": "6", "name": "batch", "up": "-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nDELETE FROM sy_parted WHERE a IS NULL;"}
]$$, dry_run => true) WHERE file = 'V6__batch.sql';
\set VERBOSITY terse
SELECT file, action FROM migrate.sync($$[
  {"file": "V3__broken.sql", "version": "3", "name": "broken", "up": "CREATE TABLE sy_b (id int;"},
  {"file": "V6__batch.sql", "version": "6", "name": "batch", "up": "-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nDELETE FROM sy_parted WHERE a IS NULL;"}
]$$) WHERE file = 'V6__batch.sql';
\set VERBOSITY default
SELECT file, action FROM migrate.sync($$[
  {"file": "V3__broken.sql", "version": "3", "name": "broken", "up": "CREATE TABLE sy_b (id int;"},
  {"file": "V6__idx.sql", "version": "6", "name": "idx", "up": "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY sy_i ON sy_parted_x (a);"}
]$$) WHERE file = 'V6__idx.sql';
SELECT version, up_mode FROM migrate.migrations WHERE version = '6';
-- A name with a control character that an older release registered is no refusal while it
-- stays the same (sync of the whole folder failed); a new or changed one is.
ALTER TABLE migrate.migrations DISABLE TRIGGER protect;
UPDATE migrate.migrations SET name = E'tab\there' WHERE version = '3';
ALTER TABLE migrate.migrations ENABLE ALWAYS TRIGGER protect;
SELECT file, action FROM migrate.sync($$[
  {"file": "V3__broken.sql", "version": "3", "name": "tab\there", "up": "CREATE TABLE sy_b (id int;"},
  {"file": "V6__idx.sql", "version": "6", "name": "idx", "up": "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY sy_i ON sy_parted_x (a);"}
]$$, dry_run => true);
SELECT file, action FROM migrate.sync($$[
  {"file": "V3__broken.sql", "version": "3", "name": "tab\there", "up": "CREATE TABLE sy_b (id int;"},
  {"file": "V6__idx.sql", "version": "6", "name": "i\tdx", "up": "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY sy_i ON sy_parted_x (a);"}
]$$, dry_run => true);
DROP TABLE sy_parted;
DROP EXTENSION pg_migrate;
