// What a run of CALL migrate.run() keeps of drift. Its statements commit on their own, so the
// snapshot after it is taken whole: what differed before it started, and what other sessions
// changed while it ran, are kept as differences, except on the objects its statements name,
// whose changes are the migration's (README "Snapshots after apply and revert").
#pragma once

#include <vector>

#include "drift_hooks.hpp"
#include "script_parse.hpp"

namespace pgm {

// Adds to `before` (what differed as the run started) what differs in `now` on objects the
// statements do not name: the tables they name (with their columns, constraints and indexes,
// also when dropped or renamed since) and, with `whole_statements`, the relations they create,
// drop or rename and the indexes they build or drop. For a key in both, now's live value.
void keep_unnamed_differences(PreexistingDifferences& before, const PreexistingDifferences& now,
                              const std::vector<ScriptStatement>& statements, bool whole_statements);

}  // namespace pgm
