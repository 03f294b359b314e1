# Non-transactional migrations under CALL migrate.run() with real concurrent sessions:
# CREATE INDEX CONCURRENTLY while writers write, a second applier during the build (fails fast,
# the build survives), a unique violation (no INVALID index remains, status says why), cancel
# and resume, COMMIT AND CHAIN parts, batches, a non-transactional down script.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('nontx');
$node->init;
$node->append_conf('postgresql.conf', "max_worker_processes = 16\nlog_min_messages = warning");
$node->start;
my $db = 'postgres';
$node->safe_psql($db, q{
  CREATE EXTENSION pg_migrate;
  CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, b int, n int NOT NULL DEFAULT 0);
  INSERT INTO t SELECT g, g % 1000, NULL FROM generate_series(1, 50000) g;
  CREATE TABLE log (step int);
});

sub sql { return $node->safe_psql($db, $_[0]); }
sub state_of { return sql(qq{SELECT state FROM migrate.status() WHERE version = '$_[0]'}); }
sub invalid_indexes {
  return sql(q{SELECT coalesce(string_agg(indexrelid::regclass::text, ',' ORDER BY 1), '')
               FROM pg_index WHERE NOT indisvalid});
}

# A session holding an old snapshot makes CREATE INDEX CONCURRENTLY wait in its last phase:
# a deterministic point at which to interfere with the build.
sub hold_snapshot {
  my $h = $node->background_psql($db);
  $h->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM log;');
  return $h;
}
sub start_run {
  my ($sql) = @_;
  my $bg = $node->background_psql($db, on_error_stop => 0);
  $bg->query_until(qr/started/, "\\echo started\n$sql\n");
  return $bg;
}
sub wait_phase {
  my ($like) = @_;
  $node->poll_query_until($db, qq{SELECT EXISTS (SELECT FROM migrate.progress WHERE phase LIKE '$like')})
    or die "timed out waiting for phase $like: " . sql('SELECT phase FROM migrate.progress');
}

# --- register: directive accepted; elsewhere refused with a hint naming it
my ($ret, $out, $err) = $node->psql($db, q{SELECT migrate.register('0.1', 'no directive', 'CREATE INDEX CONCURRENTLY t_x ON t (a);')});
like($err, qr/CREATE INDEX CONCURRENTLY cannot run inside a migration.*HINT:.*-- pg_migrate:no-transaction/s,
     'CIC without the directive is refused, the hint names the directive');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.register('0.1', 'late', E'CREATE TABLE zz ();\n-- pg_migrate:no-transaction\n')});
like($err, qr/misplaced or misspelled "-- pg_migrate:no-transaction"/, 'a directive that is not the first line is refused');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.register('0.1', 'bad batch', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 100\nUPDATE t SET b = 1 FROM log WHERE b IS NULL;')});
like($err, qr/cannot run in batches: it has a FROM clause/, 'an UPDATE ... FROM cannot be batched: refused with the reason');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.register('0.1', 'unnamed', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY ON t (a);')});
like($err, qr/needs an index name/, 'an unnamed concurrent build is refused');

sql(q{SELECT migrate.register('1', 'index a', E'-- pg_migrate:no-transaction\nINSERT INTO log VALUES (1);\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nINSERT INTO log VALUES (2);',
                           E'-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY t_a;\nINSERT INTO log VALUES (-1);')});
is(sql(q{SELECT up_mode || ' ' || down_mode FROM migrate.migrations WHERE version = '1'}),
   'no-transaction no-transaction', 'the modes are stored');

# --- apply() refuses; CALL inside a transaction block is refused
($ret, $out, $err) = $node->psql($db, 'SELECT * FROM migrate.apply()');
like($err, qr/cannot be applied by migrate.apply\(\).*Nothing was applied.*HINT:.*CALL migrate.run\(\).*pg_migrate command/s,
     'apply() refuses a non-transactional migration, naming CALL migrate.run() and the CLI');
($ret, $out, $err) = $node->psql($db, 'BEGIN; CALL migrate.run(); COMMIT;');
like($err, qr/must be called with CALL outside a transaction block/, 'CALL migrate.run() inside BEGIN is refused');
is(state_of('1'), 'pending', 'nothing was applied');

# --- CIC while writers write; a second applier fails fast; the build survives
my $h = hold_snapshot();
my $writer = $node->background_psql($db, on_error_stop => 0);
$writer->query_until(qr/writing/, q{\echo writing
DO $$ BEGIN FOR i IN 1..400 LOOP UPDATE t SET n = n + 1 WHERE id = 1 + (i * 97) % 50000; COMMIT; PERFORM pg_sleep(0.005); END LOOP; END $$;
\echo wrote
});
my $run = start_run('CALL migrate.run();');
wait_phase('CREATE INDEX CONCURRENTLY: %');
is(state_of('1'), 'running', 'status shows the migration running during the build');
# A monitoring role sees another role's build in pg_stat_progress_create_index with NULL
# columns: the view shows the run's own phase then, not NULL.
sql(q{CREATE ROLE watcher; GRANT USAGE ON SCHEMA migrate TO watcher; GRANT SELECT ON migrate.progress TO watcher});
is(sql(q{SET ROLE watcher; SELECT coalesce(phase, 'NULL') || ' ' || statement FROM migrate.progress}),
   'CREATE INDEX CONCURRENTLY 2', 'a role that cannot see the build still sees the run\'s phase');
is(sql(q{SELECT backend_xmin IS NULL FROM pg_stat_activity WHERE query = 'CALL migrate.run();'}), 't',
   'the caller holds no snapshot while the worker builds the index');
my $t0 = time;
($ret, $out, $err) = $node->psql($db, 'SELECT * FROM migrate.apply()');
my $waited = time - $t0;
like($err, qr/pg_migrate is busy: migrations are being run by process \d+, which is running migration 1 \("index a"\), statement 2 of 3 \(CREATE INDEX CONCURRENTLY\)/,
     'a second applier fails fast naming the running migration');
cmp_ok($waited, '<', 5, 'the second applier did not wait');
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/pg_migrate is busy/, 'a second CALL migrate.run() fails fast too');
$h->query_safe('COMMIT');
$h->quit;
$run->quit;
like($run->{stderr}, qr/^$/, 'the run reported no error') or diag($run->{stderr});
$writer->quit;
like($writer->{stdout}, qr/wrote/, 'the writer finished');
is(state_of('1'), 'applied', 'the migration is applied');
is(invalid_indexes(), '', 'no INVALID index');
is(sql(q{SELECT indisvalid FROM pg_index WHERE indexrelid = 't_a'::regclass}), 't', 'the index is valid');
is(sql('SELECT string_agg(step::text, \',\' ORDER BY step) FROM log'), '1,2', 'each statement ran once');
is(sql('SELECT count(*) FROM migrate.runs'), '0', 'no run state remains');

# --- a unique violation: no INVALID index remains and status says why; resume after the fix
sql(q{UPDATE t SET b = id; INSERT INTO t VALUES (50001, 1, 7)});
sql(q{SELECT migrate.register('2', 'unique', E'-- pg_migrate:no-transaction\nINSERT INTO log VALUES (3);\nCREATE UNIQUE INDEX CONCURRENTLY t_ab ON t (b);\nINSERT INTO log VALUES (4);', 'DROP INDEX t_ab;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/ERROR:  migration 2 \("unique"\) failed at line 3 of its up script: could not create unique index "t_ab" \(the INVALID index public.t_ab it left was dropped\)/,
     'the unique violation is reported with the migration and line');
like($err, qr/DETAIL:  Key \(b\)=\(7\) is duplicated/, 'the DETAIL names the duplicate key');
is(invalid_indexes(), '', 'the INVALID index of the failed build was dropped');
is(state_of('2'), 'failed', 'status says failed');
like(sql(q{SELECT error FROM migrate.runs WHERE version = '2'}), qr/^23505: .*could not create unique index "t_ab"/,
     'the run records why');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.register('2', 'unique', 'SELECT 1')});
like($err, qr/migration 2 has an unfinished apply run \(1 of 3 statements done\)/, 'a migration with an unfinished run cannot be replaced');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.unregister('2')});
like($err, qr/unfinished apply run/, 'nor unregistered');
is(sql(q{SELECT string_agg(line || ' ' || status, ', ' ORDER BY line) FROM migrate.plan()}), '2 skipped, 3 skipped, 4 ok',
   'plan() skips what the run finished (line 2) and the concurrent build (line 3), and tries the rest');
