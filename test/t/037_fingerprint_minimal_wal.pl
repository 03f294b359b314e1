# The catalog fingerprint's page cache relies on every change to a catalog page giving it a
# newer LSN. Under wal_level = minimal a catalog rewritten in the current transaction (CLUSTER
# of a system catalog) is not WAL-logged until commit: its pages keep their LSN while rows
# change. Such a catalog is read row by row, and its pages are not cached, so a change hidden
# from the event triggers after the rewrite is still found.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('minimal_wal');
$node->init;
$node->append_conf('postgresql.conf', "wal_level = minimal\nmax_wal_senders = 0\n");
$node->start;
is($node->safe_psql('postgres', 'SHOW wal_level'), 'minimal', 'wal_level is minimal');

$node->safe_psql('postgres', q{
  CREATE EXTENSION pg_migrate;
  SELECT migrate.register('1', 'one', $$CREATE TABLE public.t1 (id int); COMMENT ON TABLE public.t1 IS 'keep me'$$,
                          'DROP TABLE public.t1');
  SELECT count(*) FROM migrate.apply();
  SELECT migrate.register('2', 'noop', 'SELECT 1', 'SELECT 1');
  SELECT count(*) FROM migrate.apply();
});
is($node->safe_psql('postgres', 'SELECT migrate.schema_unchanged()'), 't', 'proven after the applies');

# Rewrite pg_description, record a proven snapshot (which reads it), then change a comment
# with drift capture off, all in one transaction: at commit the rewritten file is synced, not
# WAL-logged (wal_skip_threshold = 0), so its pages' LSNs never moved.
$node->safe_psql('postgres', q{
  BEGIN;
  SET LOCAL wal_skip_threshold = 0;
  CLUSTER pg_catalog.pg_description USING pg_description_o_c_o_index;
  SELECT migrate.acknowledge_drift('maintenance');
  SET LOCAL pg_migrate.drift_capture = off;
  COMMENT ON TABLE public.t1 IS NULL;
  COMMIT;
});
is($node->safe_psql('postgres', 'SELECT migrate.schema_unchanged()'), 'f', 'the hidden comment change breaks the proof');
is($node->safe_psql('postgres', 'SELECT object || \' \' || change FROM migrate.schema_diff()'), 'table public.t1 changed',
   'schema_diff() reports it');
is($node->safe_psql('postgres', q{SELECT count(*) FROM migrate.catalog_page_sums
                                   WHERE catalog = 'pg_catalog.pg_description'::regclass
                                     AND filenode = pg_relation_filenode('pg_catalog.pg_description')}), '0',
   'no page of the catalog rewritten in that transaction was cached');

# From the next transaction on, the rewritten catalog is WAL-logged again and cached.
$node->safe_psql('postgres', q{SELECT migrate.acknowledge_drift('reviewed')});
is($node->safe_psql('postgres', 'SELECT migrate.schema_unchanged()'), 't', 'proven again after an acknowledgement');
$node->safe_psql('postgres', q{SET pg_migrate.drift_capture = off; COMMENT ON TABLE public.t1 IS 'again'});
is($node->safe_psql('postgres', 'SELECT migrate.schema_unchanged()'), 'f', 'a later hidden change is found too');

done_testing();
