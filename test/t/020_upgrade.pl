# Upgrades: every released version, with migrations applied, reverted and drift recorded,
# is updated with ALTER EXTENSION pg_migrate UPDATE; nothing is lost, and the extension's
# objects then equal those of a fresh install of the current version.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $current = $node->safe_psql('postgres',
  q{SELECT default_version FROM pg_available_extensions WHERE name = 'pg_migrate'});
my @released = map { /pg_migrate--([0-9.]+)\.sql$/ ? $1 : () }
  glob('src/sql/released/pg_migrate--*.sql');
ok(@released > 0, 'released install scripts found: ' . join(', ', @released));

# The database's schema as pg_dump --binary-upgrade writes it: that mode dumps each member of
# an extension (tables, columns in order, functions, triggers, grants, config tables), where a
# plain dump only says CREATE EXTENSION.
sub extension_schema {
  my ($db) = @_;
  my ($out, $err);
  IPC::Run::run([ 'pg_dump', '--binary-upgrade', '--schema-only', '--no-owner',
                  '-d', $node->connstr($db) ], '>', \$out, '2>', \$err)
    or die "pg_dump $db failed: $err";
  # OIDs, sequence positions and pg_dump's session settings differ between any two databases.
  my @lines = grep { !/binary_upgrade_set_next|^--|^SET |^SELECT pg_catalog\.set_config|pg_catalog\.setval|^\\(un)?restrict|binary_upgrade_create_empty_extension|^WHERE oid = '[0-9]+';$/ && /\S/ }
    split /\n/, $out;
  return join("\n", @lines) . "\n";
}

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION pg_migrate');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate'}),
   $current, "fresh install is $current");
my $fresh_schema = extension_schema('fresh');

