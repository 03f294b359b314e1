// Drift capture: the direct insert into migrate.drift (README "Drift", "Benchmark"). Capture
// used to insert through a prepared SPI statement, whose executor start-up (plan tree,
// ModifyTable, Result node, projection) and the owner/search_path switch around it were most
// of capture's cost per DDL statement. Here the row is formed in C and handed to
// ExecSimpleRelationInsert (constraints, triggers, indexes), as logical replication applies
// rows.
#include "drift_log.hpp"

#include <cstring>

#include "pg/guard.hpp"
#include "pg/rows.hpp"

extern "C" {
#include "access/table.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/xid8.h"
}

namespace pgm::drift {
namespace {

// The columns of migrate.drift, in table order, as 0.1.0 and 0.2.0 define them.
constexpr pg::rows::Column kColumns[] = {
    {"id", INT8OID},           {"captured_at", TIMESTAMPTZOID}, {"transaction_id", XID8OID},
    {"performed_by", TEXTOID}, {"role", TEXTOID},               {"application_name", TEXTOID},
    {"client_addr", INETOID},  {"backend_pid", INT4OID},        {"event", TEXTOID},
    {"command_tag", TEXTOID},  {"object_type", TEXTOID},        {"object_identity", TEXTOID},
    {"schema_name", TEXTOID},  {"detail", TEXTOID},             {"statement", TEXTOID},
    {"statement_source", TEXTOID}, {"acknowledgement_id", INT8OID}};
constexpr int kNatts = sizeof(kColumns) / sizeof(kColumns[0]);

struct Layout {
  bool known = false;  // looked up
  bool usable = false;
  Oid relid = InvalidOid;
  Oid seqid = InvalidOid;
};
Layout layout;

// client_addr: computed once per backend (NULL on a Unix socket), kept in TopMemoryContext.
bool client_addr_known = false;
bool client_addr_null = true;
Datum client_addr = (Datum)0;

// `known` is set only once the layout was read to the end: an error (a cancel) on the way
// leaves it unknown, to be read again, instead of unusable for the rest of the session.
void load_layout() {
  layout = Layout{};
  Oid nsp = get_namespace_oid("migrate", true);
  layout.relid = OidIsValid(nsp) ? get_relname_relid("drift", nsp) : InvalidOid;
  layout.seqid = OidIsValid(nsp) ? get_relname_relid("drift_id_seq", nsp) : InvalidOid;
  if (!OidIsValid(layout.relid) || !OidIsValid(layout.seqid)) {
    layout.known = true;
    return;
  }
  Relation rel = table_open(layout.relid, AccessShareLock);
  bool ok = pg::rows::has_columns(rel, kColumns, kNatts);
  table_close(rel, AccessShareLock);
  layout.usable = ok;
  layout.known = true;
}

void load_client_addr() {
  client_addr_known = true;
  client_addr_null = true;
  FmgrInfo flinfo;
  fmgr_info(F_INET_CLIENT_ADDR, &flinfo);
  LOCAL_FCINFO(fcinfo, 0);
  InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, nullptr, nullptr);
  MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
  Datum d = FunctionCallInvoke(fcinfo);
  MemoryContextSwitchTo(old);
  if (!fcinfo->isnull) {
    client_addr = d;
    client_addr_null = false;
  }
}

Datum text_datum(const std::string& s) { return PointerGetDatum(cstring_to_text_with_len(s.data(), (int)s.size())); }

// Plain data handed to the PostgreSQL part (no C++ object crosses pg::call).
struct RawRow {
  Datum values[kNatts];
  bool nulls[kNatts];
};

// Fills the columns the rows share (id, time, transaction, session user, client, pid).
void fill_common(RawRow* rows, int count, int64* first_id, bool negative_id) {
  TimestampTz now = GetCurrentTimestamp();
  Datum xid = FullTransactionIdGetDatum(GetTopFullTransactionId());
  char* session_user = GetUserNameFromId(GetSessionUserId(), false);
  Datum performed_by = PointerGetDatum(cstring_to_text(session_user));
  for (int r = 0; r < count; ++r) {
    RawRow& row = rows[r];
    int64 id = nextval_internal(layout.seqid, false);
    if (negative_id) id = -id;
    if (r == 0) *first_id = id;
    row.values[0] = Int64GetDatum(id);
    row.nulls[0] = false;
    row.values[1] = TimestampTzGetDatum(now);
    row.nulls[1] = false;
    row.values[2] = xid;
    row.nulls[2] = false;
    row.values[3] = performed_by;
    row.nulls[3] = false;
    row.values[6] = client_addr;
    row.nulls[6] = client_addr_null;
    row.values[7] = Int32GetDatum(MyProcPid);
    row.nulls[7] = false;
    row.nulls[16] = true;
    row.values[16] = (Datum)0;
  }
}

// Straight into the heap and the indexes when migrate.drift is as pg_migrate creates it
// (pg::rows::insert_direct), else through ExecSimpleRelationInsert. False, having written
// nothing, when migrate.drift has statement triggers or rules the single-row path would not
// fire (pg::rows::single_row_path_allowed), or is no longer laid out as kColumns: the caller
// then inserts through SQL, whose DEFAULT draws the rows' ids again (a gap in the sequence, as
// a rolled-back capture leaves one; only a table someone changed takes that path).
bool insert_raw(RawRow* rows, int count, int64* first_id, bool negative_id) {
  fill_common(rows, count, first_id, negative_id);
  pg::rows::RowData direct[8];
  if (count <= 8) {
    for (int r = 0; r < count; ++r) direct[r] = {rows[r].values, rows[r].nulls};
    if (pg::rows::insert_direct(layout.relid, kColumns, kNatts, direct, count)) return true;
  }
  pg::rows::Table table = {layout.relid, nullptr, nullptr, nullptr};
  EState* estate = pg::rows::begin(&table, 1);
  // (The layout is checked again now that the table is locked: an ALTER TABLE may have
  // committed while this waited for the lock.)
  if (!pg::rows::has_columns(table.rel, kColumns, kNatts) || !pg::rows::single_row_path_allowed(table.rel, InvalidOid)) {
    pg::rows::abandon(estate, &table, 1);
    return false;
  }
  TupleTableSlot* slot = ExecInitExtraTupleSlot(estate, RelationGetDescr(table.rel), &TTSOpsVirtual);
  for (int r = 0; r < count; ++r) {
    ExecClearTuple(slot);
    memcpy(slot->tts_values, rows[r].values, sizeof rows[r].values);
    memcpy(slot->tts_isnull, rows[r].nulls, sizeof rows[r].nulls);
    ExecStoreVirtualTuple(slot);
    ExecSimpleRelationInsert(table.info, estate, slot);
    ResetPerTupleExprContext(estate);
  }
  pg::rows::end(estate, &table, 1);
  return true;
}

}  // namespace

