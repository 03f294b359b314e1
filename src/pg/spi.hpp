// Thin guarded wrappers over SPI for pg_migrate's internal SQL.
#pragma once

#include <optional>

#include <exception>
#include <initializer_list>

#include "pg/guard.hpp"

namespace pgm::pg {

// One SPI connection for the duration of an entry point. On an error path it does nothing:
// the transaction abort that follows cleans SPI up.
class SpiConnection {
 public:
  SpiConnection();
  ~SpiConnection();
  SpiConnection(const SpiConnection&) = delete;
  SpiConnection& operator=(const SpiConnection&) = delete;
  // The memory context current before SPI_connect. While connected, palloc goes to SPI's
  // procedure context, which SPI_finish deletes: a pass-by-reference result Datum must be
  // allocated here instead.
  MemoryContext caller_context() const { return caller_context_; }

 private:
  int exceptions_at_start_;
  MemoryContext caller_context_;
};

struct Param {
  Oid type;
  Datum value;
  bool null;
};
Param text_param(std::string_view value);
Param nullable_text_param(const std::string* value);  // nullptr -> NULL
Param int8_param(int64 value);
Param bool_param(bool value);
Param float8_param(double value);
Param numeric_array_param(const std::string& literal);  // e.g. "{1,10}"
Param null_param(Oid type);
Param text_array_param(const std::vector<std::string>& values);
Param nullable_text_array_param(const std::vector<std::optional<std::string>>& values);  // nullopt -> NULL element
Param float8_array_param(const std::vector<double>& values);
Param timestamptz_array_param(const std::vector<TimestampTz>& values);

// The settings pg_migrate's own SQL is written for, set in the current GUC nest level (plain
// PostgreSQL code: call inside pg::call): search_path = pg_catalog, pg_temp, and
// standard_conforming_strings on (under the legacy setting a backslash in a literal is an
// escape). Query::run() and catalog::OwnerScope set them.
void set_internal_sql_settings();

// An internal statement, prepared once per backend and kept (SPI_keepplan). Declare as
// `static pg::Query q{"..."};`; run() executes it with a fresh snapshot per call, always with
// search_path = pg_catalog, pg_temp (so only pg_catalog's functions, operators and types can
// be meant by an unqualified name, whoever runs it).
class Query {
 public:
  explicit constexpr Query(const char* sql) : sql_(sql) {}
  // Returns the number of rows processed; results are in the current SPI tuple table.
  uint64 run(std::initializer_list<Param> params = {}, long limit = 0);
  // Runs against an explicit snapshot (for the concurrent-change check).
  uint64 run_with_snapshot(Snapshot snapshot, std::initializer_list<Param> params = {});

 private:
  SPIPlanPtr prepare(std::initializer_list<Param> params);
  const char* sql_;
  SPIPlanPtr plan_ = nullptr;
};

// Reading the current SPI result.
uint64 result_rows();
bool is_null(uint64 row, int col);
std::string text_value(uint64 row, int col);  // "" for NULL
int64 int8_value(uint64 row, int col);         // 0 for NULL
double float8_value(uint64 row, int col);      // 0 for NULL
bool bool_value(uint64 row, int col);          // false for NULL
Datum datum_value(uint64 row, int col, bool* isnull);
void free_result();

// Runs ad-hoc SQL (already safe text) and returns SPI_execute's code; throws on error.
int execute(const char* sql, bool read_only = false, long limit = 0);

}  // namespace pgm::pg
