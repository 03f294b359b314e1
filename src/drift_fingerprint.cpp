// Drift: the catalog fingerprint (drift_fingerprint.hpp). Read straight from the catalogs'
// heaps: a few milliseconds for a schema whose snapshot takes tens to thousands.
#include "drift_fingerprint.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "pg/pg.hpp"
#include "pg/guard.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogreader.h"
#include "access/xlogutils.h"
#include "access/transam.h"
#include "catalog/catalog.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_largeobject.h"
#include "catalog/pg_largeobject_metadata.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_statistic.h"
#include "catalog/pg_statistic_ext_data.h"
#include "catalog/pg_subscription_rel.h"
#include "catalog/pg_type.h"
#include "catalog/namespace.h"
#include "common/hashfn.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/bufpage.h"
#include "utils/combocid.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace pgm::drift {
namespace {

// The catalogs read besides pg_class, found in pg_class on first use: every table of
// pg_catalog except those that change without the schema changing (planner statistics,
// large objects, subscription sync state) and the shared catalogs other databases write, but
// with pg_authid, whose role names snapshots show as owners and in grants.
constexpr int kMaxCatalogs = 1024;
Oid catalogs[kMaxCatalogs];
int catalog_count = -1;  // -1: not yet found; kMaxCatalogs + 1: too many (no fingerprint)

bool fingerprinted_catalog(Oid relid) {
  if (relid == RelationRelationId) return false;  // read first, always
  if (relid == AuthIdRelationId) return true;
  if (IsSharedRelation(relid)) return false;
  switch (relid) {
    case StatisticRelationId: case StatisticExtDataRelationId: case LargeObjectRelationId:
    case LargeObjectMetadataRelationId: case SubscriptionRelRelationId:
      return false;
    default:
      return true;
  }
}

// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
inline uint64 mix64(uint64 k) {
  k ^= k >> 33;
  k *= UINT64CONST(0xff51afd7ed558ccd);
  k ^= k >> 33;
  k *= UINT64CONST(0xc4ceb9fe1a85ec53);
  k ^= k >> 33;
  return k;
}

// One row version: its catalog, raw xmin (kept by freezing) and place. The per-row hashes
// are summed, so the order of a scan does not matter and sums of parts add up. (A function
// call per row, hash_bytes_extended(), was a quarter of the scan.)
inline uint64 version_hash(Oid catalog, HeapTuple tuple) {
  uint64 who = (static_cast<uint64>(catalog) << 32) | HeapTupleHeaderGetRawXmin(tuple->t_data);
  uint64 where = (static_cast<uint64>(ItemPointerGetBlockNumberNoCheck(&tuple->t_self)) << 16) |
                 ItemPointerGetOffsetNumberNoCheck(&tuple->t_self);
  return mix64(who ^ mix64(where + UINT64CONST(0x9e3779b97f4a7c15)));
}

// A pg_class row by its content, without the fields TRUNCATE, REINDEX, CLUSTER, VACUUM FULL and
// REFRESH MATERIALIZED VIEW change (a new file: relfilenode; and the statistics and xid horizons
// that come with it), which no snapshot shows: those commands then keep the proof. Every other
// field, the variable ones (ACL, options, partition bound) and the null bitmap included, counts.
uint64 class_row_hash(HeapTuple tuple) {
  struct Skip {
    size_t offset, size;
  };
  static const Skip skips[] = {
      {offsetof(FormData_pg_class, relfilenode), sizeof(Oid)},
      {offsetof(FormData_pg_class, relpages), sizeof(int32)},
      {offsetof(FormData_pg_class, reltuples), sizeof(float4)},
      {offsetof(FormData_pg_class, relallvisible), sizeof(int32)},
      // Flags VACUUM and ANALYZE update in place when they no longer hold (no snapshot shows them).
      {offsetof(FormData_pg_class, relhasindex), sizeof(bool)},
      {offsetof(FormData_pg_class, relhasrules), sizeof(bool)},
      {offsetof(FormData_pg_class, relhastriggers), sizeof(bool)},
      {offsetof(FormData_pg_class, relhassubclass), sizeof(bool)},
      {offsetof(FormData_pg_class, relfrozenxid), sizeof(TransactionId)},
      {offsetof(FormData_pg_class, relminmxid), sizeof(MultiXactId)},
  };
  HeapTupleHeader t = tuple->t_data;
  const unsigned char* data = reinterpret_cast<const unsigned char*>(t) + t->t_hoff;
  size_t length = tuple->t_len - t->t_hoff;
  uint64 h = UINT64CONST(0x70675f636c617373);
  if (HeapTupleHasNulls(tuple))
    h = mix64(h ^ hash_bytes_extended(reinterpret_cast<const unsigned char*>(t->t_bits),
                                      BITMAPLEN(HeapTupleHeaderGetNatts(t)), h));
  size_t from = 0;
  for (const Skip& skip : skips) {  // in field order (FormData_pg_class)
    if (skip.offset > from)
      h = mix64(h ^ hash_bytes_extended(data + from, static_cast<int>(skip.offset - from), h));
    from = skip.offset + skip.size;
  }
  if (length > from) h = mix64(h ^ hash_bytes_extended(data + from, static_cast<int>(length - from), h));
  return h;
}

inline uint64 row_hash(Oid catalog, HeapTuple tuple) {
  return catalog == RelationRelationId ? class_row_hash(tuple) : version_hash(catalog, tuple);
}

// The page cache (migrate.catalog_page_sums): for a page whose rows had all settled when it
// was read (each inserted by a transaction that committed or aborted, deleted by none or by
// one that did), the page's LSN then and its sum. Any change to a row on the page (insert,
// update, delete, in-place update, pruning, freezing) is WAL-logged and sets a newer LSN, and
// settled rows are visible (or not) to every later snapshot alike: with the same LSN the page
// sums to the same. Entries are (block int4, lsn int8, sum int8), kPageEntry bytes each.
constexpr int kPageEntry = 20;
// The hashes summed (row_hash()) and how the rows are written: a release that hashes rows
// otherwise, or writes them under other rules, bumps it, and the rows of the table stored with
// another version are ignored. 2: written one session at a time, after a check that nobody
// stored since they were read, with the validity row (see may_store()); a backend still
// running an older library writes 1, which this one never reads (its entries may have been
// read before the validity row's position).
constexpr int32 kHashVersion = 2;

struct CatalogPages {  // plain data in page_cache_context
  Oid catalog = InvalidOid;
  Oid filenode = InvalidOid;
  int count = 0;
  char* entries = nullptr;  // count * kPageEntry bytes, by block
};
// The table holds a catalog's entries in rows of kChunkPages blocks (1,920 bytes: stored in
// line, never compressed or TOASTed), so an apply rewrites only the rows of the pages it changed.
constexpr BlockNumber kChunkPages = 96;
struct ChunkRow {  // one row of the table
  Oid catalog;
  Oid filenode;
  int32 chunk;
  int count;
  char* entries;
};
MemoryContext page_cache_context = nullptr;  // reset by each fingerprint
uint64 fingerprint_runs = 0;                 // fingerprints taken by this backend
ChunkRow* rows = nullptr;                    // the table's rows, by (catalog, filenode, chunk)
int row_count = 0;
CatalogPages scanned[kMaxCatalogs + 1];      // the settled pages of the last fingerprint
int scanned_count = 0;

// Which pages changed since the entries were stored, from the WAL instead of every page's
// header. The table's validity row (catalog 0, chunk 0: WAL position, timeline, database) says from
// where its entries hold: each entry was read or checked after that position, and a WAL-logged
// write to its page since has a record naming the block. So a page no record after that
// position names is unchanged and its entry holds without reading the page. Used only when the
// WAL since then is shorter than kWalBytesPerPage per catalog page (reading it then costs less
// than visiting the pages: a schema of 20,000 tables has some 20,000 catalog pages), on the
// WAL's own timeline, outside recovery, and on PostgreSQL 15 on (read_local_xlog_page_no_wait);
// anything unexpected while reading falls back to visiting every page.
constexpr int kValidityLength = 16;       // LSN (8 bytes), timeline (4), database OID (4)
constexpr uint64 kWalBytesPerPage = 512;  // WAL read instead of one page visited
struct Validity {
  XLogRecPtr from = InvalidXLogRecPtr;
  TimeLineID tli = 0;
  Oid database = InvalidOid;  // a copied database (CREATE DATABASE ... FILE_COPY) has the
                              // template's row, and its WAL names the template
  bool operator==(const Validity& o) const { return from == o.from && tli == o.tli && database == o.database; }
};
Validity stored;  // the validity row as the last fingerprint loaded it (none: from invalid)

// Plain C: the validity row's `pages` value, if it is one.
bool read_validity(const bytea* pages, Validity* out) {
  if (VARSIZE_ANY_EXHDR(pages) != kValidityLength) return false;
  const char* p = VARDATA_ANY(pages);
  memcpy(&out->from, p, 8);
  memcpy(&out->tli, p + 8, 4);
  memcpy(&out->database, p + 12, 4);
  return true;
}

// The size of the header of the WAL page starting at `page`.
XLogRecPtr page_header_size(XLogRecPtr page) {
  return XLogSegmentOffset(page, wal_segment_size) == 0 ? SizeOfXLogLongPHD : SizeOfXLogShortPHD;
}
XLogRecPtr scan_start = InvalidXLogRecPtr;   // the last fingerprint's: the entries hold from here
// The blocks of catalog files the WAL names from wal_base to wal_read_to, as
// (filenode << 32 | block), kept per backend so that a second fingerprint in a transaction
// reads only the WAL written since the first.
MemoryContext wal_context = nullptr;
XLogRecPtr wal_base = InvalidXLogRecPtr;
XLogRecPtr wal_read_to = InvalidXLogRecPtr;
uint64* changed_blocks = nullptr;
int changed_count = 0;
int changed_capacity = 0;
bool changed_sorted = true;

inline uint32 entry_block(const char* e) {
  uint32 v;
  memcpy(&v, e, 4);
  return v;
}
inline uint64 entry_u64(const char* e, int at) {
  uint64 v;
  memcpy(&v, e + at, 8);
  return v;
}
inline void put_entry(char* e, uint32 block, uint64 lsn, uint64 sum) {
  memcpy(e, &block, 4);
  memcpy(e + 4, &lsn, 8);
  memcpy(e + 12, &sum, 8);
}

inline Oid filenode_of(Relation rel) {
#if PG_VERSION_NUM >= 160000
  return rel->rd_locator.relNumber;
#else
  return rel->rd_node.relNode;
#endif
}

int compare_rows(const void* a, const void* b) {
  const ChunkRow* x = static_cast<const ChunkRow*>(a);
  const ChunkRow* y = static_cast<const ChunkRow*>(b);
  if (x->catalog != y->catalog) return x->catalog < y->catalog ? -1 : 1;
  if (x->filenode != y->filenode) return x->filenode < y->filenode ? -1 : 1;
  return x->chunk < y->chunk ? -1 : x->chunk > y->chunk ? 1 : 0;
}

// Plain C: reads migrate.catalog_page_sums (0.4.0 on) into `rows`, directly from its heap, with
// the snapshot the catalogs are read with.
void load_page_cache(Snapshot snapshot) {
  row_count = 0;
  stored = Validity{};
  Oid nsp = get_namespace_oid("migrate", true);
  Oid relid = OidIsValid(nsp) ? get_relname_relid("catalog_page_sums", nsp) : InvalidOid;
  if (!OidIsValid(relid)) return;
  Relation rel = try_table_open(relid, AccessShareLock);  // (dropped since the lookup: no cache)
  if (!rel) return;
  TupleDesc desc = RelationGetDescr(rel);
  int capacity = 256;
  rows = static_cast<ChunkRow*>(palloc(capacity * sizeof(ChunkRow)));
  uint64 system = GetSystemIdentifier();
  if (rel->rd_tableam == GetHeapamTableAmRoutine() && desc->natts == 6 && TupleDescAttr(desc, 0)->atttypid == OIDOID &&
      TupleDescAttr(desc, 1)->atttypid == INT4OID && TupleDescAttr(desc, 2)->atttypid == OIDOID &&
      TupleDescAttr(desc, 3)->atttypid == INT8OID && TupleDescAttr(desc, 4)->atttypid == INT4OID &&
      TupleDescAttr(desc, 5)->atttypid == BYTEAOID) {
    TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
    HeapTuple tuple;
    while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
      Datum values[6];
      bool nulls[6];
      heap_deform_tuple(tuple, desc, values, nulls);
      if (nulls[0] || nulls[1] || nulls[2] || nulls[3] || nulls[4] || nulls[5]) continue;
      if (static_cast<uint64>(DatumGetInt64(values[3])) != system || DatumGetInt32(values[4]) != kHashVersion) continue;
      bytea* pages = DatumGetByteaPCopy(values[5]);  // in page_cache_context
      int length = VARSIZE_ANY_EXHDR(pages);
      if (DatumGetObjectId(values[0]) == InvalidOid) {  // the validity row (catalog 0, chunk 0)
        if (DatumGetInt32(values[1]) == 0) (void)read_validity(pages, &stored);
        continue;
      }
      if (length % kPageEntry != 0) continue;
      if (row_count == capacity) {
        capacity *= 2;
        rows = static_cast<ChunkRow*>(repalloc_huge(rows, capacity * sizeof(ChunkRow)));
      }
      rows[row_count++] = {DatumGetObjectId(values[0]), DatumGetObjectId(values[2]), DatumGetInt32(values[1]),
                           length / kPageEntry, VARDATA_ANY(pages)};
    }
    table_endscan(scan);
  }
  table_close(rel, AccessShareLock);
  qsort(rows, row_count, sizeof(ChunkRow), compare_rows);
}

