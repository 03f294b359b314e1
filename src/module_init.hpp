// Per-feature initialization, called once from _PG_init (src/pg_migrate.cpp).
#pragma once

namespace pgm {

void drift_init();   // src/drift.cpp: drift settings and the ProcessUtility hook
void safety_init();  // src/lint.cpp: lint, plan, verify and lock-timeout settings

}  // namespace pgm
