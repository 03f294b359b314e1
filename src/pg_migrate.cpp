// Module entry: PG_MODULE_MAGIC, settings and transaction callbacks.
#include "apply.hpp"
#include "module_init.hpp"
#include "pg/guard.hpp"
#include "settings.hpp"

extern "C" {
PG_MODULE_MAGIC;
void _PG_init(void);
}

namespace pgm::settings {
bool out_of_order = false;
}  // namespace pgm::settings

namespace {

void on_transaction_end(XactEvent event, void*) {
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
    pgm::reset_migration_state();
}

void on_subtransaction_end(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
  (void)event;
}

}  // namespace

extern "C" void _PG_init(void) {
  DefineCustomBoolVariable(
      "pg_migrate.out_of_order",
      "Lets migrate.apply() apply pending migrations older than the newest applied one.",
      nullptr, &pgm::settings::out_of_order, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  pgm::drift_init();
  pgm::safety_init();
  // After every feature defined its settings: reserving the prefix discards placeholders not
  // defined yet, which would drop e.g. pg_migrate.drift_capture set in postgresql.conf.
#if PG_VERSION_NUM >= 150000
  MarkGUCPrefixReserved("pg_migrate");
#else
  EmitWarningsOnPlaceholders("pg_migrate");
#endif
  RegisterXactCallback(on_transaction_end, nullptr);
  RegisterSubXactCallback(on_subtransaction_end, nullptr);
}
