-- What an apply records: a history row per migration, the script kept once per checksum in
-- migrate.scripts, the applied state in migrate.migrations. They are written directly
-- (src/catalog_record.cpp); a catalog laid out otherwise is recorded through SQL, alike.
CREATE EXTENSION pg_migrate;
-- Three migrations with one script (one checksum), and 300 more with another: the copies of a
-- script are kept once, within one batch of records and across batches (up to 256 a batch).
SELECT count(migrate.register(i::text, 'same ' || i, 'SELECT 1', 'SELECT 1')) FROM generate_series(1, 3) i;
SELECT count(migrate.register('100.' || i, 'many ' || i, 'SELECT 2', 'SELECT 2')) FROM generate_series(4, 303) i;
SELECT migrate.register('104', 'table', 'CREATE TABLE rec_t (id int)', 'DROP TABLE rec_t');
-- Triggers of the catalog's tables fire as for INSERT and UPDATE statements (run as the
-- catalog owner with search_path pg_catalog, pg_temp, like the functions' own SQL).
CREATE TABLE rec_log (tbl text, op text, version text, applied boolean);
CREATE FUNCTION rec_log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.rec_log VALUES (TG_TABLE_NAME, TG_OP, NEW.version, NEW.applied_seq IS NOT NULL);
  RETURN NEW;
END $$;
CREATE FUNCTION rec_log_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.rec_log VALUES (TG_TABLE_NAME, TG_OP, NEW.version, NULL);
  RETURN NEW;
END $$;
CREATE TRIGGER rec_log AFTER UPDATE ON migrate.migrations FOR EACH ROW EXECUTE FUNCTION rec_log_row();
CREATE TRIGGER rec_log AFTER INSERT ON migrate.history FOR EACH ROW EXECUTE FUNCTION rec_log_history();
-- A trigger for an UPDATE of certain columns fires when the apply sets them.
CREATE TRIGGER rec_log_columns AFTER UPDATE OF applied_seq ON migrate.migrations FOR EACH ROW
  EXECUTE FUNCTION rec_log_row();
BEGIN;
SELECT count(*) AS applied FROM migrate.apply();
-- Every history row: this transaction, the session user, the current role, the migration's
-- checksum and script; the migration points at it.
SELECT count(*) AS rows,
       bool_and(h.transaction_id = pg_current_xact_id()) AS this_transaction,
       bool_and(h.performed_by = session_user AND h.role = current_user) AS who,
       bool_and(h.action = 'apply' AND h.name = m.name AND h.checksum = m.checksum
                AND h.script_checksum = m.checksum AND h.detail IS NULL AND h.duration_ms >= 0) AS fields,
       bool_and(m.applied_seq = h.id AND m.applied_at = h.performed_at AND m.applied_by = h.performed_by) AS applied_state,
       bool_and(s.script = m.up_sql) AS script_kept
FROM migrate.history h JOIN migrate.migrations m USING (version)
LEFT JOIN migrate.scripts s ON s.checksum = h.script_checksum;
COMMIT;
SELECT count(*) AS scripts, count(DISTINCT checksum) AS distinct_checksums FROM migrate.scripts;
SELECT tbl, op, count(*), bool_and(applied) AS applied FROM rec_log GROUP BY tbl, op ORDER BY tbl;
-- History ids follow the order of application.
SELECT bool_and(applied_seq > prev) AS ordered FROM (
  SELECT applied_seq, lag(applied_seq, 1, 0::bigint) OVER (ORDER BY version_parts) AS prev FROM migrate.migrations) x;
-- Revert and re-apply: the kept scripts are found, not copied again.
SELECT count(*) AS reverted FROM migrate.revert(2);
SELECT count(*) AS applied FROM migrate.apply();
SELECT count(*) AS scripts FROM migrate.scripts;
SELECT version, action FROM migrate.history ORDER BY id DESC LIMIT 4;
-- A statement-level trigger, which the single-row path would not fire: recorded through SQL.
CREATE FUNCTION rec_log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.rec_log VALUES (TG_TABLE_NAME, TG_OP || ' ' || TG_LEVEL, NULL, NULL);
  RETURN NULL;
END $$;
CREATE TRIGGER rec_log_statement AFTER INSERT ON migrate.history FOR EACH STATEMENT
  EXECUTE FUNCTION rec_log_statement();