for my $from (@released) {
  next if $from eq $current;
  my $db = "from_" . ($from =~ s/\./_/gr);
  $node->safe_psql('postgres', "CREATE DATABASE $db");
  $node->safe_psql($db, "CREATE EXTENSION pg_migrate VERSION '$from'");
  $node->safe_psql($db, q{
    SELECT migrate.register('1', 'create users', 'CREATE TABLE users (id bigint PRIMARY KEY)', 'DROP TABLE users');
    SELECT migrate.register('2', 'add email', 'ALTER TABLE users ADD COLUMN email text', 'ALTER TABLE users DROP COLUMN email');
    SELECT migrate.register('3', 'orders', 'CREATE TABLE orders (id int)', 'DROP TABLE orders');
    SELECT migrate.register('4', 'pending', 'CREATE TABLE later (id int)', 'DROP TABLE later');
    SELECT count(*) FROM migrate.apply('3');
    SELECT count(*) FROM migrate.revert();
    CREATE TABLE manual_change (id int);
  });
  my %before;
  my %queries = (
    status  => q{SELECT string_agg(version || ':' || name || ':' || state || ':' || coalesce(checksum, '-'), ',' ORDER BY version) FROM migrate.status()},
    history => q{SELECT string_agg(id || ':' || version || ':' || action || ':' || transaction_id || ':' || coalesce(checksum, '-'), ',' ORDER BY id) FROM migrate.history},
    scripts => q{SELECT string_agg(version || ':' || up_sql || ':' || coalesce(down_sql, '-'), ',' ORDER BY version) FROM migrate.migrations},
    drift   => q{SELECT string_agg(object_identity || ':' || command_tag, ',' ORDER BY id) FROM migrate.drift},
    current => q{SELECT migrate.current_version()},
  );
  $before{$_} = $node->safe_psql($db, $queries{$_}) for keys %queries;
  like($before{drift}, qr/manual_change/, "$from: drift recorded before the upgrade");

  $node->safe_psql($db, 'ALTER EXTENSION pg_migrate UPDATE');
  is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate'}),
     $current, "$from: updated to $current");
  for my $k (sort keys %queries) {
    is($node->safe_psql($db, $queries{$k}), $before{$k}, "$from: $k kept across the upgrade");
  }
  is($node->safe_psql($db, 'SELECT count(*) FROM migrate.validate()'), '0', "$from: catalog validates after the upgrade");
  # (the event triggers as drift_status() expects them: the tags of ddl_command_start included)
  is($node->safe_psql($db, 'SELECT capture FROM migrate.drift_status()'), 'on', "$from: drift capture is on after the upgrade");
  is($node->safe_psql($db, q{SELECT count(*) FROM migrate.history h WHERE h.action = 'apply'
       AND NOT EXISTS (SELECT FROM migrate.scripts s WHERE s.checksum = h.checksum)}), '0',
     "$from: the up scripts of the applies recorded before the upgrade are kept in migrate.scripts");

  # The upgraded database keeps working: apply and revert with the new code.
  is($node->safe_psql($db, q{SELECT string_agg(version, ',') FROM migrate.apply()}), '3,4',
     "$from: pending migrations apply after the upgrade");
  is($node->safe_psql($db, q{SELECT string_agg(version, ',') FROM migrate.revert(2)}), '4,3',
     "$from: reverts after the upgrade");

  # The schema_diff() fast path (catalog fingerprint, 0.3.0) reaches upgraded databases. Here
  # drift made before the update leaves the first apply's snapshot unproven; an acknowledgement
  # records a proven whole one.
  is($node->safe_psql($db, 'SELECT migrate.schema_unchanged()'), 'f', "$from: no proof while drift is unreviewed");
  $node->safe_psql($db, q{SELECT migrate.acknowledge_drift('reviewed after the upgrade')});
  is($node->safe_psql($db, 'SELECT migrate.schema_unchanged()'), 't', "$from: proof after an acknowledgement");
  # Without drift the first apply after the update compares whole snapshots once and starts
  # the proofs.
  my $clean = "${db}_clean";
  $node->safe_psql('postgres', "CREATE DATABASE $clean");
  $node->safe_psql($clean, "CREATE EXTENSION pg_migrate VERSION '$from'");
  $node->safe_psql($clean, q{SELECT migrate.register('1', 'one', 'CREATE TABLE one (id bigint)', 'DROP TABLE one');
                             SELECT count(*) FROM migrate.apply();});
  $node->safe_psql($clean, 'ALTER EXTENSION pg_migrate UPDATE');
  is($node->safe_psql($clean, 'SELECT migrate.schema_unchanged()'), 'f', "$from: no proof right after the update");
  $node->safe_psql($clean, q{SELECT migrate.register('2', 'two', 'CREATE TABLE two (id bigint)', 'DROP TABLE two');
                             SELECT count(*) FROM migrate.apply();});
  is($node->safe_psql($clean, 'SELECT migrate.schema_unchanged()'), 't', "$from: the first apply after the update starts the proofs");
  $node->safe_psql($clean, 'CREATE TABLE after_update (id int)');
  is($node->safe_psql($clean, 'SELECT object FROM migrate.schema_diff() ORDER BY 1'),
     "column public.after_update.id\ntable public.after_update", "$from: later drift is still reported");

  # An excluded object the recorded snapshot does not have: the first apply's whole comparison
  # must count it (the proof vouches for every entry, excluded or not).
  my $excl = "${db}_excluded";
  $node->safe_psql('postgres', "CREATE DATABASE $excl");
  $node->safe_psql($excl, "CREATE EXTENSION pg_migrate VERSION '$from'");
  $node->safe_psql($excl, q{INSERT INTO migrate.drift_exclusions (schema_pattern) VALUES ('scratch');
                            CREATE SCHEMA scratch; CREATE TABLE scratch.tmp (id int);});
  $node->safe_psql($excl, 'ALTER EXTENSION pg_migrate UPDATE');
  $node->safe_psql($excl, q{SELECT migrate.register('1', 'one', 'CREATE TABLE one (id bigint)', 'DROP TABLE one');
                            SELECT count(*) FROM migrate.apply();});
  is($node->safe_psql($excl, 'SELECT migrate.schema_unchanged()'), 'f',
     "$from: an excluded object missing from the snapshot leaves the first apply unproven");
  $node->safe_psql($excl, 'DELETE FROM migrate.drift_exclusions');
  is($node->safe_psql($excl, 'SELECT object FROM migrate.schema_diff() ORDER BY 1'),
     "column scratch.tmp.id\nschema scratch\ntable scratch.tmp", "$from: and schema_diff() shows it once it is no longer excluded");

  # Only the extension's objects remain for the comparison.
  $node->safe_psql($db, 'SELECT count(*) FROM migrate.revert(2); DROP TABLE manual_change');
  my $upgraded_schema = extension_schema($db);
  my $diff = '';
  if ($upgraded_schema ne $fresh_schema) {
    my $dir = $node->basedir;
    PostgreSQL::Test::Utils::append_to_file("$dir/fresh.sql", $fresh_schema);
    PostgreSQL::Test::Utils::append_to_file("$dir/$db.sql", $upgraded_schema);
    IPC::Run::run([ 'diff', '-u', "$dir/fresh.sql", "$dir/$db.sql" ], '>', \$diff);
  }
  is($diff, '', "$from: upgraded objects equal a fresh $current install");
  # The configuration tables pg_dump keeps, by name (the dump above names them by OID).
  # The order of registration does not matter to pg_dump; compare them by name.
  my $config_sql = q{SELECT string_agg(c.rel::regclass::text || ' ' || quote_literal(c.cond), ', ' ORDER BY c.rel::regclass::text)
                       FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS c(rel, cond)
                      WHERE e.extname = 'pg_migrate'};
  is($node->safe_psql($db, $config_sql), $node->safe_psql('fresh', $config_sql),
     "$from: the same tables are dumped with their data, with the same conditions");
}

