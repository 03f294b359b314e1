// pg_migrate's settings (GUCs under the reserved prefix pg_migrate.), all defined in
// src/settings.cpp (lint, plan and verify settings are declared in safety.hpp).
#pragma once

namespace pgm::settings {

extern bool out_of_order;         // pg_migrate.out_of_order
extern int lock_timeout_ms;       // pg_migrate.lock_timeout: per migration statement; 0 = session's
extern int lock_retries;          // pg_migrate.lock_retries: retries of a migration after a lock timeout
extern int lock_retry_delay_ms;   // pg_migrate.lock_retry_delay: first backoff delay
extern int lock_retry_max_delay_ms;  // pg_migrate.lock_retry_max_delay: cap of one delay
extern int lock_retry_total_ms;   // pg_migrate.lock_retry_total: cap of all waiting for one migration

extern int batch_pause_ms;        // pg_migrate.batch_pause (CALL migrate.run())

extern bool drift_capture;        // pg_migrate.drift_capture: record DDL run outside migrations
extern int drift_snapshots_kept;  // pg_migrate.drift_snapshots_kept
extern bool snapshot_proof;       // pg_migrate.snapshot_proof: fingerprint with every snapshot

}  // namespace pgm::settings

namespace pgm {

// Defines every pg_migrate.* setting (called once from _PG_init).
void define_settings();

}  // namespace pgm