TRUNCATE rec_log;
SELECT count(*) AS reverted FROM migrate.revert(1);
SELECT count(*) AS applied FROM migrate.apply();
SELECT tbl, op, count(*) FROM rec_log GROUP BY tbl, op ORDER BY tbl, op;
DROP TRIGGER rec_log_statement ON migrate.history;
-- A BEFORE INSERT row trigger sees each history row before it is written (the rows are then
-- written one by one, not together after the batch).
CREATE FUNCTION rec_log_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.rec_log VALUES (TG_TABLE_NAME, TG_WHEN || ' ' || TG_OP, NEW.version, NULL);
  RETURN NEW;
END $$;
CREATE TRIGGER rec_log_before BEFORE INSERT ON migrate.history FOR EACH ROW EXECUTE FUNCTION rec_log_before();
TRUNCATE rec_log;
SELECT count(*) AS reverted FROM migrate.revert(2);
SELECT count(*) AS applied FROM migrate.apply();
SELECT tbl, op, string_agg(version, ', ' ORDER BY version) AS versions FROM rec_log
 WHERE op = 'BEFORE INSERT' GROUP BY tbl, op;
DROP TRIGGER rec_log_before ON migrate.history;
DROP FUNCTION rec_log_before();
-- A migrate.history with a column this code does not know: recorded through SQL, the column
-- gets its default.
DROP TRIGGER rec_log ON migrate.migrations;
DROP TRIGGER rec_log_columns ON migrate.migrations;
DROP TRIGGER rec_log ON migrate.history;
ALTER TABLE migrate.history ADD COLUMN rec_note text DEFAULT 'through SQL';
SELECT migrate.register('105', 'after', 'CREATE TABLE rec_u (id int)', 'DROP TABLE rec_u');
SELECT version FROM migrate.apply();
SELECT h.version, h.action, h.rec_note, h.performed_by = session_user AS who, h.script_checksum = m.checksum AS script,
       m.applied_seq = h.id AS applied_state
