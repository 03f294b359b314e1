// Set-returning functions in materialize mode: rows go into a tuplestore.
#pragma once

#include <functional>

#include "pg/guard.hpp"

namespace pgm::pg {

// One output value; NULL when `null` is set.
struct Cell {
  Datum value;
  bool null;
  static Cell text(const std::string& s);
  static Cell text_or_null(const std::string* s);
  static Cell float8(double v);
  static Cell int4(int32 v);
  static Cell int8(int64 v);
  static Cell boolean(bool v);
  static Cell jsonb(const std::string& json);  // parsed from JSON text
  static Cell null_value();
};

class ResultSet {
 public:
  explicit ResultSet(FunctionCallInfo fcinfo);
  void add_row(std::initializer_list<Cell> cells);
  void add_row(const std::vector<Cell>& cells);
  Datum done();  // the function's return value

 private:
  Tuplestorestate* store_;
  TupleDesc desc_;
};

// Reads the rows of a set-returning function of no arguments (pg_prepared_statement(),
// pg_event_trigger_ddl_commands()), called through fmgr in materialize mode as SQL calls it,
// without a query. `take` gets each row's first `ncols` (at most 16) values and nulls, valid
// until the next row; it runs outside the guard and may call pg::call itself.
void read_set_function(Oid function, int ncols, const std::function<void(const Datum*, const bool*)>& take);

}  // namespace pgm::pg
