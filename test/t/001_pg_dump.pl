# pg_dump keeps pg_migrate's catalog rows: a restored copy knows exactly what was applied,
# and goes on migrating from there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
  CREATE EXTENSION pg_migrate;
  SELECT migrate.register('1', 'create users', 'CREATE TABLE users (id bigint PRIMARY KEY)', 'DROP TABLE users');
  SELECT migrate.register('2', 'add email', 'ALTER TABLE users ADD COLUMN email text', 'ALTER TABLE users DROP COLUMN email');
  SELECT migrate.register('3', 'pending', 'CREATE TABLE later (id int)', 'DROP TABLE later');
  SELECT count(*) FROM migrate.apply('2');
  -- Applied, reverted and unregistered: its scripts stay in migrate.scripts.
  SELECT migrate.register('2.5', 'gone', 'CREATE TABLE t25 (id int)', 'DROP TABLE t25');
  SELECT count(*) FROM migrate.apply('2.5');
  SELECT count(*) FROM migrate.revert();
  SELECT migrate.unregister('2.5');
  CREATE TABLE manual_change (id int);
});

my $status_sql = q{SELECT string_agg(version || ':' || state || ':' || checksum, ',' ORDER BY version) FROM migrate.status()};
my $history_sql = q{SELECT string_agg(id || ':' || version || ':' || action || ':' || transaction_id, ',' ORDER BY id) FROM migrate.history};
my $status = $node->safe_psql('postgres', $status_sql);
my $history = $node->safe_psql('postgres', $history_sql);

my $dump = $node->basedir . '/dump.sql';
$node->command_ok([ 'pg_dump', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump succeeds');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
# A plain restore, no special settings: drift capture recognises the dump script.
$node->command_ok([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-d', $node->connstr('restored'), '-f', $dump ],
  'restore succeeds');
# pg_restore of a custom-format archive too.
my $archive = $node->basedir . '/dump.custom';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $archive ], 'pg_dump -Fc succeeds');
$node->safe_psql('postgres', 'CREATE DATABASE restored_custom');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored_custom'), $archive ],
  'pg_restore succeeds');
is($node->safe_psql('restored_custom', $status_sql), $status, 'pg_restore copy has the same migration states');

is($node->safe_psql('restored', $status_sql), $status, 'restored copy has the same migration states and checksums');
is($node->safe_psql('restored', $history_sql), $history, 'restored copy has the same history');
is($node->safe_psql('restored', 'SELECT migrate.current_version()'), '2', 'restored copy is at version 2');
my $scripts_sql = q{SELECT string_agg(checksum || ':' || md5(script) || ':' || first_seen, ',' ORDER BY checksum) FROM migrate.scripts};
is($node->safe_psql('restored', $scripts_sql), $node->safe_psql('postgres', $scripts_sql),
   'restored copy keeps every script that ran');
is($node->safe_psql('restored', q{SELECT string_agg(h.action || ':' || s.script, ' | ' ORDER BY h.id)
  FROM migrate.history h JOIN migrate.scripts s ON s.checksum = h.script_checksum WHERE h.version = '2.5'}),
   'apply:CREATE TABLE t25 (id int) | revert:DROP TABLE t25',
   'the scripts of an unregistered migration are readable from its history in the restored copy');
is($node->safe_psql('restored', q{SELECT count(*) FROM migrate.history h WHERE h.action IN ('apply', 'revert')
  AND NOT EXISTS (SELECT FROM migrate.scripts s WHERE s.checksum = h.script_checksum)}), '0',
   'every apply and revert in history leads to its script');
is($node->safe_psql('restored', 'SELECT count(*) FROM migrate.validate()'), '0', 'restored catalog validates');
is($node->safe_psql('restored', 'SELECT count(*) FROM migrate.drift'),
   $node->safe_psql('postgres', 'SELECT count(*) FROM migrate.drift'), 'the restore itself is not recorded as drift');
my $diff_sql = q{SELECT string_agg(object || ' ' || change, ', ' ORDER BY object) FROM migrate.schema_diff()};
is($node->safe_psql('restored', $diff_sql), 'column public.manual_change.id added, table public.manual_change added',
   'restored copy reports the same unreviewed schema change as the source');
