-- pg_migrate 0.3.0 -> 0.4.0: the catalog fingerprint's page cache.
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.4.0'" to load this file. \quit

-- The catalog fingerprint's page cache (drift_fingerprint.cpp): per catalog, for each page
-- whose rows had all settled (their transactions ended) when it was last read, the page's
-- LSN then and the sum of its rows' hashes. A page with the same LSN has the same rows, so the
-- fingerprint reads its header instead of its rows. Written by apply, revert and the other
-- functions that record a snapshot; not dumped (a restored copy has other pages).
CREATE TABLE migrate.catalog_page_sums (
    catalog           oid NOT NULL,
    chunk             int NOT NULL,    -- blocks 96 * chunk to 96 * chunk + 95
    filenode          oid NOT NULL,
    -- Whose pages and which hashes: pg_upgrade carries the rows into a cluster with other
    -- pages, and another release may hash rows otherwise. Other rows are ignored.
    system_identifier bigint NOT NULL,
    hash_version      int NOT NULL,
    pages             bytea NOT NULL,  -- (block int4, lsn int8, sum int8), native byte order, by block
    PRIMARY KEY (catalog, chunk)
) USING heap;
-- Written by pg_migrate only (a forged sum for an unchanged page would hide drift).
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON migrate.catalog_page_sums
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.catalog_page_sums
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.catalog_page_sums ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;

-- The update itself wrote catalog rows (this table), so the proof recorded before it no longer
-- holds: forget it, and the first apply after the update compares whole snapshots once and
-- starts the proofs again (as after the update from 0.2.0). catalog_state refuses direct edits.
ALTER TABLE migrate.catalog_state DISABLE TRIGGER protect;
UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect;
