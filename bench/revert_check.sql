\set QUIET on
DROP DATABASE IF EXISTS revbench;
CREATE DATABASE revbench;
\c revbench
SELECT format('CREATE TABLE t%s (%s)', i, string_agg(format('c%s int', j), ', ')) FROM generate_series(1,2000) i, generate_series(1,10) j GROUP BY i \gexec
CREATE EXTENSION pg_migrate;
SELECT migrate.register('1', 'x', 'CREATE TABLE bx (id int)', 'DROP TABLE bx');
\timing on
SELECT count(*) FROM migrate.apply();
SELECT count(*) FROM migrate.revert();
SELECT count(*) FROM migrate.apply();
SELECT count(*) FROM migrate.revert();
SELECT count(*) FROM migrate.apply();
SELECT count(*) FROM migrate.revert();
\timing off
\c postgres
DROP DATABASE revbench;