is($node->safe_psql('postgres', $diff_sql), 'column public.manual_change.id added, table public.manual_change added', 'source reports it too');

# The restored copy goes on: it applies the pending migration and reverts with fresh history ids.
is($node->safe_psql('restored', 'SELECT string_agg(version, \',\') FROM migrate.apply()'), '3', 'restored copy applies only the pending migration');
my $ids = $node->safe_psql('restored', q{SELECT count(DISTINCT id) = count(*) FROM migrate.history});
is($ids, 't', 'history ids stay unique after restore');
is($node->safe_psql('restored', 'SELECT string_agg(version, \',\') FROM migrate.revert(2)'), '3,2', 'restored copy reverts in application order');

# The copy's own install snapshot, taken before the restored tables exist, gives way to the
# source's (dumped since 0.9.0): the revert check of the first migration, whose snapshot before
# it was the install one, compares with the source's (the copy's own reported the restored
# tables as the migration's leftovers).
$node->safe_psql('postgres', 'CREATE DATABASE first_src');
$node->safe_psql('first_src', q{
  CREATE TABLE pre (id int);
  CREATE EXTENSION pg_migrate;
  SELECT migrate.register('1', 'm1', 'COMMENT ON TABLE pre IS $$v1$$; CREATE TABLE n (id int)',
                          'COMMENT ON TABLE pre IS NULL; DROP TABLE n');
  SELECT count(*) FROM migrate.apply();
});
my $first_dump = $node->basedir . '/first.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('first_src'), '-f', $first_dump ], 'pg_dump of the first database');
$node->safe_psql('postgres', 'CREATE DATABASE first_copy');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('first_copy'), $first_dump ], 'restored');
my ($ret, $out, $err) = $node->psql('first_copy', 'SELECT version FROM migrate.revert()');
is($out, '1', 'the copy reverts the first migration');
unlike($err, qr/WARNING/, 'without false leftovers');
is($node->safe_psql('first_copy', 'SELECT count(*) FROM migrate.validate()'), '0', 'and it validates');
($ret, $out, $err) = $node->psql('first_src', 'SELECT version FROM migrate.revert()');
unlike($err, qr/WARNING/, 'as in the source');

# A source whose only snapshot is its install one (nothing applied since CREATE EXTENSION, which
# found a table): its copy compares with that snapshot, not with one of its own taken before
# the restore created the table (every object was a schema difference), in both dump formats.
$node->safe_psql('postgres', 'CREATE DATABASE install_only');
$node->safe_psql('install_only', q{CREATE TABLE app_t (id int); CREATE EXTENSION pg_migrate;});
is($node->safe_psql('install_only', 'SELECT count(*) FROM migrate.schema_diff()'), '0', 'install-only source: no difference');
my $install_dump = $node->basedir . '/install_only.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('install_only'), '-f', $install_dump ], 'pg_dump of it');
$node->safe_psql('postgres', 'CREATE DATABASE install_only_copy');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('install_only_copy'), $install_dump ],
  'pg_restore of it');
is($node->safe_psql('install_only_copy', 'SELECT count(*) FROM migrate.schema_diff()'), '0',
   'its copy: no difference either');
is($node->safe_psql('install_only_copy', q{SELECT string_agg(id || ' ' || reason, ', ') FROM migrate.schema_snapshots}),
   $node->safe_psql('install_only', q{SELECT string_agg(id || ' ' || reason, ', ') FROM migrate.schema_snapshots}),
   "the copy's snapshot is the source's");
my $plain = $node->basedir . '/install_only.sql';
$node->command_ok([ 'pg_dump', '-d', $node->connstr('install_only'), '-f', $plain ], 'plain pg_dump of it');
$node->safe_psql('postgres', 'CREATE DATABASE install_only_plain');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('install_only_plain'), '-f', $plain ],
  'restored through psql');
is($node->safe_psql('install_only_plain', 'SELECT count(*) FROM migrate.schema_diff()'), '0', 'that copy: no difference');

$node->stop;
done_testing();
