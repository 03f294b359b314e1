// The records an apply leaves (history, script copies, applied state), written without SQL.
#pragma once

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
