# Flyway's SQL callbacks in a folder (README "Callbacks"): which run, in which order, in the
# apply's transaction and recorded in history; their DDL is not drift; beforeMigrate,
# afterVersioned and afterMigrate run on every apply, also with nothing to apply (as Flyway runs
# them), the others only around work; a failing callback fails the apply at its file and line and nothing is
# applied; afterMigrateError runs after a failed apply, in a transaction of its own; the dry
# run lists them; other Flyway events are warned about; beforeEachMigrate cannot run around a
# non-transactional migration, beforeMigrate and afterMigrate can.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgMigrateCli;
use JSON::PP;

my $node = PostgreSQL::Test::Cluster->new('cli_callbacks');
$node->init;
$node->start;
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $dir = "$tmp/flyway";

sub put { my ($name, $text) = @_; write_file("$dir/$name", $text); }
sub pgm { return pgm_on($node, 'app', $dir, @_); }
sub sql { return $node->safe_psql('app', $_[0]); }

fresh_db($node, 'app');
$node->safe_psql('app', 'CREATE ROLE reporting');

put('V1__accounts.sql', "CREATE TABLE accounts (id bigint PRIMARY KEY);\n");
put('V2__orders.sql', "CREATE TABLE orders (id bigint PRIMARY KEY, account bigint);\n");
put('R__totals.sql', "CREATE OR REPLACE VIEW totals AS SELECT account, count(*) FROM orders GROUP BY account;\n");
put('callbacks/beforeMigrate.sql', "CREATE TABLE IF NOT EXISTS deploy_log (id serial, what text);\n");
put('beforeEachMigrate__log.sql', "INSERT INTO deploy_log (what) VALUES ('before each');\n");
put('afterEachMigrate.sql', "INSERT INTO deploy_log (what) VALUES ('after each');\n");
put('afterVersioned.sql', "INSERT INTO deploy_log (what) VALUES ('after versioned');\n");
put('beforeRepeatables.sql', "INSERT INTO deploy_log (what) VALUES ('before repeatables');\n");
put('afterMigrate__grants.sql', "-- who may read\r\nGRANT SELECT ON ALL TABLES IN SCHEMA public TO reporting;\r\n");
put('afterMigrate__log.sql', "INSERT INTO deploy_log (what) VALUES ('after migrate');\n");
put('afterMigrateApplied.sql', "INSERT INTO deploy_log (what) VALUES ('after migrate applied');\n");
put('afterMigrateError.sql', "INSERT INTO deploy_log (what) VALUES ('error');\n");
put('beforeClean.sql', "DROP TABLE accounts;\n");

# The dry run tries the migrations after beforeMigrate, lists the other callbacks in the order
# apply runs them, and leaves nothing behind.
my ($rc, $out, $err) = pgm('apply', '--dry-run');
is($rc, 0, 'dry run exits 0') or diag($err);
like($err, qr/ran callback \S*callbacks\/beforeMigrate\.sql/, 'dry run: beforeMigrate ran before the plan');
like($out, qr/callbacks that would run \(not tried by the dry run\): \S*beforeEachMigrate__log\.sql, \S*afterEachMigrate\.sql, \S*afterVersioned\.sql, \S*beforeRepeatables\.sql, \S*afterMigrate__grants\.sql, \S*afterMigrate__log\.sql, \S*afterMigrateApplied\.sql\n/,
     'dry run: the callbacks in the order apply runs them');
is(sql(q{SELECT count(*) FROM migrate.history}) . ' ' . sql(q{SELECT to_regclass('deploy_log') IS NULL}), '0 t',
   'dry run: nothing is left of it');
like($err, qr/warning: ignoring beforeClean\.sql: pg_migrate does not run Flyway's beforeClean callbacks/,
     'a callback of an event pg_migrate does not run is warned about');

($rc, $out, $err) = pgm('--json', 'apply');
is($rc, 0, 'apply with callbacks exits 0') or diag($err);
is(sql(q{SELECT string_agg(what, ', ' ORDER BY id) FROM deploy_log}),
   'before each, after each, before each, after each, after versioned, before repeatables, before each, after each, after migrate, after migrate applied',
   'callbacks ran in order, the each-migration ones around each migration, the repeatable too');
