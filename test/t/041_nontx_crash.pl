# Non-transactional migrations survive crashes: kill -9 of the backend running batches, kill -9
# of the worker building an index, an immediate shutdown mid-migration. Each time the state is
# exact and the next CALL migrate.run() resumes at the first unfinished statement or batch:
# nothing runs twice, nothing is skipped, no INVALID index is left behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes ();
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgMigrateCli;

my $node = PostgreSQL::Test::Cluster->new('nontx_crash');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\nlog_min_messages = warning");
$node->start;
my $db = 'postgres';
sub sql { return $node->safe_psql($db, $_[0]); }
sub state_of { return sql(qq{SELECT state FROM migrate.status() WHERE version = '$_[0]'}); }
sub invalid_indexes {
  return sql(q{SELECT coalesce(string_agg(indexrelid::regclass::text, ',' ORDER BY 1), '') FROM pg_index WHERE NOT indisvalid});
}
sub start_run {
  my $bg = $node->background_psql($db, on_error_stop => 0);
  $bg->query_until(qr/started/, "\\echo started\nCALL migrate.run();\n");
  return $bg;
}
sub wait_for {
  my ($cond, $what) = @_;
  $node->poll_query_until($db, $cond) or die "timed out waiting for $what";
}
sub wait_up { wait_for('SELECT true', 'the server to accept connections again'); }

sql(q{
  CREATE EXTENSION pg_migrate;
  CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, c int, n int NOT NULL DEFAULT 0);
  INSERT INTO t SELECT g, g % 100, NULL, 0 FROM generate_series(1, 20000) g;
  CREATE TABLE log (step int);
});

# --- kill -9 of the backend doing batches
sql(q{SELECT migrate.register('1', 'backfill', E'-- pg_migrate:no-transaction\nINSERT INTO log VALUES (1);\n-- pg_migrate:batch 1000 pause 100ms\nUPDATE t SET c = a, n = n + 1 WHERE c IS NULL;\nINSERT INTO log VALUES (2);')});
my $run = start_run();
wait_for(q{SELECT EXISTS (SELECT FROM migrate.progress WHERE work_done >= 5000)}, 'batches');
my $pid = sql(q{SELECT pid FROM migrate.runs WHERE version = '1'});
kill 'KILL', $pid;
eval { $run->quit };
wait_up();
is(state_of('1'), 'interrupted', 'after kill -9 the migration is interrupted, not applied');
my ($done, $changed) = split /\|/, sql(q{SELECT (SELECT rows_done FROM migrate.runs WHERE version = '1'), count(*) FROM t WHERE c IS NOT NULL});
cmp_ok($done, '>=', 5000, 'finished batches were recorded');
is($done, $changed, 'the recorded row count equals the rows changed: each batch committed with its record');
like(sql(q{SELECT version || ': ' || problem FROM migrate.validate()}),
     qr/^1: unfinished apply run: 1 of 3 statements done, interrupted at line 4; CALL migrate\.run\(\) finishes it$/,
     'validate() reports the migration stopped part way');
