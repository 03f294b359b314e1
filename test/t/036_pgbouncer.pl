# Transaction pooling: register, apply and revert through a real pgbouncer in transaction
# mode (each transaction may run on another server backend), including two appliers at once
# through the pooler: every migration is applied exactly once.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my ($pgbouncer) = grep { -x $_ } ('/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer');
plan skip_all => 'pgbouncer is not installed (Debian package pgbouncer; test/setup.sh installs it)'
  unless $pgbouncer;

my $node = PostgreSQL::Test::Cluster->new('pooled');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_migrate');

# pgbouncer: transaction pooling, at most 3 server connections, on 127.0.0.1.
my $dir = PostgreSQL::Test::Utils::tempdir;
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $host = $node->host;
my $pgport = $node->port;
open(my $fh, '>', "$dir/users.txt") or die;
print $fh qq{"postgres" ""\n};
close $fh;
open($fh, '>', "$dir/pgbouncer.ini") or die;
print $fh <<"INI";
[databases]
postgres = host=$host port=$pgport dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = 3
max_client_conn = 20
server_reset_query =
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
close $fh;
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ], '>', "$dir/stdout", '2>', "$dir/stderr");
my $pooled = "host=127.0.0.1 port=$port dbname=postgres user=postgres";
my $up = 0;
for (1 .. 100) {
  my ($ret) = $node->psql('postgres', 'SELECT 1', connstr => $pooled);
  if ($ret == 0) { $up = 1; last; }
  select(undef, undef, undef, 0.1);
}
ok($up, 'pgbouncer accepts connections') or diag(slurp_file("$dir/pgbouncer.log"));

sub pooled_sql {
  my ($sql) = @_;
  my ($ret, $out, $err) = $node->psql('postgres', $sql, connstr => $pooled);
  is($ret, 0, "through the pooler: $sql") or diag($err);
  return $out;
}

# Several server backends serve this client's transactions.
pooled_sql(q{SELECT migrate.register('1', 'one', 'CREATE TABLE pool_one (id bigint)', 'DROP TABLE pool_one')});
pooled_sql(q{SELECT migrate.register('2', 'two', 'CREATE TABLE pool_two (id bigint)', 'DROP TABLE pool_two')});
is(pooled_sql(q{SELECT string_agg(version, ',' ORDER BY version) FROM migrate.apply()}), '1,2', 'apply through the pooler');
is(pooled_sql(q{SELECT string_agg(version, ',') FROM migrate.revert()}), '2', 'revert through the pooler');
is(pooled_sql(q{SELECT string_agg(version, ',') FROM migrate.revert_to('0')}), '1', 'revert_to through the pooler');
is(pooled_sql(q{SELECT migrate.register('1', 'one', 'CREATE TABLE pool_one (id bigint)', 'DROP TABLE pool_one')}),
   'unchanged', 'register again through the pooler');
# Settings for one call: SET LOCAL in the call's transaction (a session SET may land on
# another backend than the next transaction).
is(pooled_sql(qq{BEGIN;\nSET LOCAL pg_migrate.lock_timeout = '3s';\nSELECT count(*) FROM migrate.apply('1');\nCOMMIT;}),
   '1', 'apply with SET LOCAL in one transaction through the pooler');
pooled_sql(q{SELECT count(*) FROM migrate.revert()});

# Two concurrent appliers through the pooler. Migration 10 sleeps, so the second applier
# queues on pg_migrate's lock (transaction-scoped, released at commit) and then finds nothing
# left to apply.
pooled_sql(q{SELECT migrate.register('10', 'slow', 'SELECT pg_sleep(1); CREATE TABLE pool_slow (id bigint)')});
pooled_sql(q{SELECT count(migrate.register((10 + i)::text, 'm' || i, format('CREATE TABLE pool_m%s (id bigint)', i)))
              FROM generate_series(1, 20) i});
my $mark = $node->safe_psql('postgres', 'SELECT max(id) FROM migrate.history');
my $pending = $node->safe_psql('postgres', q{SELECT count(*) FROM migrate.status() WHERE state = 'pending'});
is($pending, '23', '23 pending migrations before the concurrent appliers');
my $psql = $node->installed_command('psql');
my @appliers;
for my $n (1 .. 2) {
  my ($out, $err) = ('', '');
  my $h = IPC::Run::start([ $psql, '-XAtq', '-d', $pooled, '-c', 'SELECT count(*) FROM migrate.apply()' ],
                          '>', \$out, '2>', \$err);
  push @appliers, [ $h, \$out, \$err ];
}
my @counts;
for my $a (@appliers) {
  ok($a->[0]->finish, 'concurrent applier finished without error') or diag(${ $a->[2] });
  chomp(my $c = ${ $a->[1] });
  push @counts, $c;
}
is(join(',', sort { $a <=> $b } @counts), "0,$pending", 'one applier applied every pending migration, the other none');
is($node->safe_psql('postgres', qq{SELECT count(*), count(DISTINCT version) FROM migrate.history WHERE action = 'apply' AND id > $mark}),
   "$pending|$pending", 'each migration was applied exactly once');
is($node->safe_psql('postgres', 'SELECT count(*) FROM migrate.validate()'), '0', 'the catalog validates');

# Ctrl-C of the command through the pooler: the statement is canceled, the command exits 130,
# and the pooler lives on (Debian 12's pgbouncer 1.18 exited when the command closed its cancel
# request's socket before the pooler had answered it).
my $cli = $node->installed_command('pg_migrate');
my $mdir = "$dir/migrations";
mkdir $mdir;
open($fh, '>', "$mdir/20260101000000_slow.sql") or die;
print $fh "-- migrate:up\nCREATE TABLE pool_slowt (a int);\nSELECT pg_sleep(20);\n-- migrate:down\nDROP TABLE pool_slowt;\n";
close $fh;
my ($cout, $cerr) = ('', '');
my $cmd = IPC::Run::start([ $cli, '-d', $pooled, '--dir', $mdir, 'apply' ], '>', \$cout, '2>', \$cerr);
$node->poll_query_until('postgres', q{SELECT EXISTS (SELECT FROM pg_stat_activity WHERE wait_event = 'PgSleep')})
  or die "the slow migration did not start: $cout$cerr";
$cmd->signal('INT');
$cmd->finish;
is($cmd->result(0), 130, 'the command interrupted through the pooler exits 130') or diag($cout . $cerr);
my $alive = 0;
for (1 .. 20) {
  my ($ret) = $node->psql('postgres', 'SELECT 1', connstr => $pooled);
  if ($ret == 0) { $alive = 1; last; }
  select(undef, undef, undef, 0.1);
}
ok($alive, 'the pooler still serves clients after the interrupted command') or diag(slurp_file("$dir/pgbouncer.log"));

$bouncer->kill_kill;
done_testing();
