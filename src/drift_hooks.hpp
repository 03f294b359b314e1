// Where drift detection plugs into the apply loop and baseline.
#pragma once

namespace pgm {

// Records a schema snapshot after the catalog changed (apply, revert, baseline; reason is
// "apply", "revert", "baseline" or "acknowledge"), so schema_diff() can find drift later.
void drift_record_snapshot(const char* reason);

}  // namespace pgm
