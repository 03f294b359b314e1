-- Cancels and timeouts (57014) propagate out of plan, verify and apply's verify check: they are
-- never reported as a failed statement or a revert that does not verify.
CREATE EXTENSION pg_migrate;
SELECT migrate.register('1', 'slow', 'SELECT pg_sleep(3)', 'SELECT 1');
SET statement_timeout = '1s';
-- plan: an ERROR 57014, not a row with status 'failed'.
SELECT version, status, error FROM migrate.plan();
-- verify: the same.
SELECT version, status, detail FROM migrate.verify();
-- apply with require_verified_revert: the cancel, not 55000 "does not verify".
SET pg_migrate.require_verified_revert = on;
SELECT version FROM migrate.apply();
RESET pg_migrate.require_verified_revert;
-- A slow down script under verify: cancelled too.
RESET statement_timeout;
SELECT migrate.register('1', 'slow down', 'CREATE TABLE cancel_t (id int)', 'SELECT pg_sleep(3)');
SET statement_timeout = '1s';
SELECT version, status, detail FROM migrate.verify();
RESET statement_timeout;
-- A timeout in apply's verify check of a script that allocates a lot first (120 tables): the
-- check's SPI memory is freed by the rollback of apply's subtransaction while the error is
-- still handled; its copy must outlive that (it crashed the backend).
SELECT migrate.unregister('1');
SELECT migrate.register('2', 'big',
  (SELECT string_agg(format('CREATE TABLE cancel_u%s (id bigint PRIMARY KEY, v text);', i), E'\n')
     FROM generate_series(1, 120) i) || E'\nSELECT pg_sleep(60);',
  (SELECT string_agg(format('DROP TABLE cancel_u%s;', i), E'\n') FROM generate_series(1, 120) i));
SET pg_migrate.require_verified_revert = on;
-- (4 s: the 120 tables come first even on a loaded machine; the timeout hits the sleep.)
SET statement_timeout = '4s';
SELECT version FROM migrate.apply();
RESET statement_timeout;
RESET pg_migrate.require_verified_revert;
SELECT 'the backend is alive' AS survived;
SELECT count(*) AS history_rows FROM migrate.history;
SELECT to_regclass('cancel_t') AS not_created;
DROP EXTENSION pg_migrate;
DROP SCHEMA migrate;
