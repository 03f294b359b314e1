// Running one statement at top level in a dynamic background worker (CREATE INDEX
// CONCURRENTLY, DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, VACUUM, ...): SPI and procedures
// are never top level, so PreventInTransactionBlock refuses them there.
#pragma once

#include <functional>
#include <string>

#include "pg/guard.hpp"

namespace pgm {

struct TopLevelResult {
  bool ok = false;
  bool reported = false;  // false: the worker ended without a result (terminated, crashed)
  std::string sqlstate;
  std::string message;
  std::string detail;
  std::string hint;
};

// Starts a worker connected to this database as the session user acting as the current user,
// with the caller's search_path and the given lock_timeout (0: none), that runs `sql` at top
// level in a transaction of its own and reports the outcome. The caller must hold no snapshot
// (CREATE INDEX CONCURRENTLY waits for every older one): commit before calling. `started` is
// called with the worker's pid once it runs (it may commit). While waiting the caller checks
// for interrupts: a cancel or termination of the caller terminates the worker, then rethrows.
TopLevelResult run_top_level(const std::string& sql, int lock_timeout_ms,
                             const std::function<void(int)>& started);

}  // namespace pgm
