-- Versions: dot-separated unsigned integers, compared part by part numerically.
CREATE EXTENSION pg_migrate;
-- Invalid versions: SQLSTATE 22023, the message names the value, nothing is written.
\set VERBOSITY default
SELECT migrate.register('', 'x', 'SELECT 1');
SELECT migrate.register('abc', 'x', 'SELECT 1');
SELECT migrate.register('1..2', 'x', 'SELECT 1');
SELECT migrate.register('-1', 'x', 'SELECT 1');
SELECT migrate.register('1.', 'x', 'SELECT 1');
SELECT migrate.register(' 1', 'x', 'SELECT 1');
SELECT migrate.register(NULL, 'x', 'SELECT 1');
SELECT migrate.register('1', NULL, 'SELECT 1');
SELECT migrate.register('1', 'x', NULL);
SELECT migrate.register('1', '  ', 'SELECT 1');
SELECT count(*) AS nothing_written FROM migrate.migrations;
-- The SQLSTATE is invalid_parameter_value.
DO $$ BEGIN PERFORM migrate.register('1..2', 'x', 'SELECT 1');
EXCEPTION WHEN invalid_parameter_value THEN RAISE NOTICE 'caught 22023: %', SQLERRM; END $$;
-- Numeric ordering: 1.10 after 1.9, 10 after 2; canonical spellings.
SELECT migrate.canonical_version(v) FROM unnest(ARRAY['01', '1.0', '01.010', '20261120093000', '1.0.3']) v;
-- A version longer than register accepts is not canonical either (the 255-character limit).
SELECT migrate.canonical_version(repeat('0.', 200) || '1');
SELECT migrate.canonical_version(repeat('1', 256));
SELECT migrate.register('1.10', 'ten', 'CREATE TABLE v_order (step text)');
SELECT migrate.register('1.9', 'nine', 'SELECT 1');
SELECT migrate.register('2', 'two', 'INSERT INTO v_order VALUES (''2'')');
SELECT migrate.register('10', 'ten major', 'INSERT INTO v_order VALUES (''10'')');
SELECT migrate.register('1.2.3', 'patch', 'SELECT 1');
SELECT version, state FROM migrate.status();
-- Two spellings that compare equal are the same version.
SELECT migrate.register('01.10.0', 'ten', 'CREATE TABLE v_order (step text)');
SELECT migrate.register('2.0', 'two again', 'SELECT 2');
SELECT version, name FROM migrate.status() WHERE version = '2';
SELECT migrate.register('2.0', 'two', 'INSERT INTO v_order VALUES (''2'')');
SELECT version, name FROM migrate.apply();
SELECT step FROM v_order;
SELECT migrate.current_version();
-- Invalid targets.
SELECT * FROM migrate.apply('x');
SELECT * FROM migrate.revert_to(NULL);
SELECT * FROM migrate.revert_to('1.a');
-- At most 255 characters in canonical form (the primary key: a longer one failed on the index
-- row size); leading zeros do not count. Names are one line: no control characters.
SELECT migrate.register(repeat('9', 256), 'long', 'SELECT 1');
SELECT migrate.register(repeat('0', 300) || repeat('9', 255), 'long enough', 'SELECT 1');
SELECT migrate.register('70', E'a\nb', 'SELECT 1');
SELECT migrate.register('70', E'red \x1b[31mRED', 'SELECT 1');
-- ...nor C1 controls (NEL, the 8-bit CSI) or Unicode line breaks; other characters are fine.
SELECT migrate.register('70', E'a\u0085b', 'SELECT 1');
SELECT migrate.register('70', E'a\u009b31mb', 'SELECT 1');
SELECT migrate.register('70', E'a\u2028b', 'SELECT 1');
SELECT migrate.baseline('70', E'a\u2029b');
SELECT migrate.baseline('70', E'tab\there');
SELECT migrate.repair('2', name => E'two\r');
SELECT count(*) FROM migrate.sync('[{"file": "V71__x.sql", "version": "71", "name": "a\u001bb", "up": "SELECT 1"}]');
SELECT count(*) AS registered FROM migrate.migrations WHERE version IN ('70', '71');
DROP EXTENSION pg_migrate;
DROP TABLE v_order;
