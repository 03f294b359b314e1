-- Every script that was applied or reverted stays readable (migrate.scripts), and a revert that
-- does not restore the schema its migration's apply found is reported.
-- (The schema exists before the extension's first snapshot: a change made outside migrations
-- and not acknowledged before an apply would count as that apply's.)
CREATE ROLE scr_deployer;
CREATE SCHEMA app;
GRANT USAGE, CREATE ON SCHEMA app TO scr_deployer;
CREATE EXTENSION pg_migrate;
-- The README's deploy grants, nothing more.
GRANT USAGE ON SCHEMA migrate TO scr_deployer;
GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO scr_deployer;
GRANT EXECUTE ON FUNCTION migrate.register(text, text, text, text), migrate.unregister(text),
      migrate.apply(text), migrate.revert(int), migrate.revert_to(text), migrate.baseline(text, text)
      TO scr_deployer;
SET ROLE scr_deployer;
-- The issue's scenario: up creates a table, down does nothing; apply, revert, unregister.
SELECT migrate.register('50', 'sneaky', 'CREATE TABLE app.sneaky (id int)', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert();
SELECT migrate.unregister('50');
SELECT count(*) AS registered FROM migrate.migrations;
-- History's checksums lead to the scripts that ran, after unregister.
SELECT h.version, h.action, h.script_checksum = migrate.checksum(s.script) AS checksum_matches, s.script
  FROM migrate.history h JOIN migrate.scripts s ON s.checksum = h.script_checksum ORDER BY h.id;
SELECT h.checksum = h.script_checksum AS apply_checksum_is_the_up_script
  FROM migrate.history h WHERE h.action = 'apply';
-- The difference is recorded with the revert...
SELECT jsonb_pretty(detail) FROM migrate.history WHERE action = 'revert';
-- ...and the CI gate reports it.
SELECT * FROM migrate.validate();
RESET ROLE;
SELECT to_regclass('app.sneaky') IS NOT NULL AS sneaky_exists;
-- Nobody can change or remove a kept script: not the deploy role, not the owner, not under
-- the replica role.
SET ROLE scr_deployer;
DELETE FROM migrate.scripts;
RESET ROLE;
UPDATE migrate.scripts SET script = 'SELECT 2';
DELETE FROM migrate.scripts;
TRUNCATE migrate.scripts;
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM migrate.scripts;
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
TRUNCATE migrate.scripts;
ROLLBACK;
SELECT count(*) AS scripts_kept FROM migrate.scripts;
-- Reviewing it with acknowledge_drift() resolves it.
SELECT migrate.acknowledge_drift('app.sneaky reviewed: stays') >= 0 AS acknowledged;
SELECT * FROM migrate.validate();
-- A revert that restores the schema: no warning, no detail.
SET ROLE scr_deployer;
SELECT migrate.register('51', 'clean', 'CREATE TABLE app.t51 (id int); CREATE INDEX ON app.t51 (id)', 'DROP TABLE app.t51');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert();
SELECT migrate.unregister('51');
SELECT count(*) AS details FROM migrate.history WHERE version = '51' AND detail IS NOT NULL;
-- A down script that changes instead of undoing: reported; applying the version again
-- resolves it.
SELECT migrate.register('52', 'column', 'ALTER TABLE app.sneaky ADD COLUMN IF NOT EXISTS note text',
                        'ALTER TABLE app.sneaky ALTER COLUMN note TYPE varchar(10)');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert();
SELECT version, problem ~ 'column app.sneaky.note \(added\)' AS names_column FROM migrate.validate();
SELECT version FROM migrate.apply();
SELECT * FROM migrate.validate();
-- Several migrations applied by one call: reverting only the last one cannot be attributed
-- (not checked); once all are reverted, the leftovers are named with the migrations applied
-- together.
SELECT migrate.register('53', 'a', 'CREATE TABLE app.t53 (id int)', 'DROP TABLE app.t53');
SELECT migrate.register('54', 'b', 'CREATE TABLE app.t54 (id int)', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert();
SELECT detail FROM migrate.history WHERE version = '54' AND action = 'revert';
SELECT version FROM migrate.revert();
SELECT version, problem ~ 'table app.t54 \(added\)' AS names_t54, problem ~ 't53' AS names_t53 FROM migrate.validate();
RESET ROLE;
SELECT migrate.unregister('53'), migrate.unregister('54');
DROP TABLE app.t54;
SELECT migrate.acknowledge_drift('t54 removed') >= 0 AS acknowledged;
SELECT count(*) AS problems_before FROM migrate.validate();
-- Migrations applied by separate calls and reverted by one: the later one renames the table
-- (its snapshot is a whole one), and is not blamed for the column the earlier one's revert
-- drops afterwards in the same call; each is judged against the state before the earliest
-- apply of this call that changed the object.
SELECT migrate.register('59', 'table', 'CREATE TABLE app.t59 (x int)', 'DROP TABLE app.t59') IS NOT NULL AS registered;
SELECT migrate.register('60', 'add y', 'ALTER TABLE app.t59 ADD COLUMN y int', 'ALTER TABLE app.t59 DROP COLUMN y') IS NOT NULL AS registered;
SELECT migrate.register('61', 'rename', 'ALTER TABLE app.t59 RENAME TO t59b', 'ALTER TABLE app.t59b RENAME TO t59') IS NOT NULL AS registered;
SELECT version FROM migrate.apply('59');
SELECT version FROM migrate.apply('60');
SELECT version FROM migrate.apply('61');
SELECT version FROM migrate.revert(2);
SELECT version, problem FROM migrate.validate();
-- A down script that does leave something is still named, for the migration whose apply made it.
SELECT migrate.repair('60', down => 'SELECT 1') IS NOT NULL AS repaired;
SELECT version FROM migrate.apply('60');
SELECT version FROM migrate.apply('61');
SELECT version FROM migrate.revert(2);
SELECT version, problem FROM migrate.validate();
ALTER TABLE app.t59 DROP COLUMN y;
SELECT migrate.acknowledge_drift('app.t59.y dropped by hand') >= 0 AS acknowledged;
SELECT version FROM migrate.revert();
SELECT migrate.unregister('59'), migrate.unregister('60'), migrate.unregister('61');
SELECT count(*) AS problems_after_59_61 FROM migrate.validate();
-- Reverting more migrations applied together than one batch (up to 256): judged once all are
-- reverted, not after the first batch (which found the second batch's tables "left behind").
SELECT count(migrate.register((1000 + i)::text, 'batch ' || i, format('CREATE TABLE app.b%s (id int)', i),
                              format('DROP TABLE app.b%s', i))) FROM generate_series(1, 300) i;
SELECT count(*) AS applied FROM migrate.apply();
SELECT count(*) AS reverted FROM migrate.revert(300);
SELECT count(*) AS details FROM migrate.history WHERE length(version) = 4 AND version BETWEEN '1001' AND '1300' AND action = 'revert' AND detail IS NOT NULL;
-- The same with the oldest one's down leaving its table: each of the 300 carries it (quiet here).
SELECT count(*) AS applied FROM migrate.apply();
SELECT migrate.repair('1001', down => 'SELECT 1') IS NOT NULL AS repaired;
SET client_min_messages = error;
SELECT count(*) AS reverted FROM migrate.revert(300);
RESET client_min_messages;
SELECT count(*) AS details, count(*) FILTER (WHERE detail::text ~ 'table app.b1"') AS naming_b1,
       count(*) FILTER (WHERE detail::text ~ 'app.b2"') AS naming_b2
  FROM migrate.history WHERE length(version) = 4 AND version BETWEEN '1001' AND '1300' AND action = 'revert' AND detail IS NOT NULL;
SELECT count(*) AS problems, bool_and(problem ~ 'table app.b1 \(added\)') AS all_name_b1,
       bool_or(problem ~ 'app.b2 ') AS any_names_b2 FROM migrate.validate();
-- DDL by hand on a migration's object between its apply and its revert (captured as drift,
-- acknowledged or not) is not blamed on the down script (attack)
SELECT count(migrate.unregister(version)) >= 0 AS cleared FROM migrate.status() WHERE state = 'pending';
CREATE TABLE app.hand (a int, y int);
SELECT migrate.acknowledge_drift('setup') IS NOT NULL AS acknowledged;
SELECT migrate.register('300', 'default', 'ALTER TABLE app.hand ALTER COLUMN y SET DEFAULT 1',
                        'ALTER TABLE app.hand ALTER COLUMN y DROP DEFAULT') IS NOT NULL AS registered;
SELECT version FROM migrate.apply('300');
ALTER TABLE app.hand ALTER COLUMN y SET NOT NULL;
SELECT migrate.acknowledge_drift('reviewed') IS NOT NULL AS acknowledged;
SELECT version FROM migrate.revert(1);
SELECT count(*) AS problems FROM migrate.validate() WHERE version = '300';
-- but a GRANT on a table after the apply does not hide a column its down script left
SELECT migrate.unregister('300');
CREATE TABLE app.granted (id int);
SELECT migrate.acknowledge_drift('setup 2') IS NOT NULL AS acknowledged;
SELECT migrate.register('301', 'adds c', 'ALTER TABLE app.granted ADD COLUMN c int', 'SELECT 1') IS NOT NULL AS registered;
SELECT version FROM migrate.apply('301');
GRANT SELECT ON app.granted TO PUBLIC;
SELECT migrate.acknowledge_drift('granted') IS NOT NULL AS acknowledged;
SELECT version FROM migrate.revert(1);
SELECT problem FROM migrate.validate() WHERE version = '301';
-- A row pg_migrate did not write (the owner's INSERT, an edited dump restored), whose up script
-- does not hash to its checksum, is refused by apply, CALL migrate.run() and plan() before
-- anything runs (validate() reports it); history stays as it was.
SELECT count(*) AS unregistered FROM migrate.unregister('301');
SELECT count(*) AS history_before FROM migrate.history \gset
INSERT INTO migrate.migrations (version, version_parts, name, up_sql, checksum)
  VALUES ('999', '{999}', 'forged', 'CREATE TABLE app.forged (id int)', 'x');
SELECT problem FROM migrate.validate() WHERE version = '999';
SELECT version, status, error FROM migrate.plan() WHERE version = '999';
SELECT version FROM migrate.apply();
CALL migrate.run();
SELECT count(*) - :history_before AS new_history_rows, to_regclass('app.forged') AS forged_table FROM migrate.history;
DROP EXTENSION pg_migrate;
DROP SCHEMA migrate;
DROP SCHEMA app CASCADE;
DROP ROLE scr_deployer;