void forget_log_layout(unsigned relid) {
  if (relid == InvalidOid || relid == layout.relid || !OidIsValid(layout.relid)) layout.known = false;
}

bool log_table_present() {
  if (!layout.known) pg::call([] { load_layout(); });
  return OidIsValid(layout.relid);
}

std::optional<long long> append_rows(const LogStatement& st, const std::vector<LogRow>& rows) {
  if (rows.empty()) return 0;
  if (!layout.known) pg::call([] { load_layout(); });
  if (!layout.usable) return std::nullopt;
  if (!client_addr_known) pg::call([] { load_client_addr(); });
  // Text datums are formed inside pg::call (palloc may fail); the strings outlive the call.
  std::vector<RawRow> raw(rows.size());
  pg::call([&] {
    Datum role = text_datum(st.role);
    Datum event = PointerGetDatum(cstring_to_text(st.event));
    Datum tag = text_datum(st.tag);
    Datum application = st.application ? text_datum(*st.application) : (Datum)0;
    Datum text = st.text ? text_datum(*st.text) : (Datum)0;
    Datum source = st.source ? text_datum(*st.source) : (Datum)0;
    for (size_t i = 0; i < rows.size(); ++i) {
      RawRow& r = raw[i];
      const LogRow& row = rows[i];
      r.values[4] = role;
      r.nulls[4] = false;
      r.values[5] = application;
      r.nulls[5] = !st.application;
      r.values[8] = event;
      r.nulls[8] = false;
      r.values[9] = tag;
      r.nulls[9] = false;
      r.values[10] = text_datum(row.object_type);
      r.nulls[10] = false;
      r.nulls[11] = !row.identity;
      r.values[11] = row.identity ? text_datum(*row.identity) : (Datum)0;
      r.nulls[12] = !row.schema;
      r.values[12] = row.schema ? text_datum(*row.schema) : (Datum)0;
      r.nulls[13] = row.detail.empty();
      r.values[13] = row.detail.empty() ? (Datum)0 : text_datum(row.detail);
      r.values[14] = text;
      r.nulls[14] = !st.text;
      r.values[15] = source;
      r.nulls[15] = !st.source;
    }
  });
  RawRow* data = raw.data();
  int count = static_cast<int>(raw.size());
  int64 first_id = 0;
  bool negative = st.negative_id;
  if (!pg::call([&] { return insert_raw(data, count, &first_id, negative); })) return std::nullopt;
  return first_id;
}

}  // namespace pgm::drift
