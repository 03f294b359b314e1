// Drift: a fingerprint of the system catalogs (README "How schema_diff() stays cheap"). Every
// change to a catalog row, trigger-visible or not, writes a new row version with a new xmin
// and ctid, so a sum of a hash of (catalog, xmin, ctid) over the visible rows changes with any
// change to the schema. schema_diff() compares the live fingerprint with the one proven for
// the newest snapshot and skips the whole-schema snapshot when they are equal.
#pragma once

#include <cstdint>

namespace pgm::drift {

struct FingerprintSums {
  uint64_t visible = 0;      // rows visible to the transaction's snapshot
  uint64_t preexisting = 0;  // of those not written by this transaction, plus rows it deleted
};

// The rows visible to the transaction snapshot (a fresh one under READ COMMITTED).
uint64_t catalog_fingerprint();

// Also the rows as they were before this transaction's own changes, when no other
// transaction changed the catalogs meanwhile (for the fingerprint taken before the
// migrations ran to be compared with).
FingerprintSums catalog_fingerprint_with_preexisting();

}  // namespace pgm::drift