# The batches of the first call took at least their pauses (100 ms after each but the last).
my $batches_before = sql(q{SELECT batches FROM migrate.runs WHERE version = '1'});
my $ms_before = sql(q{SELECT unit_ms FROM migrate.runs WHERE version = '1'});
cmp_ok($ms_before, '>=', ($batches_before - 1) * 100, "the batches' time so far is recorded with them");
my $call_started = [ Time::HiRes::gettimeofday() ];
my ($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
my $call_ms = 1000 * Time::HiRes::tv_interval($call_started);
like($err, qr/resuming its up script at statement 2 of 3/, 'the next run resumes at the batched statement');
is(state_of('1'), 'applied', 'applied after the resume');
is(sql(q{SELECT count(*) FROM migrate.validate()}), '0', 'and validate() is clean again');
# The duration is the first call's batches (at least 400 ms of pauses) and the second call's
# statement, which is the whole call less its start and end (psql's start, the resume, the last
# INSERT, the snapshot: allowed 300 ms). Without the first call's time it falls short. (The
# number of batches each call needs is not predictable: their ranges follow the rows' density.)
cmp_ok(sql(q{SELECT duration_ms FROM migrate.history WHERE version = '1' AND action = 'apply'}), '>=',
       $ms_before + $call_ms - 300, "the recorded duration counts both calls' batches");
is(sql(q{SELECT count(*) FILTER (WHERE c IS NULL) || ' ' || min(n) || ' ' || max(n) FROM t}), '0 1 1',
   'every row changed exactly once across the crash');
is(sql(q{SELECT string_agg(step::text, ',' ORDER BY step) FROM log}), '1,2', 'every statement ran once');

# --- kill -9 of the worker building an index
sql(q{SELECT migrate.register('2', 'index', E'-- pg_migrate:no-transaction\nINSERT INTO log VALUES (3);\nCREATE INDEX CONCURRENTLY t_c ON t (c);\nINSERT INTO log VALUES (4);')});
my $h = $node->background_psql($db);
$h->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM log;');
$run = start_run();
# The build has committed its (still INVALID) catalog entry and is waiting for old snapshots.
wait_for(q{SELECT EXISTS (SELECT FROM migrate.progress WHERE phase LIKE 'CREATE INDEX CONCURRENTLY: %')
           AND EXISTS (SELECT FROM pg_index WHERE NOT indisvalid)}, 'the build');
my $worker = sql(q{SELECT worker_pid FROM migrate.runs WHERE version = '2'});
kill 'KILL', $worker;
eval { $run->quit };
eval { $h->quit };
wait_up();
is(state_of('2'), 'interrupted', 'after kill -9 of the worker the migration is interrupted');
is(invalid_indexes(), 't_c', 'the killed build left an INVALID index');
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/dropped the INVALID index public.t_c left by a failed concurrent build/, 'the next run drops it first');
is(state_of('2'), 'applied', 'and then builds it');
is(invalid_indexes(), '', 'no INVALID index remains');
is(sql(q{SELECT string_agg(step::text, ',' ORDER BY step) FROM log}), '1,2,3,4', 'nothing twice, nothing skipped');

