// Per-feature initialization, called once from _PG_init (src/pg_migrate.cpp).
#pragma once

namespace pgm {

void drift_init();  // src/drift.cpp: the ProcessUtility hook and drift's callbacks

}  // namespace pgm
