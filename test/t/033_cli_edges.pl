# The pg_migrate command on awkward input: arguments that must be refused before anything is
# touched, folders with entries that are not migration files, empty files, quick `new`, dry runs
# and reverts of non-transactional migrations, runs stopped part way in status, --dbs-from lines.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgMigrateCli;
use File::Path qw(make_path);
use JSON::PP;

my $node = PostgreSQL::Test::Cluster->new('cli_edges');
$node->init;
$node->append_conf('postgresql.conf', 'max_prepared_transactions = 5');
$node->start;
my $tmp = PostgreSQL::Test::Utils::tempdir;

sub pgm { return pgm_on($node, @_); }
sub fresh { fresh_db($node, @_); }

my ($rc, $out, $err);

# --- Arguments refused before the database is touched.
fresh('args');
my $args = "$tmp/args";
for my $i (1 .. 3) {
  write_file("$args/${i}0000000000_t$i.sql", "-- migrate:up\nCREATE TABLE t$i (id int);\n-- migrate:down\nDROP TABLE t$i;\n");
}
($rc, $out, $err) = pgm('args', $args, 'apply');
is($rc, 0, 'three migrations applied') or diag($out . $err);
for my $bad ([ 'revert', '--steps', '0' ], [ 'revert', '--steps', '-1' ], [ 'revert', '--to', '' ], [ 'apply', '--to', '' ],
             [ 'check', '--expect-version', '' ], [ 'baseline', '' ]) {
  ($rc, $out, $err) = pgm('args', $args, @$bad);
  is($rc, 2, "refused: @$bad");
}
is($node->safe_psql('args', 'SELECT migrate.current_version()'), '30000000000', 'nothing was reverted');
($rc, $out, $err) = pgm('args', $args, 'revert', '--to', '99');
is($rc, 2, 'revert --to an unknown version: exit 2, as apply --to');
like($err, qr/--to 99: the database has no migration 99 \(--to 0 reverts every migration above version 0\)/, 'revert --to: says why');
($rc, $out, $err) = pgm('args', $args, 'revert', '--steps', '5');
is($rc, 2, 'revert --steps beyond the applied migrations: exit 2, as an unknown --to');
like($err, qr/--steps 5: only 3 migrations are applied/, 'revert --steps 5: says why');
is($node->safe_psql('args', 'SELECT migrate.current_version()'), '30000000000', 'nothing was reverted');
($rc, $out, $err) = pgm('args', $args, 'revert', '--steps', 'abc');
like($err, qr/--steps: must be a whole number of migrations \(1 or more\), not "abc"/, '--steps abc: not "out of range"');
($rc, $out, $err) = run_pgm('drift', '--help');
like($out, qr/--ack NOTE +Acknowledge/, 'drift --help: --ack NOTE');
like($out, qr/Options of every command .*-d CONNINFO, --dir DIR, --json/s, 'a command\'s --help names the options of every command');
# check lists the migrations without a file in version order.
my $gone = "$tmp/args_gone";
write_file("$gone/V5__keep.sql", "SELECT 1;\n");
fresh('gone');
$node->safe_psql('gone', q{SELECT migrate.register(v::text, 'r' || v, 'SELECT 1') FROM unnest('{100,2,10}'::int[]) v;
                           SELECT count(*) FROM migrate.apply()});
($rc, $out, $err) = pgm('gone', $gone, 'check');
like($out, qr/\b2: .*\n.*\b10: .*\n.*\b100: /, 'check: missing files in version order') or diag($out);
# status too: the rows of migrations without a file among the others, in version order.
($rc, $out, $err) = pgm('gone', $gone, 'status');
like($out, qr/^2\s.*no file\n^5\s+V5__keep\.sql\s.*\n^10\s.*no file\n^100\s.*no file$/m,
     'status: rows in version order, those without a file among them') or diag($out);
# a dry run of a pending migration registered without a file: its line, not "version:line"
fresh('nofile');
mkdir "$tmp/nofile";
$node->safe_psql('nofile', q{SELECT migrate.register('200', 'from sql', E'SELECT 1;\nSELECT 2;')});
($rc, $out, $err) = pgm('nofile', "$tmp/nofile", 'apply', '--dry-run');
like($out, qr/^200\s+line 2 \(no file\)\s+ok/m, 'dry run: a migration without a file shows its line as such') or diag($out . $err);
($rc, $out, $err) = run_pgm('aply');
is($rc, 2, 'a mistyped command: exit 2');
like($err, qr/error: unknown command "aply"; did you mean "apply"\?/, 'a mistyped command is named, with the near one');
($rc, $out, $err) = pgm('args', $args, 'drift', '--ack', '  ');
is($rc, 2, 'drift --ack with an empty note: exit 2');
like($err, qr/--ack: must not be empty/, 'the empty note is refused');
# A role without the grants a command needs: the grant to make.
$node->safe_psql('args', 'CREATE ROLE no_grants LOGIN');
($rc, $out, $err) = run_pgm('-d', $node->connstr('args') . ' user=no_grants', '--dir', $args, 'status');
like($err, qr/permission denied for schema migrate.*\nHINT: GRANT USAGE ON SCHEMA migrate TO <role>; README "Privileges for the command"/s,
     'permission denied: the hint names the grant');
($rc, $out, $err) = pgm('args', $args, 'apply', '--to', '99');
is($rc, 2, 'apply --to an unknown version: exit 2');
like($err, qr/--to 99: no migration file in .* has version 99, and the database has no such migration/,
     'apply --to an unknown version: says so');
($rc, $out, $err) = pgm('args', $args, 'revert', '--to', 'x');
is($rc, 2, 'revert --to a malformed version: exit 2, before connecting');
like($err, qr/--to: invalid migration version "x"/, 'revert --to a malformed version: says so');
($rc, $out, $err) = pgm('args', $args, 'verify', '1.x');
is($rc, 2, 'verify with a malformed version: exit 2');
($rc, $out, $err) = pgm('args', $args, 'verify', '999');
is($rc, 2, 'verify an unknown version: exit 2, as apply --to and revert --to');
like($err, qr/verify 999: no migration file in .* has version 999, and the database has no such migration/,
     'verify an unknown version: says so');
($rc, $out, $err) = pgm('args', $args, 'verify', '30000000000');
like($err, qr/HINT: Revert it first \(pg_migrate revert --to <the version before it>\), then verify it\./,
     'verify an applied version: the hint names the command, not SQL') or diag($err);
($rc, $out, $err) = run_pgm('--version');
like($out, qr/^pg_migrate \d+\.\d+\.\d+$/m, '--version prints the version');

# --- new, twice in one second: two versions.
my $nd = "$tmp/new";
my @made;
for my $name (qw(first second third)) {
  ($rc, $out, $err) = pgm('args', $nd, 'new', $name);
  is($rc, 0, "new $name");
  chomp $out;
  push @made, $out;
}
my %versions = map { (m{/(\d{14})_} ? $1 : $_) => 1 } @made;
is(scalar(keys %versions), 3, 'three quick `new` got three versions');
($rc, $out, $err) = pgm('args', $nd, 'status');
is($rc, 0, 'the folder of quick `new` files is readable') or diag($err);

# --- new with letters of other scripts: kept in the slug, the file reads back by its name.
my $nu = "$tmp/new_utf8";
($rc, $out, $err) = pgm('args', $nu, 'new', "Gr\x{c3}\x{b6}\x{c3}\x{9f}e \x{e2}\x{80}\x{94} \x{e7}\x{94}\x{a8}\x{e6}\x{88}\x{b7}");
is($rc, 0, 'new with non-ASCII letters') or diag($err);
like($out, qr{/\d{14}_gr\x{c3}\x{b6}\x{c3}\x{9f}e_\x{e7}\x{94}\x{a8}\x{e6}\x{88}\x{b7}\.sql$}m,
     'the slug keeps the letters (lower-cased ASCII) and drops the dash');
($rc, $out, $err) = pgm('args', $nu, 'status');
like($out, qr/_gr\x{c3}\x{b6}\x{c3}\x{9f}e_\x{e7}\x{94}\x{a8}\x{e6}\x{88}\x{b7}\.sql +pending +- +- +still the empty template of pg_migrate new/,
     'status reads the file back as a new migration') or diag($out . $err);

# --- Folder entries that are not migration files.
my $odd = "$tmp/odd";
write_file("$odd/V1__a.sql", "CREATE TABLE odd_a (id int);\n");
symlink("$tmp/no-such-file.sql", "$odd/V2__gone.sql") or die;
($rc, $out, $err) = pgm('args', $odd, 'apply', '--dry-run');
is($rc, 4, 'a broken symbolic link named like a migration: exit 4');
like($err, qr/V2__gone\.sql: not a regular file/, 'a broken symbolic link is named');
unlink("$odd/V2__gone.sql");
symlink("$odd/V3__loop.sql", "$odd/V3__loop.sql") or die;
($rc, $out, $err) = pgm('args', $odd, 'status');
is($rc, 4, 'a symbolic link loop: exit 4, not an abort');
like($err, qr/V3__loop\.sql: not a regular file/, 'the link loop is named');
unlink("$odd/V3__loop.sql");
my $bad_name = "V4__bad\xff.sql";
write_file("$odd/$bad_name", "SELECT 1;\n");
($rc, $out, $err) = pgm('args', $odd, 'status');
is($rc, 4, 'a file name that is not UTF-8: exit 4');
like($err, qr/V4__bad\\xff\.sql: the file name is not valid UTF-8/, 'the file name is shown escaped');
unlink("$odd/$bad_name");
make_path("$odd/locked");
chmod 0, "$odd/locked";
($rc, $out, $err) = pgm('args', $odd, 'status');
chmod 0755, "$odd/locked";
is($rc, 4, 'an unreadable sub-folder: exit 4, not an abort');
like($err, qr/cannot read folder .*locked: Permission denied/, 'the unreadable folder is named');
rmdir("$odd/locked");
($rc, $out, $err) = pgm('args', "$odd/V1__a.sql", 'status');
is($rc, 4, '--dir naming a file: exit 4');
like($err, qr/is not a directory/, '--dir naming a file: says so');

# --- A script the scanner refuses (unterminated quote) is reported with its file and line.
my $scan = "$tmp/scan";
write_file("$scan/V1__q.sql", "SELECT 1;\n\nSELECT 'abc;\n");
($rc, $out, $err) = pgm('args', $scan, 'apply', '--dry-run');
is($rc, 1, 'an unterminated quote: exit 1');
like($err, qr/V1__q\.sql:3: up script of migration 1 \("q"\) has a syntax error at line 3: unterminated quoted string/,
     'an unterminated quote: file, line and message');

# --- Names in UTF-8 line up in status; an upper-case .SQL file is not read, with a warning.
fresh('utf');
my $utf = "$tmp/utf";
write_file("$utf/V1__gr\x{c3}\x{b6}\x{c3}\x{9f}e.sql", "SELECT 1;\n");
write_file("$utf/V2__plain.sql", "SELECT 2;\n");
write_file("$utf/5_UPPER.SQL", "SELECT 3;\n");
($rc, $out, $err) = pgm('utf', $utf, 'status');
like($err, qr/warning: ignoring 5_UPPER\.SQL: not a migration file name/, 'an upper-case .SQL file: warned about');
my @status_lines = grep { /^(VERSION|1 |2 )/ } split /\n/, $out;
my @state_at = map { my $l = $_; utf8::decode($l); index($l, $l =~ /STATE/ ? 'STATE' : 'pending') } @status_lines;
is(scalar(@state_at), 3, 'status: header and two rows');
is(scalar(grep { $_ == $state_at[0] } @state_at), 3, 'status: the STATE column lines up with a UTF-8 file name');

