# Drift capture's statement text with and without the library preloaded, and drift no
# trigger sees (single-user mode) found by schema_diff().
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $rows = q{SELECT object_identity || ' | ' || statement || ' | ' || statement_source
               FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id};
my $ack = q{SELECT migrate.acknowledge_drift('tap')};
my $do_block = q{DO $$ BEGIN CREATE TABLE d1 (); CREATE TABLE d2 (); END $$;};
my $batch = q{CREATE TABLE b1 (id int) \; CREATE TABLE b2 (id int);};

# --- preloaded: every statement's own text, from the session's first DDL on.
my $pre = PostgreSQL::Test::Cluster->new('preloaded');
$pre->init;
$pre->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_migrate'");
$pre->start;
$pre->safe_psql('postgres', 'CREATE EXTENSION pg_migrate');

$pre->safe_psql('postgres', $do_block);
is($pre->safe_psql('postgres', $rows),
   "public.d1 | CREATE TABLE d1 () | hook\npublic.d2 | CREATE TABLE d2 () | hook",
   'preloaded: each statement of a DO block (first DDL of the session) has its own text');
$pre->safe_psql('postgres', $ack);

$pre->safe_psql('postgres', $batch);
is($pre->safe_psql('postgres', $rows),
   "public.b1 | CREATE TABLE b1 (id int) | hook\npublic.b2 | CREATE TABLE b2 (id int) | hook",
   'preloaded: a multi-statement query string gives each row its own statement');
$pre->safe_psql('postgres', $ack);

is($pre->safe_psql('postgres', 'SELECT statement_capture FROM migrate.drift_status()'),
   'exact (preloaded)', 'drift_status reports the preloaded hook');

# Non-superuser DDL is recorded with its role.
$pre->safe_psql('postgres', 'CREATE ROLE dev LOGIN; GRANT CREATE ON SCHEMA public TO dev');
$pre->safe_psql('postgres', 'CREATE TABLE devt (id int)', extra_params => [ '-U', 'dev' ]);
is($pre->safe_psql('postgres',
     q{SELECT performed_by || ' ' || role || ' ' || object_identity FROM migrate.drift WHERE object_identity = 'public.devt'}),
   'dev dev public.devt', 'a non-superuser session is recorded');
my ($ret, $out, $err) = $pre->psql('postgres', q{DELETE FROM migrate.drift}, extra_params => [ '-U', 'dev' ]);
like($err, qr/permission denied for schema migrate/, 'the non-superuser cannot delete drift rows');
($ret, $out, $err) = $pre->psql('postgres', q{SET pg_migrate.drift_capture = off}, extra_params => [ '-U', 'dev' ]);
like($err, qr/permission denied to set parameter "pg_migrate.drift_capture"/,
     'the non-superuser cannot turn capture off');
$pre->safe_psql('postgres', $ack);

# Single-user mode: event triggers do not fire, schema_diff() still finds the change.
$pre->stop;
my $single_out;
IPC::Run::run([ 'postgres', '--single', '-D', $pre->data_dir, 'postgres' ],
              '<', \"CREATE TABLE single_user_tbl (id int);\n", '>', \$single_out, '2>&1')
  or diag($single_out);
$pre->start;
is($pre->safe_psql('postgres', q{SELECT count(*) FROM migrate.drift WHERE object_identity = 'public.single_user_tbl'}),
   '0', 'single-user mode DDL is not seen by the event triggers');
is($pre->safe_psql('postgres', q{SELECT string_agg(object || ' ' || change, ', ' ORDER BY object) FROM migrate.schema_diff()}),
   'column public.single_user_tbl.id added, table public.single_user_tbl added',
   'schema_diff finds the single-user mode change');
$pre->stop;

# --- not preloaded: the session's first DDL is matched by re-parsing the query string.
my $lazy = PostgreSQL::Test::Cluster->new('not_preloaded');
$lazy->init;
$lazy->start;
$lazy->safe_psql('postgres', 'CREATE EXTENSION pg_migrate');

$lazy->safe_psql('postgres', $do_block);
is($lazy->safe_psql('postgres', $rows),
   "public.d1 | DO \$\$ BEGIN CREATE TABLE d1 (); CREATE TABLE d2 (); END \$\$ | enclosing\n"
   . "public.d2 | CREATE TABLE d2 () | hook",
   'not preloaded: the first statement inside a DO block gets the enclosing statement, later ones their own');
$lazy->safe_psql('postgres', $ack);

$lazy->safe_psql('postgres', $batch);
is($lazy->safe_psql('postgres', $rows),
   "public.b1 | CREATE TABLE b1 (id int) | parse\npublic.b2 | CREATE TABLE b2 (id int) | hook",
   'not preloaded: top-level statements of a batch still get their own text');
$lazy->safe_psql('postgres', $ack);

# a DO block after another statement of the same query string: the DO statement, not the string
$lazy->safe_psql('postgres', 'SELECT 1; DO $$ BEGIN CREATE TABLE n1 (); END $$; SELECT 2');
is($lazy->safe_psql('postgres', $rows),
   "public.n1 | DO \$\$ BEGIN CREATE TABLE n1 (); END \$\$ | enclosing",
   'not preloaded: nested DDL in a string of several statements gets its enclosing statement');
$lazy->safe_psql('postgres', $ack);

is($lazy->safe_psql('postgres', 'SELECT statement_capture FROM migrate.drift_status()'),
   "exact after the session's first DDL (not preloaded)", 'drift_status reports the fallback');

# session_preload_libraries gives the preloaded behaviour without a restart.
$lazy->safe_psql('postgres', q{ALTER DATABASE postgres SET session_preload_libraries = 'pg_migrate'});
$lazy->safe_psql('postgres', 'DROP TABLE d1, d2');
$lazy->safe_psql('postgres', $ack);
$lazy->safe_psql('postgres', $do_block);
is($lazy->safe_psql('postgres', $rows),
   "public.d1 | CREATE TABLE d1 () | hook\npublic.d2 | CREATE TABLE d2 () | hook",
   'session_preload_libraries: exact text from the first DDL');
$lazy->stop;

done_testing();
