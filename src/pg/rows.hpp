// Writing rows of pg_migrate's own tables without SQL: the executor's single-row paths
// (ExecSimpleRelationInsert / ExecSimpleRelationUpdate, as logical replication applies rows),
// so constraints, indexes and row triggers behave as for INSERT and UPDATE, without planning a
// statement. Used by drift capture (drift_log.cpp) and the apply's records (catalog_record.cpp).
// Plain functions on PostgreSQL data: call them inside pg::call.
#pragma once

#include "pg/pg.hpp"

extern "C" {
#include "nodes/execnodes.h"
}

namespace pgm::pg::rows {

// A column as this code writes it.
struct Column {
  const char* name;
  Oid type;
};

// Whether `rel` is a plain table with exactly these columns, in this order: none dropped,
// generated or identity. Writers check the layout they know and otherwise fall back to SQL (a
// catalog of another version, a column added by hand).
bool has_columns(Relation rel, const Column* columns, int natts);

// The attribute number of column `name` of type `type` (not dropped, not generated), or 0.
AttrNumber column_number(Relation rel, const char* name, Oid type);

// One table written: the caller sets relid and the columns it inserts or updates (attribute
// numbers, 0-terminated; a null `updated` for an insert-only table); begin() fills the rest.
struct Table {
  Oid relid;
  const AttrNumber* updated;
  Relation rel;
  ResultRelInfo* info;
};

// Opens the tables (RowExclusiveLock) and their indexes in a new executor state whose range
// table and permission info describe the writes (triggers and ExecGetUpdatedCols read them),
// starts the AFTER-trigger query, and sets the output command id.
EState* begin(Table* tables, int count);

// For updates: the executor state gets a registered snapshot that sees this transaction's
// earlier commands (released by end()), and `epq` an EvalPlanQual state without a plan (rows
// are found and locked with RelationFindReplTupleByIndex() first, so it is never run), ended
// by end_updates() before end().
void begin_updates(EState* estate, EPQState* epq);
void end_updates(EPQState* epq);

// Fires the queued AFTER row triggers, closes indexes, tables and what the triggers opened,
// and frees the state. The writes are then visible to the next command.
void end(EState* estate, Table* tables, int count);

// Closes without writing (begin() was called, nothing written).
void abandon(EState* estate, Table* tables, int count);

// Whether rows of this table can be written this way with the same effect as an INSERT or
// UPDATE statement through `key` (its unique index the rows are found by; InvalidOid for
// inserts only): no statement-level INSERT/UPDATE triggers or transition tables, no rules, no
// row-level security, which the single-row paths do not apply; and `key` is the index
// RelationFindReplTupleByIndex() trusts to find one row (replica identity, else primary key).
bool single_row_path_allowed(Relation rel, Oid key);

// Buffered inserts into a table of begin(): rows are copied into `capacity` slots and written
// together by flush_inserts() with table_multi_insert() (pages filled and logged a page at a
// time, as COPY writes them), then their index entries added and AFTER row triggers queued as
// ExecSimpleRelationInsert() does per row. For a plain table that is not a partition and has
// no BEFORE INSERT row trigger (buffered_insert_allowed()); rows are checked against its
// constraints as they are buffered. The buffer is the caller's, its slots in the executor
// state's tuple table.
struct InsertBuffer {
  TupleTableSlot** slots;
  int count;
  int capacity;
};
bool buffered_insert_allowed(Relation rel);
InsertBuffer begin_inserts(EState* estate, const Table& table, int capacity);
void buffer_insert(EState* estate, const Table& table, InsertBuffer& buffer, TupleTableSlot* row);
void flush_inserts(EState* estate, const Table& table, InsertBuffer& buffer);

// Direct inserts: each row formed into a heap tuple, heap_insert()ed, and its index entries
// added with index_insert(), as CatalogTupleInsert() writes system catalogs. For a table laid
// out as `columns` (checked once the table is locked: has_columns()) that needs nothing more
// from the executor: a plain heap table, not a partition, without insert triggers, rules,
// row-level security, CHECK constraints or generated columns, whose indexes are B-trees on
// plain columns (partial ones allowed), none deferrable or an exclusion constraint; and
// rows whose NULLs its NOT NULL constraints accept. Then the rows are written and visible to the
// next command, and it returns true; otherwise it writes nothing and returns false, and the
// caller inserts through ExecSimpleRelationInsert(). What it learns about the table (its
// indexes, their IndexInfo, prepared predicates) is kept until the table's relcache entry is
// invalidated, or one of its indexes' (forget_direct_table()): per row, it costs no executor
// state. (B-trees only: a BRIN or GIN index keeps a pointer to its relcache entry in its
// IndexInfo, which must not outlive the statement.)
struct RowData {
  const Datum* values;  // the table's natts each
  const bool* nulls;
};
bool insert_direct(Oid relid, const Column* columns, int natts, const RowData* rows, int count);

// From a relcache invalidation callback: what insert_direct() knows about relid, a table or
// one of its indexes (InvalidOid: about every table), is rebuilt at its next use. Frees
// nothing (the callback may run while a direct insert is under way).
void forget_direct_table(Oid relid);

}  // namespace pgm::pg::rows