is(sql(q{SELECT string_agg(CASE action WHEN 'callback' THEN detail->>'file' ELSE version END, ' ' ORDER BY id) FROM migrate.history}),
   'callbacks/beforeMigrate.sql beforeEachMigrate__log.sql 1 afterEachMigrate.sql beforeEachMigrate__log.sql 2 afterEachMigrate.sql '
   . 'afterVersioned.sql beforeRepeatables.sql beforeEachMigrate__log.sql R afterEachMigrate.sql afterMigrate__grants.sql afterMigrate__log.sql afterMigrateApplied.sql',
   'history records each callback with its file, between the migrations');
is(sql(q{SELECT count(DISTINCT transaction_id) FROM migrate.history}), '1', 'all in the one transaction of the apply');
my $j = decode_json($out);
is(scalar @{ $j->{callbacks} }, 12, '--json lists the callbacks that ran');
is($j->{callbacks}[0]{event}, 'beforeMigrate', '--json: event of each');
like($err, qr/ran callback \S*afterMigrate__grants\.sql \([0-9.]+ ms\)/, 'a line per callback on stderr');
is(sql(q{SELECT has_table_privilege('reporting', 'orders', 'SELECT')}), 't', 'afterMigrate granted');
($rc) = pgm('check');
is($rc, 0, "check: the callbacks' DDL is not drift, the schema is the snapshot's");

# Nothing to apply: beforeMigrate, afterVersioned and afterMigrate run all the same (Flyway runs
# them on every migrate), in one transaction, also when the folder is known to be in sync (the
# fast path that sends no file); the others do not.
($rc, $out, $err) = pgm('--json', 'apply');
is($rc, 0, 'nothing to apply: exit 0') or diag($err);
$j = decode_json($out);
is_deeply($j->{applied}, [], 'nothing applied');
is(join(' ', map { $_->{file} } @{ $j->{callbacks} }),
   "$dir/callbacks/beforeMigrate.sql $dir/afterVersioned.sql $dir/afterMigrate__grants.sql $dir/afterMigrate__log.sql",
   'nothing to apply: the callbacks Flyway runs on every migrate ran, in order');
is(sql(q{SELECT string_agg(detail->>'callback', ' ' ORDER BY id) FROM migrate.history
         WHERE transaction_id = (SELECT max(transaction_id) FROM migrate.history)}),
   'beforeMigrate afterVersioned afterMigrate afterMigrate', 'and history records them, in one transaction');
is(sql(q{SELECT string_agg(what, ', ' ORDER BY id) FROM deploy_log WHERE id > 10}), 'after versioned, after migrate',
   'no each-migration, repeatable or afterMigrateApplied callback ran');
($rc, $out, $err) = pgm('apply');
like($out, qr/nothing to apply/, 'a second run: nothing to apply');
like($err, qr/ran callback \S*afterMigrate__grants\.sql/, 'and the callbacks ran again');
($rc, $out, $err) = pgm('apply', '--dry-run');
like($out, qr/callbacks that would run \(not tried by the dry run\): \S*afterVersioned\.sql, \S*afterMigrate__grants\.sql, \S*afterMigrate__log\.sql\n/,
     'dry run with nothing to apply: lists the callbacks that run on every apply');
($rc) = pgm('check');
is($rc, 0, 'check after applies that ran only callbacks: ok');
# Callbacks the dry run does not try are parsed, and lint reads them: a syntax error is found
# before an apply fails on it.
put('afterMigrate__zz.sql', "SELECT 1;\nSELEC 2;\n");
($rc, $out, $err) = pgm('apply', '--dry-run');
is($rc, 1, 'dry run: a callback with a syntax error: exit 1');
like($err, qr/error: \S*afterMigrate__zz\.sql:2: syntax error at or near "SELEC".*\(apply would fail in this callback\)/,
     'dry run: the callback file and line');