FROM migrate.history h JOIN migrate.migrations m USING (version) WHERE version = '105';
SELECT * FROM migrate.validate();
ALTER TABLE migrate.history DROP COLUMN rec_note;
SELECT count(*) > 0 AS drift_recorded FROM migrate.drift;
-- migrate.sync() registers migrations and file rows the same way: as register() would (now(),
-- the session user, the version's parts, modes 'transaction'); a file renamed for a known
-- version updates its row.
BEGIN;
SELECT file, version, action FROM migrate.sync($$[
  {"file": "V200__a.sql", "version": "200", "name": "a", "up": "CREATE TABLE rec_s (id int);", "down": "DROP TABLE rec_s;"},
  {"file": "V200.1__b.sql", "version": "200.1", "name": "b", "up": "SELECT 1;"}
]$$) WHERE action <> 'missing_file';
SELECT version, version_parts, name, down_sql IS NULL AS no_down, checksum = migrate.checksum(up_sql) AS checksum,
       registered_at = now() AS now, registered_by = session_user AS who, applied_seq IS NULL AS pending, up_mode, down_mode
FROM migrate.migrations WHERE version LIKE '200%' ORDER BY version_parts;
COMMIT;
SELECT file, version, action FROM migrate.sync($$[
  {"file": "V200__a_renamed.sql", "version": "200", "name": "a", "up": "CREATE TABLE rec_s (id int);", "down": "DROP TABLE rec_s;"},
  {"file": "V200.1__b.sql", "version": "200.1", "name": "b", "up": "SELECT 1;"}
]$$) WHERE action <> 'missing_file';
SELECT version, file_name, script_checksum = migrate.script_checksum(m.up_sql) AS script_checksum
FROM migrate.migration_files f JOIN migrate.migrations m USING (version) WHERE version LIKE '200%' ORDER BY version;
-- With a statement-level trigger on migrate.migration_files, through SQL: it fires.
CREATE TRIGGER rec_files_statement AFTER INSERT OR UPDATE ON migrate.migration_files FOR EACH STATEMENT
  EXECUTE FUNCTION rec_log_statement();
TRUNCATE rec_log;
SELECT file, action FROM migrate.sync($$[
  {"file": "V200__a.sql", "version": "200", "name": "a", "up": "CREATE TABLE rec_s (id int);", "down": "DROP TABLE rec_s;"},
  {"file": "V200.1__b.sql", "version": "200.1", "name": "b", "up": "SELECT 1;"},
  {"file": "V201__c.sql", "version": "201", "name": "c", "up": "SELECT 2;"}
]$$) WHERE action <> 'missing_file';
SELECT tbl, op FROM rec_log ORDER BY op;
SELECT version, file_name FROM migrate.migration_files WHERE version LIKE '20%' ORDER BY version;
DROP TRIGGER rec_files_statement ON migrate.migration_files;
-- A BEFORE INSERT row trigger on migrate.migration_files fires, as with ON CONFLICT, also for a
-- file row that becomes an update (through SQL).
CREATE TRIGGER rec_files_before BEFORE INSERT ON migrate.migration_files FOR EACH ROW EXECUTE FUNCTION rec_log_history();
TRUNCATE rec_log;
SELECT file, action FROM migrate.sync($$[
  {"file": "V200__a_again.sql", "version": "200", "name": "a", "up": "CREATE TABLE rec_s (id int);", "down": "DROP TABLE rec_s;"}
]$$) WHERE action <> 'missing_file';
SELECT tbl, op, version FROM rec_log;
DROP TRIGGER rec_files_before ON migrate.migration_files;
-- A rule on migrate.migrations, another replica identity index: through SQL, alike.
CREATE RULE rec_rule AS ON INSERT TO migrate.migrations DO ALSO
  INSERT INTO public.rec_log VALUES ('migrations', 'rule', NEW.version, NULL);
CREATE UNIQUE INDEX rec_identity ON migrate.migration_files (version, file_name);
ALTER TABLE migrate.migration_files REPLICA IDENTITY USING INDEX rec_identity;
TRUNCATE rec_log;
SELECT file, action FROM migrate.sync($$[
  {"file": "V200__a.sql", "version": "200", "name": "a", "up": "CREATE TABLE rec_s (id int);", "down": "DROP TABLE rec_s;"},
  {"file": "V202__d.sql", "version": "202", "name": "d", "up": "SELECT 3;"}
]$$) WHERE action <> 'missing_file';
SELECT tbl, op, version FROM rec_log;
SELECT version, file_name FROM migrate.migration_files WHERE version LIKE '20%' ORDER BY version;
DROP RULE rec_rule ON migrate.migrations;
ALTER TABLE migrate.migration_files REPLICA IDENTITY DEFAULT;
DROP INDEX migrate.rec_identity;
SELECT count(*) AS applied FROM migrate.apply();
-- Captured DDL goes straight into migrate.drift's heap and indexes while the table is as
-- pg_migrate creates it, partial indexes by their predicate; an expression index, or a CHECK
-- constraint, sends it through the executor's path, which checks it as an INSERT would.
CREATE INDEX rec_drift_partial ON migrate.drift (object_identity) WHERE object_type = 'table';
CREATE TABLE rec_direct (id int);
COMMENT ON COLUMN rec_direct.id IS 'x';
CREATE INDEX rec_drift_expr ON migrate.drift (pg_catalog.lower(object_identity));
CREATE TABLE rec_direct2 (id int);
COMMENT ON COLUMN rec_direct2.id IS 'x';
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT object_identity FROM migrate.drift WHERE object_type = 'table' AND object_identity LIKE 'public.rec_direct%';
SELECT object_identity FROM migrate.drift WHERE object_type = 'table' AND object_identity LIKE 'public.rec_direct%' ORDER BY 1;
SELECT object_identity FROM migrate.drift WHERE pg_catalog.lower(object_identity) = 'public.rec_direct2.id';
SELECT count(*) AS unacknowledged FROM migrate.drift WHERE acknowledgement_id IS NULL AND object_identity LIKE 'public.rec_direct%';
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) AS unacknowledged FROM migrate.drift WHERE acknowledgement_id IS NULL AND object_identity LIKE 'public.rec_direct%';
DROP INDEX migrate.rec_drift_expr;
ALTER TABLE migrate.drift ADD CONSTRAINT rec_no_secret CHECK (object_identity IS DISTINCT FROM 'public.rec_secret') NOT VALID;
\set VERBOSITY terse
CREATE TABLE rec_secret (id int);
\set VERBOSITY default
ALTER TABLE migrate.drift DROP CONSTRAINT rec_no_secret;
CREATE TABLE rec_secret (id int);
DROP TABLE rec_direct, rec_direct2, rec_secret;
DROP INDEX migrate.rec_drift_partial;
-- Captured DDL is written to migrate.drift the same way: its triggers fire too.
CREATE TABLE rec_drift_log (object_identity text);
CREATE FUNCTION rec_drift_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.rec_drift_log VALUES (NEW.object_identity);
  RETURN NEW;
