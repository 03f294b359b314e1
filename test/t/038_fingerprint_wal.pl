# The catalog fingerprint reads only the catalog pages the WAL names since its page cache was
# stored (when that WAL is short): the pages nobody wrote since hold their cached sums unread.
# Shown here: few pages read after a one-migration apply, a change hidden from the event
# triggers still found (DDL with capture off, a direct pg_attribute edit), a second fingerprint
# in one transaction reading on from the first, the whole read when the WAL since is long or
# another session is storing, and a standby (in recovery) reading every page.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('fingerprint_wal');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "autovacuum = off\nmax_locks_per_transaction = 256\n");
$node->start;

# A schema of 400 tables: some 700 catalog pages, so the WAL of an apply is well within
# what may be read instead of visiting them (512 bytes per page).
$node->safe_psql('postgres', q{
  CREATE EXTENSION pg_migrate;
  SET pg_migrate.drift_capture = off;
  DO $$ BEGIN FOR i IN 1..400 LOOP
    EXECUTE format('CREATE TABLE public.w_%s (id bigint PRIMARY KEY, a text NOT NULL DEFAULT ''x'', b int)', i);
  END LOOP; END $$;
});
$node->safe_psql('postgres', q{
  SELECT migrate.acknowledge_drift('setup');
  SELECT migrate.register('1', 'one', 'CREATE TABLE public.one (id int)', 'DROP TABLE public.one');
  SELECT migrate.register('2', 'two', 'CREATE TABLE public.two (id int)', 'DROP TABLE public.two');
});
my $pages = $node->safe_psql('postgres', q{
  SELECT sum(pg_relation_size(c.oid) / 8192) FROM pg_class c
   WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'});
cmp_ok($pages, '>', 500, "the catalogs have $pages pages");

# Runs SQL with DEBUG1 messages; returns (output, the fingerprint lines).
sub debug_run {
  my ($sql) = @_;
  my ($out, $err) = ('', '');
  $node->psql('postgres', "SET client_min_messages = debug1; $sql", stdout => \$out, stderr => \$err,
              on_error_die => 1);
  my @lines = grep { /catalog fingerprint read/ } split /\n/, $err;
  return ($out, @lines);
}

my ($out, @fp) = debug_run('SELECT count(*) FROM migrate.apply(\'1\')');
is($out, '1', 'applied');
is(scalar(@fp), 1, 'the apply took one fingerprint');
like($fp[0], qr/read (\d+) pages, \d+ named by the WAL since/, 'it read the pages the WAL named');
my ($read) = $fp[0] =~ /read (\d+) pages/;
cmp_ok($read, '<', 100, "$read pages read of $pages");
is($node->safe_psql('postgres', 'SELECT migrate.schema_unchanged()'), 't', 'the apply kept the proof');

# DDL the event triggers do not see (capture off), and a direct catalog edit: the WAL names
# their pages, which are read again.
$node->safe_psql('postgres', 'SET pg_migrate.drift_capture = off; CREATE TABLE public.hidden (id int)');
($out, @fp) = debug_run('SELECT migrate.schema_unchanged()');
is($out, 'f', 'hidden DDL breaks the proof');
like($fp[0], qr/named by the WAL since/, 'found through the WAL');
is($node->safe_psql('postgres', q{SELECT string_agg(object || ' ' || change, ', ') FROM migrate.schema_diff()}),
   'column public.hidden.id added, table public.hidden added', 'schema_diff() reports it');
$node->safe_psql('postgres', q{SELECT migrate.acknowledge_drift('reviewed')});
is($node->safe_psql('postgres', 'SELECT migrate.schema_unchanged()'), 't', 'proven again');
$node->safe_psql('postgres', q{UPDATE pg_catalog.pg_attribute SET attnotnull = true
                                WHERE attrelid = 'public.w_7'::regclass AND attname = 'b'});
($out, @fp) = debug_run('SELECT migrate.schema_unchanged()');
is($out, 'f', 'a direct pg_attribute edit breaks the proof');
like($fp[0], qr/named by the WAL since/, 'found through the WAL');
$node->safe_psql('postgres', q{UPDATE pg_catalog.pg_attribute SET attnotnull = false
                                WHERE attrelid = 'public.w_7'::regclass AND attname = 'b';
                                SELECT migrate.acknowledge_drift('undone')});

# Two fingerprints in one transaction: the second reads on from where the first stopped.
($out, @fp) = debug_run(q{BEGIN;
  SELECT migrate.schema_unchanged();
  SET LOCAL pg_migrate.drift_capture = off;
  CREATE TABLE public.in_between (id int);
  SELECT migrate.schema_unchanged();
  COMMIT;});
is($out, "t\nf", 'a change between two fingerprints of one transaction is found');
is(scalar(grep { /named by the WAL since/ } @fp), 2, 'both through the WAL');
$node->safe_psql('postgres', q{DROP TABLE public.in_between; SELECT migrate.acknowledge_drift('gone')});

# Long WAL since the cache was stored: every page is visited, and the proof holds.
$node->safe_psql('postgres', q{CREATE TABLE public.bulk AS SELECT g, repeat('x', 200) AS filler
                                FROM generate_series(1, 20000) g;
                                SELECT migrate.acknowledge_drift('bulk table')});
$node->safe_psql('postgres', q{INSERT INTO public.bulk SELECT g, repeat('y', 200) FROM generate_series(1, 20000) g});
($out, @fp) = debug_run('SELECT migrate.schema_unchanged()');
is($out, 't', 'data written since changes nothing');
unlike($fp[0], qr/named by the WAL/, 'after much WAL every page is visited');
cmp_ok(($fp[0] =~ /read (\d+) pages/)[0], '>=', $pages - 50, 'all of them');

# Another session storing (it holds the table's lock): the apply stores nothing, and what is
# stored still holds.
$node->safe_psql('postgres', q{SELECT migrate.acknowledge_drift('fresh cache')});
my $validity = q{SELECT encode(pages, 'hex') FROM migrate.catalog_page_sums WHERE catalog = 0};
my $before = $node->safe_psql('postgres', $validity);
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN; LOCK TABLE migrate.catalog_page_sums IN ROW EXCLUSIVE MODE;');
is($node->safe_psql('postgres', 'SELECT count(*) FROM migrate.apply()'), '1', 'applied while another session writes the cache');
is($node->safe_psql('postgres', $validity), $before, 'nothing stored meanwhile');
$holder->query_safe('COMMIT');
$holder->quit;
($out, @fp) = debug_run('SELECT migrate.schema_unchanged()');
is($out, 't', 'the proof holds');
like($fp[0], qr/named by the WAL since/, 'through the WAL from the older validity');
$node->safe_psql('postgres', 'SET pg_migrate.drift_capture = off; ALTER TABLE public.w_9 ADD COLUMN c int');
is($node->safe_psql('postgres', 'SELECT migrate.schema_unchanged()'), 'f', 'and a later hidden change is found');
$node->safe_psql('postgres', q{SELECT migrate.acknowledge_drift('w_9.c')});

# A database copied file by file (CREATE DATABASE ... STRATEGY FILE_COPY) carries its
# template's cache, while the WAL of the template's changes names the template: the copy
# visits every page, and a change made in the template before the copy is found there.
$node->safe_psql('postgres', q{SELECT migrate.acknowledge_drift('before the copy')});
$node->safe_psql('postgres', 'SET pg_migrate.drift_capture = off; CREATE TABLE public.before_copy (id int)');
$node->safe_psql('template1', 'CREATE DATABASE copied TEMPLATE postgres STRATEGY FILE_COPY');
($out, @fp) = (undef);
{
  my ($o, $e) = ('', '');
  $node->psql('copied', 'SET client_min_messages = debug1; SELECT migrate.schema_unchanged()',
              stdout => \$o, stderr => \$e, on_error_die => 1);
  is($o, 'f', 'the copy finds the change made before it');
  unlike($e, qr/named by the WAL/, 'by visiting every page');
}
is($node->safe_psql('copied', q{SELECT string_agg(object || ' ' || change, ', ') FROM migrate.schema_diff()}),
   'column public.before_copy.id added, table public.before_copy added', 'schema_diff() in the copy reports it');
$node->safe_psql('postgres', 'DROP TABLE public.before_copy');
$node->safe_psql('postgres', q{SELECT migrate.acknowledge_drift('after the copy')});

# The WAL's insert position just past a page header (the last record ended at the page's
# end): nothing to flush there, and the fingerprint still reads the WAL, without a warning.
# Pads the WAL with logical messages until a record ends at a page's end: a message of
# 1 byte measures the record's overhead (to 8 bytes), the next fills the page exactly.
$node->safe_psql('postgres', q{
  DO $$
  DECLARE
    left_ int; overhead int;
    pos CONSTANT text := '(pg_current_wal_insert_lsn() - ''0/0''::pg_lsn)::numeric % 8192';
  BEGIN
    FOR i IN 1..20 LOOP
      EXECUTE 'SELECT 8192 - ' || pos INTO left_;
      EXIT WHEN left_ IN (8192 - 24, 8192 - 40);
      IF left_ < 400 THEN
        PERFORM pg_logical_emit_message(false, 'p', repeat('x', 600));
        CONTINUE;
      END IF;
      PERFORM pg_logical_emit_message(false, 'p', 'x');
      EXECUTE 'SELECT ' || left_ || ' - (8192 - ' || pos || ')' INTO overhead;
      left_ := left_ - overhead;
      PERFORM pg_logical_emit_message(false, 'p', repeat('x', left_ - overhead + 1));
    END LOOP;
  END $$});
my $offset = $node->safe_psql('postgres', q{SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::numeric % 8192});
my $boundary = $offset == 24 || $offset == 40;
ok($boundary, 'the WAL insert position is just past a page header');
($out, @fp) = debug_run('SELECT migrate.schema_unchanged()');
is($out, 't', 'proven at a page boundary');
like($fp[0], qr/named by the WAL since/, 'through the WAL');
my ($bout, $berr) = ('', '');
$node->psql('postgres', 'SELECT migrate.schema_unchanged()', stdout => \$bout, stderr => \$berr);
unlike($berr, qr/flush/, 'no complaint about flushing');

# A backend still running an older library writes its rows with hash version 1: this one
# reads none of them.
$node->safe_psql('postgres', q{
  SET session_replication_role = DEFAULT;
  SELECT migrate.acknowledge_drift('cache of this library')});
is($node->safe_psql('postgres', 'SELECT DISTINCT hash_version FROM migrate.catalog_page_sums'), '2',
   'rows written with hash version 2');

# A standby reads every page (no WAL position of its own to read from).
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('fingerprint_wal_standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby);
my ($sout, $serr) = ('', '');
$standby->psql('postgres', 'SET client_min_messages = debug1; SELECT migrate.schema_unchanged()',
               stdout => \$sout, stderr => \$serr, on_error_die => 1);
is($sout, 't', 'proven on the standby');
unlike($serr, qr/named by the WAL/, 'by visiting every page');

done_testing();
