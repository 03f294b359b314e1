# The pg_migrate command against a real cluster: every file layout, file names in status,
# reverts with each layout's down scripts, errors as file:line with SQLSTATE/DETAIL/HINT,
# duplicate versions, non-transactional files, `new`, `lint --format github`, `--help`.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::RealBin/../perl";
use PgMigrateCli;
use File::Path qw(make_path);

my $node = PostgreSQL::Test::Cluster->new('cli_layouts');
$node->init;
$node->start;
my $tmp = PostgreSQL::Test::Utils::tempdir;

sub pgm { return pgm_on($node, @_); }
sub fresh { fresh_db($node, @_); }

# --- pg_migrate's own layout (= dbmate's): sections in one timestamped file.
fresh('own');
my $own = "$tmp/own";
write_file("$own/20240101120000_create_users.sql",
  "-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE users;\n");
write_file("$own/20240102120000_add_email.sql",
  "-- migrate:up\nALTER TABLE users ADD COLUMN email text;\n-- migrate:down\nALTER TABLE users DROP COLUMN email;\n");
my ($rc, $out, $err) = pgm('own', $own, 'apply');
is($rc, 0, 'own layout: apply exits 0') or diag($err);
like($out, qr/applied 2 migrations .*now at version 20240102120000/, 'own layout: both applied');
like($err, qr/applied 20240101120000 \Q$own\E\/20240101120000_create_users\.sql/, 'own layout: per-migration line names the file');
($rc, $out) = pgm('own', $own, 'status');
like($out, qr/20240102120000\s+20240102120000_add_email\.sql\s+applied/, 'status shows the file name');
($rc, $out, $err) = pgm('own', $own, 'revert');
is($rc, 0, 'revert exits 0') or diag($err);
is($node->safe_psql('own', q{SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email'}),
   '0', 'revert ran the down section');
($rc) = pgm('own', $own, 'apply');
is($rc, 0, 'apply again');

# --- Flyway: V (dotted and underscored versions), U (undo), R (repeatable).
fresh('flyway');
my $fw = "$tmp/flyway";
write_file("$fw/V1__init.sql", "CREATE TABLE items (id bigint PRIMARY KEY);\n");
write_file("$fw/V1_1__add_name.sql", "ALTER TABLE items ADD COLUMN name text;\n");
write_file("$fw/U1_1__add_name.sql", "ALTER TABLE items DROP COLUMN name;\n");
write_file("$fw/R__item_view.sql", "CREATE OR REPLACE VIEW item_names AS SELECT id FROM items;\n");
write_file("$fw/README.md", "not a migration\n");
($rc, $out, $err) = pgm('flyway', $fw, 'apply');
is($rc, 0, 'flyway: apply exits 0') or diag($err);
like($out, qr/applied 2 migrations and 1 repeatable/, 'flyway: versioned and repeatable applied');
is($node->safe_psql('flyway', q{SELECT version || ':' || file_name FROM migrate.migration_files ORDER BY version}),
   "1:V1__init.sql\n1.1:V1_1__add_name.sql", 'flyway: V1_1 is version 1.1; file names stored');
ok($node->safe_psql('flyway', q{SELECT to_regclass('item_names') IS NOT NULL}) eq 't', 'flyway: repeatable view created');
($rc, $out, $err) = pgm('flyway', $fw, 'revert', '--to', '1');
is($rc, 0, 'flyway: revert --to 1') or diag($err);
is($node->safe_psql('flyway', q{SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'name'}),
   '0', 'flyway: the U file was the down script');

# --- Flyway reads its locations recursively: files in subfolders count, stored by their path
fresh('flyway_nested');
my $fn = "$tmp/flyway_nested";
write_file("$fn/release_1/V1__init.sql", "CREATE TABLE nested_items (id bigint PRIMARY KEY);\n");
write_file("$fn/release_2/hotfix/V2__add_name.sql", "ALTER TABLE nested_items ADD COLUMN name text;\n");
write_file("$fn/release_2/hotfix/U2__add_name.sql", "ALTER TABLE nested_items DROP COLUMN name;\n");
write_file("$fn/views/R__nested_view.sql", "CREATE OR REPLACE VIEW nested_names AS SELECT id FROM nested_items;\n");
write_file("$fn/docs/notes.sql", "-- not a migration\n");
write_file("$fn/archive/20230101000000_old.sql", "SELECT 1 / 0;\n");  # dbmate names are read at the top only
write_file("$fn/release_2/V3_one_underscore.sql", "SELECT 1 / 0;\n");  # a near miss
write_file("$fn/release_2/V4__upper.SQL", "SELECT 1 / 0;\n");
write_file("$fn/init/up.sql", "SELECT 1 / 0;\n");  # a diesel folder without a version
($rc, $out, $err) = pgm('flyway_nested', $fn, 'apply');
is($rc, 0, 'nested folders: apply exits 0') or diag($err);
like($out, qr/applied 2 migrations and 1 repeatable/, 'nested folders: the files in subfolders are applied');
unlike($err, qr{ignoring (docs|archive)/}, 'nested folders: other .sql files in subfolders (seeds, archives) are left alone');
like($err, qr{ignoring release_2/V3_one_underscore\.sql: not a migration file name}, 'nested folders: a near-miss Flyway name is warned about');
like($err, qr{ignoring release_2/V4__upper\.SQL: not a migration file name}, 'nested folders: an upper-case extension is warned about');
like($err, qr{ignoring init/up\.sql: a folder holding up\.sql is a diesel migration named <version>_<name> \(e\.g\. 2019-02-26-002946_init or 20190226002946_init\); "init" has no version},
     'nested folders: up.sql in a folder without a version is warned about');
is($node->safe_psql('flyway_nested', q{SELECT version || ':' || file_name FROM migrate.migration_files ORDER BY version}),
   "1:release_1/V1__init.sql\n2:release_2/hotfix/V2__add_name.sql", 'nested folders: stored with their path');
($rc, $out, $err) = pgm('flyway_nested', $fn, 'revert');
is($rc, 0, 'nested folders: revert') or diag($err);
is($node->safe_psql('flyway_nested', q{SELECT count(*) FROM information_schema.columns WHERE table_name = 'nested_items' AND column_name = 'name'}),
   '0', 'nested folders: the U file beside it was the down script');
write_file("$fn/V2__again.sql", "SELECT 1;\n");
($rc, $out, $err) = pgm('flyway_nested', $fn, 'check');
is($rc, 4, 'nested folders: two files of one version in different folders -> 4');
like($err, qr{migration files (\Q$fn\E/V2__again\.sql and \Q$fn\E/release_2/hotfix/V2__add_name\.sql|\Q$fn\E/release_2/hotfix/V2__add_name\.sql and \Q$fn\E/V2__again\.sql) have the same version 2},
     'nested folders: the error names both files, with the folder');
unlink "$fn/V2__again.sql";

# --- golang-migrate / morph: .up.sql and .down.sql
fresh('golang');
my $gm = "$tmp/golang";
write_file("$gm/000001_create_accounts.up.sql", "CREATE TABLE accounts (id bigint PRIMARY KEY);\n");
write_file("$gm/000001_create_accounts.down.sql", "DROP TABLE accounts;\n");
write_file("$gm/000002_add_owner.up.sql", "ALTER TABLE accounts ADD COLUMN owner text;\n");
($rc, $out, $err) = pgm('golang', $gm, 'apply');
is($rc, 0, 'golang-migrate: apply exits 0') or diag($err);
like($out, qr/applied 2 migrations.*version 2\b/, 'golang-migrate: 000002 is version 2');
is($node->safe_psql('golang', q{SELECT down_sql || '|' FROM migrate.migrations WHERE version = '1'}),
   "DROP TABLE accounts;\n|", 'golang-migrate: .down.sql is the down script');

# --- diesel: folders with up.sql and down.sql
fresh('diesel');
my $ds = "$tmp/diesel";
write_file("$ds/00000000000000_diesel_initial_setup/up.sql", "CREATE TABLE setup_done (id int);\n");
write_file("$ds/00000000000000_diesel_initial_setup/down.sql", "DROP TABLE setup_done;\n");
write_file("$ds/2019-02-26-002946_create_posts/up.sql", "CREATE TABLE posts (id bigint PRIMARY KEY, title text);\n");
write_file("$ds/2019-02-26-002946_create_posts/down.sql", "DROP TABLE posts;\n");
($rc, $out, $err) = pgm('diesel', $ds, 'apply');
is($rc, 0, 'diesel: apply exits 0') or diag($err);
($rc, $out) = pgm('diesel', $ds, 'status');
like($out, qr/20190226002946\s+2019-02-26-002946_create_posts\/up\.sql\s+applied/, 'diesel: 2019-02-26-002946 is version 20190226002946');
like($out, qr/^0\s+00000000000000_diesel_initial_setup\/up\.sql\s+applied/m, 'diesel: the initial setup is version 0');

# --- other tools' transaction markers, read as they are: golang-migrate's BEGIN ... COMMIT around
# a file, sqlx's "-- no-transaction" first line, diesel's metadata.toml run_in_transaction = false
fresh('tx_markers');
my $tx = "$tmp/tx_markers";
write_file("$tx/000001_wrapped.up.sql", "BEGIN;\nCREATE TABLE tx_w (id int);\nINSERT INTO tx_w VALUES (1);\nCOMMIT;\n");
write_file("$tx/000001_wrapped.down.sql", "BEGIN;\nDROP TABLE tx_w;\nCOMMIT;\n");
write_file("$tx/20240102000000_sqlx_index.sql", "-- no-transaction\nCREATE INDEX CONCURRENTLY tx_w_a ON tx_w (id);\n");
write_file("$tx/2024-01-03-000000_diesel_index/up.sql", "CREATE INDEX CONCURRENTLY tx_w_b ON tx_w (id);\n");
write_file("$tx/2024-01-03-000000_diesel_index/down.sql", "DROP INDEX CONCURRENTLY tx_w_b;\n");
write_file("$tx/2024-01-03-000000_diesel_index/metadata.toml", "# diesel\nrun_in_transaction = false\n");
($rc, $out, $err) = pgm('tx_markers', $tx, 'apply');
is($rc, 0, 'transaction markers: apply exits 0') or diag($out . $err);
is($node->safe_psql('tx_markers', "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'tx_w'::regclass AND i.indisvalid"),
  'tx_w_a,tx_w_b', 'transaction markers: both concurrent builds ran (non-transactional)');
($rc, $out, $err) = pgm('tx_markers', $tx, 'revert', '--steps', '1');
is($rc, 0, 'diesel metadata: the down script runs non-transactionally too') or diag($out . $err);
is($node->safe_psql('tx_markers', "SELECT to_regclass('tx_w_b') IS NULL"), 't', 'diesel metadata: index dropped');
write_file("$tx/2024-01-04-000000_diesel_bad/up.sql", "SELECT 1;\nCREATE INDEX CONCURRENTLY tx_nope ON tx_missing (id);\n");
write_file("$tx/2024-01-04-000000_diesel_bad/metadata.toml", "run_in_transaction = false\n");
($rc, $out, $err) = pgm('tx_markers', $tx, 'apply');
is($rc, 1, 'diesel metadata: a failing statement exits 1');
like($err, qr/2024-01-04-000000_diesel_bad\/up\.sql:2: .*tx_missing/, 'diesel metadata: the line of the file');
write_file("$tx/2024-01-04-000000_diesel_bad/metadata.toml", "run_in_transaction = \"no\"\n");
($rc, $out, $err) = pgm('tx_markers', $tx, 'apply');
is($rc, 4, 'diesel metadata: a value other than true or false exits 4');
like($err, qr/diesel_bad\/metadata\.toml: run_in_transaction must be true or false/, 'diesel metadata: the file named');
unlink("$tx/2024-01-04-000000_diesel_bad/metadata.toml", "$tx/2024-01-04-000000_diesel_bad/up.sql");
rmdir("$tx/2024-01-04-000000_diesel_bad");

# --- baseline: an existing database adopted at version 1 of the Flyway folder
fresh('adopted');
$node->safe_psql('adopted', 'CREATE TABLE items (id bigint PRIMARY KEY)');
($rc, $out, $err) = pgm('adopted', $fw, 'baseline', '1');
is($rc, 0, 'baseline exits 0') or diag($err);
like($out, qr/baselined at version 1/, 'baseline: reported');
($rc, $out, $err) = pgm('adopted', $fw, 'apply');
is($rc, 0, 'apply after baseline') or diag($err);
like($out, qr/applied 1 migration and 1 repeatable/, 'apply after baseline: only 1.1 and the repeatable run');
($rc, $out) = pgm('adopted', $fw, 'status');
like($out, qr/^1\s+V1__init\.sql\s+below_baseline/m, 'status: V1 is below the baseline');
like($out, qr/^baseline: version 1 \("init"\), /m, 'status: the baseline');
# Files at or below the baseline never run: one with a syntax error, or with a statement that
# cannot run in a transaction (a Flyway folder's CREATE INDEX CONCURRENTLY), does not stop
# later applies, and may be edited.
fresh('adopted2');
my $bl = "$tmp/below_baseline";
write_file("$bl/V1__broken.sql", "CREATE TABLE t1 (id int;\n");
write_file("$bl/V2__cic.sql", "CREATE INDEX CONCURRENTLY t1_i ON t1 (id);\n");
write_file("$bl/V3__t3.sql", "CREATE TABLE t3 (id int);\n");
$node->safe_psql('adopted2', q{CREATE TABLE t1 (id int); SELECT migrate.acknowledge_drift('the adopted schema')});
($rc, $out, $err) = pgm('adopted2', $bl, 'baseline', '2');
is($rc, 0, 'baseline 2 of a folder with unrunnable files below it') or diag($err);
($rc, $out, $err) = pgm('adopted2', $bl, 'apply');
is($rc, 0, 'apply: the files below the baseline are not checked') or diag($err);
like($out, qr/applied 1 migration/, 'apply: only V3 ran');
write_file("$bl/V2__cic.sql", "CREATE INDEX CONCURRENTLY t1_i2 ON t1 (id);\n");
($rc, $out, $err) = pgm('adopted2', $bl, 'apply');
is($rc, 0, 'apply: an edited file below the baseline is recorded without a check') or diag($out . $err);
($rc, $out, $err) = pgm('adopted2', $bl, 'check');
is($rc, 0, 'check: at the folder') or diag($out . $err);
($rc, $out) = pgm('adopted2', $bl, 'status');
like($out, qr/^2\s+V2__cic\.sql\s+below_baseline/m, 'status: V2 is below the baseline');
like($out, qr/^baseline: version 2 \("cic"\), \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by /m, 'status: the baseline, in UTC');
# --json times are ISO 8601 with their zone (UTC), which a JSON reader does not take for local time.
($rc, $out) = pgm('adopted2', $bl, '--json', 'status');
like($out, qr/"applied_at": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/, 'status --json: applied_at in ISO 8601 UTC');
like($out, qr/"baselined_at": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/, 'status --json: baselined_at in ISO 8601 UTC');
$node->safe_psql('adopted2', q{CREATE TABLE by_hand (id int)});
($rc, $out) = pgm('adopted2', $bl, '--json', 'drift');
like($out, qr/"captured_at": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/, 'drift --json: captured_at in ISO 8601 UTC');

# --- apply --dry-run shows the plan and changes nothing; verify proves a down script
fresh('dry');
($rc, $out, $err) = pgm('dry', $own, 'apply', '--dry-run');
is($rc, 0, 'apply --dry-run exits 0') or diag($err);
like($out, qr/dry run on dry: 2 migrations would be applied; nothing was changed/, 'dry run: summary');
like($out, qr/20240101120000\s+\Q$own\E\/20240101120000_create_users\.sql:2\s+ok/, 'dry run: statement with file:line');
is($node->safe_psql('dry', 'SELECT count(*) FROM migrate.migrations'), '0', 'dry run: nothing registered');
($rc, $out, $err) = pgm('dry', $own, 'verify');
is($rc, 0, 'verify exits 0 when the down scripts undo the up scripts') or diag($out . $err);
like($out, qr/20240102120000\s+\Q$own\E\/20240102120000_add_email\.sql\s+ok/, 'verify: per migration');
($rc, $out, $err) = pgm('dry', $own, '--json', 'status');
like($out, qr/"action": "new"/, 'status --json before apply: new files');

# --- the dry run tries the pending repeatables after the versioned migrations, as apply runs them
my $dr = "$tmp/dry_repeatables";
write_file("$dr/V1__a.sql", "CREATE TABLE dr_a (id int);\n");
write_file("$dr/R__va.sql", "-- a view\nCREATE OR REPLACE VIEW dr_va AS\n  SELECT nosuch FROM dr_a;\n");
write_file("$dr/R__vb.sql", "CREATE OR REPLACE VIEW dr_vb AS SELECT id FROM dr_a;\n");
fresh('dry_rep');
($rc, $out, $err) = pgm('dry_rep', $dr, 'apply', '--dry-run');
is($rc, 1, 'dry run: a failing repeatable exits 1') or diag($out . $err);
like($out, qr/dry run on dry_rep: 1 migration \(and 2 repeatables\) tried, and a statement failed; nothing was changed/,
     'dry run: repeatables counted, and the summary says a statement failed');
like($out, qr/^R\s+\Q$dr\E\/R__va\.sql:2\s+failed.*column "nosuch" does not exist/m, 'dry run: the failing repeatable with file:line and error');
($rc, $out, $err) = pgm('dry_rep', $dr, '--json', 'apply', '--dry-run');
like($out, qr/"repeatables": \[\s*\{[^}]*"file": "\Q$dr\E\/R__va\.sql",\s*"line": 2,\s*"sqlstate": "42703",\s*"status": "failed"/s,
  'dry run --json: the failing repeatable');
write_file("$dr/R__va.sql", "CREATE OR REPLACE VIEW dr_va AS SELECT id FROM dr_a;\n");
($rc, $out, $err) = pgm('dry_rep', $dr, 'apply', '--dry-run');
is($rc, 0, 'dry run: repeatables that work exit 0') or diag($out . $err);
like($out, qr/dry run on dry_rep: 1 migration \(and 2 repeatables\) would be applied; nothing was changed/, 'dry run: the summary when all work');
like($out, qr/^R\s+\Q$dr\E\/R__va\.sql\s+ok.*\n^R\s+\Q$dr\E\/R__vb\.sql\s+ok/m, 'dry run: each repeatable ok, in order');
is($node->safe_psql('dry_rep', "SELECT count(*) FROM pg_class WHERE relname LIKE 'dr\\_%'"), '0', 'dry run: nothing kept');
write_file("$dr/V2__idx.sql", "-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY dr_a_id ON dr_a (id);\n");
($rc, $out, $err) = pgm('dry_rep', $dr, 'apply', '--dry-run');
is($rc, 0, 'dry run: repeatables behind a non-transactional migration') or diag($out . $err);
like($err, qr/warning: the repeatable migrations were not tried: .*non-transactional/, 'dry run: says why the repeatables were not tried');
# What the dry run's sync said of its rolled-back transaction says so.
$node->safe_psql('dry_rep', q{SELECT migrate.register('7', 'gone', 'SELECT 1');
  INSERT INTO migrate.migration_files (version, file_name, script_checksum, source_checksum) VALUES ('7', 'V7__gone.sql', '', '')});
($rc, $out, $err) = pgm('dry_rep', $dr, 'apply', '--dry-run');
like($err, qr/NOTICE: pending migration 7 was unregistered: its file is no longer in the folder \(in the dry run, rolled back\)/,
     'dry run: a notice of its sync says it was rolled back');
is($node->safe_psql('dry_rep', q{SELECT count(*) FROM migrate.migrations WHERE version = '7'}), '1', 'dry run: migration 7 is still registered');

# --- a comment that reads as a section marker but is not one: refused (dbmate would run the
# "down" statements as part of up)
my $nm = "$tmp/near_miss";
write_file("$nm/20240101000000_t.sql", "-- migrate:up\nCREATE TABLE nm_t (id int);\n-- migrate: down\nDROP TABLE nm_t;\n");
($rc, $out, $err) = pgm('own', $nm, 'apply');
is($rc, 4, 'near-miss section marker: exit 4');
like($err, qr/20240101000000_t\.sql:3: "-- migrate: down" is not a section marker; write "-- migrate:down"/, 'near-miss section marker: file, line and the fix');

# A misspelt pg_migrate directive is a problem of the file (exit 4, file and line), found before
# anything is sent, as a misspelt section marker is.
my $dir_typo = "$tmp/directive_typo";
write_file("$dir_typo/V1__t.sql", "-- pg_migrate:no_transaction\nCREATE TABLE typo_t (id int);\n");
($rc, $out, $err) = pgm('own', $dir_typo, 'apply');
is($rc, 4, 'a misspelt directive: exit 4') or diag($out . $err);
like($err, qr/V1__t\.sql:1: an unknown or misspelled pg_migrate directive "-- pg_migrate:no_transaction"/, 'a misspelt directive: file and line');
is($node->safe_psql('own', q{SELECT to_regclass('typo_t') IS NULL}), 't', 'a misspelt directive: nothing ran');

# SQL above the up marker belongs to no section: refused with its line (it was dropped unrun).
my $pre = "$tmp/preamble";
write_file("$pre/20240101000000_t.sql", "-- header\nCREATE TABLE pre_t (id int);\n-- migrate:up\nCREATE TABLE post_t (id int);\n");
($rc, $out, $err) = pgm('own', $pre, 'apply');
is($rc, 4, 'SQL above the up marker: exit 4') or diag($out . $err);
like($err, qr/20240101000000_t\.sql:2: SQL above "-- migrate:up" belongs to no section/, 'SQL above the up marker: file and line');

# A Flyway file is one script: another tool's down marker in it is refused (its down section
# ran as part of the migration, which was recorded as applied).
my $fwm = "$tmp/flyway_marker";
write_file("$fwm/V1__t.sql", "-- migrate:up\nCREATE TABLE fwm_t (id int);\n-- migrate:down\nDROP TABLE fwm_t;\n");
($rc, $out, $err) = pgm('own', $fwm, 'apply');
is($rc, 4, 'a down marker in a Flyway file: exit 4') or diag($out . $err);
like($err, qr/V1__t\.sql:3: a down-section marker of dbmate, goose or sql-migrate, in a flyway file that is one script.*U1__\.\.\.sql/,
     'the refusal names the line and where the down script goes');

# --- goose and sql-migrate: their Up/Down annotations split the file (before, the down
# statements ran as part of up); NO TRANSACTION goes to both sections.
fresh('goose');
my $gs = "$tmp/goose";
write_file("$gs/20240101120000_users.sql",
  "-- +goose Up\n-- +goose StatementBegin\nCREATE TABLE g_users (id int);\n-- +goose StatementEnd\n"
  . "-- +goose Down\nDROP TABLE g_users;\n");
write_file("$gs/20240102120000_users_idx.sql",
  "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY g_users_id ON g_users (id);\n"
  . "-- +goose Down\nDROP INDEX CONCURRENTLY g_users_id;\n");
($rc, $out, $err) = pgm('goose', $gs, 'apply');
is($rc, 0, 'goose: apply exits 0') or diag($out . $err);
is($node->safe_psql('goose', q{SELECT count(*) FROM pg_class WHERE relname IN ('g_users', 'g_users_id')}), '2',
   'goose: the up sections ran, not the down sections');
is($node->safe_psql('goose', q{SELECT up_mode || ' ' || down_mode FROM migrate.migrations WHERE version = '20240102120000'}),
   'no-transaction no-transaction', 'goose: NO TRANSACTION makes both sections non-transactional');
($rc, $out, $err) = pgm('goose', $gs, 'revert', '--steps', '2');
is($rc, 0, 'goose: revert exits 0') or diag($out . $err);
is($node->safe_psql('goose', q{SELECT count(*) FROM pg_class WHERE relname IN ('g_users', 'g_users_id')}), '0',
   'goose: the down sections ran');
my $sm = "$tmp/sql_migrate";
write_file("$sm/1_init.sql", "-- +migrate Up\nCREATE TABLE sm_t (id int);\n-- +migrate Down\nDROP TABLE sm_t;\n");
($rc, $out, $err) = pgm('goose', $sm, 'apply');
is($rc, 0, 'sql-migrate: apply exits 0') or diag($out . $err);
is($node->safe_psql('goose', q{SELECT to_regclass('sm_t') IS NOT NULL}), 't', 'sql-migrate: up section ran, not down');
my $ge = "$tmp/goose_envsub";
write_file("$ge/20240101120000_x.sql", "-- +goose ENVSUB ON\n-- +goose Up\nSELECT '\${HOME}';\n");
($rc, $out, $err) = pgm('goose', $ge, 'apply');
is($rc, 4, 'goose ENVSUB: exit 4');
like($err, qr/20240101120000_x\.sql:1: "-- \+goose ENVSUB ON": environment variable substitution \(ENVSUB\) is not supported/,
     'goose ENVSUB: file, line and why');

# --- two files for one version: an error naming both, nothing done.
my $dup = "$tmp/dup";
write_file("$dup/V2__a.sql", "SELECT 1;\n");
write_file("$dup/0002_b.up.sql", "SELECT 2;\n");
($rc, $out, $err) = pgm('own', $dup, 'apply');
is($rc, 4, 'duplicate version: exit 4');
like($err, qr{\Q$dup\E/0002_b\.up\.sql and \Q$dup\E/V2__a\.sql have the same version 2}, 'duplicate version: both files named, with the folder');

# --- a file that is not UTF-8: the file and line are named, nothing is sent
my $enc = "$tmp/encoding";
write_file("$enc/V1__latin1.sql", "SELECT 1;\nSELECT 'gr\xf6\xdfe';\n");
($rc, $out, $err) = pgm('own', $enc, 'check');
is($rc, 4, 'file not in UTF-8: exit 4');
like($err, qr/V1__latin1\.sql:2: not valid UTF-8/, 'file not in UTF-8: file and line named');
my $nul = "$tmp/nul";
write_file("$nul/V1__nul.sql", "SELECT 1;\nSELECT '\0';\n");
($rc, $out, $err) = pgm('own', $nul, 'check');
is($rc, 4, 'a NUL byte: exit 4');
like($err, qr/V1__nul\.sql:2: a NUL byte \(byte 19\); SQL text cannot hold one/, 'a NUL byte: named as such, with its line');
# Below a database's baseline such a file never runs there: left out with a warning (an old
# Flyway project's Latin-1 file, a file with another tool's down marker); above it, exit 4.
my $old = "$tmp/old_files";
write_file("$old/V1__a.sql", "CREATE TABLE of_a (id int);\n");
write_file("$old/V1_5__latin.sql", "SELECT 'gr\xf6\xdfe';\n");
write_file("$old/V3__odd.sql", "CREATE TABLE of_b (id int);\n-- migrate:down\nDROP TABLE of_b;\n");
write_file("$old/V4__new.sql", "CREATE TABLE of_new (id int);\n");
fresh('old_files');
($rc, $out, $err) = pgm('old_files', $old, 'apply');
is($rc, 4, 'files that cannot be taken, no baseline: exit 4');
like($err, qr/V1_5__latin\.sql:1: not valid UTF-8/, 'the first of them named');
($rc, $out, $err) = pgm('old_files', $old, 'baseline', '3');
is($rc, 0, 'baseline 3 with such files below it: done') or diag($err);
like($err, qr/warning: \S*V1_5__latin\.sql:1: not valid UTF-8 .*; version 1\.5 is not above the baseline 3 and never runs: left out/,
     'baseline: the Latin-1 file below it is left out, with a warning');
like($err, qr/warning: \S*V3__odd\.sql:2: a down-section marker .*version 3 is not above the baseline 3/, 'and the file with a down marker');
($rc, $out, $err) = pgm('old_files', $old, 'apply');
is($rc, 0, 'apply above the baseline: runs') or diag($err);
like($err, qr/applied 4 /, 'the new migration is applied');
($rc, $out, $err) = pgm('old_files', $old, 'check');
is($rc, 0, 'check: at the folder') or diag($out . $err);
write_file("$old/V5__bad.sql", "SELECT '\xff';\n");
($rc, $out, $err) = pgm('old_files', $old, 'check');
is($rc, 4, 'a file above the baseline that cannot be taken: exit 4');
like($err, qr/V5__bad\.sql:1: not valid UTF-8/, 'named');

# --- a failing migration: file:line (line in the file), SQLSTATE, DETAIL, HINT; nothing applied.
fresh('fail');
my $fl = "$tmp/fail";
write_file("$fl/20240101000000_ok.sql", "-- migrate:up\nCREATE TABLE ok_t (id int);\n-- migrate:down\nDROP TABLE ok_t;\n");
write_file("$fl/20240102000000_bad.sql",
  "-- header\n-- migrate:up\nCREATE TABLE bad_t (id int);\n\nINSERT INTO missing_table VALUES (1);\n-- migrate:down\nDROP TABLE bad_t;\n");
($rc, $out, $err) = pgm('fail', $fl, 'apply');
is($rc, 1, 'failing migration: exit 1');
like($err, qr/error: \Q$fl\E\/20240102000000_bad\.sql:5: relation "missing_table" does not exist \(SQLSTATE 42P01\)/,
     'failing migration: file:line of the file, message and SQLSTATE');
is($node->safe_psql('fail', q{SELECT count(*) FROM migrate.history}), '0', 'failing migration: nothing applied');
write_file("$fl/20240102000000_bad.sql",
  "-- migrate:up\nCREATE TABLE bad_t (id int);\nDO \$\$ BEGIN\n  RAISE EXCEPTION 'custom failure' USING ERRCODE = 'P0042', DETAIL = 'the detail', HINT = 'the hint';\nEND \$\$;\n");
($rc, $out, $err) = pgm('fail', $fl, 'apply');
like($err, qr/20240102000000_bad\.sql:4: custom failure \(SQLSTATE P0042\)\nDETAIL: the detail\nHINT: the hint/,
     'failing migration: the line of the DO block that failed, DETAIL and HINT are shown');
($rc, $out, $err) = pgm('fail', $fl, '--json', 'apply');
like($out, qr/"line": 4/, '--json: the error has the line');
like($out, qr/"sqlstate": "P0042"/, '--json: the error has the SQLSTATE');

# --- non-transactional files (dbmate's transaction:false): run by CALL migrate.run()
my $ntx = "$tmp/ntx";
write_file("$ntx/20240101120000_create_users.sql",
  "-- migrate:up\nCREATE TABLE users (id bigint PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE users;\n");
write_file("$ntx/20240102120000_add_email.sql",
  "-- migrate:up\nALTER TABLE users ADD COLUMN email text;\n-- migrate:down\nALTER TABLE users DROP COLUMN email;\n");
write_file("$ntx/20240103000000_idx.sql",
  "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n"
  . "-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY users_email;\n");
($rc, $out, $err) = pgm('own', $ntx, 'apply');
is($rc, 0, 'non-transactional file: applied') or diag($out . $err);
like($err, qr/applied 20240103000000 \Q$ntx\E\/20240103000000_idx\.sql/, 'non-transactional file: reported');
is($node->safe_psql('own', q{SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_email'::regclass}), 't',
   'non-transactional file: the concurrent build is valid');
is($node->safe_psql('own', q{SELECT up_mode FROM migrate.migrations WHERE version = '20240103000000'}), 'no-transaction',
   'non-transactional file: registered as no-transaction');
($rc, $out, $err) = pgm('own', $ntx, 'check');
is($rc, 0, 'non-transactional file: check passes') or diag($out . $err);
# A file split by COMMIT, without a marker: the server records it as split, and the command
# sees that in the catalog (not in the file) and runs it through CALL migrate.run() too.
write_file("$ntx/20240104000000_split.sql",
  "-- migrate:up\nCREATE TABLE split_a (id int);\nCOMMIT;\nCREATE TABLE split_b (id int);\n"
  . "-- migrate:down\nDROP TABLE split_b;\nDROP TABLE split_a;\n");
($rc, $out, $err) = pgm('own', $ntx, 'apply');
is($rc, 0, 'split file: applied') or diag($out . $err);
is($node->safe_psql('own', q{SELECT up_mode || ' ' || (applied_seq IS NOT NULL) FROM migrate.migrations WHERE version = '20240104000000'}),
   'split true', 'split file: registered as split and applied');
is($node->safe_psql('own', q{SELECT count(*) FROM pg_class WHERE relname IN ('split_a', 'split_b')}), '2',
   'split file: both parts ran');

# --- new
my $nd = "$tmp/new";
($rc, $out, $err) = pgm('own', $nd, 'new', 'Add orders table!');
is($rc, 0, 'new exits 0');
like($out, qr/^\Q$nd\E\/\d{14}_add_orders_table\.sql$/, 'new prints the path of <UTC timestamp>_<slug>.sql');
chomp(my $path = $out);
open my $nf, '<', $path or die;
my $text = do { local $/; <$nf> };
like($text, qr/^-- migrate:up\n.*-- migrate:down\n/s, 'new writes the up and down markers');
# In a Flyway folder numbered by hand, the next V file (a timestamp version would put every
# later V file out of order); apply refuses it until it is written.
my $nfw = "$tmp/new_flyway";
write_file("$nfw/V1__a.sql", "CREATE TABLE nfw_a (id int);\n");
write_file("$nfw/V2_1__b.sql", "CREATE TABLE nfw_b (id int);\n");
fresh('new_flyway');
($rc, $out, $err) = pgm('new_flyway', $nfw, 'new', 'add price');
is($out, "$nfw/V3__add_price.sql\n", 'new in a Flyway folder: the next V file');
($rc, $out, $err) = pgm('new_flyway', $nfw, 'apply');
is($rc, 4, 'the unwritten Flyway file: apply refuses it (exit 4, as any unwritten template)');
like($err, qr/V3__add_price\.sql.*(empty template|unedited|pg_migrate new)/, 'and says why') or diag($err);
write_file("$nfw/V3__add_price.sql", "CREATE TABLE nfw_c (id int);\n");
($rc, $out, $err) = pgm('new_flyway', $nfw, 'apply');
is($rc, 0, 'written: applied') or diag($out . $err);

# --- lint --format github
my $lt = "$tmp/lint";
write_file("$lt/V1__idx.sql", "-- an index\nCREATE INDEX users_id ON users (id);\n");
($rc, $out, $err) = pgm('own', $lt, 'lint', '--format', 'github', "$lt/V1__idx.sql");
like($out, qr/^::warning file=\Q$lt\E\/V1__idx\.sql,line=2,title=require-concurrent-index-creation::/m,
     'lint --format github: annotation with file and line');
# GitHub's escaping: a file name with a comma and a colon, a message with a percent sign.
my $lt2 = "$tmp/lint2";
write_file("$lt2/20240104000000_a,b:c.sql", "-- migrate:up\nCREATE INDEX \"50%,x\" ON users (id);\n");
($rc, $out, $err) = pgm('own', $lt2, 'lint', '--format', 'github', "$lt2/20240104000000_a,b:c.sql");
like($out, qr/^::warning file=\S*20240104000000_a%2Cb%3Ac\.sql,line=2,title=require-concurrent-index-creation::.*50%25,x/m,
     'lint --format github: properties and message escaped');
($rc, $out, $err) = pgm('own', $lt, 'lint', '--format', 'json', "$lt/V1__idx.sql");
like($out, qr/"rule": "require-concurrent-index-creation"/, 'lint --format json');
is($rc, 0, 'lint: warnings only -> exit 0');
$node->safe_psql('own', q{INSERT INTO users (id) SELECT g FROM generate_series(1, 10) g; ANALYZE users;});
{
  local $ENV{PGOPTIONS} = '-c pg_migrate.lint_large_table_rows=5';
  ($rc, $out, $err) = pgm('own', $lt, 'lint', "$lt/V1__idx.sql");
}
is($rc, 1, 'lint: an error-level finding -> exit 1');
like($out, qr/V1__idx\.sql:2: error require-concurrent-index-creation/, 'lint: the error names file and line');

# --- files read in 64 KiB reads: one longer than a read, one exactly as long
fresh('big');
my $big = "$tmp/big";
write_file("$big/V1__long.sql", '-- ' . ('x' x 70000) . "\nCREATE TABLE long_one (id int);\n");
my $stmt = "CREATE TABLE exact_two (id int);\n";
write_file("$big/V2__exact.sql", '-- ' . ('y' x (65536 - length($stmt) - 4)) . "\n" . $stmt);
is(-s "$big/V2__exact.sql", 65536, 'a file of exactly 64 KiB');
($rc, $out, $err) = pgm('big', $big, 'apply');
is($rc, 0, 'long files apply') or diag($err);
is($node->safe_psql('big', q{SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('long_one', 'exact_two')}),
   'exact_two,long_one', 'the statements after 64 KiB ran');
($rc, $out, $err) = pgm('big', $big, 'check');
is($rc, 0, 'long files check in sync');

# --- usage, help, exit codes
($rc, $out, $err) = pgm('own', $own, 'frobnicate');
is($rc, 2, 'unknown command: exit 2');
my ($hout, $herr) = ('', '');
IPC::Run::run([ 'pg_migrate', '--help' ], '>', \$hout, '2>', \$herr);
like($hout, qr/Exit codes:.*12\s+check: migrations are pending/s, '--help lists the exit codes');
open my $rf, '<', 'README.md' or die "README.md: $!";
my $readme = do { local $/; <$rf> };
ok(index($readme, $hout) >= 0, 'README shows exactly what --help prints');
($rc, $out, $err) = pgm('postgres', $own, 'status');
is($rc, 5, 'database without the extension: exit 5');

done_testing();
