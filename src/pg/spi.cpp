#include "pg/spi.hpp"

namespace pgm::pg {

SpiConnection::SpiConnection()
    : exceptions_at_start_(std::uncaught_exceptions()), caller_context_(CurrentMemoryContext) {
  int rc = call([] { return SPI_connect(); });
  if (rc != SPI_OK_CONNECT)
    throw Error(sqlstate::kInternalError, fmt::format("SPI_connect failed: {}", SPI_result_code_string(rc)));
}

SpiConnection::~SpiConnection() {
  if (std::uncaught_exceptions() > exceptions_at_start_) return;  // abort cleans up
  try {
    call([] { SPI_finish(); });
  } catch (...) {
  }
}

Param text_param(std::string_view value) {
  Datum d = call([&] { return PointerGetDatum(cstring_to_text_with_len(value.data(), (int)value.size())); });
  return {TEXTOID, d, false};
}

Param nullable_text_param(const std::string* value) {
  return value ? text_param(*value) : null_param(TEXTOID);
}

Param bool_param(bool value) { return {BOOLOID, BoolGetDatum(value), false}; }
Param int8_param(int64 value) { return {INT8OID, Int64GetDatum(value), false}; }
Param float8_param(double value) { return {FLOAT8OID, Float8GetDatum(value), false}; }

Param numeric_array_param(const std::string& literal) {
  const char* s = literal.c_str();
  Datum d = call([&] {
    return OidFunctionCall3(F_ARRAY_IN, CStringGetDatum(s), ObjectIdGetDatum(NUMERICOID),
                            Int32GetDatum(-1));
  });
  return {NUMERICARRAYOID, d, false};
}

Param null_param(Oid type) { return {type, (Datum)0, true}; }

namespace {
Param array_param(std::vector<Datum>& elems, Oid elem_type, Oid array_type) {
  Datum* data = elems.data();
  int n = static_cast<int>(elems.size());
  Datum d = call([&] {
    int16 typlen;
    bool typbyval;
    char typalign;
    get_typlenbyvalalign(elem_type, &typlen, &typbyval, &typalign);
    return PointerGetDatum(construct_array(data, n, elem_type, typlen, typbyval, typalign));
  });
  return {array_type, d, false};
}
}  // namespace

Param text_array_param(const std::vector<std::string>& values) {
  std::vector<Datum> elems;
  elems.reserve(values.size());
  for (const std::string& v : values) elems.push_back(text_param(v).value);
  return array_param(elems, TEXTOID, TEXTARRAYOID);
}

Param nullable_text_array_param(const std::vector<std::optional<std::string>>& values) {
  std::vector<Datum> elems;
  std::vector<char> nulls;  // (bool elements: std::vector<bool> has no data())
  elems.reserve(values.size());
  for (const std::optional<std::string>& v : values) {
    elems.push_back(v ? text_param(*v).value : (Datum)0);
    nulls.push_back(v ? 0 : 1);
  }
  Datum* data = elems.data();
  bool* null_flags = reinterpret_cast<bool*>(nulls.data());
  int dims[1] = {static_cast<int>(elems.size())};
  int lbs[1] = {1};
  Datum d = call([&] {
    return PointerGetDatum(construct_md_array(data, null_flags, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
  });
  return {TEXTARRAYOID, d, false};
}

Param float8_array_param(const std::vector<double>& values) {
  std::vector<Datum> elems;
  for (double v : values) elems.push_back(Float8GetDatum(v));
  return array_param(elems, FLOAT8OID, FLOAT8ARRAYOID);
}

Param timestamptz_array_param(const std::vector<TimestampTz>& values) {
  std::vector<Datum> elems;
  for (TimestampTz v : values) elems.push_back(TimestampTzGetDatum(v));
  return array_param(elems, TIMESTAMPTZOID, TIMESTAMPTZARRAYOID);
}

SPIPlanPtr Query::prepare(std::initializer_list<Param> params) {
  if (plan_) return plan_;
  Oid types[16];
  int n = 0;
  for (const Param& p : params) types[n++] = p.type;
  const char* sql = sql_;
  SPIPlanPtr plan = call([&] { return SPI_prepare(sql, n, types); });
  if (!plan)
    throw Error(sqlstate::kInternalError,
                fmt::format("could not prepare internal query: {}", SPI_result_code_string(SPI_result)));
  call([&] { SPI_keepplan(plan); });
  plan_ = plan;
  return plan_;
}

namespace {

// Every internal query runs with search_path = pg_catalog, pg_temp, whoever calls it and
// whatever the caller's search_path: an unqualified function, operator or type can only be
// pg_catalog's (pg_temp is searched after it, and never for functions and operators). Most
// callers are already inside catalog::OwnerScope, which pins the same path; the check makes
// that case free. On an error the (sub)transaction abort restores the caller's setting.
constexpr const char* kPinnedSearchPath = "pg_catalog, pg_temp";

// (And with standard_conforming_strings on: set_internal_sql_settings().)
int pin_search_path() {
  if (namespace_search_path && strcmp(namespace_search_path, kPinnedSearchPath) == 0 && standard_conforming_strings)
    return -1;
  return call([] {
    int level = NewGUCNestLevel();
    set_internal_sql_settings();
    return level;
  });
}

void unpin_search_path(int level) {
  if (level >= 0) call([&] { AtEOXact_GUC(true, level); });
}

}  // namespace

void set_internal_sql_settings() {
  (void)set_config_option("search_path", kPinnedSearchPath, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                          false);
  (void)set_config_option("standard_conforming_strings", "on", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                          false);
}

namespace {

void fill(std::initializer_list<Param> params, Datum* values, char* nulls) {
  int i = 0;
  for (const Param& p : params) {
    values[i] = p.value;
    nulls[i] = p.null ? 'n' : ' ';
    ++i;
  }
}
}  // namespace

uint64 Query::run(std::initializer_list<Param> params, long limit) {
  int pinned = pin_search_path();
  SPIPlanPtr plan = prepare(params);
  Datum values[16];
  char nulls[16];
  fill(params, values, nulls);
  int rc = call([&] { return SPI_execute_plan(plan, values, nulls, false, limit); });
  unpin_search_path(pinned);
  if (rc < 0)
    throw Error(sqlstate::kInternalError,
                fmt::format("internal query failed ({}): {}", SPI_result_code_string(rc), sql_));
  return SPI_processed;
}

uint64 Query::run_with_snapshot(Snapshot snapshot, std::initializer_list<Param> params) {
  int pinned = pin_search_path();
  SPIPlanPtr plan = prepare(params);
  Datum values[16];
  char nulls[16];
  fill(params, values, nulls);
  int rc = call([&] {
    return SPI_execute_snapshot(plan, values, nulls, snapshot, InvalidSnapshot, true, false, 0);
  });
  unpin_search_path(pinned);
  if (rc < 0)
    throw Error(sqlstate::kInternalError,
                fmt::format("internal query failed ({}): {}", SPI_result_code_string(rc), sql_));
  return SPI_processed;
}

uint64 result_rows() { return SPI_processed; }

Datum datum_value(uint64 row, int col, bool* isnull) {
  return call([&] { return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull); });
}

bool is_null(uint64 row, int col) {
  bool isnull;
  datum_value(row, col, &isnull);
  return isnull;
}

std::string text_value(uint64 row, int col) {
  bool isnull;
  Datum d = datum_value(row, col, &isnull);
  if (isnull) return {};
  text* t = call([&] { return DatumGetTextPP(d); });
  std::string out(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
  // A toasted value was detoasted into the current context (SPI's procedure context while
  // connected, which lives for the whole call): free the copy now that it is in `out`.
  if (reinterpret_cast<Pointer>(t) != DatumGetPointer(d)) call([&] { pfree(t); });
  return out;
}

int64 int8_value(uint64 row, int col) {
  bool isnull;
  Datum d = datum_value(row, col, &isnull);
  return isnull ? 0 : DatumGetInt64(d);
}

double float8_value(uint64 row, int col) {
  bool isnull;
  Datum d = datum_value(row, col, &isnull);
  return isnull ? 0 : DatumGetFloat8(d);
}

bool bool_value(uint64 row, int col) {
  bool isnull;
  Datum d = datum_value(row, col, &isnull);
  return !isnull && DatumGetBool(d);
}

void free_result() {
  call([] { SPI_freetuptable(SPI_tuptable); });
}

int execute(const char* sql, bool read_only, long limit) {
  int rc = call([&] { return SPI_execute(sql, read_only, limit); });
  return rc;
}

}  // namespace pgm::pg