const ChunkRow* loaded_row(Oid catalog, Oid filenode, int32 chunk) {
  ChunkRow key{catalog, filenode, chunk, 0, nullptr};
  return static_cast<const ChunkRow*>(bsearch(&key, rows, row_count, sizeof(ChunkRow), compare_rows));
}

// Plain C: finds the catalogs to read, once per backend. The tables of pg_catalog are created
// with initdb (their OIDs are below FirstNormalObjectId): read through pg_class's OID index.
void find_catalogs(Snapshot snapshot) {
  Relation rel = table_open(RelationRelationId, AccessShareLock);
  ScanKeyData key;
  ScanKeyInit(&key, Anum_pg_class_oid, BTLessStrategyNumber, F_OIDLT, ObjectIdGetDatum(FirstNormalObjectId));
  SysScanDesc scan = systable_beginscan(rel, ClassOidIndexId, true, snapshot, 1, &key);
  int found = 0;
  HeapTuple tuple;
  while ((tuple = systable_getnext(scan)) != nullptr) {
    Form_pg_class c = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple));
    if (c->relnamespace == PG_CATALOG_NAMESPACE && c->relkind == RELKIND_RELATION && fingerprinted_catalog(c->oid)) {
      if (found < kMaxCatalogs) catalogs[found] = c->oid;
      ++found;
    }
  }
  systable_endscan(scan);
  table_close(rel, AccessShareLock);
  catalog_count = found > kMaxCatalogs ? kMaxCatalogs + 1 : found;
}

