#include "pg/srf.hpp"

namespace pgm::pg {

Cell Cell::text(const std::string& s) {
  const char* p = s.data();
  int len = static_cast<int>(s.size());
  return {call([&] { return PointerGetDatum(cstring_to_text_with_len(p, len)); }), false};
}
Cell Cell::text_or_null(const std::string* s) { return s ? text(*s) : null_value(); }
Cell Cell::float8(double v) { return {Float8GetDatum(v), false}; }
Cell Cell::int4(int32 v) { return {Int32GetDatum(v), false}; }
Cell Cell::int8(int64 v) { return {Int64GetDatum(v), false}; }
Cell Cell::boolean(bool v) { return {BoolGetDatum(v), false}; }
Cell Cell::jsonb(const std::string& json) {
  const char* p = json.c_str();
  return {call([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(p)); }), false};
}
Cell Cell::null_value() { return {(Datum)0, true}; }

ResultSet::ResultSet(FunctionCallInfo fcinfo) {
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (!rsinfo || !IsA(rsinfo, ReturnSetInfo) || !(rsinfo->allowedModes & SFRM_Materialize))
    throw Error("0A000", "set-valued function called in context that cannot accept a set");
  TupleDesc desc = nullptr;
  Tuplestorestate* store = nullptr;
  call([&] {
    TupleDesc tupdesc;
    if (get_call_result_type(fcinfo, nullptr, &tupdesc) != TYPEFUNC_COMPOSITE)
      elog(ERROR, "return type must be a row type");
    MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
    desc = CreateTupleDescCopy(tupdesc);
    store = tuplestore_begin_heap(true, false, work_mem);
    MemoryContextSwitchTo(old);
  });
  rsinfo->returnMode = SFRM_Materialize;
  rsinfo->setResult = store;
  rsinfo->setDesc = desc;
  store_ = store;
  desc_ = desc;
}

void ResultSet::add_row(const std::vector<Cell>& cells) {
  Datum values[32];
  bool nulls[32];
  size_t n = std::min<size_t>(cells.size(), 32);
  for (size_t i = 0; i < n; ++i) {
    values[i] = cells[i].value;
    nulls[i] = cells[i].null;
  }
  if (n != static_cast<size_t>(desc_->natts))
    throw Error("XX000", fmt::format("result row has {} columns, expected {}", n, desc_->natts));
  call([&] { tuplestore_putvalues(store_, desc_, values, nulls); });
}

void ResultSet::add_row(std::initializer_list<Cell> cells) { add_row(std::vector<Cell>(cells)); }

Datum ResultSet::done() { return (Datum)0; }

}  // namespace pgm::pg