END $$;
CREATE TRIGGER rec_drift AFTER INSERT ON migrate.drift FOR EACH ROW EXECUTE FUNCTION rec_drift_row();
CREATE TABLE rec_outside (id int);
SELECT * FROM rec_drift_log;
-- And with a statement-level trigger on migrate.drift, through SQL: both fire.
CREATE TRIGGER rec_drift_statement AFTER INSERT ON migrate.drift FOR EACH STATEMENT
  EXECUTE FUNCTION rec_log_statement();
ALTER TABLE rec_outside ADD COLUMN note text;
SELECT * FROM rec_drift_log;
SELECT tbl, op FROM rec_log WHERE tbl = 'drift';
DROP TRIGGER rec_drift_statement ON migrate.drift;
-- A migrate.drift with a column this code does not know: captured through SQL, with its default.
ALTER TABLE migrate.drift ADD COLUMN rec_note text DEFAULT 'through SQL';
CREATE TABLE rec_outside2 (id int);
SELECT object_identity, rec_note FROM migrate.drift WHERE object_identity = 'public.rec_outside2';
-- A file row left without its migration (inserted by hand): sync finds it and updates it
-- (a new file's row is otherwise inserted without a lookup).
INSERT INTO migrate.migration_files VALUES ('9088', 'old_name.sql', 'x', 'y');
SELECT file, action FROM migrate.sync($$[
  {"file": "V9088__late.sql", "version": "9088", "name": "late", "up": "SELECT 9088;"},
  {"file": "V9089__later.sql", "version": "9089", "name": "later", "up": "SELECT 9089;"}
]$$) WHERE version IN ('9088', '9089');
SELECT version, file_name, script_checksum = migrate.script_checksum('SELECT ' || version || ';') AS checksum_recorded
  FROM migrate.migration_files WHERE version IN ('9088', '9089') ORDER BY version;
DROP EXTENSION pg_migrate CASCADE;
-- apply reads the pending migrations and the baseline straight from the tables; a table laid
-- out otherwise (the baseline's version hand-altered to varchar) is read through SQL, with the
-- same answer: only what is above the baseline runs.
CREATE EXTENSION pg_migrate;
ALTER TABLE migrate.baseline ALTER COLUMN version TYPE varchar(200);
SELECT migrate.baseline('2', 'adopted');
SELECT count(migrate.register(v, 'm' || v, 'SELECT ' || v)) FROM unnest(ARRAY['1', '2', '3', '10']) v;
SELECT version FROM migrate.apply();
ALTER TABLE migrate.baseline ALTER COLUMN version TYPE text;
SELECT count(migrate.register(v, 'm' || v, 'SELECT ' || v)) FROM unnest(ARRAY['1.5', '11']) v;
SELECT version FROM migrate.apply();
DROP EXTENSION pg_migrate CASCADE;
DROP TABLE rec_log, rec_t, rec_u, rec_s, rec_drift_log, rec_outside, rec_outside2;
DROP FUNCTION rec_log_row(), rec_log_history(), rec_drift_row(), rec_log_statement();
-- The applied mark is a HOT update (no index on the columns it sets, room on the page): no
-- index entry per migration. Counted within the transaction (pg_stat_get_xact_*); the revert's
-- in a later transaction, once the apply's row versions can be pruned from the pages.
CREATE EXTENSION pg_migrate;
SELECT count(migrate.register(i::text, 'hot ' || i, 'SELECT ' || i, 'SELECT 1')) FROM generate_series(1, 40) i;
BEGIN;
SELECT count(*) AS applied FROM migrate.apply();
SELECT pg_stat_get_xact_tuples_updated('migrate.migrations'::regclass) AS updated,
       pg_stat_get_xact_tuples_hot_updated('migrate.migrations'::regclass) * 10 >=
       pg_stat_get_xact_tuples_updated('migrate.migrations'::regclass) * 9 AS most_hot;
COMMIT;
BEGIN;
SELECT count(*) AS reverted FROM migrate.revert(40);
SELECT pg_stat_get_xact_tuples_updated('migrate.migrations'::regclass) AS updated,
       pg_stat_get_xact_tuples_hot_updated('migrate.migrations'::regclass) * 10 >=
       pg_stat_get_xact_tuples_updated('migrate.migrations'::regclass) * 9 AS most_hot;
COMMIT;
SELECT indexrelid::regclass AS index FROM pg_index WHERE indrelid = 'migrate.migrations'::regclass;
DROP EXTENSION pg_migrate CASCADE;
