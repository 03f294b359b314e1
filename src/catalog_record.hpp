// The records an apply leaves (history, script copies, applied state), written without SQL.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg/pg.hpp"

namespace pgm::catalog {

// One applied migration, as plain data (the strings are NUL-terminated and outlive the call).
struct AppliedRecord {
  const char* version;
  int version_len;
  const char* name;
  int name_len;
  const char* checksum;
  int checksum_len;
  double duration_ms;
  TimestampTz started_at;
};

// Writes what catalog::record_steps() writes for applied migrations, through the executor's
// single-row insert and update. Returns false, having written nothing, when the catalog's
// tables are not laid out as this code writes them (another version's): the caller then
// records through SQL. Runs inside an OwnerScope.
bool record_applied_directly(const std::vector<AppliedRecord>& steps, const std::string& role);

}  // namespace pgm::catalog

namespace pgm::catalog {

// A migration registered by migrate.sync(), as plain data (NUL-terminated strings that
// outlive the call; `down` nullptr for none).
struct NewMigration {
  const char* version;
  const char* version_parts;  // numeric[] text, as Version::sql_array() spells it
  const char* name;
  const char* up;
  const char* down;
  const char* checksum;
};

// A row of migrate.migration_files (inserted, or updated where the version has one).
struct FileRow {
  const char* version;
  const char* file_name;
  const char* script_checksum;
  const char* source_checksum;
  bool absent;  // no row for this version in what sync read of the catalog: inserted without a lookup
};

// Inserts the migrations as sync's INSERT did (registered_at = now(), registered_by = session
// user, modes 'transaction'). false, having written nothing, when migrate.migrations is not
// laid out as this code writes it, or has statement-level triggers, rules or row-level
// security (pg::rows::single_row_path_allowed): insert through SQL then.
bool register_directly(const std::vector<NewMigration>& migrations);

// Inserts or updates the file rows as sync's INSERT ... ON CONFLICT (version) DO UPDATE did.
// false, having written nothing, as above, and also for BEFORE INSERT row triggers (which
// ON CONFLICT fires before finding the row to update).
bool record_files_directly(const std::vector<FileRow>& files);

}  // namespace pgm::catalog

namespace pgm::catalog {

// The up (or down) scripts of these versions, in their order, each read by primary key (a
// NULL script as ""); nullopt where migrate.migrations is not laid out as expected (read
// through SQL then). A version not found is a serialization failure, as in load_scripts().
std::optional<std::vector<std::string>> load_scripts_directly(const std::vector<std::string>& versions, bool up);

// The migrations not applied yet (applied_seq IS NULL), in no order, and the baseline's
// version, read straight from migrate.migrations and migrate.baseline: no query to plan, which
// a deploy's new session paid about 3 ms for. nullopt where the tables are not laid out as
// expected (the caller's query answers then).
struct PendingRow {
  std::string version, name, checksum;
  bool has_down;
  std::optional<bool> up_transactional;  // up_mode = 'transaction' (nullopt: a catalog without modes)
};
struct Pending {
  std::vector<PendingRow> rows;
  std::optional<std::string> baseline;
  bool any_applied = true;  // false: no row is applied (the newest applied is the baseline's)
};
std::optional<Pending> load_pending_directly();

}  // namespace pgm::catalog