sql(q{DELETE FROM t WHERE id > 50000});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/resuming its up script at statement 2 of 3/, 'the next run resumes at the failed statement');
is(state_of('2'), 'applied', 'applied after the fix');
is(sql('SELECT string_agg(step::text, \',\' ORDER BY step) FROM log'), '1,2,3,4', 'nothing ran twice, nothing was skipped');

# --- cancel during a build: the worker stops, the INVALID index is dropped before the retry
sql(q{SELECT migrate.register('3', 'index b', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY t_b ON t (b);\nINSERT INTO log VALUES (5);', 'DROP INDEX t_b;')});
$h = hold_snapshot();
$run = start_run('CALL migrate.run();');
wait_phase('CREATE INDEX CONCURRENTLY: %');
$node->poll_query_until($db, 'SELECT EXISTS (SELECT FROM pg_index WHERE NOT indisvalid)') or die 'no build';
($ret, $out, $err) = $node->psql($db, 'SELECT count(*) FROM migrate.plan()');
like($err, qr/pg_migrate is busy: migrations are being run by/, 'plan() fails fast while CALL migrate.run() runs, as apply does');
my $caller = sql(q{SELECT pid FROM migrate.runs WHERE version = '3'});
sql("SELECT pg_cancel_backend($caller)");
$run->quit;
like($run->{stderr}, qr/canceling statement due to user request/, 'the CALL was cancelled');
$node->poll_query_until($db, q{SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_migrate worker')})
  or die 'worker still running';
pass('the cancel of the caller stopped its worker');
is(state_of('3'), 'interrupted', 'status says interrupted');
is(invalid_indexes(), 't_b', 'the cancelled build left an INVALID index');
$h->query_safe('COMMIT');
$h->quit;
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/dropped the INVALID index public.t_b left by a failed concurrent build/, 'the retry drops the INVALID index first');
is(state_of('3'), 'applied', 'then builds it and finishes');
is(invalid_indexes(), '', 'no INVALID index');

# --- COMMIT AND CHAIN parts: each part atomic; a failed part rolls back alone and resumes
sql(q{CREATE TABLE src (x int); INSERT INTO src VALUES (20), (30), (-1)});
sql(q{SELECT migrate.register('4', 'parts', E'CREATE TABLE p (x int CHECK (x > 0));\nINSERT INTO p VALUES (1);\nCOMMIT AND CHAIN;\nINSERT INTO p SELECT x FROM src;\nINSERT INTO log VALUES (6);\nCOMMIT;\nINSERT INTO p VALUES (99);', 'DROP TABLE p;')});
is(sql(q{SELECT up_mode FROM migrate.migrations WHERE version = '4'}), 'split', 'a script with COMMIT is split');
($ret, $out, $err) = $node->psql($db, 'SELECT * FROM migrate.apply()');
like($err, qr/migration 4 \("parts"\) cannot be applied by migrate.apply\(\): its up script is split into several transactions by COMMIT/,
     'apply() refuses a split migration too');
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/migration 4 \("parts"\) failed at line 4 of its up script: new row for relation "p" violates check constraint/,
     'the second part fails');
is(sql('SELECT string_agg(x::text, \',\' ORDER BY x) FROM p'), '1', 'the first part committed, the second rolled back entirely');
sql(q{DELETE FROM src WHERE x < 0});
sql('CALL migrate.run()');
is(sql('SELECT string_agg(x::text, \',\' ORDER BY x) FROM p'), '1,20,30,99', 'resumed at the second part; every part ran once');
is(state_of('4'), 'applied', 'split migration applied');

# --- batches: progress visible while it runs; each row changed once
sql(q{ALTER TABLE t ADD COLUMN c int; UPDATE t SET n = 0});
sql(q{SELECT migrate.register('5', 'backfill', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 5000 pause 100ms\nUPDATE t SET c = a * 2, n = n + 1 WHERE c IS NULL;', 'SELECT 1;')});
$run = start_run('CALL migrate.run();');
$node->poll_query_until($db, q{SELECT EXISTS (SELECT FROM migrate.progress WHERE work_done >= 10000)})
  or die 'no batch progress';
my $prog = sql(q{SELECT statement || '/' || statements || ' line ' || line || ' ' || phase || ' total ' || work_total || ' ' || (eta IS NOT NULL) || ' ' || (rate_per_second > 0) FROM migrate.progress});
is($prog, '1/1 line 3 batches of 5000 rows total 50000 true true', 'migrate.progress shows the batched statement, its total, rate and ETA');
$run->quit;
is(state_of('5'), 'applied', 'the batched migration is applied');
is(sql('SELECT count(*) FILTER (WHERE c IS NULL) || \' \' || min(n) || \' \' || max(n) FROM t'), '0 1 1', 'every row changed exactly once');

# --- a batched DELETE, and a batched UPDATE through an alias
sql(q{CREATE TABLE junk (g int, flag boolean); INSERT INTO junk SELECT g, NULL FROM generate_series(1, 3000) g});
sql(q{SELECT migrate.register('5.5', 'cleanup', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 400\nDELETE FROM junk WHERE g % 2 = 0 -- even ones\n;\n-- pg_migrate:batch 300\nUPDATE ONLY junk AS j SET flag = true WHERE j.flag IS NULL;', 'SELECT 1;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is($ret, 0, 'batched DELETE and aliased UPDATE run') or diag($err);
is(sql(q{SELECT count(*) || ' ' || count(*) FILTER (WHERE flag) || ' ' || count(*) FILTER (WHERE g % 2 = 0) FROM junk}), '1500 1500 0',
   'the batched DELETE removed exactly the matching rows; the UPDATE changed every remaining row');

# --- a batched statement resumed by a later call: its rate counts its rows over the time of
#     every call (it divided all the rows by this call's time: a rate far too high, an ETA too early)
sql(q{CREATE TABLE slowfill (id int, v int); INSERT INTO slowfill SELECT g, NULL FROM generate_series(1, 4000) g});
sql(q{SELECT migrate.register('5.5.5', 'slow fill', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 200 pause 300ms\nUPDATE slowfill SET v = id WHERE v IS NULL;', 'SELECT 1;')});
($ret, $out, $err) = $node->psql($db, q{SET statement_timeout = '1500ms'; CALL migrate.run();});
like($err, qr/canceling statement due to statement timeout/, 'the batched statement is interrupted part way');
$run = start_run('CALL migrate.run();');
my $done_before = sql(q{SELECT rows_done FROM migrate.runs WHERE version = '5.5.5'});
$node->poll_query_until($db, qq{SELECT EXISTS (SELECT FROM migrate.runs WHERE version = '5.5.5' AND rows_done > $done_before + 200)})
  or die 'the resumed run made no progress';
is(sql(q{SELECT p.rate_per_second = round((r.rows_done::float8 / (r.unit_ms / 1000.0))::numeric, 1)
                AND p.rate_per_second < 2000 AND p.eta > now() + interval '2 seconds'
           FROM migrate.progress p JOIN migrate.runs r USING (version) WHERE version = '5.5.5'}),
   't', 'resumed: the rate is all the rows over all the time (about 600 rows/s here), the ETA seconds away');
$run->quit;
is(state_of('5.5.5') . ' ' . sql('SELECT count(*) FROM slowfill WHERE v IS NULL'), 'applied 0', 'the resumed run finished');

# --- a batch waiting for a row lock hits pg_migrate.lock_timeout and is retried, then finishes
sql(q{CREATE TABLE locked (id int PRIMARY KEY, v int); INSERT INTO locked SELECT g, NULL FROM generate_series(1, 200) g});
sql(q{SELECT migrate.register('5.7', 'locked rows', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 50\nUPDATE locked SET v = id WHERE v IS NULL;', 'SELECT 1;')});
$h = hold_snapshot();
$h->query_safe('SELECT * FROM locked WHERE id = 120 FOR UPDATE');
$run = start_run(q{SET pg_migrate.lock_timeout = '100ms'; SET pg_migrate.lock_retry_delay = '100ms'; CALL migrate.run();});
# (retries are recorded in history when the batch's transaction commits)
$node->poll_query_until($db, q{SELECT EXISTS (SELECT FROM pg_stat_activity WHERE query LIKE '%CALL migrate.run()%' AND wait_event_type = 'Lock')})
  or die 'the batch does not wait';
select(undef, undef, undef, 0.4);
$h->query_safe('COMMIT');
$h->quit;
$run->quit;
like($run->{stderr}, qr/migration 5.7 \("locked rows"\) hit lock_timeout at line 3 of its up script \(attempt 1 of 6\): table locked held by process|hit lock_timeout at line 3/,
     'the batch hit lock_timeout and was retried (NOTICE)');
is(sql(q{SELECT state FROM migrate.status() WHERE version = '5.7'}) . ' ' . sql('SELECT count(*) FROM locked WHERE v IS NULL'),
   'applied 0', 'after the lock was released the batches finished');
cmp_ok(sql(q{SELECT count(*) FROM migrate.history WHERE version = '5.7' AND action = 'retry'}), '>=', 1, 'the retries are in history');

# --- DETACH PARTITION CONCURRENTLY runs at top level (in a worker); interrupted between its two
#     commits (a reader holds the parent), it leaves the partition detach pending, and the next
#     run finishes it with FINALIZE (running the statement again would fail)
sql(q{CREATE TABLE dp (id int) PARTITION BY RANGE (id); CREATE TABLE dp1 PARTITION OF dp FOR VALUES FROM (0) TO (10);
      CREATE TABLE dp2 PARTITION OF dp FOR VALUES FROM (10) TO (20)});
sql(q{SELECT migrate.register('5.7.5', 'detach', E'-- pg_migrate:no-transaction\nALTER TABLE dp DETACH PARTITION dp1 CONCURRENTLY;', 'ALTER TABLE dp ATTACH PARTITION dp1 FOR VALUES FROM (0) TO (10);')});
my $reader = $node->background_psql($db);
$reader->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM dp;');
($ret, $out, $err) = $node->psql($db, q{SET statement_timeout = '3s'; CALL migrate.run();});
isnt($ret, 0, 'DETACH ... CONCURRENTLY waiting for a reader: canceled by statement_timeout');
like($err, qr/migration 5\.7\.5 \("detach"\) failed at line 2 of its up script: canceling statement due to statement timeout/,
     'the cancel names the migration and line of the statement its worker ran');
is(sql(q{SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'dp1'::regclass}), 't',
   'the partition is left detach pending');
$reader->query_safe('COMMIT');
$reader->quit;
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is($ret, 0, 'the next run finishes the detach') or diag($err);
is(sql(q{SELECT count(*) FROM pg_inherits WHERE inhrelid = 'dp1'::regclass}), '0', 'dp1 is detached (FINALIZE)');
is(sql(q{SELECT applied_seq IS NOT NULL FROM migrate.migrations WHERE version = '5.7.5'}), 't', 'and the migration recorded');

# --- the batches' table is waited for under pg_migrate.lock_timeout also while its rows are
#     counted; an error shows the statement as written (not the block-range rewrite), and the
#     context says what waited
sql(q{CREATE TABLE busy (id int PRIMARY KEY, v int); INSERT INTO busy SELECT g, NULL FROM generate_series(1, 100) g});
sql(q{SELECT migrate.register('5.8', 'busy table', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 50\nUPDATE busy SET v = id WHERE v IS NULL;', 'SELECT 1;')});
my $busy = $node->background_psql($db);
$busy->query_safe('BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE;');
my $quick = q{SET pg_migrate.lock_timeout = '100ms'; SET pg_migrate.lock_retries = 1; SET pg_migrate.lock_retry_total = '150ms'; CALL migrate.run();};
$t0 = time();
($ret, $out, $err) = $node->psql($db, $quick);
cmp_ok(time() - $t0, '<', 30, 'counting the rows of a locked table does not wait without a limit');
like($err, qr/canceling statement due to lock timeout.*QUERY:\s+UPDATE busy SET v = id WHERE v IS NULL.*CONTEXT:.*batched statement, counting the rows it matches/s,
     'a lock timeout while counting: the statement as written, and what waited');
unlike($err, qr/ctid/, 'not the block-range rewrite');
$busy->query_safe('ROLLBACK; BEGIN; SELECT * FROM busy WHERE id = 10 FOR UPDATE;');
($ret, $out, $err) = $node->psql($db, $quick);
like($err, qr/canceling statement due to lock timeout.*QUERY:\s+UPDATE busy SET v = id WHERE v IS NULL.*CONTEXT:.*batched statement, the batch over blocks 0 to \d+ of busy/s,
     'a lock timeout of a batch: the statement as written, the blocks in the context');
unlike($err, qr/ctid/, 'not the block-range rewrite');
$busy->query_safe('ROLLBACK');
$busy->quit;
# A statement over several lines, ending in a comment: still only as written; a failure of the
# counting is named like a batch's.
sql(q{CREATE TABLE b2 (id int, v int); INSERT INTO b2 SELECT g, NULL FROM generate_series(1, 100) g});
sql(q{SELECT migrate.register('5.9', 'two lines', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 50\nUPDATE b2 SET v = 1 / (id - 50)\nWHERE v IS NULL -- the rest\n;', 'SELECT 1;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/migration 5\.9 \("two lines"\) failed at line 3 of its up script: division by zero.*QUERY:\s+UPDATE b2 SET v = 1 \/ \(id - 50\)\nWHERE v IS NULL -- the rest/s,
     'a batch error of a statement over several lines: the statement as written');
unlike($err, qr/ctid|SQL statement/, 'no line of the rewrite');
sql(q{SELECT migrate.run_forget('5.9'); SELECT migrate.unregister('5.9')});
sql(q{SELECT migrate.register('5.9', 'counting fails', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 50\nUPDATE b2 SET v = 1 WHERE v IS NULL AND 1 / (id - 50) > 0;', 'SELECT 1;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/ERROR:  migration 5\.9 \("counting fails"\) failed at line 3 of its up script: division by zero.*CONTEXT:.*batched statement, counting the rows it matches/s,
     'a failure while counting names the migration and line');
unlike($err, qr/SQL statement/, 'and not the counting query');
sql(q{SELECT migrate.run_forget('5.9'); SELECT migrate.unregister('5.9'); DROP TABLE b2});
# A statement stopped as a runaway (its WHERE clause kept matching rows it had changed) resumes
# once the rows are fixed, as the hint says: the check counts what the resuming call changes
# against what matches then (it had kept the first call's counts, and failed again forever).
sql(q{CREATE TABLE runaway (id int PRIMARY KEY, v int); INSERT INTO runaway SELECT g, NULL FROM generate_series(1, 100) g});
sql(q{SELECT migrate.register('5.95', 'runaway', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 7\nUPDATE runaway SET v = CASE WHEN id > 50 THEN 1 END WHERE v IS NULL;', 'SELECT 1;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/the batched statement changed \d+ rows, more than twice the 100 that matched when it started/,
     'a runaway batched statement is stopped');
sql(q{UPDATE runaway SET v = 0 WHERE v IS NULL});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is("$ret " . state_of('5.95'), '0 applied', 'once nothing matches any more, the next call resumes and finishes') or diag($err);
# Batches run READ COMMITTED whatever default_transaction_isolation says (under REPEATABLE READ
# a batch failed with 40001 on any row a writer had changed since its snapshot).
sql(q{CREATE TABLE iso (id int, level text); INSERT INTO iso SELECT g, NULL FROM generate_series(1, 100) g});
sql(q{SELECT migrate.register('5.96', 'isolation', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 30\nUPDATE iso SET level = current_setting(\'transaction_isolation\') WHERE level IS NULL;', 'SELECT 1;')});
($ret, $out, $err) = $node->psql($db, "SET default_transaction_isolation = 'repeatable read'; CALL migrate.run()");
is("$ret " . sql(q{SELECT string_agg(DISTINCT level, ',') FROM iso}), '0 read committed',
   'under default_transaction_isolation = repeatable read, the batches run read committed') or diag($err);
# A run forgotten part way through a batched statement: history says what its committed
# batches changed (they stay).
sql(q{CREATE TABLE partial (id int, v int, pad text); INSERT INTO partial SELECT g, NULL, repeat('x', 500) FROM generate_series(1, 300) g});
sql(q{SELECT migrate.register('5.97', 'partial', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nUPDATE partial SET v = 1 / (id - 280) WHERE v IS NULL;', 'SELECT 1;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/division by zero/, 'the batched statement fails part way');
my $committed = sql(q{SELECT count(*) FROM partial WHERE v IS NOT NULL});
cmp_ok($committed, '>', 0, 'batches before the failure committed');
sql(q{SELECT migrate.run_forget('5.97')});
is(sql(q{SELECT detail->'partly_done'->>'rows_done' || ' at line ' || (detail->'partly_done'->>'line')
           FROM migrate.history WHERE version = '5.97' AND action = 'forget_run'}),
   "$committed at line 3", 'forget_run records the rows the forgotten statement had changed');
sql(q{SELECT migrate.unregister('5.97'); DROP TABLE partial});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is("$ret " . sql(q{SELECT count(*) FROM busy WHERE v IS NULL}), '0 0', 'once the locks are gone the run finishes') or diag($err);

# --- ALTER TYPE ... ADD VALUE followed by its use, and VACUUM: each statement commits on its own
sql(q{CREATE TYPE mood AS ENUM ('sad'); CREATE TABLE moods (m mood)});
sql(q{SELECT migrate.register('6', 'enum', E'-- pg_migrate:no-transaction\nALTER TYPE mood ADD VALUE IF NOT EXISTS \'happy\';\nINSERT INTO moods VALUES (\'happy\');\nVACUUM (ANALYZE) moods;', 'SELECT 1;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is($ret, 0, 'ALTER TYPE ADD VALUE, its use and VACUUM run in a non-transactional migration') or diag($err);
is(sql('SELECT m FROM moods'), 'happy', 'the new value was used');

# --- a concurrent build that failed on its own error (the name is taken) is not taken for one
# that finished before an interruption: it fails again until fixed
sql(q{CREATE TABLE taken (a int, b int); CREATE INDEX taken_i ON taken (b)});
sql(q{SELECT migrate.register('6.5', 'name taken', E'-- pg_migrate:no-transaction\nSELECT 1;\nCREATE INDEX CONCURRENTLY taken_i ON taken (a);')});
for my $try (1, 2) {
  ($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
  like($err, qr/migration 6\.5 \("name taken"\) failed at line 3 of its up script: relation "taken_i" already exists/,
       "the build fails on the name taken (call $try)");
}
is(sql(q{SELECT statement || ' ' || line FROM migrate.progress WHERE version = '6.5'}), '2 3',
   'progress names the refused statement and its line');
# The build is not started while the name is taken: the existing index cannot be taken for its
# work after an interruption, and is left as it is.
like($err, qr/DETAIL:  Index public.taken_i was made before this statement ran \(it differs from the statement's\); it is left as it is/,
     'the call fails without starting the build, naming the index in the way');
like(sql(q{SELECT error FROM migrate.progress WHERE version = '6.5'}), qr/^42P07: .*already exists/,
     'the error stays recorded');
is(state_of('6.5'), 'failed', 'and the migration is not applied');
sql(q{SELECT migrate.run_forget('6.5'); SELECT migrate.unregister('6.5'); DROP TABLE taken});
# The same for a DROP INDEX CONCURRENTLY of an index that is not there.
sql(q{SELECT migrate.register('6.51', 'drop missing', E'-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY no_such_i;')});
for my $try (1, 2) {
  ($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
  like($err, qr/index "?no_such_i"? does not exist/, "the drop fails on the missing index (call $try)");
}
like($err, qr/It failed the same way/, 'the second call fails without rerunning the drop');
is(state_of('6.51'), 'failed', 'and that migration is not applied');
sql(q{SELECT migrate.run_forget('6.51'); SELECT migrate.unregister('6.51')});
# A build that failed with its own error and whose INVALID leftover could not be dropped (the
# drop waited for a reader and the call was cancelled): the next call drops the leftover and
# builds again, rather than failing on the name its own leftover takes.
sql(q{CREATE TABLE dup (x int); INSERT INTO dup VALUES (1), (1), (2)});
sql(q{SELECT migrate.register('6.5.2', 'dup build', E'-- pg_migrate:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY dup_x ON dup (x);', 'DROP INDEX dup_x')});
$reader = $node->background_psql($db);
$reader->query_safe('BEGIN; SELECT count(*) FROM dup;');
($ret, $out, $err) = $node->psql($db, q{SET statement_timeout = '2s'; CALL migrate.run()});
like($err, qr/canceling statement due to statement timeout/, 'the drop of the leftover is cancelled');
$reader->query_safe('COMMIT');
$reader->quit;
is(sql(q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'dup_x'::regclass}), 'f', 'the INVALID leftover is still there');
like(sql(q{SELECT error FROM migrate.runs WHERE version = '6.5.2'}), qr/^23505: /, "with the build's own error recorded");
sql(q{DELETE FROM dup WHERE ctid = (SELECT min(ctid) FROM dup WHERE x = 1)});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is($ret, 0, 'the next call drops the leftover and builds the index') or diag($err);
is(state_of('6.5.2'), 'applied', 'the migration is applied');
is(sql(q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'dup_x'::regclass}), 't', 'with a valid index');
sql(q{SELECT migrate.revert(); SELECT migrate.unregister('6.5.2'); DROP TABLE dup});
# A key written as a qualified column or a cast to its own type is the column, as PostgreSQL
# stores it: the failed build's INVALID index is recognised and dropped, and the retry builds it.
sql(q{CREATE TABLE dupq (x int); INSERT INTO dupq VALUES (1), (1)});
sql(q{SELECT migrate.register('6.5.21', 'qualified key', E'-- pg_migrate:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS dupq_x ON dupq ((dupq.x::int4)) WHERE true;', 'DROP INDEX dupq_x')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/could not create unique index "dupq_x" \(the INVALID index public.dupq_x it left was dropped\)/,
     'the failed build with a qualified, cast key drops its INVALID index');
sql(q{DELETE FROM dupq WHERE ctid = (SELECT min(ctid) FROM dupq)});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is($ret, 0, 'the retry builds it') or diag($err);
is(sql(q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'dupq_x'::regclass}), 't', 'valid');
sql(q{SELECT migrate.revert(); SELECT migrate.unregister('6.5.21'); DROP TABLE dupq});
# Another session's INVALID index of that name (its concurrent build failed or is still going)
# is not dropped: the migration fails on the name, every time, and the index stays.
sql(q{CREATE TABLE other (x int); INSERT INTO other VALUES (1), (1)});
$node->psql($db, q{CREATE UNIQUE INDEX CONCURRENTLY other_x ON other (x)});
is(sql(q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'other_x'::regclass}), 'f', "another session's INVALID index");
sql(q{SELECT migrate.register('6.5.3', 'same name', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY other_x ON other (x);')});
for my $try (1, 2) {
  ($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
  like($err, qr/relation "other_x" already exists.*DETAIL:  The INVALID index public.other_x was made before this statement ran/s,
       "the migration fails on the name (call $try)");
  is(sql(q{SELECT count(*) FROM pg_index WHERE indexrelid = 'other_x'::regclass}), '1', "and leaves that index alone (call $try)");
}
sql(q{SELECT migrate.run_forget('6.5.3'); SELECT migrate.unregister('6.5.3')});
# With IF NOT EXISTS over a valid index the statement does nothing, as PostgreSQL would; over
# another session's INVALID one it fails too (skipping would apply the migration without a
# usable index). Nothing is built or dropped.
sql(q{SELECT migrate.register('6.5.3', 'if not exists', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS other_x ON other (x);', 'SELECT 1')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/relation "other_x" already exists.*DETAIL:  The INVALID index public.other_x was made before this statement ran/s,
     'IF NOT EXISTS over an INVALID index of another session fails');
is(sql(q{SELECT count(*) FROM pg_index WHERE indexrelid = 'other_x'::regclass AND NOT indisvalid}), '1',
   "and the other session's INVALID index is still there");
sql(q{SELECT migrate.run_forget('6.5.3'); SELECT migrate.unregister('6.5.3'); CREATE INDEX other_v ON other (x)});
sql(q{SELECT migrate.register('6.5.3', 'if not exists', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS other_v ON other (x);', 'SELECT 1')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is($ret, 0, 'IF NOT EXISTS over a valid index succeeds') or diag($err);
like($err, qr/CREATE INDEX CONCURRENTLY at line 2 was skipped: relation "other_v" already exists/, 'with a notice');
# (the other session's INVALID index is not in the snapshots: the revert check counts it as added)
sql(q{SELECT migrate.revert(); SELECT migrate.unregister('6.5.3'); DROP INDEX other_v; SELECT migrate.acknowledge_drift('test: INVALID index')});
# A build interrupted before it created its index, whose name another index then took: the
# retry does not take that index for the build's work (it builds on another column).
sql(q{SELECT migrate.register('6.5.4', 'swapped', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY other_i ON other (x);')});
my $locker = $node->background_psql($db);
$locker->query_safe('BEGIN; LOCK TABLE other IN SHARE MODE;');
($ret, $out, $err) = $node->psql($db, q{SET statement_timeout = '1s'; CALL migrate.run()});
like($err, qr/canceling statement due to statement timeout/, 'the build is interrupted while it waits for its lock');
$locker->query_safe('ROLLBACK');
$locker->quit;
is(state_of('6.5.4'), 'interrupted', 'the migration is interrupted');
sql(q{ALTER TABLE other ADD COLUMN y int; CREATE INDEX other_i ON other (y)});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/relation "other_i" already exists.*it differs from the statement's/s,
     'the retry refuses: the index of that name is not what the statement builds');
isnt(state_of('6.5.4'), 'applied', 'and the migration is not applied');
sql(q{SELECT migrate.run_forget('6.5.4'); SELECT migrate.unregister('6.5.4')});
# The same with an index that is what the statement builds (a key written as an expression that
# is a plain column): taken for the build's work.
sql(q{SELECT migrate.register('6.5.4', 'same index', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY other_j ON other ((x));', 'SELECT 1')});
$locker = $node->background_psql($db);
$locker->query_safe('BEGIN; LOCK TABLE other IN SHARE MODE;');
# (2 s: before the build, the run reads what differs from the recorded snapshot, in the same call)
($ret, $out, $err) = $node->psql($db, q{SET statement_timeout = '2s'; CALL migrate.run()});
like($err, qr/canceling statement due to statement timeout/, 'that build is interrupted too');
$locker->query_safe('ROLLBACK');
$locker->quit;
sql(q{CREATE INDEX other_j ON other (x)});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/CREATE INDEX CONCURRENTLY at line 2 had finished before the run was interrupted/,
     'the matching index counts as the build');
is(state_of('6.5.4'), 'applied', 'and the migration is applied');
cmp_ok(sql(q{SELECT duration_ms FROM migrate.history WHERE version = '6.5.4' AND action = 'apply' ORDER BY id DESC LIMIT 1}),
       '>=', 900, 'its duration includes the time the interrupted call waited');
sql(q{SELECT migrate.revert(); SELECT migrate.unregister('6.5.4')});
# One that differs only in its predicate is not the build's work.
sql(q{SELECT migrate.register('6.5.4', 'predicate', E'-- pg_migrate:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY other_p ON other (x) WHERE x > 0;', 'SELECT 1')});
$locker = $node->background_psql($db);
$locker->query_safe('BEGIN; LOCK TABLE other IN SHARE MODE;');
($ret, $out, $err) = $node->psql($db, q{SET statement_timeout = '1s'; CALL migrate.run()});
$locker->query_safe('ROLLBACK');
$locker->quit;
sql(q{CREATE UNIQUE INDEX other_p ON other (x) WHERE x > 100000});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/relation "other_p" already exists.*it differs from the statement's/s, 'an index with another predicate is not taken for the build');
sql(q{SELECT migrate.run_forget('6.5.4'); SELECT migrate.unregister('6.5.4')});
# One that differs only in a key's collation, or in its operator class's options, is not either.
sql(q{ALTER TABLE other ADD COLUMN t text; CREATE EXTENSION IF NOT EXISTS pg_trgm});
for my $case (['collation', q{other_c ON other (t COLLATE "C")}, q{other_c ON other (t COLLATE "POSIX")}],
              ['opclass options', q{other_g ON other USING gist (t gist_trgm_ops (siglen = 32))},
               q{other_g ON other USING gist (t gist_trgm_ops (siglen = 64))}],
              ['operator class without options', q{other_h ON other USING gist (t gist_trgm_ops)},
               q{other_h ON other USING gist (t gist_trgm_ops (siglen = 64))}]) {
  my ($what, $built, $other) = @$case;
  sql(qq{SELECT migrate.register('6.5.4', '$what', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY $built;', 'SELECT 1')});
  $locker = $node->background_psql($db);
  $locker->query_safe('BEGIN; LOCK TABLE other IN SHARE MODE;');
  ($ret, $out, $err) = $node->psql($db, q{SET statement_timeout = '1s'; CALL migrate.run()});
  $locker->query_safe('ROLLBACK');
  $locker->quit;
  sql(qq{CREATE INDEX $other});
  ($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
  like($err, qr/already exists.*it differs from the statement's/s, "an index with another $what is not taken for the build");
  sql(q{SELECT migrate.run_forget('6.5.4'); SELECT migrate.unregister('6.5.4')});
  # and the same index with the statement's is
  (my $name = $built) =~ s/ .*//;
  sql(qq{DROP INDEX $name});
  sql(qq{SELECT migrate.register('6.5.4', '$what', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS $built;', 'SELECT 1')});
  sql(qq{CREATE INDEX $built});
  ($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
  is(state_of('6.5.4'), 'applied', "the same index with the statement's $what: IF NOT EXISTS does nothing") or diag($err);
  sql(qq{SELECT migrate.revert(); SELECT migrate.unregister('6.5.4'); DROP INDEX $name});
}
sql(q{DROP TABLE other});
# A name taken by a relation that is not an index is named as such.
sql(q{CREATE TABLE seqt (a int); CREATE SEQUENCE seq_conflict});
sql(q{SELECT migrate.register('6.5.5', 'seq', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS seq_conflict ON seqt (a);')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/relation "seq_conflict" already exists.*DETAIL:  public.seq_conflict is not an index/s, 'a sequence in the way is not called an index');
sql(q{SELECT migrate.run_forget('6.5.5'); SELECT migrate.unregister('6.5.5'); DROP TABLE seqt; DROP SEQUENCE seq_conflict});

# --- a batch over a sparse table (10,000 blocks, one matching row) aims past the table's end;
# the range stops at the last block instead of being an invalid tid
sql(q{CREATE TABLE sparse (id int, b int, pad text);
      INSERT INTO sparse SELECT g, CASE WHEN g = 20000 THEN NULL ELSE 1 END, repeat('x', 1900) FROM generate_series(1, 40000) g;
      ANALYZE sparse});
sql(q{SELECT migrate.register('6.6', 'sparse batch', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 1000000\nUPDATE sparse SET b = 2 WHERE b IS NULL;', 'SELECT 1')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is($ret, 0, 'the batched update of a sparse table runs') or diag($err);
is(sql('SELECT count(*) FROM sparse WHERE b = 2'), '1', 'and updated its one row');

# --- the parts of a split migration share a prepared statement; it is gone when the migration
# ends, and a failed part's PREPARE does not block the retry in the same session
sql(q{CREATE TABLE gate (ok bool); INSERT INTO gate VALUES (false)});
sql(q{SELECT migrate.register('6.6.1', 'split prepares', E'PREPARE shared_p AS SELECT 1;\nCOMMIT;\nEXECUTE shared_p;\nCOMMIT;\nPREPARE part_q AS SELECT 2;\nSELECT 1 / (SELECT count(*) FROM gate WHERE ok)::int;', 'SELECT 1')});
($ret, $out, $err) = $node->psql($db, q{CALL migrate.run();
  SELECT 'validate: ' || problem FROM migrate.validate();
  UPDATE gate SET ok = true;
  CALL migrate.run();
  SELECT 'left: ' || count(*) FROM pg_prepared_statements}, on_error_stop => 0);
like($err, qr/division by zero\nHINT:  Fix the cause, then CALL migrate.run\(\) again: it resumes with this part \(from line 5\)/,
     'the hint says the failed part runs again');
like($out, qr/validate: unfinished apply run: 2 of 3 parts done, failed in the part at line 5 \(22012: division by zero\)/,
     'validate() counts parts for a split script');
like($err, qr/division by zero.*resuming its up script at statement 3 of 3/s, 'the failed part is resumed in the same session');
unlike($err, qr/already exists/, 'its PREPARE runs again');
like($out, qr/left: 0/, 'no prepared statement is left in the session');
is(state_of('6.6.1'), 'applied', 'the split migration is applied');

# --- a batch whose rows a trigger keeps from changing ends with an error, not a loop
sql(q{CREATE TABLE stuck (id int, b int); INSERT INTO stuck SELECT g, NULL FROM generate_series(1, 100) g;
      CREATE FUNCTION no_update() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
      CREATE TRIGGER stuck_no_update BEFORE UPDATE ON stuck FOR EACH ROW EXECUTE FUNCTION no_update()});
sql(q{SELECT migrate.register('6.65', 'stuck batch', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nUPDATE stuck SET b = 1 WHERE b IS NULL;')});
$t0 = time;
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/whole passes over the table changed none of the rows the batched statement still matches.*HINT:  The WHERE clause must stop matching/s,
     'the batch that changes nothing ends with an error');
cmp_ok(time - $t0, '<', 30, 'quickly, not after pg_migrate.lock_retry_total');
is(state_of('6.65'), 'failed', 'status says failed');
sql(q{SELECT migrate.run_forget('6.65'); SELECT migrate.unregister('6.65'); DROP TABLE stuck});

# --- an error text longer than the worker's buffer is cut at a character boundary
sql(q{CREATE TABLE boom_t (a int); INSERT INTO boom_t VALUES (1);
      CREATE FUNCTION boom(int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION '%', 'xy' || repeat('é', 3000); END$$});
sql(q{SELECT migrate.register('6.7', 'long error', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY boom_i ON boom_t (boom(a));')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/xyéé/, 'the build fails with the function\'s error');
is(sql(q{SELECT convert_to(error, 'UTF8') IS NOT NULL AND error LIKE '%xyéé%' FROM migrate.runs WHERE version = '6.7'}), 't',
   'the recorded error is valid text (cut after a whole character)');
sql(q{SELECT migrate.run_forget('6.7'); SELECT migrate.unregister('6.7')});

# --- statement_timeout stops a run: interrupted (not failed), and the next call finishes it
sql(q{SELECT migrate.register('6.8', 'slow', E'-- pg_migrate:no-transaction\nSELECT pg_sleep(0.1);\nSELECT pg_sleep(0.5);', 'SELECT 1')});
($ret, $out, $err) = $node->psql($db, q{SET statement_timeout = '300ms'; CALL migrate.run()});
like($err, qr/canceling statement due to statement timeout/, 'the run is cancelled by statement_timeout');
is(state_of('6.8'), 'interrupted', 'status says interrupted, not failed');
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/migration 6\.8 \("slow"\): resuming its up script at statement 2 of 2/, 'the next call resumes it');
is(state_of('6.8'), 'applied', 'and finishes it');
cmp_ok(sql(q{SELECT duration_ms FROM migrate.history WHERE version = '6.8' AND action = 'apply'}), '>=', 600,
       'the recorded duration counts the statements of both calls');

# --- a run that cannot finish: run_forget() forgets it (recorded), then it can be unregistered
sql(q{SELECT migrate.register('7', 'broken', E'-- pg_migrate:no-transaction\nINSERT INTO log VALUES (7);\nSELECT 1 / 0;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/migration 7 \("broken"\) failed at line 3 of its up script: division by zero/, 'the broken statement fails');
is(sql(q{SELECT version || ': ' || problem FROM migrate.validate()}),
   '7: unfinished apply run: 1 of 2 statements done, failed at line 3 (22012: division by zero); CALL migrate.run() finishes it',
   'validate() reports it, with the failure');
# while it is unfinished, the transactional functions neither revert below it nor apply over it
sql(q{SELECT migrate.register('7.5', 'after', 'CREATE TABLE after_broken (id int)')});
for my $call ('SELECT migrate.revert(1)', q{SELECT migrate.revert_to('5')}, 'SELECT migrate.apply()') {
  ($ret, $out, $err) = $node->psql($db, $call);
  like($err, qr/ERROR:  migration 7 \("broken"\) is partially applied.*HINT:  Finish it with CALL migrate\.run\(\)/s,
       "$call refused while 7 is partially applied");
}
is(state_of('6'), 'applied', 'nothing was reverted');
is(sql(q{SELECT string_agg(line || ' ' || status || ': ' || error, E'\n' ORDER BY line) FROM migrate.plan() WHERE version = '7'}),
   "2 skipped: not planned: finished before CALL migrate.run() stopped (it resumes after it)\n"
   . "3 failed: 22012: division by zero",
   'plan() tries a partially applied migration from where CALL migrate.run() resumes it');
# and lints the ones after it under the caller's search_path (unqualified t is public.t)
sql(q{SELECT migrate.unregister('7.5'); SELECT migrate.register('7.5', 'after', 'ALTER TABLE t ALTER COLUMN a TYPE bigint')});
like(sql(q{SELECT array_to_string(findings, ',') FROM migrate.plan() WHERE version = '7.5'}), qr/changing-column-type/,
     'plan() lints the migrations after it against the right table');
sql(q{SELECT migrate.unregister('7.5')});
sql(q{SELECT migrate.register('6.95', 'below the broken one', 'CREATE TABLE below_broken (id int)')});
($ret, $out, $err) = $node->psql($db, q{CALL migrate.run('6.95')});
like($err, qr/ERROR:  migration 7 is partially applied, above the target 6\.95/, 'CALL migrate.run() to a target below it is refused too');
is(state_of('6.95'), 'pending', 'and applied nothing');
sql(q{SELECT migrate.unregister('6.95')});
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.repair('7', name => 'renamed')});
like($err, qr/ERROR:  migration 7 has an unfinished apply run/, 'repair() refused while its run is unfinished');
($ret, $out, $err) = $node->psql($db, q{CALL migrate.run_revert_to('5.6')});
like($err, qr/ERROR:  migration 7 \("broken"\) is partially applied/, 'run_revert_to() refused too');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.run_forget('7')});
like($err, qr/WARNING:  forgot the unfinished run of migration 7 \("broken"\).*"finished": \[2\].*was not undone/s,
     'run_forget() warns what stays done');
is(state_of('7'), 'pending', 'the migration is pending again');
is(sql(q{SELECT action || ' ' || (detail->>'statements') FROM migrate.history WHERE version = '7'}), 'forget_run 2',
   'history records the forgotten run');
is(sql(q{SELECT migrate.unregister('7')}), 'unregistered', 'and it can be unregistered');

# --- run_forget() of a run interrupted in a concurrent build names the INVALID index it left
#     (a new run would take it for another's and stop on its name)
sql(q{SELECT migrate.register('7.5', 'forgotten build', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY fb_i ON t (a);')});
{
  my $hold = hold_snapshot();
  ($ret, $out, $err) = $node->psql($db, q{SET statement_timeout = '2s'; CALL migrate.run();});
  like($err, qr/migration 7\.5 \("forgotten build"\) failed at line 2/, 'the build is interrupted');
  $hold->query_safe('COMMIT');
  $hold->quit;
}
is(invalid_indexes(), 'fb_i', 'it left an INVALID index');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.run_forget('7.5')});
like($err, qr/its interrupted build left the INVALID index public\.fb_i: drop it \(DROP INDEX CONCURRENTLY public\.fb_i\) before the migration runs again/,
     'run_forget() names the INVALID index the build left') or diag($err);
sql('DROP INDEX CONCURRENTLY fb_i');
sql('SELECT migrate.unregister(\'7.5\')');

# --- a non-transactional down script
($ret, $out, $err) = $node->psql($db, q{CALL migrate.run_revert_to('5.6')});
like($err, qr/ERROR:  target version 5\.6 is not a registered migration/, 'run_revert_to() of an unknown version is refused');
is(state_of('6'), 'applied', 'and reverted nothing');
sql(q{CALL migrate.run_revert_to('0')});
is(sql(q{SELECT string_agg(version || ':' || state, ' ' ORDER BY version) FROM migrate.status()}),
   '1:pending 2:pending 3:pending 4:pending 5:pending 5.5:pending 5.5.5:pending 5.7:pending 5.7.5:pending 5.8:pending 5.95:pending 5.96:pending 6:pending 6.6:pending 6.6.1:pending 6.8:pending', 'run_revert_to reverted all');
($ret, $out, $err) = $node->psql($db, q{SELECT to_regclass('t_a') IS NULL});
is($out, 't', 'the down script dropped the index concurrently');
is(sql('SELECT count(*) FROM log WHERE step = -1'), '1', 'the down script ran once');

# --- a deploy role with README's grants: the worker builds the index with the caller's privileges
sql(q{CREATE ROLE deployer LOGIN;
      GRANT USAGE ON SCHEMA migrate TO deployer;
      GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO deployer;
      GRANT EXECUTE ON FUNCTION migrate.register(text, text, text, text) TO deployer;
      GRANT EXECUTE ON PROCEDURE migrate.run(text), migrate.run_revert(int), migrate.run_revert_to(text) TO deployer;
      GRANT CREATE ON SCHEMA public TO deployer;
      CREATE TABLE not_theirs (id int)});
sql('CALL migrate.run()');  # the migrations reverted above, as their owner
my @as_deployer = (extra_params => [ '-U', 'deployer' ]);
$node->safe_psql($db, q{CREATE TABLE dt (id int, a int); INSERT INTO dt SELECT g, g FROM generate_series(1, 1000) g;
  SELECT migrate.register('8', 'deployer index', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY dt_a ON dt (a);\n-- pg_migrate:batch 100\nUPDATE dt SET a = 0 WHERE a <> 0;', E'-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY dt_a;');
  CALL migrate.run();}, @as_deployer);
is(sql(q{SELECT state FROM migrate.status() WHERE version = '8'}) . ' ' . sql(q{SELECT count(*) FROM dt WHERE a <> 0}),
   'applied 0', 'a deploy role applies a non-transactional migration');
is(sql(q{SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'dt_a'}), 'deployer', 'the index was built as the deploy role');
sql(q{SELECT migrate.register('9', 'not allowed', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY nt_id ON not_theirs (id);')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()', @as_deployer);
like($err, qr/migration 9 \("not allowed"\) failed at line 2 of its up script: must be owner of table not_theirs/,
     'the worker has the caller\'s privileges, no more');
sql(q{SELECT migrate.run_forget('9'); SELECT migrate.unregister('9')});
$node->safe_psql($db, q{CALL migrate.run_revert(1)}, @as_deployer);
is(sql(q{SELECT state FROM migrate.status() WHERE version = '8'}) . ' ' . sql(q{SELECT to_regclass('dt_a') IS NULL}),
   'pending t', 'the deploy role reverts it');
# A batched statement of a role with UPDATE and column SELECT only (enough for the statement
# and the counting, not for LOCK TABLE before PostgreSQL 16).
sql(q{CREATE TABLE colpriv (id int, v int, secret text); INSERT INTO colpriv SELECT g, NULL, 'x' FROM generate_series(1, 300) g;
      GRANT UPDATE ON colpriv TO deployer; GRANT SELECT (id, v) ON colpriv TO deployer});
sql(q{SELECT migrate.register('8.5', 'column privileges', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 100\nUPDATE colpriv SET v = id WHERE v IS NULL;', 'SELECT 1;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()', @as_deployer);
like($err, qr/permission denied for table colpriv.*HINT:  If the role has column privileges only: each batch reads a range of the table's blocks by ctid, which needs GRANT SELECT \(ctid\)/s,
     'without SELECT on ctid the batches are refused, and the hint says why');
sql(q{GRANT SELECT (ctid) ON colpriv TO deployer});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()', @as_deployer);
is("$ret " . sql(q{SELECT count(*) FROM colpriv WHERE v IS NULL}), '0 0', 'a role with column privileges runs a batched statement') or diag($err);

# --- a revert run that failed on its own down script: repair replaces the failed statement
# (keeping the finished one as it is) and the run resumes with the repaired script
sql(q{CREATE TABLE rvr (id int, v int)});
sql(q{SELECT migrate.register('9.1', 'revert repair', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY rvr_v ON rvr (v);\nCREATE INDEX CONCURRENTLY rvr_id ON rvr (id);',
  E'-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY rvr_v;\nSELECT 1/0;\nDROP INDEX CONCURRENTLY rvr_id;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is("$ret " . state_of('9.1'), '0 applied', 'revert repair: applied') or diag($err);
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run_revert(1)');
like($err, qr/migration 9\.1 \("revert repair"\) failed at line 3 of its down script: division by zero/, 'revert repair: the down script fails at its own statement');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.repair('9.1', down => E'-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY rvr_vv;\nSELECT 1;\nDROP INDEX CONCURRENTLY rvr_id;')});
like($err, qr/Statement 1 \(line 2 of the script the run started with\) took effect, and the new script does not have it at that place unchanged/,
     'revert repair: changing the finished statement is refused');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.repair('9.1', down => E'-- pg_migrate:no-transaction\n-- fixed\nDROP INDEX CONCURRENTLY rvr_v;\nSELECT 1;\nDROP INDEX CONCURRENTLY rvr_id;')});
like($err, qr/its unfinished revert run goes on with the new script: the 1 finished statement is unchanged, CALL migrate\.run_revert\(\) resumes at statement 2/,
     'revert repair: the repaired down script keeps the finished statement');
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run_revert(1)');
is("$ret " . state_of('9.1') . ' ' . sql(q{SELECT count(*) FROM pg_indexes WHERE tablename = 'rvr'}), '0 pending 0',
   'revert repair: the run finishes with the repaired script') or diag($err);
sql(q{SELECT migrate.unregister('9.1')});

# --- a statement whose deferred constraint fails at its commit: the run fails there (recorded
# with the error, named with the migration and line), not 'interrupted' without one; a batch too
sql(q{CREATE TABLE dparent (id int PRIMARY KEY); CREATE TABLE dchild (id int, pid int REFERENCES dparent DEFERRABLE INITIALLY DEFERRED)});
sql(q{SELECT migrate.register('9.2', 'deferred', E'-- pg_migrate:no-transaction\nSELECT 1;\nINSERT INTO dchild VALUES (1, 43);\nSELECT 2;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/migration 9\.2 \("deferred"\) failed at line 3 of its up script: insert or update on table "dchild" violates foreign key constraint/,
     'deferred constraint at the commit: the error names the migration and line');
is(state_of('9.2'), 'failed', 'deferred constraint at the commit: the run failed (not interrupted)');
like(sql(q{SELECT error FROM migrate.progress WHERE version = '9.2'}), qr/^23503: /, 'deferred constraint at the commit: the error is recorded');
is(sql(q{SELECT count(*) FROM dchild}), '0', 'deferred constraint at the commit: the statement did not stay');
sql(q{INSERT INTO dparent VALUES (43)});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is("$ret " . state_of('9.2') . ' ' . sql(q{SELECT count(*) FROM dchild}), '0 applied 1', 'fixed: the run resumes at that statement and finishes') or diag($err);
sql(q{INSERT INTO dparent VALUES (44); INSERT INTO dchild SELECT g, 44 FROM generate_series(1, 30) g});
sql(q{SELECT migrate.register('9.3', 'deferred batch', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch 10\nUPDATE dchild SET pid = 45 WHERE pid = 44;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
like($err, qr/migration 9\.3 \("deferred batch"\) failed at line 3 of its up script: .*violates foreign key constraint/s,
     'deferred constraint at a batch\'s commit: named');
is(state_of('9.3') . ' ' . sql(q{SELECT count(*) FROM dchild WHERE pid = 45}), 'failed 0', 'deferred constraint at a batch\'s commit: failed, the batch not kept');
sql(q{INSERT INTO dparent VALUES (45)});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is("$ret " . state_of('9.3') . ' ' . sql(q{SELECT count(*) FROM dchild WHERE pid = 45}), '0 applied 30', 'fixed: the batches finish') or diag($err);
# Stopped in its first statement: nothing took effect, and the refusals say so.
sql(q{SELECT migrate.register('9.4', 'first fails', E'-- pg_migrate:no-transaction\nSELECT 1/0;\nSELECT 1;')});
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
($ret, $out, $err) = $node->psql($db, 'SELECT * FROM migrate.apply()');
like($err, qr/ERROR:  migration 9\.4 \("first fails"\) has a stopped apply run\nDETAIL:  CALL migrate\.run\(\) stopped in its first statement/,
     'stopped in its first statement: not called partially applied');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.unregister('9.4')});
like($err, qr/\(0 of 2 statements done\)\nDETAIL:  None of its statements finished/, 'unregister: none of its statements finished');
sql(q{SELECT migrate.run_forget('9.4'); SELECT migrate.unregister('9.4')});

# --- VACUUM FULL (run in the worker) locks its table against reads: it waits under
#     pg_migrate.lock_timeout with the retries, as a transactional statement does, and does not
#     queue the readers behind it while a long transaction holds the table.
sql(q{CREATE TABLE vf (id int); INSERT INTO vf SELECT generate_series(1, 100)});
sql(q{SELECT migrate.register('9.5', 'vacuum full', E'-- pg_migrate:no-transaction\nVACUUM FULL vf;', 'SELECT 1;')});
my $vf_reader = $node->background_psql($db);
$vf_reader->query_safe('BEGIN; SELECT count(*) FROM vf;');
$t0 = time();
($ret, $out, $err) = $node->psql($db, q{SET pg_migrate.lock_timeout = '100ms'; SET pg_migrate.lock_retries = 1;
  SET pg_migrate.lock_retry_delay = '50ms'; CALL migrate.run();});
cmp_ok(time() - $t0, '<', 30, 'VACUUM FULL behind a reader does not wait without a limit');
like($err, qr/NOTICE:  migration 9\.5 \("vacuum full"\) hit lock_timeout at line 2 of its up script \(attempt 1 of 2\); retrying/,
     'VACUUM FULL: the lock timeout is retried (NOTICE)');
like($err, qr/ERROR:  migration 9\.5 \("vacuum full"\) failed at line 2 of its up script: canceling statement due to lock timeout\nDETAIL:  Gave up after 2 attempts in \d+ ms\.\nStatement: VACUUM FULL vf\nHINT:  Retry when the table is less busy/,
     'VACUUM FULL: gave up after the retries, and says so');
is(sql(q{SELECT count(*) FROM migrate.history WHERE version = '9.5' AND action = 'retry'}), '1', 'the retry is in history');
$vf_reader->query_safe('COMMIT');
$vf_reader->quit;
($ret, $out, $err) = $node->psql($db, 'CALL migrate.run()');
is($ret . ' ' . state_of('9.5'), '0 applied', 'the table free: the run resumes and VACUUM FULL runs') or diag($err);

# --- A DROP INDEX CONCURRENTLY interrupted after it marked the index INVALID: run_forget says
#     the index is left INVALID (queries no longer use it) and how to finish or undo it.
sql(q{CREATE TABLE dic (v int); CREATE INDEX dic_v ON dic (v)});
sql(q{SELECT migrate.register('9.6', 'drop index', E'-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY dic_v;', 'SELECT 1;')});
my $dic_reader = $node->background_psql($db);
$dic_reader->query_safe('BEGIN; SELECT count(*) FROM dic;');
($ret, $out, $err) = $node->psql($db, q{SET statement_timeout = '3s'; CALL migrate.run()});
like($err, qr/canceling statement due to statement timeout/, 'the drop is interrupted while it waits for the reader');
$dic_reader->query_safe('ROLLBACK');
$dic_reader->quit;
is(sql(q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'dic_v'::regclass}), 'f', 'the index is left INVALID');
($ret, $out, $err) = $node->psql($db, q{SELECT migrate.run_forget('9.6')});
like($err, qr/its interrupted DROP INDEX CONCURRENTLY left the index public\.dic_v INVALID \(queries no longer use it\): finish the drop \(DROP INDEX CONCURRENTLY public\.dic_v\) or rebuild it/,
     'run_forget names the INVALID index and what to do');
sql(q{DROP INDEX dic_v; SELECT migrate.unregister('9.6'); DROP TABLE dic});

# --- lint: concurrent builds of a non-transactional script are no findings; the hint for a
# plain CREATE INDEX names the directive; an unbatched UPDATE of a large table is a finding
sql(q{SET pg_migrate.lint_large_table_rows = 1000; ANALYZE t});
my $lint = sql(q{SET pg_migrate.lint_large_table_rows = 1000;
  SELECT coalesce(string_agg(line || ' ' || rule, ', ' ORDER BY line), 'none') FROM migrate.lint(
    E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY t_l ON t (a);\n-- pg_migrate:batch 500\nUPDATE t SET c = 1 WHERE c IS NULL;\nDROP INDEX CONCURRENTLY t_l;')});
is($lint, 'none', 'a non-transactional script with concurrent builds and a batched UPDATE has no findings');
$lint = sql(q{SET pg_migrate.lint_large_table_rows = 1000;
  SELECT string_agg(line || ' ' || rule || ' ' || severity, ', ' ORDER BY line) FROM migrate.lint(
    E'CREATE INDEX t_l2 ON t (a);\nCOMMIT;\nUPDATE t SET c = 1;\nDELETE FROM log;')});
is($lint, '1 require-concurrent-index-creation error, 3 require-batched-update warning',
   'plain CREATE INDEX and an unbatched UPDATE of a large table are findings; COMMIT split points and small tables are not');
like(sql(q{SELECT hint FROM migrate.lint('CREATE INDEX t_l3 ON t (a)')}), qr/-- pg_migrate:no-transaction/,
     'the hint of require-concurrent-index-creation names the directive');

$node->stop;
done_testing();
