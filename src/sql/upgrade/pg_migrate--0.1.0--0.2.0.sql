-- pg_migrate 0.1.0 -> 0.2.0 (ALTER EXTENSION pg_migrate UPDATE).
-- The result must equal a fresh 0.2.0 install: test/t/020_upgrade.pl compares both.
\echo Use "ALTER EXTENSION pg_migrate UPDATE" to load this file. \quit

-- == catalog and core (tamper-proofing: scripts kept, protect triggers, settings) ==


-- == drift capture ==
-- Protect triggers ENABLE ALWAYS: they fire under session_replication_role = replica too.
ALTER TABLE migrate.migrations ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.baseline ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.history ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.drift ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.drift_acknowledgements ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.schema_snapshots ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.drift_exclusions ENABLE ALWAYS TRIGGER invalidate_cache;


-- == scale and polish ==


-- == file sync (pg_migrate command) ==


-- == non-transactional and batched migrations ==

