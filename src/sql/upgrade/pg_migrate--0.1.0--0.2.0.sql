-- pg_migrate 0.1.0 -> 0.2.0 (ALTER EXTENSION pg_migrate UPDATE).
-- The result must equal a fresh 0.2.0 install: test/t/020_upgrade.pl compares both.
\echo Use "ALTER EXTENSION pg_migrate UPDATE" to load this file. \quit

-- == catalog and core (tamper-proofing: scripts kept, protect triggers, settings) ==


-- == drift capture ==


-- == scale and polish ==


-- == file sync (pg_migrate command) ==


-- == non-transactional and batched migrations ==