# --- Empty and comment-only files are no-op migrations; a byte order mark is not SQL.
fresh('empty');
my $empty = "$tmp/empty";
write_file("$empty/000001_noop.up.sql", "-- placeholder\n");
write_file("$empty/000001_noop.down.sql", "");
write_file("$empty/000002_bom.up.sql", "\xEF\xBB\xBFCREATE TABLE bom_t (id int);\n");
write_file("$empty/000002_bom.down.sql", "\xEF\xBB\xBF-- a comment\nDROP TABLE bom_t;\n");
write_file("$empty/R__nothing.sql", "-- nothing yet\n");
($rc, $out, $err) = pgm('empty', $empty, 'apply');
is($rc, 0, 'empty, comment-only and BOM files apply') or diag($out . $err);
like($err, qr/up script of migration 1 \("noop"\) contains no SQL statement: it runs as a no-op/,
     'an empty script gets the NOTICE register gives');
($rc, $out, $err) = pgm('empty', $empty, 'check');
is($rc, 0, 'and check is in sync with them') or diag($out . $err);
($rc, $out, $err) = pgm('empty', $empty, 'revert', '--steps', '2');
is($rc, 0, 'and they revert') or diag($out . $err);
is($node->safe_psql('empty', q{SELECT count(*) FROM pg_class WHERE relname = 'bom_t'}), '0', 'the BOM file\'s down ran');

# --- Non-transactional migrations: dry run, revert through CALL migrate.run_revert(), status
# of a run stopped part way.
fresh('ntx');
my $ntx = "$tmp/ntx";
write_file("$ntx/20240101000000_t.sql", "-- migrate:up\nCREATE TABLE r1 (id int);\n-- migrate:down\nDROP TABLE r1;\n");
write_file("$ntx/20240102000000_i.sql",
  "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY r1_i ON r1 (id);\n"
  . "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY r1_i;\n");
($rc, $out, $err) = pgm('ntx', $ntx, 'apply', '--dry-run');
is($rc, 0, 'dry run with a non-transactional migration pending: exit 0') or diag($out . $err);
like($out, qr/20240102000000_i\.sql:2\s+skipped\s+0\.0/, 'the non-transactional migration is shown as skipped');
($rc, $out, $err) = pgm('ntx', $ntx, 'apply', '--dry-run', '--json');
is($rc, 0, 'dry run --json: exit 0');
like($out, qr/"status": "skipped"/, 'dry run --json: the skipped row');
($rc, $out, $err) = pgm('ntx', $ntx, 'verify');
is($rc, 0, 'verify with a non-transactional migration pending: exit 0') or diag($out . $err);
like($out, qr/20240102000000_i\.sql\s+unverifiable\s+its up script is non-transactional/,
     'verify: the non-transactional migration is unverifiable, with the reason');
($rc, $out, $err) = pgm('ntx', $ntx, 'apply');
is($rc, 0, 'applied') or diag($out . $err);
($rc, $out, $err) = pgm('ntx', $ntx, 'revert', '--steps', '2');
is($rc, 0, 'revert of a non-transactional down: through CALL migrate.run_revert()') or diag($out . $err);
like($err, qr/reverted 20240102000000 .*20240102000000_i\.sql/, 'each reverted migration is listed');
is($node->safe_psql('ntx', 'SELECT migrate.current_version() IS NULL'), 't', 'both reverted');
($rc, $out, $err) = pgm('ntx', $ntx, 'apply');
($rc, $out, $err) = pgm('ntx', $ntx, 'revert', '--to', '20240101000000');
is($rc, 0, 'revert --to past a non-transactional down') or diag($out . $err);
is($node->safe_psql('ntx', 'SELECT migrate.current_version()'), '20240101000000', 'reverted to the target');
write_file("$ntx/20240103000000_half.sql",
  "-- migrate:up transaction:false\nCREATE TABLE half_a (id int);\nCREATE TABLE r1 (id int);\n");
($rc, $out, $err) = pgm('ntx', $ntx, 'apply');
is($rc, 1, 'a non-transactional migration failing at its second statement');
($rc, $out, $err) = pgm('ntx', $ntx, 'status');
like($out, qr/20240103000000\s+20240103000000_half\.sql\s+failed\s+.*apply stopped at statement 2 of 2 \(line 3\)/,
     'status shows the run stopped part way, not just pending');
($rc, $out, $err) = pgm('ntx', $ntx, 'status', '--json');
like($out, qr/"state": "failed"/, 'status --json: the run\'s state');
($rc, $out, $err) = pgm('ntx', $ntx, 'drift');
is($rc, 14, 'drift: the committed half of the run differs from the snapshot');
like($out, qr/schema differences from the newest snapshot:\n.*table public\.half_a\s+added/s, 'drift lists the differing objects');
like($out, qr/note: migration 20240103000000 stopped part way \(an unfinished run\): what its finished statements did is among these differences/,
     'drift says the stopped run made differences of its own');
# Its file gone: sync does not unregister a migration whose run finished statements (as
# unregister() refuses to); nothing changes.
rename("$ntx/20240103000000_half.sql", "$tmp/half.sql") or die;
($rc, $out, $err) = pgm('ntx', $ntx, 'status');
is($rc, 0, 'status with the file of a stopped run gone does not fail on it') or diag($out . $err);
like($out, qr/20240103000000\s+20240103000000_half\.sql\s+failed\s+.*its file is gone: put it back and pg_migrate apply resumes it/,
     'status says the file is gone and how to resume');
($rc, $out, $err) = pgm('ntx', $ntx, 'apply');
isnt($rc, 0, 'apply with the file of a stopped run gone fails');
like($err, qr/20240103000000_half\.sql is no longer in the folder, but migration 20240103000000 has an unfinished apply run \(1 of 2 statements done\)/,
     'the error names the file and the run');
like($err, qr/migrate\.run_forget\('20240103000000'\)/, 'the hint says how to give the run up');
is($node->safe_psql('ntx', q{SELECT count(*) FROM migrate.migrations WHERE version = '20240103000000'}), '1',
   'the migration stays registered');
rename("$tmp/half.sql", "$ntx/20240103000000_half.sql") or die;

# --- A down script changed in the file of an applied migration: a repair, in history.
fresh('rep');
my $rep = "$tmp/rep";
write_file("$rep/20240101000000_p.sql", "-- migrate:up\nCREATE TABLE p1 (id int);\n-- migrate:down\nDROP TABLE p1;\n");
($rc, $out, $err) = pgm('rep', $rep, 'apply');
is($rc, 0, 'applied') or diag($out . $err);
write_file("$rep/20240101000000_p.sql", "-- migrate:up\nCREATE TABLE p1 (id int);\n-- migrate:down\nDROP TABLE IF EXISTS p1;\n");
($rc, $out, $err) = pgm('rep', $rep, 'repair');
is($rc, 0, 'repair: exit 0') or diag($out . $err);
like($out, qr/repaired 20240101000000 \(.*20240101000000_p\.sql\): down script replaced from the file/,
     'repair reports the replaced down script');
is($node->safe_psql('rep', q{SELECT detail->>'file' || ' | ' || (detail->>'old_down' ~ 'DROP TABLE p1') || ' | ' || (detail->>'new_down' ~ 'IF EXISTS')
  FROM migrate.history WHERE action = 'repair'}),
   '20240101000000_p.sql | true | true', 'history keeps the old and the new down script and the file');
($rc, $out, $err) = pgm('rep', $rep, 'repair');
like($out, qr/nothing to repair/, 'a second repair has nothing to do');
# A wrong --dir (empty, or none of the registered files) would retire every applied migration:
# refused, nothing written.
make_path("$tmp/empty_dir");
my $history = $node->safe_psql('rep', 'SELECT count(*) FROM migrate.history');
($rc, $out, $err) = pgm('rep', "$tmp/empty_dir", 'repair');
is($rc, 4, 'repair with a folder that has none of the registered files: exit 4');
like($err, qr/error: \S*empty_dir has none of the files of the \d+ migrations? registered in database rep: repair would retire (it|all \d+)\nHINT: Check --dir\./,
     'the refusal says what repair would have done');
is($node->safe_psql('rep', 'SELECT count(*) FROM migrate.history'), $history, 'nothing was written');
# Another project's folder whose files share the registered versions (V1, V2): none of the
# registered files is in it, so repair would take its statements, names and down scripts in
# their place (it did, exit 0): refused as well; --force repairs anyway.
fresh('repw');
my ($proja, $projb) = ("$tmp/proja", "$tmp/projb");
write_file("$proja/V1__create_users.sql", "CREATE TABLE users (id int);\n");
write_file("$proja/U1__create_users.sql", "DROP TABLE users;\n");
write_file("$proja/V2__add_email.sql", "ALTER TABLE users ADD email text;\n");
write_file("$projb/V1__init.sql", "CREATE TABLE init_t (id int);\n");
write_file("$projb/V2__items.sql", "CREATE TABLE items (id int);\n");
($rc, $out, $err) = pgm('repw', $proja, 'apply');
is($rc, 0, 'projA applied') or diag($out . $err);
$history = $node->safe_psql('repw', 'SELECT count(*) FROM migrate.history');
($rc, $out, $err) = pgm('repw', $projb, 'repair');
is($rc, 4, 'repair with another project\'s folder of the same versions: exit 4') or diag($out . $err);
like($err, qr/error: \S*projb has none of the files of the 2 migrations registered in database repw: repair would accept 2 of its files in place of the registered migrations of the same versions\nHINT: Check --dir\. .*pg_migrate repair --force/,
     'the refusal counts the registered migrations and says what repair would have done');
is($node->safe_psql('repw', q{SELECT count(*) FROM migrate.history}), $history, 'nothing was written');
is($node->safe_psql('repw', q{SELECT string_agg(name || ' ' || (down_sql IS NOT NULL), ', ' ORDER BY version) FROM migrate.migrations}),
   'create users true, add email false', 'names and the down script kept');
