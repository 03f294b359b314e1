#include "pg/srf.hpp"

extern "C" {
#include "executor/executor.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"
}

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

namespace {

// The result descriptor of a built-in set-returning function whose columns are its OUT
// parameters, built once per backend (a function's OUT parameters cannot change). Called as
// itself, such a function's InitMaterializedSRF() rebuilds it from pg_proc at every call
// (build_function_result_tupdesc_t: a type lookup per column, then a record typmod): half the
// cost of a pg_event_trigger_ddl_commands() call returning one row, the common case of drift
// capture. nullptr if the function's result is not such a record.
TupleDesc cached_result_descriptor(Oid function) {
  struct Entry {
    Oid function;
    TupleDesc desc;
  };
  static Entry cache[4];
  static int used = 0;
  for (int i = 0; i < used; ++i)
    if (cache[i].function == function) return cache[i].desc;
  TupleDesc desc = nullptr;
  Oid result_type = InvalidOid;
  if (get_func_result_type(function, &result_type, &desc) != TYPEFUNC_COMPOSITE || result_type != RECORDOID || !desc)
    return nullptr;
  if (used == 4) return nullptr;
  MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
  TupleDesc kept = CreateTupleDescCopy(desc);
  MemoryContextSwitchTo(old);
  cache[used++] = {function, kept};
  return kept;
}

}  // namespace

void read_set_function(Oid function, int ncols, const std::function<void(const Datum*, const bool*)>& take) {
  constexpr int kMaxColumns = 16;
  ncols = std::min(ncols, kMaxColumns);
  MemoryContext context = CurrentMemoryContext;
  ExprContext* econtext = call([] { return CreateStandaloneExprContext(); });
  Tuplestorestate* store = nullptr;
  TupleDesc desc = nullptr;
  call([&] {
    FmgrInfo flinfo;
    fmgr_info(function, &flinfo);
    ReturnSetInfo rsinfo;
    memset(&rsinfo, 0, sizeof rsinfo);
    rsinfo.type = T_ReturnSetInfo;
    rsinfo.econtext = econtext;
    rsinfo.allowedModes = (int)SFRM_Materialize;
    rsinfo.returnMode = SFRM_Materialize;
    TupleDesc expected = cached_result_descriptor(function);
    if (expected) {
      // get_call_result_type() takes the columns of a function declared RETURNS SETOF record
      // without OUT parameters from the caller's expected descriptor (json_to_recordset(...)
      // AS t(a int)): the call is described as one of such a function (fn_oid is only read
      // to find the result type), with the descriptor the function's OUT parameters define.
      flinfo.fn_oid = F_JSON_TO_RECORDSET;
      rsinfo.expectedDesc = expected;
    }
    LOCAL_FCINFO(fcinfo, 0);
    InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, nullptr, (Node*)&rsinfo);
    (void)FunctionCallInvoke(fcinfo);
    store = rsinfo.setResult;
    desc = rsinfo.setDesc;
  });
  TupleTableSlot* slot = nullptr;
  // Freed also when `take` or a read fails (the caller may carry on after the exception, in
  // its own memory context).
  auto release = [&] {
    call([&] {
      if (slot) ExecDropSingleTupleTableSlot(slot);
      if (store) tuplestore_end(store);
      FreeExprContext(econtext, true);
      MemoryContextSwitchTo(context);
    });
  };
  try {
    if (store && desc) {
      slot = call([&] { return MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple); });
      Datum values[kMaxColumns];
      bool nulls[kMaxColumns];
      int n = std::min(ncols, desc->natts);
      while (call([&] {
        if (!tuplestore_gettupleslot(store, true, false, slot)) return false;
        slot_getallattrs(slot);
        for (int k = 0; k < n; ++k) {
          values[k] = slot->tts_values[k];
          nulls[k] = slot->tts_isnull[k];
        }
        for (int k = n; k < ncols; ++k) nulls[k] = true;
        return true;
      }))
        take(values, nulls);
    }
  } catch (...) {
    try {
      release();
    } catch (...) {  // the first error is the one to report
      MemoryContextSwitchTo(context);
    }
    throw;
  }
  release();
}

}  // namespace pgm::pg
