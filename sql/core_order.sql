-- Order, revert and baseline.
CREATE EXTENSION pg_migrate;
SELECT migrate.register('1', 'one', 'CREATE TABLE ord_one ()', 'DROP TABLE ord_one');
SELECT migrate.register('3', 'three', 'CREATE TABLE ord_three ()', 'DROP TABLE ord_three');
SELECT version FROM migrate.apply();
-- A pending migration older than the newest applied one is refused...
SELECT migrate.register('2', 'two', 'CREATE TABLE ord_two ()', 'DROP TABLE ord_two');
SELECT version, state FROM migrate.status();
SELECT * FROM migrate.validate();
SELECT * FROM migrate.apply();
SELECT to_regclass('ord_two') AS not_created;
-- ...unless out-of-order application is allowed explicitly.
SET pg_migrate.out_of_order = on;
SELECT * FROM migrate.validate();
SELECT version FROM migrate.apply();
RESET pg_migrate.out_of_order;
-- revert undoes the most recently applied first (application order).
SELECT version FROM migrate.revert();
SELECT version, state FROM migrate.status();
SELECT version FROM migrate.revert(0);
SELECT version FROM migrate.revert(-1);
SELECT version FROM migrate.revert(NULL);
SELECT version FROM migrate.revert(3);
SELECT migrate.unregister('2');
-- A migration without a down script cannot be reverted; nothing is reverted.
SELECT migrate.register('4', 'four', 'CREATE TABLE ord_four ()');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert(2);
SELECT version FROM migrate.revert_to('1');
SELECT version, state FROM migrate.status();
SELECT to_regclass('ord_three') IS NOT NULL AS three_still_there;
-- revert_to a version that is not registered is an error (like apply('10')).
SELECT version FROM migrate.revert_to('10');
SELECT version FROM migrate.revert_to('3');
DROP EXTENSION pg_migrate;
DROP TABLE ord_one, ord_three, ord_four;
-- Baseline: adopt an existing database at a version.
CREATE EXTENSION pg_migrate;
CREATE TABLE legacy (id int);
SELECT migrate.register('1', 'old', 'CREATE TABLE legacy (id int)');
SELECT migrate.baseline(NULL);
SELECT migrate.baseline('5', NULL);
SELECT migrate.baseline('5', '  ');
SELECT migrate.baseline('05.0', 'adopted');
SELECT migrate.baseline('6');
SELECT migrate.register('6', 'after', 'ALTER TABLE legacy ADD COLUMN note text', 'ALTER TABLE legacy DROP COLUMN note');
SELECT version, name, state, checksum IS NULL AS no_checksum FROM migrate.status();
SELECT * FROM migrate.validate();
SELECT migrate.current_version();
SELECT version FROM migrate.apply();
SELECT migrate.current_version();
SELECT version, action FROM migrate.history ORDER BY id;
-- Revert never goes below the baseline.
SELECT version FROM migrate.revert_to('0');
SELECT version FROM migrate.revert();
SELECT migrate.current_version();
DROP EXTENSION pg_migrate;
DROP TABLE legacy;
-- Baseline is refused once something is applied.
CREATE EXTENSION pg_migrate;
SELECT migrate.register('1', 'one', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.baseline('5');
SELECT count(*) FROM migrate.baseline;
DROP EXTENSION pg_migrate;