// Plain C: whether the WAL read since the entries were stored names `block` of `filenode`.
bool block_changed(Oid filenode, BlockNumber block) {
  uint64 key = (static_cast<uint64>(filenode) << 32) | block;
  return std::binary_search(changed_blocks, changed_blocks + changed_count, key);
}

int pages_read = 0;  // by the last fingerprint (for the DEBUG1 line)

// Plain C (no C++ object alive): sums one catalog's rows into `sums`, page by page under one
// share lock per page (as pgstattuple reads a heap), deciding each row's visibility here. With
// `preexisting`, also the rows as they were when this transaction's command `since` started:
// rows those commands deleted are dead to the snapshot but still on the page. With `use_wal`, a
// cached page the WAL since the entries were stored does not name is not read.
void scan_catalog(Oid relid, Snapshot snapshot, bool preexisting, CommandId since, FingerprintSums* sums,
                  bool use_wal) {
  Relation rel = table_open(relid, AccessShareLock);
  BlockNumber blocks = RelationGetNumberOfBlocks(rel);
  Oid filenode = filenode_of(rel);
  // A catalog rewritten in this transaction under wal_level = minimal is not WAL-logged: its
  // pages' LSNs do not move when rows change. No cache for it, now or later.
  bool wal_logged = RelationNeedsWAL(rel);
  const ChunkRow* cached = nullptr;  // the table's row for the chunk of `block`
  int32 cached_chunk = -1;
  int next_cached = 0;
  CatalogPages& out = scanned[scanned_count++];
  out.catalog = relid;
  out.filenode = filenode;
  out.count = 0;
  out.entries = static_cast<char*>(MemoryContextAllocHuge(page_cache_context, Max(blocks, 1) * static_cast<Size>(kPageEntry)));
  for (BlockNumber block = 0; block < blocks; ++block) {
    CHECK_FOR_INTERRUPTS();
    if (wal_logged && static_cast<int32>(block / kChunkPages) != cached_chunk) {
      cached_chunk = static_cast<int32>(block / kChunkPages);
      cached = loaded_row(relid, filenode, cached_chunk);
      next_cached = 0;
    }
    while (cached && next_cached < cached->count && entry_block(cached->entries + next_cached * kPageEntry) < block)
      ++next_cached;
    const char* entry = nullptr;  // the page's cached entry
    if (cached && next_cached < cached->count && entry_block(cached->entries + next_cached * kPageEntry) == block)
      entry = cached->entries + next_cached * kPageEntry;
    // No WAL record since the entries were stored names the page: the entry holds unread.
    if (entry && use_wal && !block_changed(filenode, block)) {
      uint64 page_sum = entry_u64(entry, 12);
      sums->visible += page_sum;
      if (preexisting) sums->preexisting += page_sum;
      memcpy(out.entries + out.count++ * kPageEntry, entry, kPageEntry);
      continue;
    }
    ++pages_read;
    Buffer buffer = ReadBufferExtended(rel, MAIN_FORKNUM, block, RBM_NORMAL, nullptr);
    LockBuffer(buffer, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buffer);
    // (Atomic: with checksums, setting a hint bit may set the LSN under a share lock.)
    uint64 lsn = BufferGetLSNAtomic(buffer);
    if (entry && entry_u64(entry, 4) == lsn && lsn != InvalidXLogRecPtr) {
      uint64 page_sum = entry_u64(entry, 12);
      sums->visible += page_sum;
      if (preexisting) sums->preexisting += page_sum;
      memcpy(out.entries + out.count++ * kPageEntry, entry, kPageEntry);
      UnlockReleaseBuffer(buffer);
      continue;
    }
    uint64 page_sum = 0;
    bool settled = true;
    OffsetNumber last = PageGetMaxOffsetNumber(page);
    // Every row of an all-visible page is visible to every snapshot and written by a
    // transaction that ended long ago (as heapgetpage() relies on outside recovery).
    bool all_visible = PageIsAllVisible(page) && !snapshot->takenDuringRecovery;
    for (OffsetNumber offset = FirstOffsetNumber; offset <= last; offset = OffsetNumberNext(offset)) {
      ItemId item = PageGetItemId(page, offset);
      if (!ItemIdIsNormal(item)) continue;
      HeapTupleData tuple;
      tuple.t_data = reinterpret_cast<HeapTupleHeader>(PageGetItem(page, item));
      tuple.t_len = ItemIdGetLength(item);
      tuple.t_tableOid = relid;
      ItemPointerSet(&tuple.t_self, block, offset);
      HeapTupleHeader t = tuple.t_data;
      bool visible = all_visible || HeapTupleSatisfiesVisibility(&tuple, snapshot, buffer);
      bool before = false;
      if (preexisting && all_visible) {
        before = true;
      } else if (preexisting) {
        // Written by the commands since `since`: not there before. Anything else was, if it
        // is still visible or those commands deleted it.
        bool written_since = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmin(t)) &&
                             HeapTupleHeaderGetCmin(t) >= since;
        if (!written_since) {
          before = visible;
          if (!visible && !(t->t_infomask & HEAP_XMAX_INVALID) && !HEAP_XMAX_IS_LOCKED_ONLY(t->t_infomask) &&
              TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetUpdateXid(t)))
            before = HeapTupleHeaderGetCmax(t) >= since;
        }
      }
      if (settled && !all_visible) {
        // Settled: visible to this snapshot exactly when its insert committed and no delete
        // did, and so to every later one; its own transaction's rows are in progress.
        TransactionId dead_after = InvalidTransactionId;
        HTSV_Result status = HeapTupleSatisfiesVacuumHorizon(&tuple, buffer, &dead_after);
        bool live = status == HEAPTUPLE_LIVE;
        bool gone = status == HEAPTUPLE_DEAD || status == HEAPTUPLE_RECENTLY_DEAD;
        if (!(live || gone) || live != visible || (preexisting && before != visible)) settled = false;
      }
      if (!visible && !before) continue;
      // A table's system columns (ctid, xmin, ...) are written and removed only with its
      // pg_class row: leaving them out saves most of pg_attribute.
      if (relid == AttributeRelationId && reinterpret_cast<Form_pg_attribute>(GETSTRUCT(&tuple))->attnum < 0)
        continue;
      uint64 h = row_hash(relid, &tuple);
      if (visible) sums->visible += h;
      if (before) sums->preexisting += h;
      if (visible) page_sum += h;
    }
    UnlockReleaseBuffer(buffer);
    if (settled && wal_logged && lsn != InvalidXLogRecPtr) put_entry(out.entries + out.count++ * kPageEntry, block, lsn, page_sum);
  }
  table_close(rel, AccessShareLock);
}

