-- Error texts are never cut inside a character (nor cut at all): a migration with a long
-- multibyte name gets its full error, also for a LATIN1 client.
CREATE EXTENSION pg_migrate;
SELECT migrate.register('1', 'a' || repeat('é', 5000), 'CREATE TABLE msg_t (id int)');
SELECT version = '1' AS applied FROM migrate.apply();
-- revert(): the migration has no down script; the message names it in full.
DO $$
DECLARE m text; s text;
BEGIN
  PERFORM migrate.revert();
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, s = RETURNED_SQLSTATE;
  RAISE NOTICE 'sqlstate %, % characters, % bytes, full name: %, ends with: %', s, length(m),
    octet_length(m), strpos(m, 'a' || repeat('é', 5000) || '"') > 0, right(m, 25);
END $$;
-- A LATIN1 client gets the real error (55000), not 22021 "invalid byte sequence".
SET client_encoding = 'LATIN1';
\set VERBOSITY sqlstate
SELECT * FROM migrate.revert();
SELECT * FROM migrate.revert_to('0');
\set VERBOSITY default
RESET client_encoding;
-- A failing statement of such a migration (a PostgreSQL error, prefixed by the migration).
SELECT migrate.register('2', 'b' || repeat('é', 5000), 'SELECT 1/0');
DO $$
DECLARE m text; s text;
BEGIN
  PERFORM migrate.apply();
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, s = RETURNED_SQLSTATE;
  RAISE NOTICE 'sqlstate %, % characters, ends with: %', s, length(m), right(m, 40);
END $$;
SELECT migrate.unregister('2');
DROP EXTENSION pg_migrate;
DROP SCHEMA migrate;
DROP TABLE msg_t;