# The right folder with an edited file: repaired as before.
write_file("$proja/V2__add_email.sql", "ALTER TABLE users ADD email varchar;\n");
($rc, $out, $err) = pgm('repw', $proja, 'repair');
is($rc, 0, 'repair of the right folder with an edited file') or diag($out . $err);
like($out, qr/^accepted 2 /m, 'the edit is accepted');
($rc, $out, $err) = pgm('repw', $projb, 'repair', '--force');
is($rc, 0, 'repair --force: files renamed and edited on purpose') or diag($out . $err);
($rc, $out, $err) = pgm('repw', $projb, 'check');
is($rc, 0, 'after repair --force, check passes') or diag($out . $err);
($rc, $out, $err) = pgm('rep', $rep, 'revert');
is($rc, 0, 'the new down script reverts') or diag($out . $err);
# An edited applied file whose down script appeared with the edit: repair takes both (it took
# only the checksum, and the folder then counted as in sync without the down script).
fresh('rep2');
my $rep2 = "$tmp/rep2";
write_file("$rep2/20240101000000_q.sql", "-- migrate:up\nCREATE TABLE q1 (id int);\n");
($rc, $out, $err) = pgm('rep2', $rep2, 'apply');
is($rc, 0, 'applied without a down script') or diag($out . $err);
write_file("$rep2/20240101000000_q.sql", "-- migrate:up\nCREATE TABLE q1 (id bigint);\n-- migrate:down\nDROP TABLE q1;\n");
($rc, $out, $err) = pgm('rep2', $rep2, 'repair');
is($rc, 0, 'repair of an edited file with a new down script') or diag($out . $err);
like($out, qr/accepted 20240101000000/, 'the edit is accepted');
is($node->safe_psql('rep2', q{SELECT btrim(down_sql, E'\n') FROM migrate.migrations}), 'DROP TABLE q1;', 'and the down script recorded');
($rc, $out, $err) = pgm('rep2', $rep2, 'check');
is($rc, 0, 'check: in sync') or diag($out . $err);
($rc, $out, $err) = pgm('rep2', $rep2, 'revert');
is($rc, 0, 'the down script repair took reverts') or diag($out . $err);
# A revert stopped part way: apply does not report "nothing to apply" over it.
fresh('halfrev');
my $halfrev = "$tmp/halfrev";
write_file("$halfrev/20240101000000_h.sql",
  "-- migrate:up\nCREATE TABLE hr (id int);\n-- migrate:down transaction:false\nDROP TABLE hr;\nSELECT 1 / 0;\n");
($rc, $out, $err) = pgm('halfrev', $halfrev, 'apply');
is($rc, 0, 'applied') or diag($out . $err);
($rc, $out, $err) = pgm('halfrev', $halfrev, 'revert');
is($rc, 1, 'its non-transactional down script fails at its second statement') or diag($out . $err);
($rc, $out, $err) = pgm('halfrev', $halfrev, 'apply');
is($rc, 1, 'apply over a partially reverted migration: exit 1') or diag($out . $err);
like($err, qr/error: \S*halfrev\/20240101000000_h\.sql: migration 20240101000000 \("h"\) is partially reverted \(SQLSTATE 55000\)\nHINT: Finish it with pg_migrate revert/,
     'it says so, with the file and SQLSTATE, and how to finish it');

# verify V behind an earlier pending migration that fails: V is not verified (exit 1).
fresh('vskip');
my $vskip = "$tmp/vskip";
write_file("$vskip/20240101000000_bad.sql", "-- migrate:up\nSELECT 1 / 0;\n-- migrate:down\nSELECT 1;\n");
write_file("$vskip/20240102000000_ok.sql", "-- migrate:up\nCREATE TABLE v2 (id int);\n-- migrate:down\nDROP TABLE v2;\n");
($rc, $out, $err) = pgm('vskip', $vskip, 'verify', '20240102000000');
is($rc, 1, 'verify V skipped behind a failing migration: exit 1') or diag($out . $err);
like($out, qr/20240102000000\s+\S+\s+skipped\s+.*earlier pending migration 20240101000000 failed/, 'the row says why');

# --- A down file added after the apply, or fixed: revert records it from the folder first and
# runs it; a folder sync would refuse leaves the stored scripts, with a warning.
fresh('late');
my $late = "$tmp/late";
write_file("$late/V1__t.sql", "CREATE TABLE late_t (id int);\n");
write_file("$late/V2__u.sql", "CREATE TABLE late_u (id int);\n");
write_file("$late/U2__u.sql", "DROP TABLE no_such_table;\n");
($rc, $out, $err) = pgm('late', $late, 'apply');
($rc, $out, $err) = pgm('late', $late, 'revert');
is($rc, 1, 'a broken down script: revert fails');
like($err, qr/error: \S*U2__u\.sql:1: table "no_such_table" does not exist/, 'at its file and line');
write_file("$late/U2__u.sql", "DROP TABLE late_u;\n");
write_file("$late/U1__t.sql", "DROP TABLE late_t;\n");
($rc, $out, $err) = pgm('late', $late, 'revert');
is($rc, 0, 'the fixed down script: revert runs it') or diag($out . $err);
like($err, qr/recorded from the folder before the revert: 2 \(\S*V2__u\.sql\): down script changed/,
     'revert says it recorded the fixed down script');
like($err, qr/recorded from the folder before the revert: 1 \(\S*V1__t\.sql\): down script added/,
     'and the added one (recorded now, for a later revert)');
is($node->safe_psql('late', q{SELECT string_agg(version || ' ' || action, ', ' ORDER BY id) FROM migrate.history WHERE id > 2}),
   '1 repair, 2 repair, 2 revert', 'history: the repairs (old and new text), then the revert');
# An applied file edited as well: the folder is not synced, the stored down script runs.
write_file("$late/V1__t.sql", "CREATE TABLE late_t (id int, x int);\n");
write_file("$late/U1__t.sql", "DROP TABLE late_t; SELECT 1 / 0;\n");
($rc, $out, $err) = pgm('late', $late, 'revert');
is($rc, 0, 'an edited applied file: revert runs the stored down script') or diag($out . $err);
like($err, qr/warning: edited after it was applied: \S*V1__t\.sql \(version 1\); revert runs the down scripts stored in the database, not the folder's \(pg_migrate repair records the files as they are now\)/,
     'with a warning saying why');
is($node->safe_psql('late', q{SELECT to_regclass('late_t') IS NULL}), 't', 'the stored down script ran');
# A changed down script the sync refuses (a syntax error): the stored one runs, with the reason.
fresh('late2');
my $late2 = "$tmp/late2";
write_file("$late2/V1__t.sql", "CREATE TABLE late2_t (id int);\n");
write_file("$late2/U1__t.sql", "DROP TABLE late2_t;\n");
($rc, $out, $err) = pgm('late2', $late2, 'apply');
write_file("$late2/U1__t.sql", "DROP TABEL late2_t;\n");
($rc, $out, $err) = pgm('late2', $late2, 'revert');
is($rc, 0, 'a changed down script the sync refuses: the stored one reverts') or diag($out . $err);
like($err, qr/warning: the folder changes the down script or name of an applied migration, but it could not be recorded \(down script of migration 1 \("t"\) has a syntax error at line 1.*\); revert runs the down scripts stored in the database/,
     'with a warning giving the reason');

# --- A monitoring role with the README's grants: status and check work, writing does not.
$node->safe_psql('rep', q{CREATE ROLE monitor LOGIN; GRANT USAGE ON SCHEMA migrate TO monitor;
  GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO monitor;
  GRANT EXECUTE ON FUNCTION migrate.sync(jsonb, boolean, boolean), migrate.sync_digest(text) TO monitor;});
my $mon = $node->connstr('rep') . ' user=monitor';
($rc, $out, $err) = pgm('rep', $rep, 'apply');
is($rc, 0, 'applied again (by the owner)') or diag($out . $err);
($rc, $out, $err) = run_pgm('-d', $mon, '--dir', $rep, 'status');
is($rc, 0, 'monitoring role: status') or diag($out . $err);
($rc, $out, $err) = run_pgm('-d', $mon, '--dir', $rep, 'check');
is($rc, 0, 'monitoring role: check') or diag($out . $err);
write_file("$rep/20240102000000_more.sql", "-- migrate:up\nCREATE TABLE p2 (id int);\n");
($rc, $out, $err) = run_pgm('-d', $mon, '--dir', $rep, 'check');
is($rc, 12, 'monitoring role: check sees the pending file');
($rc, $out, $err) = run_pgm('-d', $mon, '--dir', $rep, 'apply');
is($rc, 1, 'monitoring role: apply is refused');
like($err, qr/permission denied to register migrations through migrate\.sync\(\) \(SQLSTATE 42501\)/,
     'monitoring role: sync says which privilege it lacks');