// Plain C: the pages of the catalogs read (pg_class first) and their files, for the WAL path.
constexpr int kMaxFilenodes = kMaxCatalogs + 1;
Oid catalog_filenodes[kMaxFilenodes];  // sorted
int filenode_count = 0;

uint64 catalog_pages() {
  uint64 total = 0;
  filenode_count = 0;
  for (int i = -1; i < catalog_count; ++i) {
    Relation rel = table_open(i < 0 ? RelationRelationId : catalogs[i], AccessShareLock);
    total += RelationGetNumberOfBlocks(rel);
    catalog_filenodes[filenode_count++] = filenode_of(rel);
    table_close(rel, AccessShareLock);
  }
  std::sort(catalog_filenodes, catalog_filenodes + filenode_count);
  return total;
}

uint64 filenodes_hash() {
  uint64 h = 0;
  for (int i = 0; i < filenode_count; ++i) h = mix64(h ^ (catalog_filenodes[i] + UINT64CONST(0x9e3779b97f4a7c15)));
  return h;
}
uint64 wal_filenodes = 0;  // filenodes_hash() of the files changed_blocks was collected for

void forget_changed_blocks() {
  wal_base = InvalidXLogRecPtr;
  wal_read_to = InvalidXLogRecPtr;
  changed_count = 0;
  changed_sorted = true;
}

