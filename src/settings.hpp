// pg_migrate's settings (GUCs under the reserved prefix pg_migrate.), defined in _PG_init.
#pragma once

namespace pgm::settings {

extern bool out_of_order;  // pg_migrate.out_of_order: apply pending migrations older than the newest applied

}  // namespace pgm::settings