($rc, $out, $err) = pgm('lint');
is($rc, 1, 'lint: the callback with a syntax error: exit 1');
like($out, qr/afterMigrate__zz\.sql:2: error syntax-error/, 'lint reads callbacks');
($rc, $out, $err) = pgm('lint', "$dir/afterMigrate__zz.sql");
like($out, qr/afterMigrate__zz\.sql:2: error syntax-error/, 'lint FILE of a callback');
unlink("$dir/afterMigrate__zz.sql");

# A failing migration: everything rolled back, then afterMigrateError in its own transaction.
put('V3__broken.sql', "ALTER TABLE orders ADD COLUMN note text;\nSELECT 1 / 0;\n");
($rc, $out, $err) = pgm('apply');
is($rc, 1, 'a failing migration: exit 1');
like($err, qr/error: \S*V3__broken\.sql:2: division by zero/, 'the failing migration is named by file and line');
like($err, qr/ran callback \S*afterMigrateError\.sql/, 'afterMigrateError ran');
is(sql(q{SELECT string_agg(what, ', ' ORDER BY id) FROM deploy_log WHERE id > 14}), 'error',
   'only afterMigrateError left a trace: the before callbacks were rolled back with the migration');
is(sql(q{SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'}), '0',
   'the failed migration left nothing');
unlink("$dir/V3__broken.sql");

# A failing callback: the apply fails at the callback's file and line; nothing is applied.
put('V3__note.sql', "ALTER TABLE orders ADD COLUMN note text;\n");
put('afterMigrate__log.sql', "INSERT INTO deploy_log (what) VALUES ('after migrate');\nINSERT INTO no_such_table VALUES (1);\n");
($rc, $out, $err) = pgm('--json', 'apply');
is($rc, 1, 'a failing callback: exit 1');
$j = decode_json($out);
like($j->{error}{file}, qr/afterMigrate__log\.sql$/, '--json: the callback file');
is($j->{error}{line}, 2, '--json: its line');
like($j->{error}{message}, qr/relation "no_such_table" does not exist/, '--json: the error');
is(sql(q{SELECT count(*) FROM migrate.migrations WHERE version = '3' AND applied_seq IS NOT NULL}), '0',
   'nothing applied when a callback fails');
# A callback that cannot run in the apply's transaction is refused before anything runs.
put('afterMigrate__log.sql', "VACUUM orders;\n");
($rc, $out, $err) = pgm('apply');
is($rc, 1, 'VACUUM in a callback: exit 1');
like($err, qr/VACUUM cannot run inside a migration: SQL script of callback afterMigrate__log\.sql, line 1/,
     'VACUUM in a callback: refused, naming the file');
like($err, qr/HINT: A callback runs inside the transaction of the apply/, 'VACUUM in a callback: the hint says why');
put('afterMigrate__log.sql', "INSERT INTO deploy_log (what) VALUES ('after migrate');\n");
($rc, $out, $err) = pgm('apply');
is($rc, 0, 'fixed: applies') or diag($err);

# A non-transactional migration: beforeEachMigrate cannot run around it.
put('V3.5__status.sql', "ALTER TABLE orders ADD COLUMN status text;\n");
put('V4__index.sql', "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY orders_account ON orders (account);\n");
my $errors_before = sql(q{SELECT count(*) FROM deploy_log WHERE what = 'error'});
# The dry run says so too (it passed, and the apply then refused).
($rc, $out, $err) = pgm('apply', '--dry-run');
is($rc, 1, 'dry run: each-migration callbacks and a non-transactional migration: exit 1');
like($err, qr/error: apply would refuse: beforeEachMigrate and afterEachMigrate callbacks cannot run around the migrations CALL migrate\.run\(\) applies .*\nHINT: Apply the non-transactional migration without those callback files/s,
     'dry run: it says apply would refuse, and what to do');
($rc, $out, $err) = pgm('--json', 'apply', '--dry-run');
like(decode_json($out)->{error}{message}, qr/^beforeEachMigrate and afterEachMigrate callbacks cannot run around/, 'dry run --json: the refusal');
is(sql(q{SELECT count(*) FROM deploy_log WHERE what = 'error'}), $errors_before, 'dry run: afterMigrateError did not run');
($rc, $out, $err) = pgm('apply');
is($rc, 1, 'each-migration callbacks and a non-transactional migration: exit 1');
like($err, qr/beforeEachMigrate and afterEachMigrate callbacks cannot run around the migrations CALL migrate\.run\(\) applies/,
     'the refusal says why');
is(sql(q{SELECT count(*) FROM migrate.migrations WHERE version IN ('3.5', '4') AND applied_seq IS NOT NULL}), '0', 'nothing applied');
is(sql(q{SELECT count(*) FROM deploy_log WHERE what = 'error'}), $errors_before + 1, 'afterMigrateError ran after the refusal too');
# Up to the migration before it, as the hint says: applied with its callbacks.
($rc, $out, $err) = pgm('apply', '--to', '3.5');
is($rc, 0, '--to below the non-transactional migration: applied') or diag($err);
is(sql(q{SELECT string_agg(CASE action WHEN 'callback' THEN detail->>'callback' ELSE version END, ' ' ORDER BY id)
         FROM migrate.history WHERE transaction_id = (SELECT max(transaction_id) FROM migrate.history)}),
   'beforeMigrate beforeEachMigrate 3.5 afterEachMigrate afterVersioned afterMigrate afterMigrate afterMigrateApplied',
   '--to: the callbacks around the one migration (beforeRepeatables only before a repeatable)');
# Without them, beforeMigrate and afterMigrate run around CALL migrate.run().
unlink("$dir/beforeEachMigrate__log.sql", "$dir/afterEachMigrate.sql");
my $before = sql(q{SELECT max(id) FROM migrate.history});
($rc, $out, $err) = pgm('apply');
is($rc, 0, 'non-transactional migration with beforeMigrate and afterMigrate callbacks') or diag($err);
is(sql(qq{SELECT string_agg(CASE action WHEN 'callback' THEN detail->>'callback' ELSE version END, ' ' ORDER BY id)
          FROM migrate.history WHERE id > $before}),
   'beforeMigrate 4 afterVersioned afterMigrate afterMigrate afterMigrateApplied',
   'the callbacks ran before and after the run');
is(sql(q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_account'::regclass}), 't', 'the index was built');
($rc) = pgm('check');
is($rc, 0, 'check: at the folder, no drift');
# A callback failing after CALL migrate.run() committed a migration: what stays applied is said.
put('V6__index2.sql', "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY orders_status ON orders (status);\n");
put('afterMigrate__log.sql', "INSERT INTO no_such_table VALUES (1);\n");
($rc, $out, $err) = pgm('apply');
is($rc, 1, 'a callback failing after a committed run: exit 1');
like($err, qr/applied 6 \S*V6__index2\.sql.*error: \S*afterMigrate__log\.sql:1: relation "no_such_table" does not exist.*note: 1 migration committed by CALL migrate\.run\(\) before the error \(listed above\) stays applied; what ran after it was rolled back/s,
     'the committed migration is listed, then the error, then what stays applied');
is(sql(q{SELECT count(*) FROM migrate.migrations WHERE version = '6' AND applied_seq IS NOT NULL}), '1', 'V6 is applied');
put('afterMigrate__log.sql', "INSERT INTO deploy_log (what) VALUES ('after migrate');\n");

# Callbacks wait for locks as migrations do: retried after a lock timeout.
my $holder = IPC::Run::start(['psql', '-X', '-q', '-d', $node->connstr('app'), '-c',
  'BEGIN; LOCK TABLE accounts IN ACCESS SHARE MODE; SELECT pg_sleep(1.5); COMMIT;']);
$node->poll_query_until('app', q{SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                                  WHERE c.relname = 'accounts' AND l.mode = 'AccessShareLock' AND l.granted
                                    AND l.pid <> pg_backend_pid())}) or die 'no lock holder';
put('afterMigrate__alter.sql', "ALTER TABLE accounts ADD COLUMN IF NOT EXISTS note text;\n");
put('V7__more.sql', "CREATE TABLE more (id int);\n");
($rc, $out, $err) = run_pgm_env({PGOPTIONS => '-c pg_migrate.lock_timeout=200ms -c pg_migrate.lock_retry_delay=200ms'},
  '-d', $node->connstr('app'), '--dir', $dir, 'apply');
$holder->finish;
is($rc, 0, 'a callback that hit lock_timeout was retried and finished') or diag($err);
like($err, qr/callback afterMigrate__alter\.sql hit lock_timeout at line 1 of its SQL script \(attempt 1 of \d+\): table accounts held by process/,
     'the retry is reported as a migration\'s');
cmp_ok(sql(q{SELECT count(*) FROM migrate.history WHERE action = 'retry' AND version = 'C'}), '>=', 1, 'and recorded in history');
unlink("$dir/afterMigrate__alter.sql");

# The revert check still sees a migration's leftovers when callbacks ran in its transaction
# (their changes are left out of the migration's), and a callback of DML only records no snapshot.
put('V8__seq.sql', "CREATE SEQUENCE leftover_seq;\nCREATE TABLE eight (id int);\n");
put('U8__seq.sql', "DROP TABLE eight;\n");
my $snapshots = sql(q{SELECT count(*) FROM migrate.schema_snapshots WHERE reason = 'callback'});
($rc, $out, $err) = pgm('apply');
is($rc, 0, 'V8 applied with the callbacks') or diag($err);
is(sql(q{SELECT string_agg(reason, ' ' ORDER BY id) FROM migrate.schema_snapshots
          WHERE transaction_id = (SELECT max(transaction_id) FROM migrate.schema_snapshots)}),
   'callback apply callback', 'snapshots: beforeMigrate, the migration, afterMigrate__grants (the log callbacks changed no schema)');
($rc, $out, $err) = pgm('revert');
like($err, qr/WARNING: the revert of migration 8 \("seq"\) left the schema different from before its apply: sequence public\.leftover_seq \(added\)/,
     'the leftover of the down script is found despite the callbacks in the apply');
unlike($err, qr/table public\.(orders|accounts)/, 'and the grants of afterMigrate are not counted as its leftovers');
sql(q{DROP SEQUENCE leftover_seq; SELECT migrate.acknowledge_drift('test: leftover reviewed')});
unlink("$dir/V8__seq.sql", "$dir/U8__seq.sql");
($rc, $out, $err) = pgm('repair');

# A callback in a folder whose name has ".sql" in it is still located by file and line.
put('x.sql.d/afterMigrate__z.sql', "SELECT 1;\nSELECT 1 / 0;\n");
put('V9__nine.sql', "CREATE TABLE nine (id int);\n");
($rc, $out, $err) = pgm('--json', 'apply');
$j = decode_json($out);
is($j->{error}{file} =~ s/.*\/flyway\///r . ':' . $j->{error}{line}, 'x.sql.d/afterMigrate__z.sql:2', 'the file and line of the failing callback');
unlink("$dir/x.sql.d/afterMigrate__z.sql");

# A role that may deploy but was not granted migrate.run_callback: a clear refusal.
$node->safe_psql('app', q{CREATE ROLE deployer LOGIN;
  GRANT USAGE ON SCHEMA migrate TO deployer;
  GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO deployer;
  GRANT EXECUTE ON FUNCTION migrate.sync(jsonb, boolean, boolean), migrate.sync_digest(text),
        migrate.sync_confirm(text), migrate.apply_repeatables(), migrate.apply(text),
        migrate.register(text, text, text, text), migrate.unregister(text) TO deployer;
  GRANT CREATE ON SCHEMA public TO deployer;
  GRANT INSERT ON deploy_log TO deployer;
  GRANT USAGE ON SEQUENCE deploy_log_id_seq TO deployer;});
put('V10__ten.sql', "CREATE TABLE ten (id int);\n");
unlink("$dir/afterMigrate__grants.sql");  # callbacks run as the caller: deployer owns none of those tables
my $conn = $node->connstr('app') . ' user=deployer';
($rc, $out, $err) = run_pgm('-d', $conn, '--dir', $dir, 'apply');
is($rc, 1, 'without EXECUTE on migrate.run_callback: exit 1');
like($err, qr/the folder has Flyway callbacks, and this role may not run them\nHINT: GRANT EXECUTE ON FUNCTION migrate\.run_callback\(text, text, text\)/,
     'refused before anything runs, with the grant to make');
is(sql(q{SELECT count(*) FROM migrate.migrations WHERE version = '10' AND applied_seq IS NOT NULL}), '0', 'nothing applied');
$node->safe_psql('app', q{GRANT EXECUTE ON FUNCTION migrate.run_callback(text, text, text) TO deployer});
($rc, $out, $err) = run_pgm('-d', $conn, '--dir', $dir, 'apply');
is($rc, 0, 'with it: applied') or diag($err);

# What beforeMigrate creates, a migration may use: the dry run and verify try them after it.
my $dir2 = "$tmp/needs_schema";
write_file("$dir2/beforeMigrate.sql", "CREATE SCHEMA IF NOT EXISTS app;\n");
write_file("$dir2/V1__t.sql", "CREATE TABLE app.t (id int);\n");
write_file("$dir2/U1__t.sql", "DROP TABLE app.t;\n");
fresh_db($node, 'app2');
($rc, $out, $err) = pgm_on($node, 'app2', $dir2, 'apply', '--dry-run');
is($rc, 0, 'dry run of a migration that needs what beforeMigrate creates') or diag($out . $err);
like($out, qr/^1\s+\S*V1__t\.sql:1\s+ok/m, 'its statement is ok in the plan');
($rc, $out, $err) = pgm_on($node, 'app2', $dir2, 'verify');
is($rc, 0, 'verify of it') or diag($out . $err);
like($out, qr/^1\s+\S*V1__t\.sql\s+ok/m, 'its revert verifies');
is($node->safe_psql('app2', q{SELECT to_regnamespace('app') IS NULL}), 't', 'neither left the schema behind');
($rc, $out, $err) = pgm_on($node, 'app2', $dir2, 'apply');
is($rc, 0, 'and apply applies it') or diag($err);
# With nothing pending, verify runs no callback (a broken one does not fail it).
write_file("$dir2/beforeMigrate.sql", "SELECT 1 / 0;\n");
($rc, $out, $err) = pgm_on($node, 'app2', $dir2, 'verify');
is($rc, 0, 'verify with nothing pending runs no callback') or diag($out . $err);
like($out, qr/nothing to verify/, 'and says so');
# A beforeMigrate waiting for a lock: the dry run warns within plan_lock_timeout and goes on.
write_file("$dir2/beforeMigrate.sql", "CREATE SCHEMA IF NOT EXISTS app;\nINSERT INTO app_audit VALUES (1);\n");
write_file("$dir2/V2__u.sql", "CREATE TABLE app.u (id int);\n");
$node->safe_psql('app2', 'CREATE TABLE app_audit (id int)');
my $holder2 = IPC::Run::start(['psql', '-X', '-q', '-d', $node->connstr('app2'), '-c',
  'BEGIN; LOCK TABLE app_audit IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;']);
$node->poll_query_until('app2', q{SELECT EXISTS (SELECT FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                                   WHERE c.relname = 'app_audit' AND l.mode = 'AccessExclusiveLock' AND l.granted)})
  or die 'no lock holder';
my $t0 = time();
($rc, $out, $err) = run_pgm_env({PGOPTIONS => '-c pg_migrate.plan_lock_timeout=200ms'},
  '-d', $node->connstr('app2'), '--dir', $dir2, 'apply', '--dry-run');
$holder2->finish;
like($err, qr/warning: beforeMigrate could not take its locks within pg_migrate\.plan_lock_timeout/,
     'dry run: a beforeMigrate lock wait is a warning');
like($out, qr/^2\s+\S*V2__u\.sql:1\s+ok/m, 'and the plan goes on (the schema exists from the first apply)');
# A role that may not run the callbacks: the dry run says apply would refuse (exit 1).
$node->safe_psql('app2', q{CREATE ROLE dry LOGIN; GRANT USAGE ON SCHEMA migrate TO dry;
  GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO dry;
  GRANT EXECUTE ON FUNCTION migrate.sync(jsonb, boolean, boolean), migrate.sync_digest(text),
        migrate.register(text, text, text, text), migrate.unregister(text), migrate.plan(text) TO dry;
  GRANT CREATE ON SCHEMA public TO dry;});
($rc, $out, $err) = run_pgm('-d', $node->connstr('app2') . ' user=dry', '--dir', $dir2, 'apply', '--dry-run');
is($rc, 1, 'dry run for a role that may not run callbacks: exit 1');
like($err, qr/error: apply would refuse: the folder has Flyway callbacks, and this role may not run them\nHINT: GRANT EXECUTE/,
     'it says apply would refuse, and the grant');

# A statement apply refuses in a callback before running anything (VACUUM cannot run in the
# apply's transaction, SQLSTATE 25001), and a non-transactional callback: the dry run refuses
# them too, with apply's exit code (it passed them, exit 0).
fresh_db($node, 'cbref');
my $cbref = "$tmp/cbref";
write_file("$cbref/V1__a.sql", "CREATE TABLE a (id int);\n");
for my $case (["VACUUM a;\n", qr/afterMigrate\.sql:1: VACUUM cannot run inside a migration \(apply would refuse this callback\)/, 'VACUUM'],
              ["-- pg_migrate:no-transaction\nANALYZE a;\n", qr/afterMigrate\.sql:1: callback \S*afterMigrate\.sql is non-transactional/, 'no-transaction'],
              # (the client's own checks passed these: the server's migrate.check_callback() now)
              ["CREATE TABLE cb1 (id int);\nCOMMIT;\nCREATE TABLE cb2 (id int);\n", qr/afterMigrate\.sql:1: callback \S*afterMigrate\.sql is split by COMMIT \(apply would refuse/, 'COMMIT']) {
  my ($text, $says, $what) = @$case;
  write_file("$cbref/afterMigrate.sql", $text);
  ($rc, $out, $err) = pgm_on($node, 'cbref', $cbref, 'apply', '--dry-run');
  is($rc, 1, "dry run: a callback with $what: exit 1") or diag($out . $err);
  like($err, $says, "dry run: $what: the callback file and line");
  like($out, qr/dry run on cbref: .* tried, and a callback would fail; nothing was changed/, "dry run: $what: the summary says so");
  ($rc, $out, $err) = pgm_on($node, 'cbref', $cbref, '--json', 'apply', '--dry-run');
  is(decode_json($out)->{callback_errors}[0]{line}, 1, "dry run --json: $what in callback_errors");
  my ($arc, $aout, $aerr) = pgm_on($node, 'cbref', $cbref, 'apply');
  is($arc, $rc, "apply refuses it with the same exit code") or diag($aout . $aerr);
}
is($node->safe_psql('cbref', 'SELECT count(*) FROM migrate.migrations WHERE applied_seq IS NOT NULL'), '0', 'nothing was applied');
# The DBA's pg_migrate.lint_blocks_apply (ALTER DATABASE), which a deploy role's connection
# option cannot weaken: the dry run refuses the callback apply refuses (it read the session's
# value, off).
$node->safe_psql('cbref', q{CREATE ROLE cbdeploy LOGIN; GRANT USAGE ON SCHEMA migrate TO cbdeploy;
  GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO cbdeploy; GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA migrate TO cbdeploy;
  GRANT CREATE ON SCHEMA public TO cbdeploy; CREATE TABLE cb_keep (id int); ALTER TABLE cb_keep OWNER TO cbdeploy;
  ALTER DATABASE cbref SET pg_migrate.lint_blocks_apply = on;});
write_file("$cbref/afterMigrate.sql", "TRUNCATE cb_keep CASCADE;\n");
for my $dry (1, 0) {
  my ($lrc, $lout, $lerr) = run_pgm_env({PGOPTIONS => '-c pg_migrate.lint_blocks_apply=off'},
    '-d', $node->connstr('cbref') . ' user=cbdeploy', '--dir', $cbref, 'apply', $dry ? ('--dry-run') : ());
  is($lrc, 1, ($dry ? 'dry run' : 'apply') . ': a callback the DBA\'s lint_blocks_apply blocks: exit 1') or diag($lout . $lerr);
  like($lerr, qr/afterMigrate\.sql:\S*.*has 1 error-level lint finding and pg_migrate\.lint_blocks_apply is on/,
       ($dry ? 'dry run' : 'apply') . ': the lint gate, whatever the session set');
}

# Refused because another session runs migrations (55006): the error names no file of the
# folder (it named the other session's migration's file), and afterMigrateError is not run (it
# was refused the same way and reported as the migration's error a second time).
$node->safe_psql('postgres', 'CREATE DATABASE busy');
my $bdir = "$tmp/busy";
write_file("$bdir/V1__a.sql", "CREATE TABLE busy_a (id int);\n");
write_file("$bdir/afterMigrateError.sql", "SELECT 1;\n");
$node->safe_psql('busy', q{CREATE EXTENSION pg_migrate;
  SELECT migrate.register('2', 'slow run', E'-- pg_migrate:no-transaction\nSELECT pg_sleep(4);')});
my $runner = IPC::Run::start(['psql', '-X', '-q', '-d', $node->connstr('busy'), '-c', 'CALL migrate.run()']);
$node->poll_query_until('busy', q{SELECT EXISTS (SELECT FROM migrate.runs WHERE version = '2')}) or die 'no run';
($rc, $out, $err) = pgm_on($node, 'busy', $bdir, 'apply');
my ($jrc, $jout) = pgm_on($node, 'busy', $bdir, '--json', 'apply');
$runner->finish;
is($rc, 1, 'busy: apply refused') or diag($out . $err);
like($err, qr/^error: pg_migrate is busy: migrations are being run by process \d+/m, 'busy: the refusal names no file');
like($err, qr/^afterMigrateError callbacks not run: the apply did not start \(pg_migrate is busy\)$/m,
     'busy: the error callbacks are not run') or diag($err);
is(() = $err =~ /pg_migrate is busy: migrations/g, 1, 'busy: the refusal is reported once');
my $busy = decode_json($jout);
ok(!exists $busy->{callback_error} && !exists $busy->{error}{file}, 'busy --json: no callback_error, no file') or diag($jout);
# A migration's own 55006 (pending trigger events) is a failure like any other: named at its
# file:line, and afterMigrateError runs.
$node->safe_psql('postgres', 'CREATE DATABASE pend');
my $pend = "$tmp/pend";
write_file("$pend/V1__pend.sql", "CREATE TABLE pend_p (id int PRIMARY KEY);\nCREATE TABLE pend_c (id int REFERENCES pend_p DEFERRABLE INITIALLY DEFERRED);\nINSERT INTO pend_p VALUES (1);\nINSERT INTO pend_c VALUES (1);\nALTER TABLE pend_c ADD COLUMN x int;\n");
write_file("$pend/afterMigrateError.sql", "SELECT 1;\n");
$node->safe_psql('pend', 'CREATE EXTENSION pg_migrate');
($rc, $out, $err) = pgm_on($node, 'pend', $pend, 'apply');
is($rc, 1, 'pending trigger events: apply fails') or diag($out . $err);
like($err, qr/^error: \S*V1__pend\.sql:5: cannot ALTER TABLE "pend_c" because it has pending trigger events \(SQLSTATE 55006\)/m,
     'pending trigger events: named at its file:line') or diag($err);
like($err, qr/ran callback \S*afterMigrateError\.sql/, 'pending trigger events: afterMigrateError ran') or diag($err);

done_testing();
