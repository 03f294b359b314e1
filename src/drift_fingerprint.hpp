// Drift: a fingerprint of the system catalogs (README "How schema_diff() stays cheap"). DDL,
// trigger-visible or not, and direct catalog edits write new row versions with a new xmin and
// ctid (the in-place updates of VACUUM, ANALYZE and CREATE INDEX touch no column a snapshot
// reads), so a sum of a hash of (catalog, xmin, ctid) over the visible rows (of pg_class rows,
// of their content without storage fields) changes with any change to the schema. schema_diff() compares the live fingerprint with the one proven for
// the newest snapshot and skips the whole-schema snapshot when they are equal.
#pragma once

#include <cstdint>
#include <optional>

namespace pgm::drift {

struct FingerprintSums {
  uint64_t visible = 0;      // rows visible to the transaction's snapshot
  uint64_t preexisting = 0;  // the rows as they were when command `since` started (below)
};

// The rows visible to the transaction snapshot (a fresh one under READ COMMITTED). nullopt
// if the catalogs cannot be fingerprinted (more of them than expected): no proof then.
std::optional<uint64_t> catalog_fingerprint();

// Also the rows as they were when this transaction's command `since` started, except for
// changes other transactions committed since, which are seen as they are now: equal to the
// fingerprint proven before only if nothing but this transaction's commands from `since` on
// changed the catalogs.
std::optional<FingerprintSums> catalog_fingerprint_since(uint32_t since);

// Writes the settled pages of the last fingerprint to migrate.catalog_page_sums (0.4.0 on)
// where they differ from what it holds, so later fingerprints read only the pages changed
// since. For functions that write (apply, revert, snapshots), inside an OwnerScope with SPI.
void store_page_sums();

// Transactions with an xid that ended in the cluster so far (PostgreSQL's counter for snapshot
// reuse). Equal in two reads: no other transaction committed a catalog change in between.
uint64_t transactions_ended();

// Fingerprints taken by this backend so far: a caller stores the page sums only of a
// fingerprint it took itself.
uint64_t fingerprint_count();

}  // namespace pgm::drift
