// Module entry: PG_MODULE_MAGIC, settings and transaction callbacks.
#include "module_init.hpp"
#include "pg/guard.hpp"
#include "policy.hpp"
#include "settings.hpp"
#include "xact.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace pgm::settings {
bool out_of_order = false;
int lock_timeout_ms = 1000;
int lock_retries = 5;
int lock_retry_delay_ms = 200;
int lock_retry_max_delay_ms = 10000;
int lock_retry_total_ms = 60000;
}  // namespace pgm::settings

extern "C" void _PG_init(void) {
  pgm::policy::init();
  DefineCustomBoolVariable(
      "pg_migrate.out_of_order",
      "Lets migrate.apply() apply pending migrations older than the newest applied one.",
      nullptr, &pgm::settings::out_of_order, false, PGC_USERSET, 0, pgm::policy::check_out_of_order,
      pgm::policy::assign_out_of_order, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lock_timeout",
      "lock_timeout for each statement of a migration; 0 keeps the session's lock_timeout.",
      "A migration statement that waits longer for a lock is cancelled and the migration retried.",
      &pgm::settings::lock_timeout_ms, 1000, 0, INT_MAX, PGC_USERSET, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lock_retries",
      "How often a migration that hit a lock timeout is retried before apply fails.",
      nullptr, &pgm::settings::lock_retries, 5, 0, 1000, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lock_retry_delay",
      "Delay before the first retry after a lock timeout; doubles with each retry, with jitter.",
      nullptr, &pgm::settings::lock_retry_delay_ms, 200, 0, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
      nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lock_retry_max_delay", "Longest single delay between lock retries.", nullptr,
      &pgm::settings::lock_retry_max_delay_ms, 10000, 0, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
      nullptr, nullptr, nullptr);
  DefineCustomIntVariable(
      "pg_migrate.lock_retry_total",
      "Longest total time one migration may spend retrying after lock timeouts.", nullptr,
      &pgm::settings::lock_retry_total_ms, 60000, 0, INT_MAX, PGC_USERSET, GUC_UNIT_MS,
      nullptr, nullptr, nullptr);
  pgm::drift_init();
  pgm::safety_init();
  // After every feature defined its settings: reserving the prefix removes the placeholders
  // of names not defined yet (a SET before the library loaded would be lost).
#if PG_VERSION_NUM >= 150000
  MarkGUCPrefixReserved("pg_migrate");
#else
  EmitWarningsOnPlaceholders("pg_migrate");
#endif
  pgm::xact_init();
}