# --- pg_terminate_backend() of the caller during a build: its worker is terminated too
sql(q{SELECT migrate.register('2.5', 'index 3', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY t_n ON t (n);')});
$h = $node->background_psql($db);
$h->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM log;');
$run = start_run();
wait_for(q{SELECT EXISTS (SELECT FROM migrate.progress WHERE phase LIKE 'CREATE INDEX CONCURRENTLY: %')
           AND EXISTS (SELECT FROM pg_index WHERE NOT indisvalid)}, 'the build');
$pid = sql(q{SELECT pid FROM migrate.runs WHERE version = '2.5'});
sql("SELECT pg_terminate_backend($pid)");
wait_for(q{SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_migrate worker')}, 'the worker to end');
pass('terminating the caller terminated its worker');
eval { $run->quit };
eval { $h->quit };
is(state_of('2.5'), 'interrupted', 'the migration is interrupted');
is(sql(q{SELECT coalesce(worker_pid::text, 'none') FROM migrate.progress WHERE version = '2.5'}), 'none',
   'progress shows no worker process id for the stopped run (it may be another process by now)');
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/dropped the INVALID index public.t_n/, 'the next run drops the INVALID index');
is(state_of('2.5'), 'applied', 'and applies the migration');

# --- a cancelled REINDEX CONCURRENTLY: its INVALID _ccnew index is dropped before the retry
sql(q{SELECT migrate.register('2.6', 'reindex', E'-- pg_migrate:no-transaction\nREINDEX INDEX CONCURRENTLY t_n;')});
$h = $node->background_psql($db);
$h->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM log;');
$run = start_run();
wait_for(q{SELECT EXISTS (SELECT FROM migrate.progress WHERE phase LIKE 'REINDEX CONCURRENTLY: %')
           AND EXISTS (SELECT FROM pg_index WHERE NOT indisvalid)}, 'the reindex');
$pid = sql(q{SELECT pid FROM migrate.runs WHERE version = '2.6'});
sql("SELECT pg_cancel_backend($pid)");
eval { $run->quit };
eval { $h->quit };
wait_for(q{SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_migrate worker')}, 'the worker to end');
is(invalid_indexes(), 't_n_ccnew', 'the cancelled REINDEX CONCURRENTLY left its INVALID copy');
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/dropped the INVALID index public.t_n_ccnew/, 'the next run drops it before the retry');
is(state_of('2.6'), 'applied', 'and reindexes');
is(invalid_indexes(), '', 'no INVALID index remains');

# --- interrupted after the build finished but before its record committed (the state a crash
# leaves in that window, written directly): the valid index is recognised, nothing runs twice
my $script = "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY t_late ON t (a, c);\nINSERT INTO log VALUES (7);";
sql(qq{SELECT migrate.register('2.7', 'late', E'@{[ $script =~ s/\n/\\n/gr ]}')});
sql(q{CREATE INDEX t_late ON t (a, c)});
sql(qq{INSERT INTO migrate.runs (version, direction, checksum, units, pid, unit, line, phase)
       VALUES ('2.7', 'up', migrate.checksum(E'@{[ $script =~ s/\n/\\n/gr ]}'), 2, 0, 0, 2, 'CREATE INDEX CONCURRENTLY')});
is(state_of('2.7'), 'interrupted', 'the crafted state is an interrupted run');
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/CREATE INDEX CONCURRENTLY at line 2 had finished before the run was interrupted/,
     'the finished build is recognised');
is(state_of('2.7'), 'applied', 'and the migration finishes without building it again');
is(sql(q{SELECT count(*) FROM log WHERE step = 7}), '1', 'the next statement ran once');

# --- immediate shutdown mid-migration, then restart
sql(q{SELECT migrate.register('3', 'index 2', E'-- pg_migrate:no-transaction\nINSERT INTO log VALUES (5);\nCREATE INDEX CONCURRENTLY t_an ON t (a, n);\nINSERT INTO log VALUES (6);')});
$h = $node->background_psql($db);
$h->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM log;');
$run = start_run();
# The build has committed its (still INVALID) catalog entry and is waiting for old snapshots.
wait_for(q{SELECT EXISTS (SELECT FROM migrate.progress WHERE phase LIKE 'CREATE INDEX CONCURRENTLY: %')
           AND EXISTS (SELECT FROM pg_index WHERE NOT indisvalid)}, 'the build');
$node->stop('immediate');
eval { $run->quit };
eval { $h->quit };
$node->start;
is(state_of('3'), 'interrupted', 'after an immediate shutdown the migration is interrupted');
is(sql(q{SELECT unit + 1 || ' ' || phase FROM migrate.runs WHERE version = '3'}), '2 CREATE INDEX CONCURRENTLY',
   'the run state names the statement that was running');
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is($ret, 0, 'the next run succeeds') or diag($err);
is(state_of('3'), 'applied', 'applied after the restart');
is(invalid_indexes(), '', 'no INVALID index remains');
is(sql(q{SELECT string_agg(step::text, ',' ORDER BY step) FROM log}), '1,2,3,4,5,6,7', 'nothing twice, nothing skipped');
is(sql('SELECT count(*) FROM migrate.runs'), '0', 'no run state remains');

# --- a crashed run's process id, reused by a backend of another database that holds its own
# database's run lock: the run here is interrupted, not running (status(), progress, check)
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', q{CREATE EXTENSION pg_migrate;
  SELECT migrate.register('1', 'slow', E'-- pg_migrate:no-transaction\nSELECT pg_sleep(30);')});
my $other = $node->background_psql('other', on_error_stop => 0);
$other->query_until(qr/started/, "\\echo started\nCALL migrate.run();\n");
$node->poll_query_until('other', q{SELECT EXISTS (SELECT FROM migrate.runs WHERE version = '1')}) or die 'no run';
my $other_pid = $node->safe_psql('other', q{SELECT pid FROM migrate.runs WHERE version = '1'});
my $crafted = "-- pg_migrate:no-transaction\nSELECT 4;";
sql(qq{SELECT migrate.register('4', 'crashed', E'@{[ $crafted =~ s/\n/\\n/gr ]}')});
sql(qq{INSERT INTO migrate.runs (version, direction, checksum, units, pid, unit, line)
       VALUES ('4', 'up', migrate.checksum(E'@{[ $crafted =~ s/\n/\\n/gr ]}'), 1, $other_pid, 0, 2)});
is(state_of('4'), 'interrupted', 'a run whose process id another database\'s run has is interrupted');
is(sql(q{SELECT phase FROM migrate.progress WHERE version = '4'}) . ', ' . $node->safe_psql('other', q{SELECT state FROM migrate.status()}),
   'interrupted, running', 'migrate.progress says so too, while the other database\'s run is running');
my $empty = PostgreSQL::Test::Utils::tempdir;
($ret, $out, $err) = run_pgm('-d', $node->connstr($db), '--dir', $empty, 'check');
like($out, qr/4.*partially applied \(pg_migrate apply finishes it\)/, 'and pg_migrate check: partially applied') or diag($out);
unlike($out, qr/being applied now/, 'not being applied now');
$node->safe_psql('other', qq{SELECT pg_cancel_backend($other_pid)});
eval { $other->quit };
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is(state_of('4'), 'applied', 'and the next call finishes it');

# --- a run stopped before its first statement started (no line yet): validate() says so
my $never = "-- pg_migrate:no-transaction\nSELECT 5;";
sql(qq{SELECT migrate.register('5', 'never started', E'@{[ $never =~ s/\n/\\n/gr ]}')});
sql(qq{INSERT INTO migrate.runs (version, direction, checksum, units, pid)
       VALUES ('5', 'up', migrate.checksum(E'@{[ $never =~ s/\n/\\n/gr ]}'), 1, 0)});
is(sql(q{SELECT problem FROM migrate.validate() WHERE version = '5'}),
   'unfinished apply run: 0 of 1 statements done, interrupted before its first statement; CALL migrate.run() finishes it',
   'validate(): a run stopped before its first statement');
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is(state_of('5'), 'applied', 'and the next call runs it');

# --- the server stops while pg_migrate apply waits in CALL migrate.run(): the run's own error
# is reported (the history query on the dead connection replaced it), with a note that what
# the run committed stays, and afterMigrateError is not tried on the dead connection
$node->safe_psql('postgres', 'CREATE DATABASE cli_crash');
$node->safe_psql('cli_crash', 'CREATE EXTENSION pg_migrate');
my $cdir = PostgreSQL::Test::Utils::tempdir;
write_file("$cdir/V1__a.sql", "CREATE TABLE crash_a (id int);\n");
write_file("$cdir/V2__slow.sql", "-- pg_migrate:no-transaction\nSELECT pg_sleep(60);\n");
write_file("$cdir/afterMigrateError.sql", "SELECT 1;\n");
my ($cout, $cerr) = ('', '');
my $cli = IPC::Run::start(['pg_migrate', '-d', $node->connstr('cli_crash'), '--dir', $cdir, 'apply'],
                          '<', \undef, '>', \$cout, '2>', \$cerr);
$node->poll_query_until('cli_crash', q{SELECT EXISTS (SELECT FROM migrate.runs WHERE version = '2')}) or die 'no run';
$node->stop('immediate');
$cli->finish;
is($? >> 8, 1, 'pg_migrate apply: exit 1 when the server stops during the run');
like($cerr, qr/^error: .*(server closed the connection|terminating connection)/m, 'the error is the run\'s own') or diag($cerr);
is(scalar(() = $cerr =~ /^error:/mg), 1, 'once (no second error from the dead connection)') or diag($cerr);
like($cerr, qr/note: the connection to the server was lost during CALL migrate\.run\(\): the migrations it committed before stay applied/,
     'the note says what stays and how it resumes');
like($cerr, qr/afterMigrateError callbacks not run: the connection to the server was lost/, 'afterMigrateError is not tried');
$node->start;
is($node->safe_psql('cli_crash', q{SELECT string_agg(version || ':' || state, ',' ORDER BY version) FROM migrate.status()}),
   '1:applied,2:interrupted', 'V1 stays applied, V2 is interrupted');

$node->stop;
done_testing();
