# Drift capture and dump restores (issue 7): a restore is quiet only in a session that could
# switch capture off itself; a plain role restoring a dump (pg_restore, psql -f) gets one drift
# row per session, and schema_diff() still lists every object.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('restore');
$node->init;
$node->start;

# The source: an application schema owned by a plain role, dumped without pg_migrate.
$node->safe_psql('postgres', q{
  CREATE ROLE app LOGIN;
  CREATE DATABASE source OWNER app;
  CREATE DATABASE target OWNER app;
});
$node->safe_psql('source', q{
  SET ROLE app;
  CREATE SCHEMA shop;
  CREATE TABLE shop.customers (id bigint PRIMARY KEY, email text NOT NULL);
  CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES shop.customers);
  CREATE INDEX orders_customer ON shop.orders (customer_id);
  CREATE FUNCTION shop.total() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM shop.orders';
  CREATE VIEW shop.recent AS SELECT * FROM shop.orders;
});
$node->safe_psql('target', 'CREATE EXTENSION pg_migrate; GRANT CREATE ON DATABASE target TO app;');

my $archive = $node->basedir . '/shop.custom';
$node->command_ok([ 'pg_dump', '-Fc', '-n', 'shop', '-d', $node->connstr('source'), '-f', $archive ],
  'pg_dump of the application schema');

# pg_restore as the plain role: restore-mode DDL, recorded as one row for the session.
$node->command_ok([ 'pg_restore', '--exit-on-error', '-U', 'app', '-d', $node->connstr('target'), $archive ],
  'pg_restore as a plain role');
my $rows = $node->safe_psql('target',
  q{SELECT count(*) || ':' || string_agg(command_tag, ',') || ':' || bool_and(detail LIKE '%restore-mode DDL%')
      FROM migrate.drift WHERE acknowledgement_id IS NULL});
is($rows, '1:CREATE SCHEMA:true', 'a plain role restoring gets one drift row for the restore');
my $diff = $node->safe_psql('target',
  q{SELECT string_agg(object, ', ' ORDER BY object) FROM migrate.schema_diff() WHERE change = 'added' AND object NOT LIKE 'column %'});
like($diff, qr/function shop\.total\(\).*index shop\.orders_customer.*table shop\.customers.*view shop\.recent/,
  'schema_diff() lists every restored object');

# The same restore by a superuser is quiet.
$node->safe_psql('target', q{SELECT migrate.acknowledge_drift('plain role restore reviewed'); DROP SCHEMA shop CASCADE;
                             SELECT migrate.acknowledge_drift('dropped again')});
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('target'), $archive ],
  'pg_restore as a superuser');
is($node->safe_psql('target', 'SELECT count(*) FROM migrate.drift WHERE acknowledgement_id IS NULL'), '0',
  'a superuser restoring records nothing (it could switch capture off)');

# A plain SQL dump replayed by the plain role with psql: one row again.
$node->safe_psql('target', q{DROP SCHEMA shop CASCADE; SELECT migrate.acknowledge_drift('dropped')});
my $plain = $node->basedir . '/shop.sql';
$node->command_ok([ 'pg_dump', '-n', 'shop', '-d', $node->connstr('source'), '-f', $plain ], 'plain pg_dump');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-U', 'app', '-d', $node->connstr('target'), '-f', $plain ],
  'psql -f of the dump as a plain role');
is($node->safe_psql('target', 'SELECT count(*) FROM migrate.drift WHERE acknowledgement_id IS NULL'), '1',
  'one drift row for the psql restore');

# A whole database dumped with its drift log and restored by the plain role into a database
# that has pg_migrate: the restore-mode row (written at the restore's first DDL, before the
# data is copied) takes no id the restored drift log has.
$node->safe_psql('postgres', 'CREATE DATABASE s9 OWNER app; CREATE DATABASE t9 OWNER app;');
$node->safe_psql('s9', 'CREATE EXTENSION pg_migrate');
$node->safe_psql('s9', 'SET ROLE app; CREATE TABLE hotfix (a int)');
my $whole = $node->basedir . '/s9.custom';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('s9'), '-f', $whole ], 'pg_dump of a database with pg_migrate');
$node->safe_psql('t9', q{CREATE EXTENSION pg_migrate; GRANT USAGE ON SCHEMA migrate TO app;
  GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA migrate TO app; GRANT ALL ON ALL SEQUENCES IN SCHEMA migrate TO app;});
my ($rout, $rerr) = ('', '');
IPC::Run::run([ 'pg_restore', '-U', 'app', '--no-owner', '--no-acl', '-d', $node->connstr('t9'), $whole ],
              '>', \$rout, '2>', \$rerr);
unlike($rerr, qr/duplicate key/, 'the restored drift log does not collide with the restore-mode row') or diag($rerr);
is($node->safe_psql('t9', q{SELECT count(*) FILTER (WHERE id < 0) || ' ' || bool_and(detail LIKE '%restore-mode DDL%') FILTER (WHERE id < 0)
                            FROM migrate.drift}),
   '1 true', 'the restore-mode row has a negative id') or diag($rerr);

$node->stop;
done_testing();
