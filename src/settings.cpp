// Every pg_migrate.* setting (GUC) in one place: its definition, default, range, context and hooks. The features read the variables (settings.hpp, safety.hpp); _PG_init calls
// define_settings() before it reserves the pg_migrate. prefix.
#include "settings.hpp"

#include "pg/guard.hpp"
#include "policy.hpp"
#include "safety.hpp"

namespace pgm::settings {
bool out_of_order = false;
int lock_timeout_ms = 1000;
int lock_retries = 5;
int lock_retry_delay_ms = 200;
int lock_retry_max_delay_ms = 10000;
int lock_retry_total_ms = 60000;
int batch_pause_ms = 0;
bool drift_capture = true;
int drift_snapshots_kept = 20;
bool snapshot_proof = true;
}  // namespace pgm::settings

namespace pgm::safety {
bool lint_blocks_apply = false;
int lint_large_table_rows = 100000;
int plan_lock_timeout_ms = 2000;
bool require_verified_revert = false;
}  // namespace pgm::safety

namespace pgm {

void define_settings() {
  // Apply and revert.
  DefineCustomBoolVariable(
      "pg_migrate.out_of_order",
      "Lets migrate.apply() apply pending migrations older than the newest applied one.",
      nullptr, &settings::out_of_order, false, PGC_USERSET, 0, policy::check_out_of_order,
      policy::assign_out_of_order, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lock_timeout",
      "lock_timeout for each statement of a migration; 0 keeps the session's lock_timeout.",
      "A migration statement that waits longer for a lock is cancelled and the migration retried.",
      &settings::lock_timeout_ms, 1000, 0, INT_MAX, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lock_retries",
      "How often a migration that hit a lock timeout is retried before apply fails.",
      nullptr, &settings::lock_retries, 5, 0, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lock_retry_delay",
      "Delay before the first retry after a lock timeout; doubles with each retry, with jitter.",
      nullptr, &settings::lock_retry_delay_ms, 200, 0, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
      nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lock_retry_max_delay", "Longest single delay between lock retries.", nullptr,
      &settings::lock_retry_max_delay_ms, 10000, 0, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
      nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lock_retry_total",
      "Longest total time one migration may spend retrying after lock timeouts.", nullptr,
      &settings::lock_retry_total_ms, 60000, 0, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
      nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.batch_pause",
      "Pause between two batches of a batched statement (-- pg_migrate:batch) without a pause of its own.",
      nullptr, &settings::batch_pause_ms, 0, 0, 3600000, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  // Lint, plan and verify.
  DefineCustomBoolVariable(
      "pg_migrate.lint_blocks_apply",
      "Makes migrate.apply() refuse a migration that has error-level lint findings.", nullptr,
      &safety::lint_blocks_apply, false, PGC_USERSET, 0, policy::check_lint_blocks_apply,
      policy::assign_lint_blocks_apply, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lint_large_table_rows",
      "Row count (pg_class.reltuples) from which lint reports lock-heavy statements as errors.", nullptr,
      &safety::lint_large_table_rows, 100000, 0, INT_MAX, PGC_USERSET, 0, policy::check_lint_large_table_rows,
      policy::assign_lint_large_table_rows, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.plan_lock_timeout",
      "lock_timeout of each statement migrate.plan() and migrate.verify() run.", nullptr,
      &safety::plan_lock_timeout_ms, 2000, 1, INT_MAX, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable(
      "pg_migrate.require_verified_revert",
      "Makes migrate.apply() refuse a migration whose down script does not restore the schema "
      "(see migrate.verify()).",
      nullptr, &safety::require_verified_revert, false, PGC_USERSET, 0,
      policy::check_require_verified_revert, policy::assign_require_verified_revert, nullptr);

  // Drift.
  DefineCustomBoolVariable(
      "pg_migrate.drift_capture",
      "Records DDL run outside migrations into migrate.drift.",
      "Only superusers can turn capture off.", &settings::drift_capture, true, PGC_SUSET, 0, nullptr,
      nullptr, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.drift_snapshots_kept",
      "Number of recorded schema snapshots kept in migrate.schema_snapshots.", nullptr,
      &settings::drift_snapshots_kept, 20, 1, 1000000, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable(
      "pg_migrate.snapshot_proof",
      "Records a catalog fingerprint with every snapshot, so that schema_diff() need not take one "
      "while nothing changed.",
      "Costs every apply and revert one read of the system catalogs.", &settings::snapshot_proof, true,
      PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

}  // namespace pgm