# A run CALL migrate.run() stopped before 0.11.0 kept nothing of the drift made before it
# (runs.preexisting came with 0.11.0): finished after the update, it keeps what differs on
# objects its statements do not name (the whole snapshot after it took everything in).
if (grep { $_ eq '0.10.0' } @released) {
  $node->safe_psql('postgres', 'CREATE DATABASE legacy_run');
  $node->safe_psql('legacy_run', q{CREATE EXTENSION pg_migrate VERSION '0.10.0';
    SELECT migrate.register('1', 'items', E'CREATE SCHEMA app;\nCREATE TABLE items (id int, a int, d int);\nINSERT INTO items SELECT g, g, g % 3 FROM generate_series(1, 100) g;\nCREATE TABLE app."Old" (id int PRIMARY KEY, x int);\nCREATE INDEX "Idx_X" ON app."Old" (x);\nCREATE TABLE moved (id int);\nCREATE TABLE kept (id int);\nCREATE INDEX "Idx_K" ON kept (id);', NULL);
    SELECT count(*) FROM migrate.apply();
    SELECT migrate.register('2', 'indexes',
      E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY items_a ON items (a);\nDROP INDEX CONCURRENTLY app."Idx_X";\nDROP TABLE app."Old";\nALTER TABLE moved SET SCHEMA app;\nDROP INDEX CONCURRENTLY "Idx_K";\nCREATE UNIQUE INDEX CONCURRENTLY items_d ON items (d);\n', NULL);
    SET pg_migrate.drift_capture = off;
    CREATE TABLE app.hidden_drift (id int);});
  my ($rc, $out, $err) = $node->psql('legacy_run', 'CALL migrate.run()');
  like($err, qr/could not create unique index "items_d"/, '0.10.0: the run stops at its last statement');
  $node->safe_psql('legacy_run', q{DELETE FROM items WHERE id > 3; ALTER EXTENSION pg_migrate UPDATE;});
  # (identifiers quoted as the session asks must still match the snapshot's keys)
  ($rc, $out, $err) = $node->psql('legacy_run', 'SET quote_all_identifiers = on; CALL migrate.run()');
  is($rc, 0, 'updated, the run finishes') or diag($err);
  like($err, qr/its run started before pg_migrate 0\.11\.0, which kept no record of the drift before it: the 2 differences from the newest snapshot outside the tables and indexes its statements name stay/,
       'it says the run kept no record, and what it keeps');
  is($node->safe_psql('legacy_run', 'SELECT object FROM migrate.schema_diff() ORDER BY 1'),
     "column app.hidden_drift.id\ntable app.hidden_drift",
     'the drift made before the run stays a difference; what the run built, dropped and moved does not show');
  is($node->safe_psql('legacy_run', q{SELECT state FROM migrate.status() WHERE version = '2'}), 'applied', 'and it is applied');
}

# A role that created the extension as a superuser and was demoted since: a superuser's
# update created objects the owner could not use (permission denied for function
# newest_snapshot_id). They belong to the extension's owner after the update.
$node->safe_psql('postgres', q{CREATE ROLE ext_owner LOGIN SUPERUSER; CREATE DATABASE demoted OWNER ext_owner;});
my @as_owner = (extra_params => ['-U', 'ext_owner']);
$node->safe_psql('demoted', q{CREATE EXTENSION pg_migrate VERSION '0.2.0';
  SELECT migrate.register('1', 'one', 'CREATE TABLE one (id int)', 'DROP TABLE one');
  SELECT count(*) FROM migrate.apply();}, @as_owner);
$node->safe_psql('postgres', 'ALTER ROLE ext_owner NOSUPERUSER');
$node->safe_psql('demoted', 'ALTER EXTENSION pg_migrate UPDATE');
is($node->safe_psql('demoted', q{SELECT count(*) FROM pg_depend d
     LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
     LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
     LEFT JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
     WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_migrate') AND d.deptype = 'e'
       AND coalesce(p.proowner, c.relowner, t.typowner) <> 'ext_owner'::regrole}), '0',
   'updated by a superuser, every member belongs to the extension owner');
is($node->safe_psql('demoted', q{SELECT migrate.register('2', 'two', 'CREATE TABLE two (id int)', 'DROP TABLE two');
  SELECT string_agg(version, ',') FROM migrate.apply();
  SELECT string_agg(version, ',') FROM migrate.revert();
  CREATE TABLE by_hand (id int);
  SELECT migrate.acknowledge_drift('reviewed') > 0;}, @as_owner), "registered\n2\n2\nt",
   'and the demoted owner applies, reverts and acknowledges');

$node->stop;
done_testing();
