// Where the safety features (lint, verify) plug into register and apply.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace pgm {

// register: report lint findings of the up script as NOTICE/WARNING.
void lint_report_on_register(const std::string& version, const std::string& name, const std::string& up);
// The same for an up script already parsed by parse_script (sync registers 1,000 files at once).
struct ScriptStatement;
void lint_report_on_register(const std::string& version, const std::string& name, const std::string& up,
                             const std::vector<ScriptStatement>& parsed);

// apply, before running a migration: throws if its lint errors block apply (setting).
void lint_check_before_apply(const std::string& version, const std::string& name, const std::string& up);
// The same for any script about to run as a migration does; `described` names it in the error
// ("callback afterMigrate.sql").
// `counts`, if given, leaves out the findings at the lines it refuses (a resumed run's
// finished statements).
void lint_check_before_running(const std::string& described, const std::string& up,
                               const std::function<bool(int line)>& counts = {});

// apply, before running a migration: throws if reverts must verify (setting) and this one's does not.
void verify_check_before_apply(const std::string& version, const std::string& name);

}  // namespace pgm