like($err, qr/HINT: +This role can run pg_migrate status, check and drift; apply \(also with --dry-run/,
     'monitoring role: the hint says which commands the role can run');
($rc, $out, $err) = run_pgm('-d', $mon, '--dir', $rep, 'apply', '--dry-run');
like($err, qr/This role can run pg_migrate status, check and drift/, 'monitoring role: the same for apply --dry-run');
is($node->safe_psql('rep', q{SELECT count(*) FROM migrate.migrations WHERE version = '20240102000000'}), '0',
   'monitoring role: nothing registered');

# --- -q: errors and the result only, not the lint findings the server reports as it registers
# a migration (WARNINGs); without -q they are shown, each once.
fresh('quiet');
$node->safe_psql('quiet', 'CREATE TABLE qt (id int, v text)');
my $qd = "$tmp/quiet";
write_file("$qd/V1__idx.sql", "CREATE INDEX qt_v ON qt (v);\n");
($rc, $out, $err) = pgm('quiet', $qd, 'apply', '--dry-run');
my @findings = $err =~ /^WARNING: migration 1 \("idx"\) line 1: require-concurrent-index-creation/mg;
is(scalar(@findings), 1, 'dry run without -q: the lint finding is shown, once') or diag($err);
($rc, $out, $err) = pgm('quiet', $qd, '-q', 'apply');
is($rc, 0, '-q apply') or diag($out . $err);
unlike($err, qr/require-concurrent-index-creation/, '-q apply: no lint finding on stderr');
like($out, qr/^quiet: applied 1 migration /m, '-q apply: the result is shown');

# --- A repeatable applied with a migration is not blamed on that migration's revert.
fresh('rpt');
$node->safe_psql('rpt', 'CREATE TABLE items (id int)');
my $rpt = "$tmp/rpt";
write_file("$rpt/V1__init.sql", "CREATE TABLE items (id int);\n");
write_file("$rpt/V2__add_name.sql", "ALTER TABLE items ADD COLUMN name text;\n");
write_file("$rpt/U2__add_name.sql", "ALTER TABLE items DROP COLUMN name;\n");
write_file("$rpt/R__item_ids.sql", "CREATE OR REPLACE VIEW item_ids AS SELECT id FROM items;\n");
($rc, $out, $err) = pgm('rpt', $rpt, 'baseline', '1');
($rc, $out, $err) = pgm('rpt', $rpt, 'apply');
is($rc, 0, 'V2 and the repeatable applied together') or diag($out . $err);
($rc, $out, $err) = pgm('rpt', $rpt, 'revert');
is($rc, 0, 'V2 reverted') or diag($out . $err);
like($err, qr/reverted 2 .*U2__add_name\.sql/, 'revert names the undo file');
unlike($err, qr/left the schema different/, 'the repeatable\'s view is not blamed on V2\'s revert');
is($node->safe_psql('rpt', 'SELECT count(*) FROM migrate.validate()'), '0', 'validate has no problem');

# --- Files removed on purpose: repair retires their migrations, check passes again.
fresh('ret');
$node->safe_psql('ret', q{SELECT migrate.register('0.5', 'by sql', 'SELECT 1'); SELECT count(*) FROM migrate.apply();});
my $ret = "$tmp/ret";
write_file("$ret/V1__a.sql", "CREATE TABLE g1 (id int);\n");
write_file("$ret/V2__b.sql", "CREATE TABLE g2 (id int);\n");
write_file("$ret/R__v.sql", "CREATE OR REPLACE VIEW gv AS SELECT 1 AS x;\n");
($rc, $out, $err) = pgm('ret', $ret, 'apply');
is($rc, 0, 'applied, with one migration registered from SQL') or diag($out . $err);
unlink("$ret/V1__a.sql", "$ret/R__v.sql");
($rc, $out, $err) = pgm('ret', $ret, 'check');
is($rc, 11, 'files gone: check exits 11');
($rc, $out, $err) = pgm('ret', $ret, 'repair');
is($rc, 0, 'repair retires them') or diag($out . $err);
like($out, qr/^retired 0\.5 \(-\): registered without a file/m, 'repair: the SQL-registered migration retired');
like($out, qr/^retired 1 \(.*V1__a\.sql\): its file is gone/m, 'repair: the migration whose file is gone retired');
like($out, qr/^retired R v \(.*R__v\.sql\)/m, 'repair: the repeatable whose file is gone retired');
is($node->safe_psql('ret', q{SELECT count(*) FROM migrate.history WHERE action = 'repair' AND detail ? 'retired'}), '3',
   'each retirement is a history row');
($rc, $out, $err) = pgm('ret', $ret, 'check');
is($rc, 0, 'after repair, check passes') or diag($out . $err);
($rc, $out, $err) = pgm('ret', $ret, 'status');
like($out, qr/^1\s+V1__a\.sql\s+applied\s.*no file: retired by pg_migrate repair/m, 'status says retired');
($rc, $out, $err) = pgm('ret', $ret, 'apply');
is($rc, 0, 'apply: nothing to do') or diag($out . $err);
unlike($err, qr/has no file/, 'apply no longer warns about the retired migrations');
write_file("$ret/V1__a.sql", "CREATE TABLE g1 (id int);\n");
($rc, $out, $err) = pgm('ret', $ret, 'check');
is($rc, 0, 'the file back: in sync');
is($node->safe_psql('ret', q{SELECT string_agg(coalesce(version, 'R ' || name) || ' ' || action, ', ' ORDER BY 1)
  FROM migrate.sync('[]', dry_run => true)}),
   '0.5 retired, 1 retired, 2 missing_file, R v retired', 'migrate.sync() reports retired ones as retired');
# An apply that finds the file back ends the retirement (a history row): removing the file
# once more is a missing file again, not still retired.
($rc, $out, $err) = pgm('ret', $ret, 'apply');
is($rc, 0, 'the file back: apply') or diag($out . $err);
like($err, qr/migration 1 is no longer retired: its file V1__a\.sql is back \(recorded in history\)/, 'apply says the retirement ended');
is($node->safe_psql('ret', q{SELECT version || ' ' || (detail->>'file') FROM migrate.history WHERE action = 'repair' AND detail ? 'restored'}),
   '1 V1__a.sql', 'the end of the retirement is a history row');
unlink("$ret/V1__a.sql");
($rc, $out, $err) = pgm('ret', $ret, 'check');
is($rc, 11, 'the file removed once more: check exits 11 (missing, not still retired)') or diag($out . $err);
like($out, qr/^\s+1 \(.*V1__a\.sql\): registered from V1__a\.sql, which is not in the folder/m, 'check names the missing file');
($rc, $out, $err) = pgm('ret', $ret, 'repair');
like($out, qr/^retired 1 /m, 'repair retires it again') or diag($out . $err);
($rc, $out, $err) = pgm('ret', $ret, 'check');
is($rc, 0, 'retired again: check passes') or diag($out . $err);
# A new file at the retired version (pg_migrate new numbers after the folder's last file):
# said to reuse a retired version, not that an applied file was edited.
write_file("$ret/V1__other.sql", "CREATE TABLE g_other (id int);\n");
($rc, $out, $err) = pgm('ret', $ret, 'check');
is($rc, 10, 'a new file at a retired version: check exits 10') or diag($out . $err);
like($out, qr/version 1 was applied with checksum \S+ and retired by pg_migrate repair; the file reuses its version/,
     'check says the version was retired');
($rc, $out, $err) = pgm('ret', $ret, 'status');
like($out, qr/^1\s+V1__other\.sql\s+applied\s.*reuses a retired version/m, 'status notes the reuse') or diag($out);
($rc, $out, $err) = pgm('ret', $ret, 'apply');
is($rc, 1, 'apply refuses it') or diag($out . $err);
like($err, qr/error: \S*ret\/V1__other\.sql: reuses version 1, which was applied and retired/, 'apply names the file and the reuse');
like($err, qr/HINT: A version stays taken after its file is removed: give the new file a version above/, 'and what to do');
is($node->safe_psql('ret', q{SELECT count(*) FROM migrate.history WHERE action = 'repair' AND detail ? 'restored'}), '1',
   'a reused version does not end the retirement');
unlink("$ret/V1__other.sql");

# --- Changing an applied migration's down script through a file is a repair: it needs
# migrate.repair's privilege, as calling it would.
fresh('priv');
my $priv = "$tmp/priv";
write_file("$priv/20240101000000_t.sql", "-- migrate:up\nCREATE TABLE priv_t (id int);\n-- migrate:down\nDROP TABLE priv_t;\n");
($rc, $out, $err) = pgm('priv', $priv, 'apply');
$node->safe_psql('priv', q{CREATE ROLE norepair LOGIN; GRANT USAGE ON SCHEMA migrate TO norepair;
  GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO norepair;
  GRANT EXECUTE ON FUNCTION migrate.sync(jsonb, boolean, boolean), migrate.sync_digest(text), migrate.sync_confirm(text),
    migrate.register(text, text, text, text), migrate.apply(text), migrate.apply_repeatables() TO norepair;});
write_file("$priv/20240101000000_t.sql", "-- migrate:up\nCREATE TABLE priv_t (id int);\n-- migrate:down\nTRUNCATE pg_catalog.pg_class;\n");
($rc, $out, $err) = run_pgm('-d', $node->connstr('priv') . ' user=norepair', '--dir', $priv, 'apply');
is($rc, 1, 'a role without repair: changing an applied down script through sync is refused');
like($err, qr/permission denied to change the name or down script of applied migration 20240101000000 through migrate\.sync\(\)/,
     'the refusal names the migration and the privilege');
is($node->safe_psql('priv', q{SELECT down_sql FROM migrate.migrations WHERE version = '20240101000000'}) =~ /DROP TABLE/ ? 1 : 0, 1,
   'the stored down script is unchanged');

# --- A repeatable changed but not applied, then its file removed: repair does not retire it
# (it would still be applied from the catalog).
fresh('rpend');
my $rpend = "$tmp/rpend";
write_file("$rpend/R__v.sql", "CREATE OR REPLACE VIEW rv AS SELECT 1 AS x;\n");
($rc, $out, $err) = pgm('rpend', $rpend, 'apply');
write_file("$rpend/R__v.sql", "CREATE OR REPLACE VIEW rv AS SELECT 3 AS x;\n");
($rc, $out, $err) = pgm('rpend', $rpend, 'status');
unlink("$rpend/R__v.sql");
$node->safe_psql('rpend', q{SELECT count(*) FROM migrate.sync('[{"file": "R__v.sql", "name": "v", "repeatable": true, "up": "CREATE OR REPLACE VIEW rv AS SELECT 3 AS x;"}]')});
($rc, $out, $err) = pgm('rpend', $rpend, 'repair');
unlike($out, qr/^retired R v/m, 'a pending repeatable is not retired');
($rc, $out, $err) = pgm('rpend', $rpend, 'apply');
is($rc, 1, 'apply refuses to run the text of a pending repeatable whose file is gone');
like($err, qr/repeatable migration v is pending but its file R__v\.sql is gone/, 'apply says which repeatable');
is($node->safe_psql('rpend', 'SELECT x FROM rv'), '1', 'the view is as applied before');
write_file("$rpend/R__v.sql", "CREATE OR REPLACE VIEW rv AS SELECT 1 AS x;\n");
($rc, $out, $err) = pgm('rpend', $rpend, 'apply');
is($rc, 0, 'the file back as applied: apply succeeds') or diag($out . $err);
($rc, $out, $err) = pgm('rpend', $rpend, 'check');
is($rc, 0, 'and check passes') or diag($out . $err);

# --- The pg_migrate lock held by a prepared transaction: named as such.
fresh('prep');
$node->safe_psql('prep', q{SELECT migrate.register('1', 'one', 'CREATE TABLE prep_t (id int)');
  BEGIN; SELECT count(*) FROM migrate.apply(); PREPARE TRANSACTION 'deploy_42';});
my ($pout, $perr) = ('', '');
$node->psql('prep', q{SET lock_timeout = '300ms'; SELECT migrate.register('2', 'two', 'SELECT 2');},
  stdout => \$pout, stderr => \$perr);
like($perr, qr/could not acquire the pg_migrate lock: held by prepared transaction 'deploy_42' \(lock_timeout expired\)/,
     'the lock holder is named as a prepared transaction');
like($perr, qr/DETAIL:  Prepared transaction 'deploy_42' ran a pg_migrate function and keeps its locks until COMMIT PREPARED or ROLLBACK PREPARED/,
     'the DETAIL says how it ends');
$node->safe_psql('prep', q{ROLLBACK PREPARED 'deploy_42'});
is($node->safe_psql('prep', q{SELECT migrate.register('2', 'two', 'SELECT 2')}), 'registered', 'after ROLLBACK PREPARED the lock is free');

# --- --dbs-from: a bad line is named; an empty list is an error.
write_file("$tmp/dbs_bad.txt", "# all shards\n" . $node->connstr('args') . "\nhost=/tmp port=1 # a trailing note\n");
($rc, $out, $err) = run_pgm('--dbs-from', "$tmp/dbs_bad.txt", '--dir', $args, 'status');
is($rc, 2, '--dbs-from with a bad line: exit 2');
like($err, qr/dbs_bad\.txt:3: not a conninfo string or URL/, 'the bad line is named');
# A character the database's encoding cannot hold: the file and line are named.
$node->safe_psql('postgres', q{CREATE DATABASE latin1_db ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0});
$node->safe_psql('latin1_db', 'CREATE EXTENSION pg_migrate');
my $lat = "$tmp/latin1";
write_file("$lat/V1__smile.sql", "CREATE TABLE smile (id int);\nCOMMENT ON TABLE smile IS 'smile \xf0\x9f\x98\x80';\n");
($rc, $out, $err) = pgm('latin1_db', $lat, 'status');
is($rc, 1, 'a character LATIN1 cannot hold: exit 1');
like($err, qr/error: \Q$lat\E\/V1__smile\.sql:2: character with byte sequence 0xf0 0x9f 0x98 0x80 in encoding "UTF8" has no equivalent in encoding "LATIN1" \(SQLSTATE 22P05\)/,
     'a character LATIN1 cannot hold: file and line named');
# A server WARNING no command reports itself (a misspelt pg_migrate setting, removed as the
# library loads) reaches stderr.
($rc, $out, $err) = run_pgm_env({ PGOPTIONS => '-c pg_migrate.out_of_ordr=on' }, '-d', $node->connstr('args'), '--dir', $args, 'status');
like($err, qr/WARNING: invalid configuration parameter name "pg_migrate\.out_of_ordr", removing it/,
     'a server WARNING from the library load is shown');
for my $cmd ([ 'verify' ], [ 'revert', '--steps', '1' ]) {
  ($rc, $out, $err) = run_pgm_env({ PGOPTIONS => '-c pg_migrate.out_of_ordr=on' }, '-d', $node->connstr('args'), '--dir', $args, @$cmd);
  like($err, qr/WARNING: invalid configuration parameter name "pg_migrate\.out_of_ordr"/, "the WARNING is shown by $cmd->[0] too");
}
($rc, $out, $err) = pgm('args', $args, 'apply');  # (what the revert reverted)
# A line that is neither a conninfo, a URL nor a database name is refused, not echoed.
write_file("$tmp/dbs_junk.txt", "this is junk\nuser:secret\@localhost/args\n");
($rc, $out, $err) = run_pgm('--dbs-from', "$tmp/dbs_junk.txt", '--dir', $args, 'status');
is($rc, 2, '--dbs-from with a junk line: exit 2');
like($err, qr/dbs_junk\.txt:1: neither a conninfo string \(key=value \.\.\.\), a URL \(postgresql:\/\/\.\.\.\) nor a database name/,
     'the junk line is named');
write_file("$tmp/dbs_junk.txt", "args\nuser:secret\@localhost/args\n");
($rc, $out, $err) = run_pgm('--dbs-from', "$tmp/dbs_junk.txt", '--dir', $args, 'status');
like($err, qr/dbs_junk\.txt:2: neither/, 'a URL without its scheme is refused');
unlike($err, qr/secret/, 'its password is not echoed');
# One database in the list: still the fleet's JSON shape.
write_file("$tmp/dbs_one.txt", $node->connstr('args') . "\n");
($rc, $out, $err) = run_pgm('--dbs-from', "$tmp/dbs_one.txt", '--dir', $args, '--json', 'status');
like($out, qr/^\{\s*"databases": \[/s, '--dbs-from with one database: {"databases": [...]}');
write_file("$tmp/dbs_empty.txt", "# nothing yet\n\n");
($rc, $out, $err) = run_pgm('--dbs-from', "$tmp/dbs_empty.txt", '--dir', $args, 'status');
is($rc, 2, '--dbs-from listing nothing: exit 2');
like($err, qr/lists no database/, '--dbs-from listing nothing: says so');
# -d: a connection string that does not parse is a bad argument (exit 2, with --json the usual
# keys); a word without "=" is a database name, as for psql
($rc, $out, $err) = run_pgm('-d', 'dbname=args badkey=1', '--dir', $args, '--json', 'status');
is($rc, 2, '-d with a bad connection string: exit 2');
like($err, qr/-d: not a conninfo string or URL: invalid connection option "badkey"/, '-d: says why');
like($out, qr/"exit_code": 2/, '-d: --json has exit_code');
# libpq quotes the token it could not parse; a password stays out of the message.
($rc, $out, $err) = run_pgm('-d', 'postgresql://u:Sup3rS%zzecret@h/db', '--dir', $args, 'status');
is($rc, 2, '-d with a bad percent-encoding: exit 2');
like($err, qr/-d: not a conninfo string or URL: invalid percent-encoded token: "\.\.\."/, '-d: says why');
unlike($err, qr/Sup3r/, '-d: the password is not echoed');
($rc, $out, $err) = run_pgm('-d', 'postgresql://u:pa"Sup3r%zz@h/db', '--dir', $args, 'status');
unlike($err, qr/Sup3r/, '-d: a password with a quote is not echoed either');
write_file("$tmp/dbs_pw.txt", "dbname=args Sup3rSecret\n");
($rc, $out, $err) = run_pgm('--dbs-from', "$tmp/dbs_pw.txt", '--dir', $args, 'status');
like($err, qr/dbs_pw\.txt:1: not a conninfo string or URL: missing "\.\.\." in connection info string/, '--dbs-from: says why');
unlike($err, qr/Sup3r/, '--dbs-from: the password is not echoed');
($rc, $out, $err) = run_pgm('-d', 'no_such_db_here', '--dir', $args, 'status');
is($rc, 3, '-d with a database name that does not exist: exit 3');
like($err, qr/could not connect to no_such_db_here: /, '-d: named as a database, not "(invalid connection string)"');

# --- A schema listed before pg_catalog in the caller's search_path cannot hijack the command's
# own queries (attack: its operator ran as the connecting user)
fresh('hijack');
$node->safe_psql('hijack', q{
CREATE SCHEMA evil;
CREATE FUNCTION evil.boom(text, text) RETURNS text LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'PWNED by %', current_user; END $$;
CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.boom);
CREATE FUNCTION evil.eq(text, text) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'PWNED by %', current_user; END $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.eq);
CREATE OPERATOR evil.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.eq);
CREATE FUNCTION evil.eqn(name, text) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'PWNED by %', current_user; END $$;
CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = text, FUNCTION = evil.eqn);
CREATE TYPE evil.text AS (a int);  -- a signature written with text must not find this one
SELECT migrate.acknowledge_drift('the planted schema');
});
my $hj = "$tmp/hijack";
write_file("$hj/V1__t.sql", "CREATE TABLE public.hj_t (id int);\n");
write_file("$hj/U1__t.sql", "DROP TABLE public.hj_t;\n");
write_file("$hj/R__v.sql", "CREATE OR REPLACE VIEW public.hj_v AS SELECT 1 AS one;\n");
write_file("$hj/beforeMigrate.sql", "SELECT 1;\n");
my %hostile = (PGOPTIONS => '-c search_path=evil,pg_catalog');
for my $cmd (['status'], ['apply', '--dry-run'], ['apply'], ['check'], ['drift'], ['status', '--json'], ['revert']) {
  ($rc, $out, $err) = run_pgm_env(\%hostile, '-d', $node->connstr('hijack'), '--dir', $hj, @$cmd);
  unlike($out . $err, qr/PWNED/, "hostile search_path: @$cmd runs none of the schema's operators");
  is($rc, 0, "hostile search_path: @$cmd exits 0") or diag($out . $err);
}