#if PG_VERSION_NUM >= 150000
// Plain C: notes the catalog blocks the record names.
void note_blocks(XLogReaderState* reader) {
  for (int b = 0; b <= XLogRecMaxBlockId(reader); ++b) {
    ForkNumber fork;
    BlockNumber block;
#if PG_VERSION_NUM >= 160000
    RelFileLocator node;
    if (!XLogRecGetBlockTagExtended(reader, static_cast<uint8>(b), &node, &fork, &block, nullptr)) continue;
    Oid database = node.dbOid;
    Oid file = node.relNumber;
#else
    RelFileNode node;
    if (!XLogRecGetBlockTagExtended(reader, static_cast<uint8>(b), &node, &fork, &block, nullptr)) continue;
    Oid database = node.dbNode;
    Oid file = node.relNode;
#endif
    if (fork != MAIN_FORKNUM || (database != MyDatabaseId && database != InvalidOid)) continue;
    if (!std::binary_search(catalog_filenodes, catalog_filenodes + filenode_count, file)) continue;
    if (changed_count == changed_capacity) {
      // The new size is kept only once allocated: an allocation that fails (an error the
      // caller rolls back and carries on from) leaves the buffer as it was.
      int capacity = Max(changed_capacity * 2, 1024);
      uint64* grown = static_cast<uint64*>(changed_blocks ? repalloc_huge(changed_blocks, capacity * sizeof(uint64))
                                                          : MemoryContextAllocHuge(wal_context, capacity * sizeof(uint64)));
      changed_blocks = grown;
      changed_capacity = capacity;
    }
    changed_blocks[changed_count++] = (static_cast<uint64>(file) << 32) | block;
    changed_sorted = false;
  }
}

