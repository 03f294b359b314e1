// Drift: the catalog fingerprint (drift_fingerprint.hpp). Read straight from the catalogs'
// heaps: a few milliseconds for a schema whose snapshot takes tens to thousands.
#include "drift_fingerprint.hpp"

#include "pg/pg.hpp"
#include "pg/guard.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/xact.h"
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
#include "common/hashfn.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/combocid.h"
#include "utils/rel.h"
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

// Plain C (no C++ object alive): sums one catalog's rows into `sums`, page by page under one
// share lock per page (as pgstattuple reads a heap), deciding each row's visibility here. With
// `preexisting`, also the rows as they were when this transaction's command `since` started:
// rows those commands deleted are dead to the snapshot but still on the page.
void scan_catalog(Oid relid, Snapshot snapshot, bool preexisting, CommandId since, FingerprintSums* sums) {
  Relation rel = table_open(relid, AccessShareLock);
  BlockNumber blocks = RelationGetNumberOfBlocks(rel);
  bool collect = relid == RelationRelationId && catalog_count < 0;
  int found = 0;
  for (BlockNumber block = 0; block < blocks; ++block) {
    CHECK_FOR_INTERRUPTS();
    Buffer buffer = ReadBufferExtended(rel, MAIN_FORKNUM, block, RBM_NORMAL, nullptr);
    LockBuffer(buffer, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buffer);
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
      if (!visible && !before) continue;
      // A table's system columns (ctid, xmin, ...) are written and removed only with its
      // pg_class row: leaving them out saves most of pg_attribute.
      if (relid == AttributeRelationId && reinterpret_cast<Form_pg_attribute>(GETSTRUCT(&tuple))->attnum < 0)
        continue;
      uint64 h = row_hash(relid, &tuple);
      if (visible) sums->visible += h;
      if (before) sums->preexisting += h;
      if (collect && visible) {
        Form_pg_class c = reinterpret_cast<Form_pg_class>(GETSTRUCT(&tuple));
        if (c->relnamespace == PG_CATALOG_NAMESPACE && c->relkind == RELKIND_RELATION &&
            fingerprinted_catalog(c->oid)) {
          if (found < kMaxCatalogs) catalogs[found] = c->oid;
          ++found;
        }
      }
    }
    UnlockReleaseBuffer(buffer);
  }
  table_close(rel, AccessShareLock);
  if (collect) catalog_count = found > kMaxCatalogs ? kMaxCatalogs + 1 : found;
}

std::optional<FingerprintSums> fingerprint(bool preexisting, CommandId since) {
  FingerprintSums sums;
  FingerprintSums* s = &sums;
  bool complete = pg::call([&] {
    Snapshot snapshot = RegisterSnapshot(GetTransactionSnapshot());
    scan_catalog(RelationRelationId, snapshot, preexisting, since, s);
    bool all = catalog_count <= kMaxCatalogs;
    for (int i = 0; all && i < catalog_count; ++i) scan_catalog(catalogs[i], snapshot, preexisting, since, s);
    UnregisterSnapshot(snapshot);
    return all;
  });
  if (!complete) return std::nullopt;
  return sums;
}

}  // namespace

std::optional<uint64_t> catalog_fingerprint() {
  std::optional<FingerprintSums> sums = fingerprint(false, InvalidCommandId);
  if (!sums) return std::nullopt;
  return sums->visible;
}

std::optional<FingerprintSums> catalog_fingerprint_since(uint32_t since) { return fingerprint(true, since); }

}  // namespace pgm::drift
