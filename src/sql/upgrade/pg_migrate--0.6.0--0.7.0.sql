-- pg_migrate 0.6.0 -> 0.7.0: validate() reports runs stopped part way; a batched statement's
-- time over several calls.
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.7.0'" to load this file. \quit

-- The time of a batched statement over all its calls, up to its last committed batch (its
-- history duration when a later call finishes it).
ALTER TABLE migrate.runs ADD COLUMN unit_ms float8;

CREATE OR REPLACE FUNCTION migrate.validate() RETURNS TABLE(version text, problem text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH newest AS (SELECT pg_catalog.max(version_parts) AS parts
                      FROM migrate.migrations WHERE applied_seq IS NOT NULL),
         last_action AS (SELECT DISTINCT ON (h.version) h.version, h.action
                           FROM migrate.history h WHERE h.action IN ('apply', 'revert')
                          ORDER BY h.version, h.id DESC),
         problems AS (
        SELECT m.version_parts, m.version,
               pg_catalog.format('checksum mismatch: recorded %s, up script hashes to %s',
                                 m.checksum, migrate.checksum(m.up_sql)) AS problem
          FROM migrate.migrations m
         WHERE m.checksum <> migrate.checksum(m.up_sql)
        UNION ALL
        SELECT m.version_parts, m.version,
               'marked applied but history does not record its apply'
          FROM migrate.migrations m LEFT JOIN last_action l USING (version)
         WHERE m.applied_seq IS NOT NULL AND l.action IS DISTINCT FROM 'apply'
        UNION ALL
        SELECT m.version_parts, m.version,
               'history records an apply but the migration is not marked applied'
          FROM migrate.migrations m JOIN last_action l USING (version)
         WHERE m.applied_seq IS NULL AND l.action = 'apply'
        UNION ALL
        SELECT m.version_parts, m.version,
               'pending but older than the newest applied migration; apply refuses it unless pg_migrate.out_of_order is on'
          FROM migrate.migrations m, newest
         WHERE m.applied_seq IS NULL AND m.version_parts < newest.parts
           AND NOT EXISTS (SELECT FROM migrate.baseline b WHERE m.version_parts <= b.version_parts)
           AND pg_catalog.current_setting('pg_migrate.out_of_order', true) IS DISTINCT FROM 'on'
        UNION ALL
        SELECT l.version_parts, l.version, l.problem FROM migrate.revert_leftovers() l
        UNION ALL
        -- A migration CALL migrate.run() (or run_revert) stopped part way: its finished
        -- statements took effect, the others did not (migrate.progress says where and why). A
        -- run still going in another session is not a problem.
        SELECT m.version_parts, r.version,
               pg_catalog.format('unfinished %s run: %s of %s %s done, %s %s %s%s; %s',
                                 CASE r.direction WHEN 'up' THEN 'apply' ELSE 'revert' END,
                                 (SELECT pg_catalog.count(*) FROM migrate.run_progress rp
                                   WHERE rp.version = r.version AND rp.direction = r.direction),
                                 r.units,
                                 -- a script split by COMMIT runs (and counts) part by part
                                 CASE WHEN (CASE r.direction WHEN 'up' THEN m.up_mode ELSE m.down_mode END) = 'split'
                                      THEN 'parts' ELSE 'statements' END,
                                 p.phase,
                                 CASE WHEN (CASE r.direction WHEN 'up' THEN m.up_mode ELSE m.down_mode END) = 'split'
                                      THEN 'in the part at line' ELSE 'at line' END,
                                 r.line,
                                 CASE WHEN r.error IS NOT NULL THEN ' (' || pg_catalog.regexp_replace(r.error,
                                      '^([0-9A-Z]{5}): .*? failed at line [0-9]+ of its (up|down) script: ', '\1: ')
                                      || ')' ELSE '' END,
                                 CASE r.direction WHEN 'up' THEN 'CALL migrate.run() finishes it'
                                      ELSE 'CALL migrate.run_revert() finishes it' END)
          FROM migrate.runs r JOIN migrate.migrations m USING (version)
          JOIN migrate.progress p USING (version)
         WHERE p.phase IN ('failed', 'interrupted'))
    -- Migrations at or below the baseline are a state (status() says below_baseline), not a problem.
    SELECT p.version, p.problem FROM problems p WHERE migrate.library_loaded()
     ORDER BY p.version_parts, p.problem
$$;

-- The update rewrote catalog rows, so the proof recorded before it no longer holds: forget it;
-- the first apply after the update compares whole snapshots once.
ALTER TABLE migrate.catalog_state DISABLE TRIGGER protect;
UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect;
