-- pg_migrate catalog: registered migrations, the baseline and an append-only history.
-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_migrate" to load this file. \quit

-- Every registered migration. `version` is the canonical spelling; `version_parts` orders it.
CREATE TABLE migrate.migrations (
    version        text PRIMARY KEY,
    version_parts  numeric[] NOT NULL,     -- one per version: it is derived from the canonical key
    name           text NOT NULL,
    up_sql         text NOT NULL,
    down_sql       text,
    checksum       text NOT NULL,
    registered_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    registered_by  text NOT NULL DEFAULT session_user,
    applied_seq    bigint,                 -- history id of the apply; NULL while pending
    applied_at     timestamptz,
    applied_by     text,
    -- how each script runs: 'transaction', 'split' (COMMIT points) or 'no-transaction'
    up_mode        text NOT NULL DEFAULT 'transaction'
                   CHECK (up_mode IN ('transaction', 'split', 'no-transaction')),
    down_mode      text NOT NULL DEFAULT 'transaction'
                   CHECK (down_mode IN ('transaction', 'split', 'no-transaction'))
)
-- Room on each page for the new version of its rows: apply and revert mark a migration by
-- updating its row, and with no index on the columns they set (0.14.0 dropped the partial
-- index of pending rows; apply reads the table whole, as it did) the update is HOT: the new
-- version goes on the same page and no index entry is added for it.
WITH (fillfactor = 50);

-- At most one baseline: the version an existing database was adopted at.
CREATE TABLE migrate.baseline (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version        text NOT NULL,
    version_parts  numeric[] NOT NULL,
    name           text NOT NULL,
    baselined_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    baselined_by   text NOT NULL DEFAULT session_user
);

CREATE SEQUENCE migrate.history_id_seq;
-- Append-only record of every apply, revert and baseline, and of each retry after a lock timeout.
CREATE TABLE migrate.history (
    id             bigint PRIMARY KEY DEFAULT pg_catalog.nextval('migrate.history_id_seq'),
    version        text NOT NULL,
    name           text NOT NULL,
    action         text NOT NULL,          -- apply, revert, baseline, retry, repair or callback
    performed_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    performed_by   text NOT NULL DEFAULT session_user,  -- session user
    role           text NOT NULL,                       -- current user of the caller
    transaction_id xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    duration_ms    float8,
    checksum       text,
    detail         jsonb,
    script_checksum text                  -- the script that ran (up: apply, down: revert), in migrate.scripts
);
ALTER SEQUENCE migrate.history_id_seq OWNED BY migrate.history.id;

-- Every script that was ever applied (up) or reverted (down), by SHA-256: history's
-- script_checksum (and an apply's checksum) always leads to the text that ran, even after
-- unregister. Append-only, even for the owner.
CREATE TABLE migrate.scripts (
    checksum       text PRIMARY KEY,
    script         text NOT NULL,
    first_seen     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    first_seen_by  text NOT NULL DEFAULT session_user
);

-- One row whose generation every catalog change bumps; lets a REPEATABLE READ caller detect
-- that a concurrent transaction changed the catalog after its snapshot was taken.
CREATE TABLE migrate.catalog_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation     bigint NOT NULL,
    -- The catalog fingerprint (drift_fingerprint.cpp) proven for snapshot snapshot_id: while
    -- it is the live one, nothing differs from that snapshot and schema_diff() need not take
    -- one of the whole schema. Not dumped: a restored copy has other row versions.
    snapshot_id          bigint,
    snapshot_fingerprint bigint
);
INSERT INTO migrate.catalog_state VALUES (true, 0);

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

-- pg_dump keeps the catalog rows, so a restored copy knows what was applied.
SELECT pg_catalog.pg_extension_config_dump('migrate.migrations', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.baseline', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.history', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.history_id_seq', '');

-- Direct edits are refused: rows change only through the migrate.* functions, and history
-- is append-only even for the owner.
CREATE FUNCTION migrate.protect_catalog() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgm_protect_catalog' LANGUAGE C;
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.migrations
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.baseline
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.history
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.catalog_state
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.migrations
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.baseline
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.history
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.catalog_state
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
-- ENABLE ALWAYS: they fire under session_replication_role = replica too, so not even the
-- owner erases the catalog that way.
ALTER TABLE migrate.migrations ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.baseline ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.history ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
-- Written by pg_migrate only (a forged sum for an unchanged page would hide drift).
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON migrate.catalog_page_sums
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.catalog_page_sums
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.catalog_page_sums ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
-- The scripts are append-only like the history; ENABLE ALWAYS: also under
-- session_replication_role = replica.
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.scripts
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.scripts
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.scripts ENABLE ALWAYS TRIGGER protect;
ALTER TABLE migrate.scripts ENABLE ALWAYS TRIGGER protect_truncate;

-- Runs of non-transactional and split migrations by CALL migrate.run() / migrate.run_revert():
-- one row per migration whose run started and has not finished, kept across failures, cancels
-- and crashes so the next run resumes at the first unfinished statement.
CREATE TABLE migrate.runs (
    version         text PRIMARY KEY,
    direction       text NOT NULL CHECK (direction IN ('up', 'down')),
    checksum        text NOT NULL,             -- SHA-256 of the script being run
    units           int NOT NULL,              -- statements (or parts) of the script
    started_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    started_by      text NOT NULL DEFAULT session_user,
    pid             int NOT NULL,              -- backend running the CALL
    unit            int,                       -- 0-based statement (part) started last
    line            int,
    phase           text,
    unit_started_at timestamptz,
    worker_pid      int,                       -- background worker running a top-level statement
    rows_done       bigint NOT NULL DEFAULT 0, -- batched statement: rows changed so far
    rows_total      bigint,                    -- batched statement: rows matching at its start
    batches         int NOT NULL DEFAULT 0,
    error           text,                      -- last failure (SQLSTATE: message)
    failed_at       timestamptz,
    invalid_index   text,                      -- INVALID index of a failed concurrent build, until dropped
    unit_ms         float8,                    -- batched statement: its time over all calls, to its last batch (0.7.0)
    -- The schema entries that differed from the newest snapshot as the run started (0.11.0):
    -- {"snapshot": id, "acknowledgement": id, "entries": {key: [recorded, live]}}, so the snapshot recorded when a
    -- later call finishes the run keeps that earlier drift visible.
    preexisting     jsonb
);
-- Every finished statement (part) of an unfinished run, committed with it (or right after it,
-- for statements that run at top level).
CREATE TABLE migrate.run_progress (
    version      text NOT NULL,
    direction    text NOT NULL,
    unit         int NOT NULL,
    line         int NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    duration_ms  float8,
    rows         bigint,
    PRIMARY KEY (version, direction, unit)
);
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.runs
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.run_progress
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.runs
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.run_progress
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.runs ENABLE ALWAYS TRIGGER protect;
ALTER TABLE migrate.runs ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.run_progress ENABLE ALWAYS TRIGGER protect;
ALTER TABLE migrate.run_progress ENABLE ALWAYS TRIGGER protect_truncate;
