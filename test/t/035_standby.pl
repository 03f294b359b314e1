# Hot standby: a streaming replica of a primary that uses pg_migrate. The read functions work
# there and show what the primary applied; every changing function is refused with a clear
# error saying the server is a standby (SQLSTATE 25006), and nothing breaks.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pg_migrate');
$primary->safe_psql('postgres', q{
  SELECT migrate.register('1', 'users', 'CREATE TABLE users (id bigint PRIMARY KEY)', 'DROP TABLE users');
  SELECT migrate.register('2', 'email', 'ALTER TABLE users ADD COLUMN email text',
                          'ALTER TABLE users DROP COLUMN email');
  SELECT count(*) FROM migrate.apply('1');
});

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

# The standby sees what the primary applied, and what it applies next.
is($standby->safe_psql('postgres', 'SELECT migrate.current_version()'), '1', 'current_version on the standby');
$primary->safe_psql('postgres', q{SELECT count(*) FROM migrate.apply()});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT migrate.current_version()'), '2',
   'the standby sees the primary\'s later apply');
is($standby->safe_psql('postgres', q{SELECT string_agg(version || ':' || state, ',' ORDER BY version) FROM migrate.status()}),
   '1:applied,2:applied', 'status() on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM migrate.validate()'), '0', 'validate() on the standby');
is($standby->safe_psql('postgres', q{SELECT count(*) FROM information_schema.columns WHERE table_name = 'users'}),
   '2', 'the standby has the migrated schema');
is($standby->safe_psql('postgres', 'SELECT unacknowledged FROM migrate.drift_status()'), '0',
   'drift_status() on the standby');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM migrate.schema_diff()'), '0',
   'schema_diff() on the standby: no drift');

# Changing functions: refused at once with a clear error.
for my $call ("migrate.apply()", "migrate.revert()", "migrate.revert_to('1')",
              "migrate.register('3', 'x', 'SELECT 1')", "migrate.unregister('2')",
              "migrate.baseline('9')", "migrate.repair('2', name => 'y')",
              "migrate.acknowledge_drift('x')", "migrate.verify()", "migrate.plan()")
{
  my ($ret, $out, $err) = $standby->psql('postgres', "\\set VERBOSITY verbose\nSELECT * FROM $call");
  (my $fn = $call) =~ s/\(.*//;
  isnt($ret, 0, "$fn fails on the standby");
  like($err, qr/ERROR:  25006: \Q$fn\E\(\) cannot run on a standby server/, "$fn: error says the server is a standby");
  like($err, qr/Run it on the primary/, "$fn: hint says where to run it");
}

# A non-transactional run the primary is running: the standby cannot see the primary's session,
# and takes a run without an error as running (it said interrupted, and validate() flagged it).
$primary->safe_psql('postgres', q{SELECT migrate.register('2.5', 'slow', E'-- pg_migrate:no-transaction\nSELECT pg_sleep(600);\nCREATE TABLE after_sleep (id int);')});
my $run = $primary->background_psql('postgres', on_error_stop => 0);
$run->query_until(qr/started/, "\\echo started\nCALL migrate.run();\n");
$primary->poll_query_until('postgres', q{SELECT EXISTS (SELECT FROM pg_stat_activity WHERE wait_event = 'PgSleep')})
  or die 'the run did not start';
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', q{SELECT state FROM migrate.status() WHERE version = '2.5'}), 'running',
   'the standby shows the primary\'s run as running');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM migrate.validate()'), '0', 'validate() on the standby: no problem');
is($standby->safe_psql('postgres', q{SELECT phase FROM migrate.progress}), 'running statement', 'progress on the standby');
$primary->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'});
$run->quit;
$primary->wait_for_catchup($standby);
is($primary->safe_psql('postgres', q{SELECT state FROM migrate.status() WHERE version = '2.5'}), 'interrupted',
   'canceled: interrupted on the primary');
$primary->safe_psql('postgres', q{SELECT migrate.run_forget('2.5'); SELECT migrate.unregister('2.5')});
$primary->wait_for_catchup($standby);

# Nothing changed, and the primary still works.
$primary->safe_psql('postgres', q{SELECT count(*) FROM migrate.revert()});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT migrate.current_version()'), '1', 'the standby follows a revert');

done_testing();
