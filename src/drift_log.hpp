// Drift capture: appending rows to migrate.drift without SPI or the planner.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace pgm::drift {

// One row of migrate.drift as capture writes it; the other columns get what the table's
// defaults give (id from drift_id_seq, captured_at = clock_timestamp(), transaction_id,
// performed_by = session user, client_addr, backend_pid; acknowledgement_id NULL).
struct LogRow {
  std::string object_type;
  std::optional<std::string> identity;
  std::optional<std::string> schema;
  std::string detail;  // "" for NULL
};

struct LogStatement {
  const char* event;                       // ddl_command_end or sql_drop
  std::string role;                        // current user running the DDL
  std::optional<std::string> application;  // application_name, unless empty
  std::string tag;                         // command tag
  std::optional<std::string> text;         // redacted statement text
  std::optional<std::string> source;       // hook, parse, enclosing, query
  // A restore-mode row: its id is the sequence's value negated, so that it never collides with
  // the rows a restore then copies into the drift log (with their own ids, from 1).
  bool negative_id = false;
};

// Inserts the rows directly (heap and index insert through the executor's single-row path, as
// logical replication applies rows), computing the defaults in C. Returns the first row's id,
// or nullopt (nothing written) when migrate.drift does not have the columns this code knows
// (an older or newer catalog) or has triggers the single-row path does not fire (statement
// level, transition tables): the caller then inserts through SQL.
std::optional<long long> append_rows(const LogStatement& statement, const std::vector<LogRow>& rows);

// Whether migrate.drift exists (looked up with the layout, once until an invalidation: capture
// asks at every DDL statement).
bool log_table_present();

// Forgets the cached table layout (relcache invalidation of migrate.drift; while the table is
// missing, any relcache invalidation, since the one creating it names a relation not known yet).
void forget_log_layout(unsigned relid);

}  // namespace pgm::drift
