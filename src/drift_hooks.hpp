// Where drift detection plugs into the apply loop and baseline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgm {

// The differences from the newest recorded snapshot before a migration runs in transactions
// of its own (CALL migrate.run() of a non-transactional or split migration): each differing
// entry as recorded and as it was live (jsonb text; nullopt where there is none). Empty when
// the proof says nothing changed. `unread` ends the NOTICE "the schema could not be read ..."
// given when a locked relation keeps it from being read (then nothing is kept).
struct PreexistingDifferences {
  std::vector<std::string> keys;
  std::vector<std::optional<std::string>> recorded, live;
};
PreexistingDifferences drift_preexisting_differences(
    const char* unread = "before the migration (a relation is locked); the snapshot recorded after it takes "
                         "earlier drift into the reference");

// The differences from the newest snapshot, now, of the objects named by the unacknowledged
// drift entries captured since `since` (a TimestampTz): the DDL other sessions committed while
// a migration ran outside one transaction, whose snapshot is taken whole and would take it in.
PreexistingDifferences drift_captured_since(std::int64_t since);

// Whether the schema may differ from the newest recorded snapshot (no proof says otherwise):
// drift before a migration may then be there to keep.
bool drift_schema_may_differ();
// Whether a script has a statement after which the snapshot is taken whole (a rename, SET
// SCHEMA, ...), which would take earlier drift into the reference. False for a script that does
// not parse (it fails when it runs).
bool drift_script_needs_whole_snapshot(const std::string& script);

// Records a schema snapshot after the catalog changed (apply, revert, baseline; reason is
// "apply", "revert", "callback", "baseline" or "acknowledge"), so schema_diff() can find drift
// later. With `keep` (a migration run outside one transaction, whose snapshot is taken whole):
// an entry that differed before it ran and is live as it was then keeps its recorded value, so
// drift made before stays visible in schema_diff(), as migrate.apply() keeps it.
void drift_record_snapshot(const char* reason, const PreexistingDifferences* keep = nullptr);

// Called by migrate.apply()/revert() before their migrations run in the caller's transaction:
// the snapshot they record may then refresh only what the event triggers saw those migrations
// touch. Without it (migrate.run()'s units in their own transactions and workers, baseline)
// the snapshot is taken whole.
void drift_expect_migrations();

// The running migrations did something the event triggers do not describe object by object
// (a direct write to a system catalog, event triggers switched off): the snapshot recorded
// after them is a whole one.
void drift_snapshot_must_be_whole();

// True when the migrations expected by drift_expect_migrations() ran no utility statement (no
// DDL, nothing the event triggers saw): the newest snapshot still describes the schema, and a
// caller may drift_forget_migrations() instead of recording it again (a callback of DML only).
bool drift_migrations_ran_no_utility();
void drift_forget_migrations();

}  // namespace pgm
