// Drift capture: event triggers recording DDL run outside migrations (issue: Drift).
#include "module_init.hpp"

namespace pgm {

void drift_init() {}

}  // namespace pgm
