// Module entry: PG_MODULE_MAGIC; _PG_init defines the settings (settings.cpp), installs the
// drift hooks and the transaction callback.
#include "catalog.hpp"
#include "module_init.hpp"
#include "pg/guard.hpp"
#include "policy.hpp"
#include "settings.hpp"
#include "xact.hpp"

extern "C" {
PG_MODULE_MAGIC;
PGDLLEXPORT void _PG_init(void);
}

extern "C" PGDLLEXPORT void _PG_init(void) {
  pgm::pg::init_guard();
  pgm::policy::init();
  pgm::define_settings();
  pgm::drift_init();
  pgm::catalog::install_executor_hook();
  // After every setting is defined: reserving the prefix removes the placeholders
  // of names not defined yet (a SET before the library loaded would be lost).
#if PG_VERSION_NUM >= 150000
  MarkGUCPrefixReserved("pg_migrate");
#else
  EmitWarningsOnPlaceholders("pg_migrate");
#endif
  pgm::xact_init();
}
