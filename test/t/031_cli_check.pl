# `pg_migrate check`, the CI gate: every exit code (0, 10-15) with --json causes; a CRLF copy
# and a comment-only change of an applied file are not edits; an edited applied file is refused
# by apply with both checksums; a missing file; repeatables re-applied when they change and
# recorded in history; repair; drift acknowledged with `drift --ack`.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgMigrateCli;
use JSON::PP;

my $node = PostgreSQL::Test::Cluster->new('cli_check');
$node->init;
$node->append_conf('postgresql.conf', "track_functions = 'all'");
$node->start;
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $dir = "$tmp/migrations";
mkdir $dir;

# Files of the one folder this test uses.
sub write_migration { my ($name, $text) = @_; write_file("$dir/$name", $text); }
sub pgm { return pgm_on($node, 'app', $dir, @_); }

sub check_code {
  my ($name, @extra) = @_;
  my ($rc, $out, $err) = pgm('check', @extra);
  note($out . $err);
  return $rc;
}

$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', 'CREATE EXTENSION pg_migrate');

my $v1 = "-- migrate:up\nCREATE TABLE accounts (id bigint PRIMARY KEY, owner text);\n\n-- migrate:down\nDROP TABLE accounts;\n";
write_migration('20240101000000_accounts.sql', $v1);
write_migration('20240102000000_index.sql', "-- migrate:up\nCREATE INDEX accounts_owner ON accounts (owner);\n-- migrate:down\nDROP INDEX accounts_owner;\n");
write_migration('R__owners.sql', "CREATE OR REPLACE VIEW owners AS SELECT DISTINCT owner FROM accounts;\n");

# 12: pending
is(check_code('pending'), 12, 'check: pending migrations -> 12');
my ($rc, $out, $err) = pgm('--json', 'check');
my $j = decode_json($out);
is($j->{exit_code}, 12, '--json: exit_code');
is($j->{causes}[0]{cause}, 'pending', '--json: cause pending');
is(scalar @{ $j->{causes}[0]{items} }, 3, '--json: the two versioned and the repeatable migration are pending');

($rc, $out, $err) = pgm('apply');
is($rc, 0, 'apply') or diag($err);
# After applying, the folder is recorded as in sync by migrate.sync_confirm(): the files are
# sent once (one migrate.sync() call), not twice. (A database of its own: check calls sync too.)
$node->safe_psql('postgres', 'CREATE DATABASE confirm');
$node->safe_psql('confirm', 'CREATE EXTENSION pg_migrate');
IPC::Run::run([ 'pg_migrate', '-q', '-d', $node->connstr('confirm'), '--dir', $dir, 'apply' ], '<', \undef, '>', \$out, '2>', \$err);
is($? >> 8, 0, 'apply (database confirm)') or diag($err);
$node->poll_query_until('confirm', q{SELECT count(*) = 2 FROM pg_stat_user_functions
  WHERE schemaname = 'migrate' AND funcname IN ('sync', 'sync_confirm')});
is($node->safe_psql('confirm', q{SELECT string_agg(funcname || '=' || calls, ',' ORDER BY funcname)
  FROM pg_stat_user_functions WHERE schemaname = 'migrate' AND funcname IN ('sync', 'sync_confirm')}),
  'sync=1,sync_confirm=1', 'apply: one sync, then sync_confirm');