# --- Ctrl-C (SIGINT) and SIGTERM cancel what the server runs, as psql's Ctrl-C does: the
# transactional apply is rolled back, a non-transactional run stops as an interrupted one
# (apply resumes it); exit 128 + the signal.
fresh('sig');
my $sig = "$tmp/sig";
write_file("$sig/20240101000000_a.sql", "-- migrate:up transaction:false\nSELECT pg_sleep(30);\nCREATE TABLE after_signal (id int);\n");
for my $case ([ 'INT', 130 ], [ 'TERM', 143 ]) {
  my ($name, $code) = @$case;
  my ($o, $e) = ('', '');
  my $h = IPC::Run::start([ 'pg_migrate', '-d', $node->connstr('sig'), '--dir', $sig, 'apply' ], '<', \undef, '>', \$o, '2>', \$e);
  $node->poll_query_until('sig', q{SELECT EXISTS (SELECT FROM pg_stat_activity WHERE wait_event = 'PgSleep')})
    or die 'the migration did not start';
  $h->signal($name);
  $h->finish;
  is($? >> 8, $code, "SIG$name: exit $code");
  like($e, qr/canceling statement due to user request.*interrupted by SIG$name: the running statement was canceled/s,
       "SIG$name: the statement was canceled on the server, and the command says so");
  is($node->safe_psql('sig', q{SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'}),
     '0', "SIG$name: nothing left running on the server");
  is($node->safe_psql('sig', q{SELECT state FROM migrate.status()}), 'interrupted', "SIG$name: the run is interrupted");
}
{
  my ($o, $e) = ('', '');
  my $h = IPC::Run::start([ 'pg_migrate', '--json', '-d', $node->connstr('sig'), '--dir', $sig, 'apply' ], '<', \undef, '>', \$o, '2>', \$e);
  $node->poll_query_until('sig', q{SELECT EXISTS (SELECT FROM pg_stat_activity WHERE wait_event = 'PgSleep')})
    or die 'the migration did not start';
  $h->signal('INT');
  $h->finish;
  is($? >> 8, 130, '--json, SIGINT: exit 130');
  like($o, qr/"exit_code": 130/, '--json, SIGINT: the JSON says the same exit code');
}
is($node->safe_psql('sig', q{SELECT to_regclass('after_signal') IS NULL}), 't', 'the statement after the canceled one never ran');

# --- drift --ack with no drift entry at all (differences capture never saw): the schema alone
# is acknowledged (it sent up_to 0, which the server refuses).
fresh('noack');
$node->safe_psql('noack', 'SET pg_migrate.drift_capture = off; CREATE TABLE sneaky (a int);');
mkdir "$tmp/noack";
($rc, $out, $err) = pgm('noack', "$tmp/noack", 'drift');
is($rc, 14, 'no drift entry, a schema difference: drift exits 14');
($rc, $out, $err) = pgm('noack', "$tmp/noack", 'drift', '--ack', 'reviewed');
is($rc, 0, 'drift --ack without drift entries exits 0') or diag($out . $err);
like($err, qr/acknowledged: no drift entries; the schema as it is now is the reference/, 'and says what it did');
($rc, $out, $err) = pgm('noack', "$tmp/noack", 'check');
is($rc, 0, 'check: nothing left to report') or diag($out . $err);

# --- The server ends the session (pg_terminate_backend, a shutdown) while a migration runs: the
# FATAL error is not caught, and libpq keeps only its text; the command still names the file
# and line, with the server's message first.
fresh('term');
my $term = "$tmp/term";
write_file("$term/V1__slow.sql", "CREATE TABLE t1 (id int);\nSELECT pg_sleep(30);\n");
{
  my ($o, $e) = ('', '');
  my $h = IPC::Run::start([ 'pg_migrate', '-d', $node->connstr('term'), '--dir', $term, 'apply' ], '<', \undef, '>', \$o, '2>', \$e);
  $node->poll_query_until('term', q{SELECT EXISTS (SELECT FROM pg_stat_activity WHERE wait_event = 'PgSleep')})
    or die 'the migration did not start';
  $node->safe_psql('term', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'});
  $h->finish;
  is($? >> 8, 1, 'session terminated: exit 1');
  like($e, qr/^error: \S*V1__slow\.sql:2: terminating connection due to administrator command \(SQLSTATE 57P01\)\nDETAIL: server closed the connection unexpectedly/m,
       'session terminated: the file and line, then the server\'s message') or diag($e);
}
is($node->safe_psql('term', q{SELECT count(*) FROM migrate.migrations WHERE applied_seq IS NOT NULL}), '0', 'nothing of the terminated apply stays');

# A cancel or statement_timeout in the backoff between lock-timeout retries names the migration
# and the statement it was to retry (it came bare).
{
  $node->safe_psql('term', 'CREATE TABLE held (id int)');
  my $holder = $node->background_psql('term');
  $holder->query_safe('BEGIN; LOCK TABLE held IN ACCESS SHARE MODE;');
  my ($r, $o, $e) = $node->psql('term', q{
    SET pg_migrate.lock_timeout = '100ms'; SET pg_migrate.lock_retries = 5; SET pg_migrate.lock_retry_delay = '20s';
    SET statement_timeout = '2s';
    SELECT migrate.register('5', 'held', E'SELECT 1;\nALTER TABLE held ADD COLUMN c int;');
    SELECT * FROM migrate.apply('5');});
  like($e, qr/ERROR:  migration 5 \("held"\) failed at line 2 of its up script: canceling statement due to statement timeout\nDETAIL:  It came while waiting \d+ ms to retry the statement after a lock timeout\./,
       'a timeout in the backoff between retries names the migration and line') or diag($e);
  $holder->query_safe('ROLLBACK');
  $holder->quit;
}
{
  # In psql: the CONTEXT names the migration and line.
  my ($o, $e) = ('', '');
  my $h = IPC::Run::start([ 'psql', '-X', '-d', $node->connstr('term'), '-c', q{SELECT migrate.register('1', 'slow', E'CREATE TABLE t1 (id int);\nSELECT pg_sleep(30);')}, '-c', 'SELECT * FROM migrate.apply()' ], '<', \undef, '>', \$o, '2>', \$e);
  $node->poll_query_until('term', q{SELECT EXISTS (SELECT FROM pg_stat_activity WHERE wait_event = 'PgSleep')})
    or die 'the migration did not start';
  $node->safe_psql('term', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'});
  $h->finish;
  like($e, qr/FATAL:  terminating connection due to administrator command\nCONTEXT:  SQL statement "SELECT pg_sleep\(30\)"\nwhile migration 1 \("slow"\) line 2 of its up script ran/,
       'session terminated: the context names the migration and line') or diag($e);
}

# --- A non-transactional run that fails part way: the migrations it committed before are
# listed (and in --json), with a note; the failed one resumes at its failing statement.
fresh('ntfail');
my $ntf = "$tmp/ntfail";
write_file("$ntf/20240101000000_a.sql", "-- migrate:up\nCREATE TABLE d (id int);\nINSERT INTO d VALUES (1), (1);\n");
write_file("$ntf/20240102000000_b.sql", "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY d_i ON d (id);\nCREATE UNIQUE INDEX CONCURRENTLY d_u ON d (id);\n");
write_file("$ntf/20240103000000_c.sql", "-- migrate:up\nCREATE TABLE e (id int);\n");
($rc, $out, $err) = pgm('ntfail', $ntf, '--json', 'apply');
is($rc, 1, 'a failing non-transactional run: exit 1');
like($err, qr/applied 20240101000000 \S*20240101000000_a\.sql .*error: \S*20240102000000_b\.sql:3: could not create unique index .*note: 1 migration committed by CALL migrate\.run\(\) before the error \(listed above\) stays applied; the failed one stopped at its failing statement/s,
     'the committed migration is listed before the error, and the note says what stays');
my $ntj = JSON::PP::decode_json($out);
is(join(',', map { $_->{version} } @{ $ntj->{applied} }), '20240101000000', '--json lists it as applied');
is($ntj->{error}{line}, 3, '--json: the failing line');
is("$ntj->{applied}[0]{file} $ntj->{error}{file}", "$ntf/20240101000000_a.sql $ntf/20240102000000_b.sql",
   '--json: an applied file and the failing one are both paths with the folder, as the text says');

# --- A run stopped part way by a failing statement: fixing that statement in the file (the
# finished ones kept as they are, formatting aside) lets apply resume with the fixed script;
# changing a finished one is refused, saying which.
fresh('fixrun');
my $fr = "$tmp/fixrun";
write_file("$fr/20240101000000_b.sql", "-- migrate:up\nCREATE TABLE b1 (id bigint PRIMARY KEY);\nCOMMIT;\nINSERT INTO b1 VALUES (1), (1);\n");
($rc, $out, $err) = pgm('fixrun', $fr, 'apply');
is($rc, 1, 'a part fails after the first was committed');
like($err, qr/HINT: Fix the cause, then pg_migrate apply again/, 'the hint says apply resumes');
write_file("$fr/20240101000000_b.sql", "-- migrate:up\nCREATE TABLE b1 (id int PRIMARY KEY);\nCOMMIT;\nINSERT INTO b1 VALUES (1), (2);\n");
($rc, $out, $err) = pgm('fixrun', $fr, 'apply');
is($rc, 1, 'the finished statement changed too: refused');
like($err, qr/Statement 1 \(line 2 of the script the run started with\) took effect, and the new script does not have it at that place unchanged\..*HINT: Finish it with pg_migrate apply, or replace the statement that failed/s,
     'the refusal names the finished statement and says what may change');
write_file("$fr/20240101000000_b.sql", "-- migrate:up\ncreate table b1 (id bigint primary key);  -- as it ran\nCOMMIT;\nINSERT INTO b1 VALUES (1), (2);\n");
($rc, $out, $err) = pgm('fixrun', $fr, 'apply');
is($rc, 0, 'the failed statement fixed: apply resumes') or diag($out . $err);
like($err, qr/its unfinished apply run goes on with the new script: the 1 finished statement is unchanged/, 'and says so');
is($node->safe_psql('fixrun', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM b1'), '1,2', 'the fixed statement ran once');
($rc, $out, $err) = pgm('fixrun', $fr, 'check');
is($rc, 0, 'check: at the folder') or diag($out . $err);

# The statement a run stopped at, replaced: it starts afresh. A batched UPDATE that failed is
# counted anew; a statement interrupted by a timeout, replaced by an index build of a name that
# is taken, fails on the name instead of being taken as built.
fresh('fixbatch');
my $fb = "$tmp/fixbatch";
$node->safe_psql('fixbatch', q{CREATE TABLE bt (id int, v int); INSERT INTO bt SELECT i, NULL FROM generate_series(1, 1000) i;
  CREATE INDEX bt_pre ON bt (id); SELECT migrate.acknowledge_drift('setup')});
write_file("$fb/20240101000000_b.sql",
  "-- migrate:up transaction:false\nCREATE TABLE other (id int);\n-- pg_migrate:batch 10\nUPDATE bt SET v = 1 / (id - id) WHERE v IS NULL AND id <= 10;\n");
($rc, $out, $err) = pgm('fixbatch', $fb, 'apply');
is($rc, 1, 'the batched statement fails');
write_file("$fb/20240101000000_b.sql",
  "-- migrate:up transaction:false\nCREATE TABLE other (id int);\n-- pg_migrate:batch 100\nUPDATE bt SET v = 1 WHERE v IS NULL;\n");
($rc, $out, $err) = pgm('fixbatch', $fb, 'apply');
is($rc, 0, 'the fixed batched statement runs, counted anew') or diag($out . $err);
is($node->safe_psql('fixbatch', 'SELECT count(*) FROM bt WHERE v = 1'), '1000', 'every row updated');
write_file("$fb/20240102000000_c.sql", "-- migrate:up transaction:false\nCREATE TABLE other2 (id int);\nSELECT pg_sleep(5);\n");
($rc, $out, $err) = run_pgm_env({PGOPTIONS => '-c statement_timeout=1s'}, '-d', $node->connstr('fixbatch'), '--dir', $fb, 'apply');
is($rc, 1, 'a statement interrupted by statement_timeout');
write_file("$fb/20240102000000_c.sql", "-- migrate:up transaction:false\nCREATE TABLE other2 (id int);\nCREATE INDEX CONCURRENTLY bt_pre ON bt (id);\n");
($rc, $out, $err) = pgm('fixbatch', $fb, 'apply');
is($rc, 1, 'replaced by a build of a taken index name: fails');
like($err, qr/bt_pre/, 'on the name, not taken as built');

# repair: a folder sharing only a version number (another project's V1) is not the folder.
fresh('otherv1');
my $ov = "$tmp/otherv1";
write_file("$ov/V1__a1.sql", "CREATE TABLE ov1 (id int);\n");
write_file("$ov/V2__a2.sql", "CREATE TABLE ov2 (id int);\n");
($rc, $out, $err) = pgm('otherv1', $ov, 'apply');
my $ov2 = "$tmp/otherv1_b";
write_file("$ov2/V1__init.sql", "CREATE TABLE something_else (id int);\n");
($rc, $out, $err) = pgm('otherv1', $ov2, 'repair');
is($rc, 4, 'repair with another project sharing V1: refused');

# The COMMIT removed from a stopped split script: the new one would run whole, its finished part
# again: refused.
fresh('fixrun2');
my $fr2 = "$tmp/fixrun2";
$node->safe_psql('fixrun2', 'CREATE TABLE ledger (id int); SELECT migrate.acknowledge_drift($$setup$$)');
write_file("$fr2/20240101000000_l.sql", "-- migrate:up\nINSERT INTO ledger VALUES (1);\nCOMMIT;\nSELECT 1 / 0;\n");
($rc, $out, $err) = pgm('fixrun2', $fr2, 'apply');
is($rc, 1, 'split script stopped at its second part');
write_file("$fr2/20240101000000_l.sql", "-- migrate:up\nINSERT INTO ledger VALUES (1);\n");
($rc, $out, $err) = pgm('fixrun2', $fr2, 'apply');
is($rc, 1, 'the same script without its COMMIT: refused');
like($err, qr/does not run the same way \(split by COMMIT/, 'because it would run whole');
is($node->safe_psql('fixrun2', 'SELECT count(*) FROM ledger'), '1', 'the finished part ran once');

# A revert run stopped part way: a changed down script in the folder is not recorded (the run
# resumes with the script it started with); a folder without down scripts removes none.
fresh('revrun');
my $rr = "$tmp/revrun";
write_file("$rr/20240101000000_x.sql",
  "-- migrate:up\nCREATE TABLE rx (id int);\nCREATE INDEX rxi ON rx (id);\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY rxi;\nSELECT 1 / 0;\nDROP TABLE rx;\n");
($rc, $out, $err) = pgm('revrun', $rr, 'apply');
($rc, $out, $err) = pgm('revrun', $rr, 'revert');
is($rc, 1, 'the revert run stops at its failing statement');
($rc, $out, $err) = pgm('revrun', $rr, 'apply', '--dry-run');
is($rc, 1, 'a dry run over the stopped revert run: exit 1, as apply');
like($err, qr/error: apply would refuse: migration 20240101000000 \("x"\) is partially reverted\nHINT: Finish it with pg_migrate revert/,
     'the dry run says apply would refuse, and why');
write_file("$rr/20240101000000_x.sql", "-- migrate:up\nCREATE TABLE rx (id int);\nCREATE INDEX rxi ON rx (id);\n-- migrate:down\nDROP TABLE rx;\n");
($rc, $out, $err) = pgm('revrun', $rr, 'revert');
like($err, qr/warning: the folder changes the down script or name of an applied migration, but it could not be recorded \(migration 20240101000000 has an unfinished revert run/,
     'a changed down script is not recorded over an unfinished revert run');
is($node->safe_psql('revrun', q{SELECT down_mode FROM migrate.migrations}), 'no-transaction', 'the stored down script stays');
my $stored_down = $node->safe_psql('revrun', q{SELECT md5(down_sql) FROM migrate.migrations});
write_file("$rr/20240101000000_x.sql",
  "-- migrate:up\nCREATE TABLE rx (id int);\nCREATE INDEX rxi ON rx (id);\n-- migrate:down transaction:false\n-- drop the index first\nDROP INDEX CONCURRENTLY rxi;\nSELECT 1 /  0;\nDROP TABLE rx;\n");
($rc, $out, $err) = pgm('revrun', $rr, 'apply');
is($node->safe_psql('revrun', q{SELECT md5(down_sql) FROM migrate.migrations}), $stored_down,
   'a down script reformatted in the file is not stored over an unfinished revert run either');
# The fix of the statement that failed, the finished one unchanged: recorded (as
# migrate.repair(down => ...) takes it), by repair and by revert, and the run goes on with it.
write_file("$rr/20240101000000_x.sql",
  "-- migrate:up\nCREATE TABLE rx (id int);\nCREATE INDEX rxi ON rx (id);\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY rxi;\nSELECT 1;\nDROP TABLE rx;\n");
($rc, $out, $err) = pgm('revrun', $rr, 'repair');
is($rc, 0, 'repair records the fixed down script over the stopped revert run') or diag($out . $err);
like($err, qr/its unfinished revert run goes on with the new script: the 1 finished statement is unchanged/,
     'repair: the run goes on with the fixed script');
like($node->safe_psql('revrun', q{SELECT down_sql FROM migrate.migrations}), qr/SELECT 1;/, 'repair: the fixed down script is stored');
($rc, $out, $err) = pgm('revrun', $rr, 'revert');
is($rc, 0, 'revert then finishes the run with it') or diag($out . $err);
is($node->safe_psql('revrun', q{SELECT to_regclass('rx') IS NULL AND NOT EXISTS (SELECT FROM migrate.runs)}), 't',
   'the table is gone and no run is left');
fresh('nodown');
my $nodown = "$tmp/nodown";
write_file("$nodown/V1__a.sql", "CREATE TABLE nd_a (id int);\n");
write_file("$nodown/U1__a.sql", "DROP TABLE nd_a;\n");
write_file("$nodown/V2__b.sql", "CREATE TABLE nd_b (id int);\n");
write_file("$nodown/U2__b.sql", "DROP TABLE nd_b;\n");
($rc, $out, $err) = pgm('nodown', $nodown, 'apply');
my $nd2 = "$tmp/nodown_copy";
write_file("$nd2/V1__a.sql", "CREATE TABLE nd_a (id int);\n");
write_file("$nd2/V2__b.sql", "CREATE TABLE nd_b (id int);\n");
($rc, $out, $err) = pgm('nodown', $nd2, 'revert');
is($rc, 0, 'revert with a folder without down scripts: the stored one runs') or diag($out . $err);
like($err, qr/warning: the folder has no down script for .*; revert does not sync the folder/, 'with a warning');
is($node->safe_psql('nodown', q{SELECT count(*) FROM migrate.migrations WHERE down_sql IS NOT NULL}), '2',
   'no stored down script was removed');
# A migration registered without a down script: the hint says how to give it one with files.
write_file("$nd2/V3__c.sql", "CREATE TABLE nd_c (id int);\n");
($rc, $out, $err) = pgm('nodown', $nd2, 'apply');
($rc, $out, $err) = pgm('nodown', $nd2, 'revert');
is($rc, 1, 'revert of a migration without a down script: exit 1') or diag($out . $err);
like($err, qr/HINT: Add a down script to its file \(a "-- migrate:down" section, or the U, \.down\.sql or down\.sql file of its layout\); pg_migrate apply records it, then revert again/,
     'revert without a down script: the hint is about files');
write_file("$nd2/U3__c.sql", "DROP TABLE nd_c;\n");
($rc, $out, $err) = pgm('nodown', $nd2, 'apply');
($rc, $out, $err) = pgm('nodown', $nd2, 'revert');
is($rc, 0, 'the hint works: apply recorded the down script, revert runs it') or diag($out . $err);

# The no-transaction directive as a sectioned file's first line, above "-- migrate:up" (where
# `pg_migrate new` puts the marker and the refusal's hint puts the directive): the up script
# runs outside a transaction; the down script has its own directive.
fresh('above');
my $above = "$tmp/above";
write_file("$above/20240101000000_ev.sql", "-- migrate:up\nCREATE TABLE ev (at timestamptz);\n-- migrate:down\nDROP TABLE ev;\n");
write_file("$above/20240102000000_ev_at.sql",
  "-- pg_migrate:no-transaction\n-- migrate:up\nCREATE INDEX CONCURRENTLY ev_at ON ev (at);\n\n"
  . "-- migrate:down\n-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY ev_at;\n");
($rc, $out, $err) = pgm('above', $above, 'apply');
is($rc, 0, 'directive above the up marker: applied outside a transaction') or diag($out . $err);
is($node->safe_psql('above', q{SELECT up_mode || ' ' || down_mode FROM migrate.migrations WHERE version = '20240102000000'}),
   'no-transaction no-transaction', 'directive above the up marker: both scripts non-transactional');
($rc, $out, $err) = pgm('above', $above, 'revert');
is($rc, 0, 'directive above the up marker: reverted') or diag($out . $err);
is($node->safe_psql('above', q{SELECT count(*) FROM pg_class WHERE relname = 'ev_at'}), '0', 'the index is gone');

# A pending migration whose file gains the no-transaction directive (a comment to the
# checksum) is registered again and runs outside a transaction.
fresh('modechg');
my $mc = "$tmp/modechg";
write_file("$mc/V1__a.sql", "CREATE TABLE mc_a (id int);\n");
write_file("$mc/V2__b.sql", "INSERT INTO mc_a VALUES (1);\nSELECT 1 / 0;\n");
($rc, $out, $err) = pgm('modechg', $mc, 'apply', '--to', '1');
is($rc, 0, 'mode change: V1 applied, V2 registered') or diag($out . $err);
write_file("$mc/V2__b.sql", "-- pg_migrate:no-transaction\nINSERT INTO mc_a VALUES (1);\nSELECT 1 / 0;\n");
($rc, $out, $err) = pgm('modechg', $mc, 'apply');
is($rc, 1, 'mode change: V2 fails at its second statement');
is($node->safe_psql('modechg', q{SELECT up_mode FROM migrate.migrations WHERE version = '2'}), 'no-transaction',
   'mode change: registered again, non-transactional');
is($node->safe_psql('modechg', 'SELECT count(*) FROM mc_a'), '1', 'mode change: its first statement stayed committed');

# repair: a folder with only a repeatable of the database is still the wrong folder.
my $ronly = "$tmp/repeatable_only";
write_file("$ronly/R__v.sql", "CREATE OR REPLACE VIEW nd_v AS SELECT 1 AS one;\n");
($rc, $out, $err) = pgm('nodown', $ronly, 'apply');
($rc, $out, $err) = pgm('nodown', $ronly, 'repair');
is($rc, 4, 'repair with a folder of a repeatable only: refused');
is($node->safe_psql('nodown', q{SELECT count(*) FROM migrate.history WHERE detail ? 'retired'}), '0', 'nothing retired');

# --- A folder found unusable after the connection was opened (a file that is not valid UTF-8,
# exit 4): the connection is closed cleanly, the query it sent ahead answered first (the
# server logged "could not send data to client: Broken pipe" and "FATAL: connection to client
# lost" in about 3 runs of 5).
fresh('badfolder');
my $badfolder = "$tmp/badfolder";
write_file("$badfolder/V1__a.sql", "CREATE TABLE bf (id int);\n");
write_file("$badfolder/V2__b.sql", "SELECT '\xff';\n");
my $log_at = -s $node->logfile;
my @codes;
for my $i (1 .. 8) {
  for my $command ('check', 'apply', 'status') {
    ($rc, $out, $err) = pgm('badfolder', $badfolder, $command);
    push @codes, $rc;
  }
}
is(join(',', sort { $a <=> $b } keys %{{ map { $_ => 1 } @codes }}), '4', 'the folder is unusable: exit 4 every time');
my $log = substr(slurp_file($node->logfile), $log_at);
unlike($log, qr/connection to client lost|could not send data to client/, 'no connection lost in the server log');

# --- Names with control characters (older servers accepted them; a catalog may hold them):
# shown escaped, as psql and git show them, so no escape sequence reaches the terminal.
fresh('ctl');
my $ctl = "$tmp/ctl";
make_path($ctl);
$node->safe_psql('ctl', q{SELECT migrate.baseline('0.5', 'base');
  SELECT migrate.register('1', 'plain', 'SELECT 1');
  ALTER TABLE migrate.migrations DISABLE TRIGGER protect;
  ALTER TABLE migrate.baseline DISABLE TRIGGER protect;
  UPDATE migrate.migrations SET name = E'a\nb\x1b[31mRED' WHERE version = '1';
  UPDATE migrate.baseline SET name = E'x\x1by\u009bz';
  ALTER TABLE migrate.migrations ENABLE ALWAYS TRIGGER protect;
  ALTER TABLE migrate.baseline ENABLE ALWAYS TRIGGER protect;});
($rc, $out, $err) = pgm('ctl', $ctl, 'apply');
is($rc, 0, 'a migration whose name has control characters applied') or diag($out . $err);
like($err, qr/^applied 1 a\\nb\\x1b\[31mRED \(/m, 'apply: the name escaped');
($rc, $out, $err) = pgm('ctl', $ctl, 'status');
like($out, qr/^baseline: version 0\.5 \("x\\x1by\\u009bz"\)/m, 'status: the baseline name escaped');
for my $command ('apply', 'status', 'check', 'revert') {
  ($rc, $out, $err) = pgm('ctl', $ctl, $command);
  unlike($out . $err, qr/[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]/, "$command: no control character but newlines in the output");
}

# --- A file named like a migration but not read fails the CI gate (apply only warns); Flyway's
# baseline migrations are named as such. A file `new` wrote and nobody filled in is refused by
# apply and check (applied empty, it could not take SQL later); a comment keeps it on purpose.
fresh('names');
my $names = "$tmp/names";
# (a dbmate file: `new` then writes a timestamped one, whose template is checked below)
write_file("$names/20240101000000_a.sql", "-- migrate:up\nCREATE TABLE names_a (id int);\n");
write_file("$names/seed.sql", "SELECT 1;\n");
($rc, $out, $err) = pgm('names', $names, 'apply');
is($rc, 0, 'names: applied') or diag($out . $err);
($rc, $out, $err) = pgm('names', $names, 'check');
is($rc, 0, 'names: a seed file is not taken for a migration') or diag($out . $err);
write_file("$names/V1.1.x__typo.sql", "CREATE TABLE names_b (id int);\n");
write_file("$names/v3__lower.sql", "CREATE TABLE names_c (id int);\n");
write_file("$names/B1__base.sql", "CREATE TABLE names_d (id int);\n");
write_file("$names/sub/v7__lower.sql", "CREATE TABLE names_e (id int);\n");  # (in a subfolder too)
($rc, $out, $err) = pgm('names', $names, 'apply');
is($rc, 0, 'names: apply warns of near-miss names and goes on') or diag($out . $err);
like($err, qr/ignoring B1__base\.sql: pg_migrate does not run Flyway's baseline migrations/, 'names: a B file is named as a baseline migration');
($rc, $out, $err) = pgm('names', $names, '-q', 'check');
is($rc, 4, 'names: check fails (exit 4), also with -q') or diag($out . $err);
like($err, qr/B1__base\.sql, V1\.1\.x__typo\.sql, sub\/v7__lower\.sql, v3__lower\.sql are named like a migration but not read/, 'names: check names each file') or diag($err);
unlink "$names/V1.1.x__typo.sql", "$names/v3__lower.sql", "$names/B1__base.sql", "$names/sub/v7__lower.sql";
($rc, $out, $err) = run_pgm('--dir', $names, 'new', 'later');
is($rc, 0, 'names: new') or diag($out . $err);
chomp(my $new_file = $out);
for my $cmd ('apply', 'check') {
  ($rc, $out, $err) = pgm('names', $names, $cmd);
  is($rc, 4, "names: $cmd refuses the unedited template (exit 4)") or diag($out . $err);
  like($err, qr/\Q$new_file\E is still the empty template pg_migrate new wrote/, "names: $cmd names the file");
}
($rc, $out, $err) = pgm('names', $names, 'status');
like($out, qr/pending .*still the empty template of pg_migrate new: apply refuses it/, 'names: status says why');
is($node->safe_psql('names', 'SELECT count(*) FROM migrate.migrations'), '1', 'names: nothing registered by the refusals');
for my $variant ("-- migrate:up\n\n\n-- migrate:down\n", "-- migrate:up\n\n-- migrate:down\n", "-- migrate:up  \n\n\n-- migrate:down\n") {
  write_file($new_file, $variant);  # an editor trimmed blank lines, or added trailing spaces
  ($rc, $out, $err) = pgm('names', $names, 'apply', '--dry-run');
  is($rc, 4, 'names: the template with its white space changed is refused too') or diag($out . $err);
}
write_file($new_file, "-- migrate:up\n-- empty on purpose\n\n-- migrate:down\n\n");
($rc, $out, $err) = pgm('names', $names, 'apply');
is($rc, 0, 'names: with a comment it applies as a no-op') or diag($out . $err);
# Applied, the file may become the bare template again (the comment removed): not refused then.
write_file($new_file, "-- migrate:up\n\n\n-- migrate:down\n\n");
($rc, $out, $err) = pgm('names', $names, 'check');
is($rc, 0, 'names: an applied migration whose file is the bare template passes check') or diag($out . $err);
# Names that do not start like a version are only warned about, also in subfolders.
write_file("$names/v8_functions.sql", "SELECT 1;\n");
write_file("$names/U2F_keys.sql", "SELECT 1;\n");
write_file("$names/B2B_seed.sql", "SELECT 1;\n");
write_file("$names/b2b_seed.sql", "SELECT 1;\n");
write_file("$names/2fa.sql", "SELECT 1;\n");
write_file("$names/archive/Old.SQL", "SELECT 1;\n");
($rc, $out, $err) = pgm('names', $names, 'check');
is($rc, 0, 'names: v8_functions.sql, b2b_seed.sql, U2F_keys.sql, B2B_seed.sql, 2fa.sql, archive/Old.SQL do not fail check') or diag($out . $err);
# A template below the baseline is never applied: not refused.
($rc, $out, $err) = run_pgm('--dir', "$tmp/names_bl", 'new', 'below');
chomp(my $below_file = $out);
(my $below_version = $below_file) =~ s{.*/(\d{14})_.*}{$1};
fresh('names_bl');
($rc, $out, $err) = pgm('names_bl', "$tmp/names_bl", 'baseline', $below_version);
is($rc, 0, 'names: baseline at the template\'s version') or diag($out . $err);
($rc, $out, $err) = pgm('names_bl', "$tmp/names_bl", 'check');
is($rc, 0, 'names: a template at or below the baseline passes check') or diag($out . $err);

# --- A --dbs-from file that cannot be read: the reason is given.
($rc, $out, $err) = run_pgm('--dbs-from', "$tmp/no_such_list.txt", '--dir', $names, 'status');
is($rc, 2, '--dbs-from missing file: exit 2') or diag($out . $err);
like($err, qr/cannot read --dbs-from file \S+no_such_list\.txt: No such file or directory/, '--dbs-from missing file: says why');

# --- A URL of a scheme libpq does not read is refused without echoing it (it would be taken
# for a database name, and the server's "does not exist" would print the password).
for my $case ([ {}, '-d', 'postgresq://app:url-secret@/db' ], [ { DATABASE_URL => 'mysql://app:url-secret@h/db' } ],
              [ { DATABASE_URL => 'postgresq://app:url-secret@db/app?sslmode=require' } ],
              [ {}, '-d', 'postgresq://app:url-secret@db/app?sslmode=require' ]) {
  my ($env, @d) = @$case;
  ($rc, $out, $err) = run_pgm_env($env, @d, '--dir', $names, 'status');
  is($rc, 2, "unknown URL scheme @d: exit 2") or diag($out . $err);
  unlike($out . $err, qr/url-secret/, "unknown URL scheme @d: the password is not shown");
  like($err, qr/"(postgresq|mysql):\/\/\.\.\." is not a URL libpq reads/, "unknown URL scheme @d: says why");
}
# Other mistyped URLs, which libpq would take for a database name: refused, not echoed.
for my $url ('POSTGRESQL://u:url-secret@h/db', 'Postgres://u:url-secret@h/db', '"postgres://u:url-secret@h/db"',
             "\npostgresq://u:url-secret\@h/db", 'postgresql:/u:url-secret@h/db', 'u:url-secret@h/db') {
  for my $how ('-d', 'DATABASE_URL') {
    ($rc, $out, $err) = $how eq '-d' ? run_pgm('-d', $url, '--dir', $names, 'status')
                                     : run_pgm_env({ DATABASE_URL => $url }, '--dir', $names, 'status');
    is($rc, 2, "mistyped URL through $how: exit 2") or diag($out . $err);
    unlike($out . $err, qr/url-secret/, "mistyped URL through $how: the password is not shown");
  }
}

# --- lint lints a file named twice (or by two paths) once; with --json a refused argument gives
# the JSON error object other refusals give (stdout was empty).
($rc, $out, $err) = pgm('args', $args, 'lint', '10000000000_t1.sql', '10000000000_t1.sql', "$args/10000000000_t1.sql");
like($out, qr/^1 file linted/m, 'lint: one file named three times is linted once') or diag($out . $err);
for my $bad ([ '--json', 'revert', '--steps', '0' ], [ 'revert', '--steps', '0', '--json' ], [ '--json', 'aply' ],
             [ '--json', 'new', '!!' ]) {
  ($rc, $out, $err) = pgm('args', $args, @$bad);
  my $j = eval { decode_json($out) } || {};
  is($rc . ' ' . ($j->{exit_code} // 'none'), '2 2', "--json: @$bad: exit 2 and the JSON error object") or diag($out . $err);
  ok(defined $j->{error}{message} && $j->{error}{message} ne '', "--json: @$bad: the message in it");
}

# --- A revert of two migrations that fails in the second (non-transactional) one: the output
# says the first stays reverted; the same command repeated after the fix finishes the second
# and stops there (it does not revert a third).
fresh('rev2');
my $rev2 = "$tmp/rev2";
write_file("$rev2/V1__a.sql", "CREATE TABLE r2a (id int);\n");
write_file("$rev2/U1__a.sql", "DROP TABLE r2a;\n");
write_file("$rev2/V2__b.sql", "-- pg_migrate:no-transaction\nCREATE TABLE r2b (id int);\n");
write_file("$rev2/U2__b.sql", "-- pg_migrate:no-transaction\nDROP TABLE r2b;\nSELECT 1/0;\n");
write_file("$rev2/V3__c.sql", "CREATE TABLE r2c (id int);\n");
write_file("$rev2/U3__c.sql", "DROP TABLE r2c;\n");
($rc, $out, $err) = pgm('rev2', $rev2, 'apply');
is($rc, 0, 'rev2: applied') or diag($out . $err);
($rc, $out, $err) = pgm('rev2', $rev2, 'revert', '--steps', '2');
is($rc, 1, 'rev2: the revert fails in the second migration') or diag($out . $err);
like($err, qr/^reverted 3 \S*U3__c\.sql \(\S+ ms\) before the error: it stays reverted\n(.*\n)*error: \S*U2__b\.sql:3: division by zero/m,
     'rev2: the output says which migration the failed revert reverted before the error');
write_file("$rev2/U2__b.sql", "-- pg_migrate:no-transaction\nDROP TABLE r2b;\nSELECT 1;\n");
($rc, $out, $err) = pgm('rev2', $rev2, 'revert', '--steps', '2');
is($rc, 0, 'rev2: the same command after the fix (2 steps, though only 2 are applied now)') or diag($out . $err);
like($err, qr/migration 2 \("b"\) has a stopped revert run: this call finishes it and reverts nothing more/,
     'rev2: it says it finishes the stopped revert only');
is($node->safe_psql('rev2', 'SELECT migrate.current_version()'), '1', 'rev2: at version 1, migration 1 not reverted');
# The same when the steps covered every migration: repeated, it is not refused for asking more
# than remain applied.
($rc, $out, $err) = pgm('rev2', $rev2, 'apply');
write_file("$rev2/U2__b.sql", "-- pg_migrate:no-transaction\nDROP TABLE r2b;\nSELECT 1/0;\n");
($rc, $out, $err) = pgm('rev2', $rev2, 'repair');
($rc, $out, $err) = pgm('rev2', $rev2, 'revert', '--steps', '3');
is($rc, 1, 'rev2: revert --steps 3 fails in the second') or diag($out . $err);
write_file("$rev2/U2__b.sql", "-- pg_migrate:no-transaction\nDROP TABLE r2b;\nSELECT 1;\n");
($rc, $out, $err) = pgm('rev2', $rev2, 'revert', '--steps', '3');
is($rc, 0, 'rev2: the same --steps 3 after the fix finishes the stopped revert') or diag($out . $err);
is($node->safe_psql('rev2', 'SELECT migrate.current_version()'), '1', 'rev2: at version 1 again');

# --- A run stopped part way whose file then changes a finished statement: check and status say
# apply refuses it (not that apply finishes it), and apply's error names the file.
fresh('chg');
my $chg = "$tmp/chg";
write_file("$chg/V5__edit.sql", "-- pg_migrate:no-transaction\nCREATE TABLE chg_v5 (a int);\nSELECT 1/0;\n");
($rc, $out, $err) = pgm('chg', $chg, 'apply');
is($rc, 1, 'chg: the run stops at line 3') or diag($out . $err);
write_file("$chg/V5__edit.sql", "-- pg_migrate:no-transaction\nCREATE TABLE chg_v5 (a bigint);\nSELECT 1/0;\n");
($rc, $out, $err) = pgm('chg', $chg, 'check');
is($rc, 12, 'chg: check exits 12') or diag($out . $err);
like($out, qr/5 \(\S*V5__edit\.sql\): partially applied; the file changed since the run stopped: sync refuses it: 55000: migration 5 has an unfinished apply run/,
     'chg: check says apply refuses the changed file');
unlike($out, qr/apply finishes it/, 'chg: not that apply finishes it');
($rc, $out, $err) = pgm('chg', $chg, 'status');
like($out, qr/the file changed since, and apply refuses it: 55000: migration 5 has an unfinished apply run/, 'chg: status says so too')
  or diag($out);
($rc, $out, $err) = pgm('chg', $chg, 'apply');
like($err, qr/error: \S*V5__edit\.sql: migration 5 has an unfinished apply run/, 'chg: apply names the file') or diag($err);

done_testing();
