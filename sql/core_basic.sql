-- Register, apply, status and revert: the README walkthrough.
CREATE EXTENSION pg_migrate;
SELECT migrate.register('1', 'create users', 'CREATE TABLE users (id bigint PRIMARY KEY);', 'DROP TABLE users;');
SELECT migrate.register('2', 'add email',    'ALTER TABLE users ADD COLUMN email text;', 'ALTER TABLE users DROP COLUMN email;');
SELECT version, name, duration_ms >= 0 AS timed FROM migrate.apply();
SELECT version, name, state, applied_at IS NOT NULL AS has_time, applied_by FROM migrate.status();
\d users
SELECT version, name FROM migrate.revert();
SELECT version, state FROM migrate.status();
SELECT attname FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 ORDER BY attnum;
SELECT version, action, role, transaction_id IS NOT NULL AS has_xid, duration_ms >= 0 AS timed,
       checksum = migrate.checksum(CASE version WHEN '1' THEN 'CREATE TABLE users (id bigint PRIMARY KEY);'
                                               ELSE 'ALTER TABLE users ADD COLUMN email text;' END) AS checksum_ok
  FROM migrate.history ORDER BY id;
SELECT migrate.current_version();
SELECT * FROM migrate.validate();
DROP EXTENSION pg_migrate;
DROP TABLE users;