is($node->safe_psql('confirm', q{SELECT count(*) FROM migrate.sync_state}), '1', 'the folder is recorded as in sync');
is(check_code('ok'), 0, 'check: in sync -> 0');
($rc, $out) = pgm('check');
like($out, qr/^check app: ok, at version 20240102000000 \(3 migrations in /, 'check: ok line');

# 15: --expect-version
is(check_code('expect', '--expect-version', '20240102000000'), 0, 'check --expect-version (right) -> 0');
($rc, $out, $err) = pgm('check', '--expect-version', '20240103000000');
is($rc, 15, 'check --expect-version (wrong) -> 15');
like($out, qr/at version 20240102000000, expected 20240103000000/, 'check: says which version');

# A CRLF checkout plus an editor's final newlines: not an edit.
(my $crlf = $v1) =~ s/\n/\r\n/g;
write_migration('20240101000000_accounts.sql', $crlf . "\r\n\r\n");
is(check_code('crlf'), 0, 'check: CRLF copy of an applied file -> 0');
($rc, $out) = pgm('apply');
like($out, qr/nothing to apply/, 'apply: CRLF copy changes nothing');
# A comment and different formatting: the statements are the same, not an edit.
write_migration('20240101000000_accounts.sql',
  "-- migrate:up\n-- Accounts, one per customer.\ncreate table accounts (\n    id bigint primary key,\n    owner text\n);\n-- migrate:down\nDROP TABLE accounts;\n");
is(check_code('comment'), 0, 'check: comment/formatting-only change of an applied file -> 0');

# 12: the statements are those applied, but the file changes the down script: the database is
# not at the folder until apply records it (a repair); a down script sync would refuse is named.
write_migration('20240101000000_accounts.sql',
  "-- migrate:up\nCREATE TABLE accounts (id bigint PRIMARY KEY, owner text);\n\n-- migrate:down\nDROP TABLE accounts CASCADE;\n");
($rc, $out) = pgm('check');
is($rc, 12, 'check: applied file with a changed down script -> 12');
like($out, qr/20240101000000 \(\S*20240101000000_accounts\.sql\): in the file: down script changed; apply records it/,
     'check: the changed down script is named');
($rc, $out) = pgm('status');
like($out, qr/in the file: down script changed; apply records it/, 'status: the changed down script is noted');
write_migration('20240101000000_accounts.sql',
  "-- migrate:up\nCREATE TABLE accounts (id bigint PRIMARY KEY, owner text);\n\n-- migrate:down\nDROP TABEL accounts;\n");
($rc, $out) = pgm('check');
is($rc, 12, 'check: a changed down script sync would refuse -> 12');
like($out, qr/down script changed; sync refuses it: 42601: down script of migration 20240101000000 \("accounts"\) has a syntax error at line \d+/,
     'check: says why apply would refuse the changed down script');
($rc, $out, $err) = pgm('apply');
is($rc, 1, 'apply: refuses the changed down script check named');
write_migration('20240101000000_accounts.sql',
  "-- migrate:up\nCREATE TABLE accounts (id bigint PRIMARY KEY, owner text);\n\n-- migrate:down\nDROP TABLE accounts CASCADE;\n");
($rc, $out, $err) = pgm('apply');
is($rc, 0, 'apply: records the changed down script');
is(check_code('down recorded'), 0, 'check: once the down script is recorded -> 0');
like($node->safe_psql('app', "SELECT down_sql FROM migrate.migrations WHERE version = '20240101000000'"),
     qr/^\s*DROP TABLE accounts CASCADE;\s*$/, 'the down script of the file is the registered one');
write_migration('20240101000000_accounts.sql', $v1);
($rc, $out, $err) = pgm('apply');
is(check_code('down restored'), 0, 'check: the original down script recorded again -> 0');

# 10: an applied file edited
write_migration('20240101000000_accounts.sql',
  "-- migrate:up\nCREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL);\n-- migrate:down\nDROP TABLE accounts;\n");
is(check_code('edited'), 10, 'check: applied file edited -> 10');
($rc, $out, $err) = pgm('apply');
is($rc, 1, 'apply refuses an edited applied file');
like($err, qr{error: \Q$dir\E/20240101000000_accounts\.sql: edited after version 20240101000000 was applied},
     'apply: the edited file is named, with the folder');
($rc, $out, $err) = pgm('--json', 'apply');
like($out, qr{"file": "\Q$dir\E/20240101000000_accounts\.sql"}, 'apply --json: the edited file in error.file');
like($err, qr/applied with checksum [0-9a-f]{64}, the file has checksum [0-9a-f]{64}/, 'apply: both checksums shown');
write_migration('20240101000000_accounts.sql', $v1);
is(check_code('restored'), 0, 'check: restored file -> 0');

# 11: an applied migration without its file
rename("$dir/20240102000000_index.sql", "$tmp/index.sql") or die;
($rc, $out) = pgm('check');
is($rc, 11, 'check: applied migration without a file -> 11');
like($out, qr/20240102000000 \(.*20240102000000_index\.sql\): registered from 20240102000000_index\.sql, which is not in the folder/,
     'check: the missing file is named');
rename("$tmp/index.sql", "$dir/20240102000000_index.sql") or die;

# Repeatables: re-applied when they change, not otherwise; recorded in history.
write_migration('R__owners.sql', "CREATE OR REPLACE VIEW owners AS SELECT DISTINCT owner FROM accounts WHERE owner IS NOT NULL;\n");
is(check_code('repeatable changed'), 12, 'check: changed repeatable is pending -> 12');
($rc, $out, $err) = pgm('apply');
like($out, qr/: applied 1 repeatable in /, 'apply: the changed repeatable is re-applied');
($rc, $out) = pgm('apply');
like($out, qr/nothing to apply/, 'apply: an unchanged repeatable is not re-applied');
is($node->safe_psql('app', q{SELECT count(*) FROM migrate.history WHERE version = 'R' AND name = 'owners'}), '2',
   'history records both applies of the repeatable');
like($node->safe_psql('app', q{SELECT pg_get_viewdef('owners')}), qr/IS NOT NULL/, 'the view is the new one');

# A failing repeatable is reported with its file and line; nothing of the apply stays.
write_migration('R__owners.sql', "-- owners\nCREATE OR REPLACE VIEW owners AS SELECT DISTINCT owner FROM no_such_table;\n");
($rc, $out, $err) = pgm('apply');
is($rc, 1, 'apply: failing repeatable -> exit 1');
like($err, qr/R__owners\.sql:2: relation "no_such_table" does not exist \(SQLSTATE 42P01\)/, 'apply: repeatable file:line');
write_migration('R__owners.sql', "CREATE OR REPLACE VIEW owners AS SELECT DISTINCT owner FROM accounts WHERE owner IS NOT NULL;\n");
is(check_code('repeatable restored'), 0, 'check: restored repeatable -> 0');

# 13: unacknowledged drift (the table is also a schema difference; the lower code wins)
$node->safe_psql('app', 'CREATE TABLE manual_change (id int)');
($rc, $out, $err) = pgm('--json', 'check');
$j = decode_json($out);
is($rc, 13, 'check: unacknowledged drift -> 13');
is(join(',', map { $_->{cause} } @{ $j->{causes} }), 'drift,schema_difference', '--json lists every cause');
($rc, $out) = pgm('drift');
is($rc, 13, 'drift: exit 13 while drift is unacknowledged');
like($out, qr/CREATE TABLE\s+public\.manual_change/, 'drift lists the change');
my $newest = $node->safe_psql('app', 'SELECT max(id) FROM migrate.drift');
my $open = $node->safe_psql('app', 'SELECT count(*) FROM migrate.drift WHERE acknowledgement_id IS NULL');
($rc, $out, $err) = pgm('--json', 'drift', '--ack', 'reviewed in the test');
is($rc, 0, 'drift --ack') or diag($out . $err);
like($err, qr/acknowledged $open drift entr(y|ies) up to entry $newest\n/, 'drift --ack: how many, and up to the newest entry');
$j = decode_json($out);
is("$j->{acknowledged}{entries} $j->{acknowledged}{up_to} $j->{acknowledged}{note}", "$open $newest reviewed in the test",
   'drift --ack --json: what was acknowledged');
is(check_code('acked'), 0, 'check: after acknowledging -> 0');

# A long drift log: the text lists the oldest 1,000 entries and says how many more; --json all.
$node->safe_psql('app', q{CREATE TABLE noisy (id int);
  DO $$ BEGIN FOR i IN 1..1001 LOOP EXECUTE format('COMMENT ON TABLE noisy IS %L', i); END LOOP; END $$;});
($rc, $out) = pgm('drift');
is(scalar(() = $out =~ /COMMENT\s+public\.noisy/g), 999, 'drift: 1,000 entries listed (the CREATE TABLE, 999 comments)');
like($out, qr/\.\.\. and 2 more \(the oldest 1000 are listed; pg_migrate --json drift lists them all\)/, 'and how many more');
($rc, $out) = pgm('--json', 'drift');
is(scalar(@{ decode_json($out)->{drift} }), 1002, 'drift --json: every entry');
# Every time in --json has one form, UTC to the second, whatever the session's time zone.
($rc, $out) = run_pgm_env({ PGTZ => 'America/Sao_Paulo' }, '-d', $node->connstr('app'), '--dir', $dir, '--json', 'drift');
$j = decode_json($out);
like($j->{status}{$_}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, "drift --json: $_ in UTC") for qw(oldest_unacknowledged newest_unacknowledged last_snapshot_at);
like($j->{drift}[0]{captured_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'drift --json: captured_at alike');
my $utc = $node->safe_psql('app', q{SELECT to_char(max(captured_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') FROM migrate.drift WHERE acknowledgement_id IS NULL});
is($j->{status}{newest_unacknowledged}, $utc, 'drift --json: the newest entry\'s time, converted to UTC');
pgm('drift', '--ack', 'noise reviewed');

# 14: a schema difference no trigger saw
$node->safe_psql('app', q{
  ALTER EVENT TRIGGER migrate_drift_ddl DISABLE;
  ALTER EVENT TRIGGER migrate_drift_start DISABLE;
  CREATE TABLE unseen (id int);
  ALTER EVENT TRIGGER migrate_drift_ddl ENABLE ALWAYS;
  ALTER EVENT TRIGGER migrate_drift_start ENABLE ALWAYS;
});
($rc, $out) = pgm('check');
is($rc, 14, 'check: schema difference without drift entries -> 14');
like($out, qr/schema_difference \(14\)/, 'check: names the cause');
pgm('drift', '--ack', 'unseen table reviewed');
is(check_code('acked again'), 0, 'check: after acknowledging -> 0');

# repair: accept an edited applied file as it is now.
write_migration('20240101000000_accounts.sql',
  "-- migrate:up\nCREATE TABLE accounts (id bigint PRIMARY KEY, owner text, note text);\n-- migrate:down\nDROP TABLE accounts;\n");
is(check_code('edited again'), 10, 'check: edited -> 10');
($rc, $out, $err) = pgm('repair');
is($rc, 0, 'repair exits 0') or diag($err);
like($out, qr/accepted 20240101000000/, 'repair reports the accepted file');
is(check_code('repaired'), 0, 'check: after repair -> 0');
is($node->safe_psql('app', q{SELECT count(*) FROM migrate.history WHERE action = 'repair' AND detail ? 'accepted_checksum'}),
   '1', 'repair is in history');
is($node->safe_psql('app', q{SELECT string_agg(concat_ws(' ', detail->>'old_down' IS NOT NULL, detail->>'new_down' IS NOT NULL), ',' ORDER BY id)
  FROM migrate.history WHERE action = 'repair' AND NOT detail ? 'accepted_checksum'}),
   't t,t t', 'the two changes of the down script are repairs with the old and new text; reformatting is none');
is($node->safe_psql('app', q{SELECT count(*) FROM migrate.validate()}), '0', 'the catalog still validates');

# status shows it all
($rc, $out) = pgm('status');
like($out, qr/^database app: version 20240102000000, 0 migrations pending/m, 'status: header');
like($out, qr/^R\s+R__owners\.sql\s+applied/m, 'status: the repeatable');

# Migrations registered before the command existed (by migrate.register, as in 0.1.0): no file
# row; their files are compared by the statements' checksum computed from the stored script.
$node->safe_psql('postgres', 'CREATE DATABASE legacy');
$node->safe_psql('legacy', q{
  CREATE EXTENSION pg_migrate;
  SELECT migrate.register('1', 'create things', 'CREATE TABLE things (id bigint PRIMARY KEY);', 'DROP TABLE things;');
  SELECT count(*) FROM migrate.apply();
});
my $ldir = "$tmp/legacy";
mkdir $ldir;
open my $lf, '>', "$ldir/V1__create_things.sql" or die;
print $lf "-- created with migrate.register\r\nCREATE TABLE things (\r\n  id bigint PRIMARY KEY\r\n);\r\n";
close $lf;
open $lf, '>', "$ldir/U1__create_things.sql" or die;
print $lf "drop table\r\n  things;  -- the down script as registered, reformatted\r\n";
close $lf;
my ($lout, $lerr) = ('', '');
IPC::Run::run([ 'pg_migrate', '-d', $node->connstr('legacy'), '--dir', $ldir, 'check' ], '<', \undef, '>', \$lout, '2>', \$lerr);
is($? >> 8, 0, 'a migration registered by migrate.register matches its (reformatted, CRLF) file') or diag($lout . $lerr);
IPC::Run::run([ 'pg_migrate', '-d', $node->connstr('legacy'), '--dir', $ldir, 'apply' ], '<', \undef, '>', \$lout, '2>', \$lerr);
is($node->safe_psql('legacy', 'SELECT file_name FROM migrate.migration_files'), 'V1__create_things.sql',
   'apply records the file of a migration registered before');
is($node->safe_psql('legacy', 'SELECT count(*) FROM migrate.validate()'), '0', 'and the catalog validates');

# A non-transactional revert stopped part way: the migration is still applied, its down script
# half done. check reports it as pending work (12), whichever query path it takes.
fresh_db($node, 'partial');
my $pdir = "$tmp/partial";
mkdir $pdir;
write_file("$pdir/20240101000000_part.sql",
  "-- migrate:up transaction:false\nCREATE TABLE part_a (id int);\nCREATE TABLE part_b (id int);\n"
  . "-- migrate:down transaction:false\nDROP TABLE part_b;\nSELECT 1 / 0;\nDROP TABLE part_a;\n");
($rc, $out, $err) = pgm_on($node, 'partial', $pdir, 'apply');
is($rc, 0, 'the non-transactional migration applies') or diag($err);
is((pgm_on($node, 'partial', $pdir, 'check'))[0], 0, 'check: at the folder -> 0');
($rc, $out, $err) = pgm_on($node, 'partial', $pdir, 'revert');
is($rc, 1, 'its revert fails at the second statement');
like($err, qr/HINT: Fix the cause in the down script of its file \(pg_migrate revert stores it\), then pg_migrate revert again: it resumes at this statement/, "the hint names the command that resumes the revert");
# The folder's digest is recorded (one query); a new file makes check compare file by file.
for my $try (1, 2) {
  write_file("$pdir/20240102000000_more.sql", "-- migrate:up\nSELECT 1;\n") if $try == 2;
  ($rc, $out, $err) = pgm_on($node, 'partial', $pdir, 'check');
  is($rc, 12, "check: a half-done revert -> 12 (call $try)");
  like($out, qr/pending \(12\):\n(\s+20240102000000 .*\n)?\s+20240101000000 \(\S*20240101000000_part\.sql\): partially reverted \(pg_migrate revert finishes it\)/,
       "check: names the half-done revert (call $try)");
}

# Nothing to do: apply and check answer from what was read on the connection opened while the
# folder was (the folder digest recorded in sync, at the catalog's generation), with no statement
# after the folder is read. A catalog changed since the digest was recorded is not in sync.
fresh_db($node, 'quiet');
my $qdir = "$tmp/quiet";
write_file("$qdir/V1__a.sql", "CREATE TABLE quiet_a (id int);\n");
write_file("$qdir/V2__b.sql", "CREATE TABLE quiet_b (id int);\n");
is((pgm_on($node, 'quiet', $qdir, 'apply'))[0], 0, 'quiet: applied');
$node->safe_psql('quiet', q{ALTER DATABASE quiet SET log_statement = 'all'});
my $offset;
for my $command ('apply', 'check') {
  $offset = -s $node->logfile;
  ($rc, $out, $err) = pgm_on($node, 'quiet', $qdir, $command);
  is($rc, 0, "quiet: $command with nothing to do -> 0") or diag($out . $err);
  like($out, qr/nothing to apply, at version 2|check quiet: ok, at version 2/, "quiet: $command says so");
  # (A statement with parameters is logged as "execute <unnamed>: ...".)
  my @statements = (slurp_file($node->logfile, $offset) =~ /LOG:  (?:statement|execute [^:]*): (.*)/g);
  ok((grep { /migrate\.sync_state/ } @statements), "quiet: $command read the recorded digest ahead")
    or diag(join "\n", @statements);
  is(scalar(grep { /migrate\.sync_digest\(\$|migrate\.sync\(/ } @statements), 0, "quiet: $command asks nothing after the folder is read")
    or diag(join "\n", @statements);
}
# A role that may read the catalog but not call migrate.sync_digest() is refused as before.
$node->safe_psql('quiet', q{CREATE ROLE quiet_reader LOGIN; GRANT USAGE ON SCHEMA migrate TO quiet_reader;
  GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO quiet_reader});
($rc, $out, $err) = run_pgm('-d', $node->connstr('quiet') . ' user=quiet_reader', '--dir', $qdir, 'check');
is($rc, 1, 'quiet: a role without EXECUTE on migrate.sync_digest() -> 1, as before');
like($err, qr/permission denied for function sync_digest/, 'quiet: with the permission error');
# With a Flyway callback to run, apply asks migrate.sync_digest() after the folder is read.
write_file("$qdir/afterMigrate.sql", "SELECT 1;\n");
$offset = -s $node->logfile;
($rc, $out, $err) = pgm_on($node, 'quiet', $qdir, 'apply');
is($rc, 0, 'quiet: apply with a callback -> 0') or diag($out . $err);
ok(slurp_file($node->logfile, $offset) =~ /LOG:  (?:statement|execute [^:]*): SELECT migrate\.sync_digest/,
   'quiet: with a callback, apply asks migrate.sync_digest() when its transaction starts');
unlink "$qdir/afterMigrate.sql";
$node->safe_psql('quiet', q{ALTER DATABASE quiet RESET log_statement;
  SELECT migrate.register('3', 'c', 'CREATE TABLE quiet_c (id int)')});
($rc, $out, $err) = pgm_on($node, 'quiet', $qdir, 'check');
is($rc, 11, 'quiet: a migration registered outside the folder since -> check exits 11');
like($out, qr/^    3: registered without a file/m, 'quiet: names the migration without a file') or diag($out . $err);
($rc, $out, $err) = pgm_on($node, 'quiet', $qdir, 'apply');
like($out, qr/^quiet: applied 1 migration .*now at version 3$/m, 'quiet: apply does not take the folder as in sync either')
  or diag($out . $err);

# A `;` that ends no statement is not an edit: an applied file and a repeatable with a final
# `;` added (and a repeated one) are at the folder, and the repeatable is not applied again;
# a second statement is an edit.
fresh_db($node, 'semi');
my $sdir = "$tmp/semi";
write_file("$sdir/V1__s.sql", "CREATE TABLE semi_s (id int)\n");
write_file("$sdir/R__v.sql", "CREATE OR REPLACE VIEW semi_v AS SELECT 1 AS one\n");
is((pgm_on($node, 'semi', $sdir, 'apply'))[0], 0, 'semi: applied');
write_file("$sdir/V1__s.sql", "CREATE TABLE semi_s (id int);\n");
write_file("$sdir/R__v.sql", "CREATE OR REPLACE VIEW semi_v AS SELECT 1 AS one;;\n");
($rc, $out, $err) = pgm_on($node, 'semi', $sdir, 'check');
is($rc, 0, 'semi: final semicolons added -> check 0') or diag($out . $err);
($rc, $out, $err) = pgm_on($node, 'semi', $sdir, 'apply');
is($rc, 0, 'semi: apply -> 0') or diag($out . $err);
is($node->safe_psql('semi', q{SELECT count(*) FROM migrate.history WHERE version = 'R' AND action = 'apply'}), '1',
   'semi: the repeatable was not applied again');
write_file("$sdir/V1__s.sql", "CREATE TABLE semi_s (id int); SELECT 1;\n");
($rc, $out, $err) = pgm_on($node, 'semi', $sdir, 'check');
is($rc, 10, 'semi: a statement added -> check 10 (edited)');

# A new file sync would refuse (a syntax error; VACUUM in a transactional file; a repeatable
# with the no-transaction directive) is not an ordinary pending file: check names the refusal
# (the dry-run sync answered "new" and only apply failed).
fresh_db($node, 'refused');
my $rdir = "$tmp/refused";
write_file("$rdir/V1__ok.sql", "CREATE TABLE refused_ok (id int);\n");
write_file("$rdir/V2__typo.sql", "CREATE TABLE refused_a (id int);\nselec 1;\n");
write_file("$rdir/V3__vacuum.sql", "VACUUM refused_ok;\n");
write_file("$rdir/R__idx.sql", "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY refused_i ON refused_ok (id);\n");
($rc, $out, $err) = pgm_on($node, 'refused', $rdir, 'check');
is($rc, 12, 'refused: check exits 12 (pending)') or diag($out . $err);
like($out, qr/^    2 \(\S*V2__typo\.sql\): sync refuses it: 42601: up script of migration 2 \("typo"\) has a syntax error at line 2/m,
     'refused: the syntax error and its line are named') or diag($out . $err);
like($out, qr/^    3 \(\S*V3__vacuum\.sql\): sync refuses it: 25001: VACUUM cannot run inside a migration/m,
     'refused: the statement a transaction cannot run is named') or diag($out . $err);
like($out, qr/repeatable "idx" \(\S*R__idx\.sql\): sync refuses it: 0A000: repeatable migration file R__idx\.sql is non-transactional; repeatable migrations always run in one transaction/,
     'refused: a non-transactional repeatable is named, without a hint to add the directive it has') or diag($out . $err);
like($out, qr/^    1 \(\S*V1__ok\.sql\)$/m, 'refused: the good file is plainly pending') or diag($out . $err);
is($node->safe_psql('refused', 'SELECT count(*) FROM migrate.migrations'), '0', 'refused: check registered nothing');
# status says it too (it listed the file as a plain new one).
($rc, $out, $err) = pgm_on($node, 'refused', $rdir, 'status');
like($out, qr/^2\s+V2__typo\.sql\s+pending\s.*new file; apply refuses it: 42601: up script of migration 2 \("typo"\) has a syntax error at line 2/m,
     'refused: status names the refusal') or diag($out . $err);

# A hotfix version below the newest applied one: check says apply would refuse it.
fresh_db($node, 'hot');
my $hdir = "$tmp/hot";
write_file("$hdir/V1__a.sql", "CREATE TABLE hot_a (id int);\n");
write_file("$hdir/V3__c.sql", "CREATE TABLE hot_c (id int);\n");
is((pgm_on($node, 'hot', $hdir, 'apply'))[0], 0, 'hot: applied 1 and 3');
write_file("$hdir/V2__b.sql", "CREATE TABLE hot_b (id int);\n");
($rc, $out, $err) = pgm_on($node, 'hot', $hdir, 'check');
is($rc, 12, 'hot: check exits 12') or diag($out . $err);
like($out, qr/^    2 \(\S*V2__b\.sql\): older than the newest applied version 3; apply refuses it unless pg_migrate\.out_of_order is on$/m,
     'hot: the out-of-order file is named as such') or diag($out . $err);
# apply refuses it; the hint says how to pass the setting from the command, which works.
($rc, $out, $err) = pgm_on($node, 'hot', $hdir, 'apply');
is($rc, 1, 'hot: apply refuses the out-of-order file');
like($err, qr/HINT: Set pg_migrate\.out_of_order = on .* From the command: PGOPTIONS='-c pg_migrate\.out_of_order=on' pg_migrate \.\.\./,
     'hot: the hint says how to set it from the command');
($rc, $out, $err) = run_pgm_env({ PGOPTIONS => '-c pg_migrate.out_of_order=on' }, '-d', $node->connstr('hot'), '--dir', $hdir, 'apply');
is($rc, 0, 'hot: applied with PGOPTIONS, as the hint says') or diag($out . $err);
# -vv: the phases on one clock, from the start of the command.
write_file("$hdir/V4__d.sql", "CREATE TABLE hot_d (id int);\n");
($rc, $out, $err) = pgm_on($node, 'hot', $hdir, '-vv', 'apply');
my @phases = $err =~ /^\[([0-9.]+) ms\] ([a-z ]+)$/mg;
is(join(',', map { $phases[2 * $_ + 1] } 0 .. $#phases / 2), 'folder read,connected,synced,applied,committed,done', '-vv: the phases');
my @ms = map { $phases[2 * $_] } 0 .. $#phases / 2;
ok(!(grep { $ms[$_] < $ms[$_ - 1] } 1 .. $#ms), '-vv: the times only grow (one clock)') or diag($err);

# A down script repaired through SQL (migrate.repair()) while the folder has another: the
# folder's file counted as unchanged from then on (its recorded source checksum still
# matched), so check passed and revert ran the repaired script, printing the file's name.
fresh_db($node, 'rep');
my $rdir = "$tmp/rep";
write_file("$rdir/V1__b.sql", "CREATE TABLE rep_b (id int);\n");
write_file("$rdir/U1__b.sql", "DROP TABLE rep_b;\n");
is((pgm_on($node, 'rep', $rdir, 'apply'))[0], 0, 'rep: applied');
$node->safe_psql('rep', q{SELECT migrate.repair('1', down => 'SELECT 1')});
($rc, $out, $err) = pgm_on($node, 'rep', $rdir, 'check');
is($rc, 12, 'rep: after an SQL repair of the down script, check exits 12') or diag($out . $err);
like($out, qr/down script changed/, 'rep: the folder\'s down script differs from the repaired one') or diag($out . $err);
($rc, $out, $err) = pgm_on($node, 'rep', $rdir, 'apply');
is($rc, 0, 'rep: apply -> 0') or diag($out . $err);
like($node->safe_psql('rep', q{SELECT down_sql FROM migrate.migrations WHERE version = '1'}), qr/^DROP TABLE rep_b;\s*$/,
   'rep: apply recorded the file\'s down script again');
# A non-transactional down script for an applied migration (DROP INDEX CONCURRENTLY for an index
# built concurrently) is recorded with its mode: it was refused, and every later deploy failed.
write_file("$rdir/V2__i.sql", "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY rep_i ON rep_b (id);\n");
write_file("$rdir/U2__i.sql", "DROP INDEX rep_i;\n");
is((pgm_on($node, 'rep', $rdir, 'apply'))[0], 0, 'rep: the concurrent build applied');
write_file("$rdir/U2__i.sql", "-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY rep_i;\n");
write_file("$rdir/V3__c.sql", "CREATE TABLE rep_c (id int);\n");
write_file("$rdir/U3__c.sql", "DROP TABLE rep_c;\n");
($rc, $out, $err) = pgm_on($node, 'rep', $rdir, 'apply');
is($rc, 0, 'rep: a non-transactional down script of an applied migration is taken, and the deploy goes on')
  or diag($out . $err);
is($node->safe_psql('rep', q{SELECT down_mode FROM migrate.migrations WHERE version = '2'}), 'no-transaction',
   'rep: recorded as non-transactional');
($rc, $out, $err) = pgm_on($node, 'rep', $rdir, 'revert', '--steps', '2');
is($rc, 0, 'rep: revert runs it (CALL migrate.run_revert())') or diag($out . $err);
is($node->safe_psql('rep', q{SELECT count(*) FROM pg_class WHERE relname IN ('rep_i', 'rep_c')}), '0',
   'rep: the index and the table are gone');

my ($pret, $pout, $perr) = $node->psql('partial', 'SELECT count(*) FROM migrate.plan()');
like($perr, qr/migration 20240101000000 \("part"\) is partially reverted/, 'plan() refuses over the half-done revert, as apply does');
($pret, $pout, $perr) = $node->psql('partial', 'SELECT count(*) FROM migrate.revert()');
like($perr, qr/DETAIL:  Its finished statements took effect \(CALL migrate\.run_revert\(\) stopped part way\)/,
     'revert() names the call that stopped (run_revert, not run)');

done_testing();