// Plain C: reads the records that start from `from` up to `to` (flushing the WAL to `to`
// first) and notes the catalog blocks they name. False when the WAL could not be read to `to`.
bool read_wal(XLogRecPtr from, XLogRecPtr to) {
  if (from >= to) return true;
  // `to` is where the next record will start: just past a page's header when the last one
  // ended at the page's end, where nothing is written yet to flush.
  XLogFlush(to % XLOG_BLCKSZ == page_header_size(to - to % XLOG_BLCKSZ) ? to - to % XLOG_BLCKSZ : to);
  ReadLocalXLogPageNoWaitPrivate end_of_wal;
  end_of_wal.end_of_wal = false;
  XLogReaderRoutine routine;
  memset(&routine, 0, sizeof routine);
  routine.page_read = read_local_xlog_page_no_wait;
  routine.segment_open = wal_segment_open;
  routine.segment_close = wal_segment_close;
  XLogReaderState* reader = XLogReaderAllocate(wal_segment_size, nullptr, &routine, &end_of_wal);
  if (!reader) return false;
  volatile bool complete = false;
  PG_TRY();
  {
    XLogRecPtr first = XLogFindNextRecord(reader, from);
    XLogRecPtr end = from;  // where the records read so far end
    bool reached = !XLogRecPtrIsInvalid(first) && first >= to;
    while (!reached && !XLogRecPtrIsInvalid(first)) {
      char* message = nullptr;
      if (!XLogReadRecord(reader, &message)) break;
      if (reader->ReadRecPtr >= to) {
        reached = true;
        break;
      }
      note_blocks(reader);
      end = reader->EndRecPtr;
      reached = end >= to;
    }
    // `to` may lie just past the header of the page the last record ended before.
    if (!reached && end < to && end % XLOG_BLCKSZ == 0)
      reached = to == end + page_header_size(end);
    complete = reached;
  }
  PG_CATCH();
  {
    XLogReaderFree(reader);  // (closes the segment file)
    PG_RE_THROW();
  }
  PG_END_TRY();
  XLogReaderFree(reader);
  return complete;
}
#endif

// Whether the WAL tells which pages changed since the entries were stored (then
// changed_blocks holds them, sorted), rather than every page's header.
bool wal_names_changes() {
#if PG_VERSION_NUM < 150000
  return false;
#else
  if (XLogRecPtrIsInvalid(stored.from) || XLogRecPtrIsInvalid(scan_start) || stored.from > scan_start ||
      stored.database != MyDatabaseId)
    return false;
  if (catalog_count < 0 || catalog_count > kMaxCatalogs) return false;
  if (pg::call([] { return GetWALInsertionTimeLine(); }) != stored.tli) return false;
  uint64 pages = pg::call([] { return catalog_pages(); });
  if (scan_start - stored.from > pages * kWalBytesPerPage) return false;
  bool extend = wal_base == stored.from && !XLogRecPtrIsInvalid(wal_read_to) && wal_read_to <= scan_start &&
                wal_filenodes == filenodes_hash();
  if (!extend) {
    forget_changed_blocks();
    wal_filenodes = filenodes_hash();
  }
  XLogRecPtr from = extend ? wal_read_to : stored.from;
  XLogSegNo segment;
  XLByteToSeg(from, segment, wal_segment_size);
  if (segment <= pg::call([] { return XLogGetLastRemovedSegno(); })) return false;
  if (!wal_context)
    wal_context = pg::call([] { return AllocSetContextCreate(TopMemoryContext, "pg_migrate fingerprint WAL", ALLOCSET_DEFAULT_SIZES); });
  XLogRecPtr to = scan_start;
  bool complete = false;
  try {
    pg::SubTransaction sub;  // a WAL segment removed meanwhile: an error to go on from
    complete = pg::call([&] { return read_wal(from, to); });
    sub.commit();
  } catch (const pg::PgError& e) {
    if (e.is_interrupt()) throw;
    complete = false;
  }
  if (!complete) {
    forget_changed_blocks();
    return false;
  }
  wal_base = stored.from;
  wal_read_to = to;
  if (!changed_sorted) {
    std::sort(changed_blocks, changed_blocks + changed_count);
    changed_count = static_cast<int>(std::unique(changed_blocks, changed_blocks + changed_count) - changed_blocks);
    changed_sorted = true;
  }
  return true;
#endif
}

