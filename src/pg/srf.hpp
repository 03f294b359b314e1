// Set-returning functions in materialize mode: rows go into a tuplestore.
#pragma once

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

}  // namespace pgm::pg
