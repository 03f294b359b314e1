// Drift capture: event triggers recording DDL run outside migrations (issue: Drift).
#include "drift_hooks.hpp"
#include "module_init.hpp"

namespace pgm {

void drift_init() {}

void drift_record_snapshot(const char*) {}

}  // namespace pgm
