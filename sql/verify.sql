-- migrate.verify: up, down and a schema comparison inside a subtransaction that is always
-- rolled back; pg_migrate.require_verified_revert makes apply refuse unverified reverts.
CREATE EXTENSION pg_migrate;
CREATE TABLE ver_t (id bigint PRIMARY KEY, v text);
-- register's lint warnings are not the subject here
SET client_min_messages = error;
SELECT migrate.register('1', 'good', 'ALTER TABLE ver_t ADD COLUMN a int DEFAULT 1; CREATE INDEX ver_t_a ON ver_t (a);',
                        'DROP INDEX ver_t_a; ALTER TABLE ver_t DROP COLUMN a;');
SELECT migrate.register('2', 'forgets index and default',
                        'CREATE INDEX ver_t_v ON ver_t (v); ALTER TABLE ver_t ALTER COLUMN v SET DEFAULT ''x'';',
                        'SELECT 1;');
SELECT migrate.register('3', 'forgets a column', 'ALTER TABLE ver_t ADD COLUMN b int; ALTER TABLE ver_t ADD COLUMN c int;',
                        'ALTER TABLE ver_t DROP COLUMN c;');
SELECT migrate.register('4', 'no down', 'CREATE TABLE ver_nodown (id bigint);');
SELECT migrate.register('5', 'down fails', 'CREATE TABLE ver_t5 (id bigint);', 'DROP TABLE ver_t5_typo;');
SELECT migrate.register('6', 'needs 4', 'ALTER TABLE ver_nodown ADD COLUMN n int;', 'ALTER TABLE ver_nodown DROP COLUMN n;');
RESET client_min_messages;

-- every pending migration, in order; each sees the ones before it applied
SELECT * FROM migrate.verify();
-- one migration: the earlier pending ones are applied first (and rolled back)
SELECT * FROM migrate.verify('2');
SELECT * FROM migrate.verify('6');
-- nothing persists
SELECT to_regclass('ver_t_a') AS ver_t_a, to_regclass('ver_t_v') AS ver_t_v, to_regclass('ver_nodown') AS ver_nodown;
SELECT attname FROM pg_attribute WHERE attrelid = 'ver_t'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT version, state FROM migrate.status();
-- errors
SELECT * FROM migrate.verify('9');
SELECT * FROM migrate.verify('not a version');

-- an up script that fails: the later migrations are skipped
SELECT migrate.register('1', 'good', 'ALTER TABLE ver_t ADD COLUMN a int DEFAULT 1; ALTER TABLE no_such_table ADD COLUMN x int;',
                        'ALTER TABLE ver_t DROP COLUMN a;') \gset
SELECT version, status, detail FROM migrate.verify() ORDER BY version;
SELECT migrate.register('1', 'good', 'ALTER TABLE ver_t ADD COLUMN a int DEFAULT 1; CREATE INDEX ver_t_a ON ver_t (a);',
                        'DROP INDEX ver_t_a; ALTER TABLE ver_t DROP COLUMN a;') \gset

-- pg_migrate.require_verified_revert: apply refuses a migration whose revert does not verify
SHOW pg_migrate.require_verified_revert;
SET pg_migrate.require_verified_revert = on;
SELECT version FROM migrate.apply();
SELECT version, state FROM migrate.status() WHERE state = 'applied';
SELECT version FROM migrate.apply('1');
SELECT * FROM migrate.verify('1');
-- fixed down script: apply goes through
SELECT migrate.register('2', 'forgets index and default',
                        'CREATE INDEX ver_t_v ON ver_t (v); ALTER TABLE ver_t ALTER COLUMN v SET DEFAULT ''x'';',
                        'ALTER TABLE ver_t ALTER COLUMN v DROP DEFAULT; DROP INDEX ver_t_v;') \gset
SELECT * FROM migrate.verify('2');
SELECT version FROM migrate.apply('2');
SELECT version FROM migrate.apply('3');
RESET pg_migrate.require_verified_revert;
SELECT version FROM migrate.apply('3');
SET pg_migrate.require_verified_revert = on;
-- a migration without a down script cannot be verified
SELECT version FROM migrate.apply('4');
RESET pg_migrate.require_verified_revert;
SELECT version FROM migrate.apply('4');