std::optional<FingerprintSums> fingerprint(bool preexisting, CommandId since) {
  FingerprintSums sums;
  FingerprintSums* s = &sums;
  Snapshot snapshot = pg::call([] {
    if (!page_cache_context)
      page_cache_context = AllocSetContextCreate(TopMemoryContext, "pg_migrate fingerprint pages", ALLOCSET_DEFAULT_SIZES);
    MemoryContextReset(page_cache_context);
    ++fingerprint_runs;
    scanned_count = 0;
    row_count = 0;
    pages_read = 0;
    Snapshot taken = RegisterSnapshot(GetTransactionSnapshot());
    // The entries this fingerprint reads or checks hold from here (WAL written before the
    // snapshot includes every change it sees).
    scan_start = RecoveryInProgress() ? InvalidXLogRecPtr : GetXLogInsertRecPtr();
    MemoryContext old = MemoryContextSwitchTo(page_cache_context);
    load_page_cache(taken);
    MemoryContextSwitchTo(old);
    if (catalog_count < 0) find_catalogs(taken);
    return taken;
  });
  bool use_wal = wal_names_changes();
  bool complete = pg::call([&] {
    scan_catalog(RelationRelationId, snapshot, preexisting, since, s, use_wal);
    bool all = catalog_count <= kMaxCatalogs;
    for (int i = 0; all && i < catalog_count; ++i) scan_catalog(catalogs[i], snapshot, preexisting, since, s, use_wal);
    UnregisterSnapshot(snapshot);
    if (use_wal)
      elog(DEBUG1, "pg_migrate: catalog fingerprint read %d pages, %d named by the WAL since %X/%X",
           pages_read, changed_count, static_cast<uint32>(stored.from >> 32), static_cast<uint32>(stored.from));
    else
      elog(DEBUG1, "pg_migrate: catalog fingerprint read %d pages", pages_read);
    return all;
  });
  if (!complete) return std::nullopt;
  return sums;
}

// Plain C: takes the table's lock for writing it, without waiting (ShareRowExclusiveLock: one
// writer at a time, readers go on), and checks that nobody stored since this fingerprint
// loaded it: its validity row, read with the latest snapshot, is still the one loaded. The
// rows written then describe this fingerprint alone: each either read or checked after
// scan_start, or unchanged and checked the same way. False (store nothing): another session
// is storing or has stored, and what it stored holds as well.
bool may_store(Oid relid) {
  if (!ConditionalLockRelationOid(relid, ShareRowExclusiveLock)) return false;
  Relation rel = table_open(relid, NoLock);
  TupleDesc desc = RelationGetDescr(rel);
  Snapshot latest = RegisterSnapshot(GetLatestSnapshot());
  Validity latest_row;
  uint64 system = GetSystemIdentifier();
  TableScanDesc scan = table_beginscan(rel, latest, 0, nullptr);
  HeapTuple tuple;
  while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    Datum values[6];
    bool nulls[6];
    if (desc->natts != 6) break;
    heap_deform_tuple(tuple, desc, values, nulls);
    if (nulls[0] || nulls[1] || nulls[3] || nulls[4] || nulls[5] || DatumGetObjectId(values[0]) != InvalidOid ||
        DatumGetInt32(values[1]) != 0 || static_cast<uint64>(DatumGetInt64(values[3])) != system ||
        DatumGetInt32(values[4]) != kHashVersion)
      continue;
    (void)read_validity(DatumGetByteaPP(values[5]), &latest_row);
  }
  table_endscan(scan);
  UnregisterSnapshot(latest);
  table_close(rel, NoLock);
  bool unchanged = latest_row == stored;
  if (!unchanged) UnlockRelationOid(relid, ShareRowExclusiveLock);  // (another may store later)
  return unchanged;
}

}  // namespace

std::optional<uint64_t> catalog_fingerprint() {
  std::optional<FingerprintSums> sums = fingerprint(false, InvalidCommandId);
  if (!sums) return std::nullopt;
  return sums->visible;
}

std::optional<FingerprintSums> catalog_fingerprint_since(uint32_t since) { return fingerprint(true, since); }

uint64_t fingerprint_count() { return fingerprint_runs; }

uint64_t transactions_ended() {
  return pg::call([] {
    LWLockAcquire(ProcArrayLock, LW_SHARED);
#if PG_VERSION_NUM >= 170000
    uint64 ended = TransamVariables->xactCompletionCount;
#else
    uint64 ended = ShmemVariableCache->xactCompletionCount;
#endif
    LWLockRelease(ProcArrayLock);
    return ended;
  });
}