-- a down script that leaves a column at another position (drop and add back) does not verify;
-- one that only adds and drops columns does
SET client_min_messages = error;
SELECT migrate.register('8', 'moves v', 'ALTER TABLE ver_t DROP COLUMN v; ALTER TABLE ver_t ADD COLUMN v text;',
                        'SELECT 1;') \gset
SELECT migrate.register('9', 'adds w', 'ALTER TABLE ver_t ADD COLUMN w int;', 'ALTER TABLE ver_t DROP COLUMN w;') \gset
RESET client_min_messages;
SELECT attname FROM pg_attribute WHERE attrelid = 'ver_t'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT * FROM migrate.verify();
SELECT * FROM migrate.verify('9');
SELECT migrate.unregister('9'), migrate.unregister('8');
-- a table recreated with its columns reversed: the columns that moved, not the one that stayed
CREATE TABLE ver_rev (a int, b int, c int);
SELECT migrate.register('8', 'reverses', 'DROP TABLE ver_rev', 'CREATE TABLE ver_rev (c int, b int, a int)') \gset
SELECT version, status, object, detail FROM migrate.verify('8');
SELECT migrate.unregister('8');
DROP TABLE ver_rev;
-- whatever the session's quote_all_identifiers
CREATE TABLE "Ver Q" (a int, "B b" int, c int);
SELECT migrate.register('8', 'moves B b', 'ALTER TABLE "Ver Q" DROP COLUMN "B b"', 'ALTER TABLE "Ver Q" ADD COLUMN "B b" int') \gset
SET quote_all_identifiers = on;
SELECT version, status, object, detail FROM migrate.verify('8');
RESET quote_all_identifiers;
SELECT migrate.unregister('8');
DROP TABLE "Ver Q";
-- only the position differs: apply's gate refuses it too
SELECT migrate.unregister('5');
SET client_min_messages = error;
SELECT migrate.register('8', 'moves b', 'ALTER TABLE ver_t DROP COLUMN b; ALTER TABLE ver_t ADD COLUMN b int;',
                        'SELECT 1;') \gset
RESET client_min_messages;
SET pg_migrate.require_verified_revert = on;
SELECT version FROM migrate.apply('8');
RESET pg_migrate.require_verified_revert;
SELECT migrate.unregister('8');

-- an earlier pending non-transactional migration cannot be tried: the later one is skipped, saying so
SET client_min_messages = error;
SELECT migrate.register('8', 'cic', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY ver_t_id ON ver_t (id);') \gset
SELECT migrate.register('9', 'after cic', 'ALTER TABLE ver_t ADD COLUMN z int', 'ALTER TABLE ver_t DROP COLUMN z') \gset
RESET client_min_messages;
SELECT version, status, detail FROM migrate.verify('9');
SELECT migrate.unregister('9'), migrate.unregister('8');

-- verify cannot be called from inside a migration
SELECT migrate.register('7', 'nested', 'SELECT * FROM migrate.verify()') \gset
SELECT version FROM migrate.apply('7');

-- Under require_verified_revert, an up script that fails is reported with its own error
-- (SQLSTATE, line), not as a revert that does not verify ("fix the down script").
SELECT count(migrate.unregister(version)) >= 0 AS cleared FROM migrate.status() WHERE state = 'pending';
SELECT migrate.register('20', 'bad up', E'SELECT 1;\nALTER TABLE ver_nosuch ADD COLUMN x int;', 'SELECT 1') \gset
SET pg_migrate.require_verified_revert = on;
\set VERBOSITY sqlstate
SELECT version FROM migrate.apply('20');
\set VERBOSITY default
SELECT version FROM migrate.apply('20');
RESET pg_migrate.require_verified_revert;

DROP EXTENSION pg_migrate;
DROP TABLE ver_t, ver_nodown;