void store_page_sums() {
  if (scanned_count == 0) return;
  static pg::Query exists{"SELECT pg_catalog.to_regclass('migrate.catalog_page_sums') IS NOT NULL"};
  static pg::Query store{
      "INSERT INTO migrate.catalog_page_sums (catalog, chunk, filenode, system_identifier, hash_version, pages) "
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (catalog, chunk) DO UPDATE SET filenode = EXCLUDED.filenode, "
      "system_identifier = EXCLUDED.system_identifier, hash_version = EXCLUDED.hash_version, pages = EXCLUDED.pages"};
  // Rows of an older file of the catalog, and of chunks that now have no settled page.
  static pg::Query prune{
      "DELETE FROM migrate.catalog_page_sums WHERE catalog OPERATOR(pg_catalog.=) $1 "
      "AND (filenode OPERATOR(pg_catalog.<>) $2 OR chunk OPERATOR(pg_catalog.<>) ALL ($3::pg_catalog.text[]::pg_catalog.int4[]))"};
  exists.run();
  bool present = pg::bool_value(0, 1);
  pg::free_result();
  if (!present) return;  // a catalog older than 0.4.0 (before its update)
  Oid relid = pg::call([] {
    Oid nsp = get_namespace_oid("migrate", true);
    return OidIsValid(nsp) ? get_relname_relid("catalog_page_sums", nsp) : InvalidOid;
  });
  if (!OidIsValid(relid) || !pg::call([&] { return may_store(relid); })) {
    scanned_count = 0;
    return;
  }
  for (int i = 0; i < scanned_count; ++i) {
    const CatalogPages& c = scanned[i];
    std::vector<int32> chunks;
    for (int first = 0; first < c.count;) {
      int32 chunk = static_cast<int32>(entry_block(c.entries + first * kPageEntry) / kChunkPages);
      int last = first;
      while (last < c.count && entry_block(c.entries + last * kPageEntry) / kChunkPages == static_cast<uint32>(chunk)) ++last;
      chunks.push_back(chunk);
      const char* from = c.entries + first * kPageEntry;
      Size length = static_cast<Size>(last - first) * kPageEntry;
      const ChunkRow* old = loaded_row(c.catalog, c.filenode, chunk);
      first = last;
      if (old && static_cast<Size>(old->count) * kPageEntry == length && memcmp(old->entries, from, length) == 0) continue;
      Datum pages = pg::call([&] {
        bytea* b = static_cast<bytea*>(palloc(VARHDRSZ + length));
        SET_VARSIZE(b, VARHDRSZ + length);
        memcpy(VARDATA(b), from, length);
        return PointerGetDatum(b);
      });
      store.run({pg::Param{OIDOID, ObjectIdGetDatum(c.catalog), false}, pg::Param{INT4OID, Int32GetDatum(chunk), false},
                 pg::Param{OIDOID, ObjectIdGetDatum(c.filenode), false},
                 pg::int8_param(static_cast<int64>(GetSystemIdentifier())), pg::Param{INT4OID, Int32GetDatum(kHashVersion), false},
                 pg::Param{BYTEAOID, pages, false}});
    }
    bool stale = false;
    for (int r = 0; r < row_count && !stale; ++r)
      if (rows[r].catalog == c.catalog)
        stale = rows[r].filenode != c.filenode || std::find(chunks.begin(), chunks.end(), rows[r].chunk) == chunks.end();
    if (stale) {
      std::vector<std::string> kept;
      for (int32 chunk : chunks) kept.push_back(std::to_string(chunk));
      prune.run({pg::Param{OIDOID, ObjectIdGetDatum(c.catalog), false}, pg::Param{OIDOID, ObjectIdGetDatum(c.filenode), false},
                 pg::text_array_param(kept)});
    }
  }
  // The validity row: the entries hold from scan_start (a fingerprint taken in recovery has
  // none, and stores nothing then anyway). Only where the WAL is read (PostgreSQL 15 on).
#if PG_VERSION_NUM >= 150000
  if (!XLogRecPtrIsInvalid(scan_start)) {
    TimeLineID tli = pg::call([] { return GetWALInsertionTimeLine(); });
    XLogRecPtr from = scan_start;
    Datum validity = pg::call([&] {
      bytea* b = static_cast<bytea*>(palloc(VARHDRSZ + kValidityLength));
      SET_VARSIZE(b, VARHDRSZ + kValidityLength);
      Oid database = MyDatabaseId;
      memcpy(VARDATA(b), &from, 8);
      memcpy(VARDATA(b) + 8, &tli, 4);
      memcpy(VARDATA(b) + 12, &database, 4);
      return PointerGetDatum(b);
    });
    store.run({pg::Param{OIDOID, ObjectIdGetDatum(InvalidOid), false}, pg::Param{INT4OID, Int32GetDatum(0), false},
               pg::Param{OIDOID, ObjectIdGetDatum(InvalidOid), false},
               pg::int8_param(static_cast<int64>(GetSystemIdentifier())), pg::Param{INT4OID, Int32GetDatum(kHashVersion), false},
               pg::Param{BYTEAOID, validity, false}});
  }
#endif
  scanned_count = 0;  // stored once
}

}  // namespace pgm::drift
