// The apply loop: migrate.apply, migrate.revert and migrate.revert_to. Each migration runs
// statement by statement in the caller's transaction, as the calling role, in a memory
// context of its own and a GUC nest level of its own, then is recorded in the catalog.
#include "apply.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <random>

#include "catalog.hpp"
#include "catalog_record.hpp"
#include "core/backoff.hpp"
#include "core/script.hpp"
#include "drift_hooks.hpp"
#include "lock_wait.hpp"
#include "pg/args.hpp"
#include "pg/srf.hpp"
#include "policy.hpp"
#include "revert_check.hpp"
#include "run.hpp"
#include "safety_hooks.hpp"
#include "script_parse.hpp"
#include "settings.hpp"
#include "xact.hpp"

namespace pgm {

// A session ended while a migration statement ran (pg_terminate_backend, a shutdown): the FATAL
// error is not caught, so no "failed at line" prefix names the migration; this context does.
// Called by PostgreSQL as the error is raised: only its own error machinery, nothing that throws.
struct RunningStatement {
  const char* migration;  // label.describe()
  const char* which;      // "up" or "down"
  int line;
};
extern "C" void name_termination(void* arg) {
  int code = geterrcode();
  if (code == ERRCODE_ADMIN_SHUTDOWN || code == ERRCODE_CRASH_SHUTDOWN) {
    const RunningStatement* r = static_cast<const RunningStatement*>(arg);
    errcontext("while %s line %d of its %s script ran", r->migration, r->line, r->which);
  }
}

// The line of the script that failed: the statement's, or within a DO block the line of the
// block's body that failed (PL/pgSQL numbers the body's lines from its opening quote's line).
int failed_line(const std::string& script, const ScriptStatement& s, pg::PgError& e) {
  if (!IsA(s.parsetree, DoStmt) || !e.data()->context) return s.line;
  std::optional<int> inner = do_block_failed_line(e.data()->context, statement_text(script, s));
  if (!inner) return s.line;
  ListCell* lc;
  foreach (lc, castNode(DoStmt, s.parsetree)->args) {
    DefElem* d = static_cast<DefElem*>(lfirst(lc));
    if (strcmp(d->defname, "as") == 0 && d->location >= 0 && static_cast<size_t>(d->location) < script.size())
      return line_at(script, static_cast<size_t>(d->location)) + *inner - 1;
  }
  return s.line;
}

void name_failure(pg::PgError& e, const ScriptLabel& label, int line) {
  ErrorData* edata = e.data();
  std::string message = fmt::format("{} failed at line {} of its {} script: {}", label.describe(),
                                    line, label.which, edata->message ? edata->message : "");
  const char* m = message.c_str();
  pg::call([&] { edata->message = MemoryContextStrdup(GetMemoryChunkContext(edata), m); });
}

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

void run_statements(const std::string& script, const std::vector<ScriptStatement>& statements,
                    const ScriptLabel& label, int lock_timeout_ms, int& failed, SessionLeftovers* leftovers) {
  // What an earlier script left after failing goes first; what this one creates is noted.
  SessionLeftovers& left = leftovers ? *leftovers : script_leftovers();
  if (!leftovers) left.clear();
  left.note(statements);
  int nest_level = pg::call([] { return NewGUCNestLevel(); });
  if (lock_timeout_ms > 0) {
    std::string value = std::to_string(lock_timeout_ms);
    const char* v = value.c_str();
    pg::call([&] {
      (void)set_config_option("lock_timeout", v, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    });
  }
  MigrationRunningScope running;
  std::string migration = label.describe();  // for name_termination, formatted once per script
  RunningStatement now{migration.c_str(), label.which, 0};
  for (size_t i = 0; i < statements.size(); ++i) {
    const ScriptStatement& s = statements[i];
    failed = static_cast<int>(i);
    std::string sql = statement_text(script, s);
    const char* text = sql.c_str();
    now.line = s.line;
    std::exception_ptr failure;
    try {
      int rc = pg::call([&] {
        // Popped by pg::call's PG_TRY when the statement fails.
        ErrorContextCallback where{error_context_stack, name_termination, &now};
        error_context_stack = &where;
        int r = execute_noting_lock_wait(text);
        error_context_stack = where.previous;
        return r;
      });
      if (rc < 0)
        throw Error(sqlstate::kFeatureNotSupported,
                    fmt::format("{} failed at line {} of its {} script: {} cannot run here ({})",
                                label.describe(), s.line, label.which, one_line_preview(sql, 60),
                                SPI_result_code_string(rc)));
    } catch (pg::PgError& e) {
      name_failure(e, label, failed_line(script, s, e));
      failure = std::current_exception();
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) {
      left.settle();  // what the script created before the failure (a rollback keeps PREPAREs)
      std::rethrow_exception(failure);
    }
    pg::free_result();
    // What the event triggers do not describe object by object: the next snapshot is whole.
    if (writes_system_catalog(s.parsetree)) drift_snapshot_must_be_whole();
#if PG_VERSION_NUM >= 170000
    if (!event_triggers) drift_snapshot_must_be_whole();
#endif
  }
  failed = -1;
  // Undo SET, SET LOCAL, SET ROLE and set_config() of the script: they must not reach the
  // next migration or the session. Its prepared statements and WITH HOLD cursors neither.
  pg::call([&] { AtEOXact_GUC(false, nest_level); });
  if (!leftovers) left.clear();
}

void run_script(const std::string& script, const ScriptLabel& label, int lock_timeout_ms) {
  std::vector<ScriptStatement> statements = parse_script(script, label);
  // plan and verify run scripts in a transaction they roll back: not what CALL migrate.run() does.
  bool split = false;
  for (const ScriptStatement& s : statements) split = split || is_split_point(s.parsetree);
  if (split || script_mode(script) == ScriptMode::kNoTransaction)
    throw Error(sqlstate::kFeatureNotSupported,
                fmt::format("{} script of {} cannot be tried in a transaction that is rolled back: it is {}",
                            label.which, label.describe(),
                            split ? "split into several transactions by COMMIT"
                                  : "non-transactional (-- pg_migrate:no-transaction)"),
                {}, "Its statements commit on their own under CALL migrate.run(); try it on a copy of the database.");
  check_statements(statements, script, label);
  int failed = -1;
  run_statements(script, statements, label, lock_timeout_ms, failed);
}

namespace {

void append_detail(pg::PgError& e, const std::string& more) {
  ErrorData* edata = e.data();
  std::string detail = edata->detail ? std::string(edata->detail) + "\n" + more : more;
  const char* d = detail.c_str();
  pg::call([&] { edata->detail = MemoryContextStrdup(GetMemoryChunkContext(edata), d); });
}

}  // namespace

bool announce_retry(const MigrationStep& step, const ScriptLabel& label, int line, int attempt, double waited,
                    double random_unit, const std::string& holders, bool lock_waited, double* delay,
                    std::string* gave_up) {
  *delay = retry_delay_ms(attempt, settings::lock_retry_delay_ms, settings::lock_retry_max_delay_ms, random_unit);
  if (attempt > settings::lock_retries || waited + *delay > settings::lock_retry_total_ms) {
    *gave_up = fmt::format("Gave up after {} attempt{} in {:.0f} ms.", attempt, attempt == 1 ? "" : "s", waited);
    return false;
  }
  std::string note = fmt::format(
      "{} {} at line {} of its {} script (attempt {} of {}){}; retrying in {:.0f} ms", label.describe(),
      lock_waited ? "hit lock_timeout" : "found a lock taken (NOWAIT)", line, label.which, attempt,
      settings::lock_retries + 1, holders.empty() ? "" : ": " + holders, *delay);
  const char* n = note.c_str();
  pg::call([&] { ereport(NOTICE, (errcode(ERRCODE_LOCK_NOT_AVAILABLE), errmsg_internal("%s", n))); });
  catalog::record_retry(step.version, step.name, label.which, attempt, line, holders, *delay);
  return true;
}

namespace {

// After a lock timeout (55P03) of `step` at the statement `parsetree` (line `line`), once the
// subtransaction it ran in is rolled back: true to give up (e gets the details to throw);
// otherwise the retry is reported (NOTICE) and recorded in history, and the backoff slept.
bool after_lock_timeout(pg::PgError& e, const MigrationStep& step, const ScriptLabel& label, Node* parsetree,
                        int line, int attempt, double waited, double random_unit) {
  LockWaitReport wait = describe_lock_wait(parsetree);
  const std::string& holders = wait.holders;
  double delay = 0;
  std::string gave_up;
  if (!announce_retry(step, label, line, attempt, waited, random_unit, holders, wait.waited, &delay, &gave_up)) {
    // Nobody to name: the holder let go as the wait ended.
    std::string named = holders.empty() ? std::string() : (wait.waited ? "Waited for " : "Busy: ") + holders + ". ";
    append_detail(e, named + gave_up);
    ErrorData* edata = e.data();
    const char* hint = wait.waited ? "Retry when the table is less busy, or raise pg_migrate.lock_timeout, "
                                     "pg_migrate.lock_retries or pg_migrate.lock_retry_total."
                                   : "The statement does not wait for locks (NOWAIT): retry when the table is less "
                                     "busy, or raise pg_migrate.lock_retries or pg_migrate.lock_retry_total.";
    if (!edata->hint) pg::call([&] { edata->hint = MemoryContextStrdup(GetMemoryChunkContext(edata), hint); });
    return true;
  }
  try {
    pg::sleep_ms(static_cast<long>(delay));
  } catch (pg::PgError& stopped) {
    // A cancel or timeout in the backoff: the migration and statement it was to retry.
    name_failure(stopped, label, line);
    append_detail(stopped, fmt::format("It came while waiting {:.0f} ms to retry the statement after a lock timeout.", delay));
    throw;
  }
  return false;
}

std::mt19937 retry_random() {
  return std::mt19937(static_cast<unsigned>(MyProcPid) ^
                      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
}

}  // namespace

// Runs statements inside a subtransaction of their own (the parts CALL migrate.run() commits one
// by one). A lock timeout rolls them back and retries them after a backoff, within
// pg_migrate.lock_retries and pg_migrate.lock_retry_total.
void run_part_with_retries(const MigrationStep& step, const std::string& script,
                           const std::vector<ScriptStatement>& statements, const ScriptLabel& label,
                           SessionLeftovers& migration_leftovers) {
  auto start = std::chrono::steady_clock::now();
  std::mt19937 random = retry_random();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  // The parts of one migration may share prepared statements (PREPARE in one, EXECUTE in a
  // later one): what a part creates goes to the migration's list; a failed attempt's is undone.
  for (int attempt = 1;; ++attempt) {
    int failed = -1;
    SessionLeftovers attempt_leftovers;
    std::exception_ptr failure;
    try {
      pg::SubTransaction sub;
      run_statements(script, statements, label, settings::lock_timeout_ms, failed, &attempt_leftovers);
      sub.commit();
      migration_leftovers.absorb(attempt_leftovers);
      return;
    } catch (...) {
      failure = std::current_exception();
    }
    // The subtransaction is rolled back: catalog and session are as before the attempt, but for
    // what the attempt prepared (cleared here, outside the handler, whatever failed).
    bool cleaned = attempt_leftovers.clear_after_failure();
    try {
      std::rethrow_exception(failure);
    } catch (pg::PgError& e) {
      if (e.sqlerrcode() != ERRCODE_LOCK_NOT_AVAILABLE || failed < 0 || !cleaned) throw;
      if (after_lock_timeout(e, step, label, statements[failed].parsetree, statements[failed].line, attempt,
                             elapsed_ms(start), unit(random)))
        throw;
    }
  }
}

void refuse_checksum_mismatch(const MigrationStep& step, const std::string& up_script) {
  std::string actual = sha256_hex(up_script);
  if (actual == step.checksum) return;
  throw Error(sqlstate::kObjectNotInPrerequisiteState,
              fmt::format("the up script of {} does not match its recorded checksum",
                          ScriptLabel{step.version, step.name, "up"}.describe()),
              fmt::format("Recorded {}, the script hashes to {}: its catalog row was not written by pg_migrate.",
                          step.checksum, actual),
              "migrate.validate() reports it. Register the migration again (it is pending) with the script that "
              "should run.");
}

namespace {

// Where a migration's statement hit lock_timeout, for the retry once the subtransaction is
// rolled back (the parse tree lives in the scratch context until the next migration).
struct LockTimeoutSite {
  size_t index = 0;  // in the batch
  Node* parsetree = nullptr;
  int line = 0;
};

// Runs one migration's script in the current subtransaction; a lock timeout is noted in `site`.
void run_step_in_batch(const MigrationStep& step, const std::string& script, bool up, size_t index,
                       LockTimeoutSite& site) {
  if (up) {
    refuse_checksum_mismatch(step, script);
    lint_check_before_apply(step.version, step.name, script);
    verify_check_before_apply(step.version, step.name);
  }
  ScriptLabel label{step.version, step.name, up ? "up" : "down"};
  std::vector<ScriptStatement> statements = parse_script(script, label);
  check_statements(statements, script, label);
  int failed = -1;
  try {
    run_statements(script, statements, label, settings::lock_timeout_ms, failed);
  } catch (pg::PgError& e) {
    if (e.sqlerrcode() == ERRCODE_LOCK_NOT_AVAILABLE && failed >= 0)
      site = {index, statements[failed].parsetree, statements[failed].line};
    throw;
  }
}

// Runs the migrations [first, last) in one subtransaction: one subtransaction id for a batch
// instead of one per migration (a backend caches 64; past that every snapshot other sessions
// take must look the rest up). A lock timeout rolls the batch back: after the backoff it runs
// again from its first migration (those before the one that waited had succeeded, and do
// again), each migration counting its own attempts against pg_migrate.lock_retries.
std::vector<catalog::StepRecord> run_batch(const std::vector<MigrationStep>& steps, size_t first, size_t last,
                                           const std::vector<std::string>& scripts, bool up, MemoryContext scratch) {
  size_t n = last - first;
  std::vector<int> attempts(n, 0);
  // Per migration: the time of its failed attempts and backoffs (what pg_migrate.lock_retry_total
  // limits, and part of its recorded duration), and when its first attempt started.
  std::vector<double> retrying_ms(n, 0.0);
  std::vector<std::optional<TimestampTz>> first_started(n);
  std::mt19937 random = retry_random();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (;;) {
    std::vector<catalog::StepRecord> done;
    LockTimeoutSite site;
    auto started = std::chrono::steady_clock::now();  // of the migration running now
    std::exception_ptr failure;
    try {
      pg::SubTransaction sub;
      for (size_t k = 0; k < n; ++k) {
        const MigrationStep& step = steps[first + k];
        if (!first_started[k]) first_started[k] = GetCurrentTimestamp();
        started = std::chrono::steady_clock::now();
        MemoryContext outer = MemoryContextSwitchTo(scratch);
        run_step_in_batch(step, scripts[k], up, k, site);
        MemoryContextSwitchTo(outer);
        pg::call([&] { MemoryContextReset(scratch); });
        done.push_back({step.version, step.name, step.checksum, retrying_ms[k] + elapsed_ms(started), *first_started[k]});
      }
      sub.commit();
      return done;
    } catch (...) {
      failure = std::current_exception();
    }
    // The subtransaction is rolled back (and the caller's memory context current again); what
    // the failed migration prepared is not, and goes before it runs again or the call ends.
    bool cleaned = script_leftovers().clear_after_failure();
    try {
      std::rethrow_exception(failure);
    } catch (pg::PgError& e) {
      if (e.sqlerrcode() != ERRCODE_LOCK_NOT_AVAILABLE || !site.parsetree || !cleaned) throw;
      size_t k = site.index;
      const MigrationStep& step = steps[first + k];
      ScriptLabel label{step.version, step.name, up ? "up" : "down"};
      retrying_ms[k] += elapsed_ms(started);
      auto backoff = std::chrono::steady_clock::now();
      if (after_lock_timeout(e, step, label, site.parsetree, site.line, ++attempts[k], retrying_ms[k], unit(random)))
        throw;
      retrying_ms[k] += elapsed_ms(backoff);
      pg::call([&] { MemoryContextReset(scratch); });
    }
  }
}

MemoryContext create_scratch_context() {
  return pg::call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_migrate migration", ALLOCSET_DEFAULT_SIZES);
  });
}

std::vector<MigrationStep> read_steps(uint64 rows) {
  std::vector<MigrationStep> steps;
  steps.reserve(rows);
  for (uint64 i = 0; i < rows; ++i)
    steps.push_back({pg::text_value(i, 1), pg::text_value(i, 2), pg::text_value(i, 3), pg::bool_value(i, 4)});
  pg::free_result();
  return steps;
}

// Applied migrations, newest application first.
std::vector<MigrationStep> applied_steps() {
  static pg::Query q{
      "SELECT m.version, m.name, m.checksum, m.down_sql IS NOT NULL FROM migrate.migrations m "
      "WHERE m.applied_seq IS NOT NULL ORDER BY m.applied_seq DESC"};
  catalog::OwnerScope owner;
  return read_steps(q.run());
}

// Migrations are loaded and recorded in batches: two catalog statements per batch instead of
// two per migration keep pg_migrate's own cost small next to the migrations' DDL. Scripts are
// loaded kBatchSize at a time; a batch of small scripts takes more of them, up to
// kMaxBatchSize or kBatchBytes of script text: the end of each batch's subtransaction walks
// the locks, relations and files the whole call created so far, so fewer batches cost less
// (a quarter of the subtransaction ends for 1,000 one-statement migrations), while the text
// held at once stays bounded.
constexpr size_t kBatchSize = 64;
constexpr size_t kMaxBatchSize = 256;
constexpr size_t kBatchBytes = 512 * 1024;

Datum run_steps(FunctionCallInfo fcinfo, const std::vector<MigrationStep>& steps, bool up) {
  pg::ResultSet out(fcinfo);
  MemoryContext scratch = create_scratch_context();
  // Parameters and results of a batch's catalog statements: reset after each batch, so
  // memory stays flat however many migrations run.
  MemoryContext batch = create_scratch_context();
  std::string role = catalog::current_role_name();
  // A migration whose snapshot is taken whole (a rename, SET SCHEMA, ...) would take drift made
  // before it into the reference: what differs before it runs, and it leaves as it was, keeps
  // its recorded entry (as CALL migrate.run() keeps it). The scripts are looked at first (a
  // text search; parsed only if a word of such a statement is in them), and only for such a
  // script is the schema compared with the newest snapshot (the proof first: no difference
  // to keep when the catalogs are as that snapshot left them).
  PreexistingDifferences before;
  bool whole = false;
  for (size_t first = 0; first < steps.size() && !whole; first += kBatchSize) {
    MemoryContext outer = MemoryContextSwitchTo(batch);
    std::vector<std::string> versions;
    for (size_t i = first; i < std::min(steps.size(), first + kBatchSize); ++i) versions.push_back(steps[i].version);
    for (const std::string& script : catalog::load_scripts(versions, up))
      whole = whole || drift_script_needs_whole_snapshot(script);
    MemoryContextSwitchTo(outer);
    pg::call([&] { MemoryContextReset(batch); });
  }
  if (whole && drift_schema_may_differ()) before = drift_preexisting_differences();
  if (!steps.empty()) drift_expect_migrations();
  // A revert is recorded after its last batch: whether a revert left objects behind is judged
  // per apply transaction, once every migration of it this call reverts has been reverted (a
  // transaction spread over two batches is half-reverted after the first).
  std::vector<catalog::StepRecord> reverted;
  for (size_t first = 0, last = 0; first < steps.size(); first = last) {
    MemoryContext outer = MemoryContextSwitchTo(batch);
    std::vector<std::string> scripts;
    for (size_t bytes = 0; last < steps.size() && last - first < kMaxBatchSize && bytes < kBatchBytes;) {
      std::vector<std::string> versions;
      for (size_t i = last; i < std::min(steps.size(), last + kBatchSize); ++i) versions.push_back(steps[i].version);
      for (std::string& script : catalog::load_scripts(versions, up)) {
        bytes += script.size();
        scripts.push_back(std::move(script));
      }
      last += versions.size();
    }
    std::vector<catalog::StepRecord> done = run_batch(steps, first, last, scripts, up, scratch);
    if (up) {
      catalog::record_steps(done, up, role);
      pg::free_result();
    }
    for (catalog::StepRecord& r : done) {
      out.add_row({pg::Cell::text(r.version), pg::Cell::text(r.name), pg::Cell::float8(r.duration_ms)});
      if (!up) reverted.push_back(std::move(r));
    }
    MemoryContextSwitchTo(outer);
    pg::call([&] { MemoryContextReset(batch); });
  }
  if (!reverted.empty()) {
    MemoryContext outer = MemoryContextSwitchTo(batch);
    std::vector<RevertedStep> checked;
    std::vector<std::string> all;
    for (const catalog::StepRecord& r : reverted) {
      checked.push_back({r.version, r.name});
      all.push_back(r.version);
    }
    std::vector<std::string> details = check_revert_leftovers(checked, all);
    for (size_t i = 0; i < reverted.size(); ++i) reverted[i].detail = details[i];
    MemoryContextSwitchTo(outer);
    pg::call([&] { MemoryContextReset(batch); });
    for (size_t first = 0; first < reverted.size(); first += kBatchSize) {
      outer = MemoryContextSwitchTo(batch);
      catalog::record_steps({reverted.begin() + first, reverted.begin() + std::min(reverted.size(), first + kBatchSize)},
                            up, role);
      pg::free_result();
      MemoryContextSwitchTo(outer);
      pg::call([&] { MemoryContextReset(batch); });
    }
  }
  if (!steps.empty()) {
    catalog::bump_generation(true);
    drift_record_snapshot(up ? "apply" : "revert", before.keys.empty() ? nullptr : &before);
  }
  return out.done();
}

}  // namespace

std::vector<MigrationStep> select_pending(const std::optional<Version>& target) {
  if (target && !catalog::find_migration(target->canonical()))
    throw Error(sqlstate::kUndefinedObject,
                fmt::format("target version {} is not a registered migration", target->canonical()),
                {}, "See migrate.status() for the registered versions.");
  // Read straight from the tables (catalog_record.cpp), filtered and ordered here with
  // pgm::Version. The query is the fallback for tables not laid out as expected; it stays
  // cheap to prepare in a new backend (no array operators to look up).
  static pg::Query q{
      "SELECT m.version, m.name, m.checksum, m.down_sql IS NOT NULL, "
      "(SELECT b.version FROM migrate.baseline b) FROM migrate.migrations m "
      "WHERE m.applied_seq IS NULL"};
  std::vector<std::pair<Version, MigrationStep>> pending;
  auto add = [&](const std::optional<Version>& baseline, std::string version, std::string name,
                 std::string checksum, bool has_down, std::optional<bool> up_transactional) {
    Version v = Version::parse(version);
    if (baseline && !(*baseline < v)) return;  // at or below the baseline: never applied
    if (target && *target < v) return;         // above the target
    pending.emplace_back(std::move(v), MigrationStep{std::move(version), std::move(name), std::move(checksum),
                                                     has_down, up_transactional});
  };
  // The newest applied version (or the baseline's), when the read shows it without a query.
  std::optional<std::optional<Version>> newest_known;
  if (std::optional<catalog::Pending> read = catalog::load_pending_directly()) {
    std::optional<Version> baseline;
    if (read->baseline) baseline = Version::parse(*read->baseline);
    if (!read->any_applied) newest_known = baseline;
    for (catalog::PendingRow& r : read->rows)
      add(baseline, std::move(r.version), std::move(r.name), std::move(r.checksum), r.has_down, r.up_transactional);
  } else {
    catalog::OwnerScope owner;
    uint64 rows = q.run();
    std::optional<Version> baseline;
    if (rows > 0 && !pg::is_null(0, 5)) baseline = Version::parse(pg::text_value(0, 5));
    for (uint64 i = 0; i < rows; ++i)
      add(baseline, pg::text_value(i, 1), pg::text_value(i, 2), pg::text_value(i, 3), pg::bool_value(i, 4),
          std::nullopt);
    pg::free_result();
  }
  std::sort(pending.begin(), pending.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<MigrationStep> steps;
  steps.reserve(pending.size());
  for (auto& p : pending) steps.push_back(std::move(p.second));
  if (!steps.empty() && !policy::effective_out_of_order(settings::out_of_order)) {
    std::optional<Version> newest = newest_known ? *newest_known : catalog::newest_applied_version();
    if (newest) {
      for (const MigrationStep& s : steps) {
        if (Version::parse(s.version) < *newest)
          throw Error(sqlstate::kObjectNotInPrerequisiteState,
                      fmt::format("pending migration {} (\"{}\") is older than the newest applied "
                                  "version {}",
                                  s.version, s.name, newest->canonical()),
                      "Applying it now would run migrations out of version order; nothing was done.",
                      "Set pg_migrate.out_of_order = on to apply it anyway, or register it under a "
                      "version above the newest applied one.");
      }
    }
  }
  return steps;
}

}  // namespace pgm

using namespace pgm;

PGM_FUNCTION(pgm_apply) {
  ensure_not_in_migration("migrate.apply");
  std::optional<Version> target;
  if (!PG_ARGISNULL(0)) target = Version::parse(pg::text_arg(fcinfo, 0));
  pg::SpiConnection spi;
  catalog::lock_catalog();
  std::vector<MigrationStep> steps = select_pending(target);
  if (steps.empty()) return run_steps(fcinfo, steps, true);
  ensure_no_unfinished_runs();
  refuse_non_transactional(steps, true);
  // What the scripts prepared through dynamic SQL (EXECUTE 'PREPARE ...' in a DO block) ends
  // with the call, as what they prepared statement by statement ends with each migration.
  std::vector<SessionObject> session_before = session_objects();
  Datum result = run_steps(fcinfo, steps, true);
  drop_created_since(session_before);
  return result;
}

namespace {

}  // namespace

namespace pgm {

void refuse_missing_down_scripts(const std::vector<MigrationStep>& steps) {
  std::vector<std::string> missing;
  for (const MigrationStep& s : steps)
    if (!s.has_down) missing.push_back(fmt::format("{} (\"{}\")", s.version, s.name));
  if (!missing.empty())
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                missing.size() == 1
                    ? fmt::format("cannot revert migration {}: it has no down script", missing[0])
                    : fmt::format("cannot revert migrations {}: they have no down script",
                                  fmt::join(missing, ", ")),
                "Nothing was reverted.",
                "Register a new migration that undoes the change instead.");
}

}  // namespace pgm

namespace {

Datum revert_steps(FunctionCallInfo fcinfo, std::vector<MigrationStep> steps) {
  if (!steps.empty()) ensure_no_unfinished_runs();
  refuse_non_transactional(steps, false);
  refuse_missing_down_scripts(steps);
  std::vector<SessionObject> session_before = session_objects();  // (as in apply)
  Datum result = run_steps(fcinfo, steps, false);
  drop_created_since(session_before);
  return result;
}

}  // namespace

PGM_FUNCTION(pgm_revert) {
  ensure_not_in_migration("migrate.revert");
  if (PG_ARGISNULL(0))
    throw Error(sqlstate::kInvalidParameterValue, "steps must not be NULL");
  int32 steps = PG_GETARG_INT32(0);
  if (steps < 1)
    throw Error(sqlstate::kInvalidParameterValue,
                fmt::format("steps must be at least 1, not {}", steps));
  pg::SpiConnection spi;
  catalog::lock_catalog();
  std::vector<MigrationStep> applied = applied_steps();
  if (static_cast<size_t>(steps) > applied.size())
    throw Error(sqlstate::kInvalidParameterValue,
                fmt::format("cannot revert {} migration{}: only {} {} applied", steps,
                            steps == 1 ? "" : "s", applied.size(), applied.size() == 1 ? "is" : "are"),
                "Nothing was reverted.");
  applied.resize(steps);
  return revert_steps(fcinfo, std::move(applied));
}

namespace {

// The baseline's version, "" if there is none.
std::string baseline_version() {
  static pg::Query q{"SELECT b.version FROM migrate.baseline b"};
  catalog::OwnerScope owner;
  uint64 rows = q.run();
  std::string v = rows ? pg::text_value(0, 1) : std::string();
  pg::free_result();
  return v;
}

}  // namespace

namespace pgm {

void ensure_revert_target(const Version& target) {
  // Like apply('99'): an unknown target is an error, not "revert everything above it". Version
  // 0 means "revert every applied migration".
  if (target.canonical() != "0" && !catalog::find_migration(target.canonical()) &&
      baseline_version() != target.canonical())
    throw Error(sqlstate::kUndefinedObject,
                fmt::format("target version {} is not a registered migration", target.canonical()),
                "Nothing was reverted.",
                "See migrate.status() for the registered versions; revert_to('0') reverts every "
                "applied migration.");
}

}  // namespace pgm

PGM_FUNCTION(pgm_revert_to) {
  ensure_not_in_migration("migrate.revert_to");
  if (PG_ARGISNULL(0))
    throw Error(sqlstate::kInvalidParameterValue, "target version must not be NULL");
  Version target = Version::parse(pg::text_arg(fcinfo, 0));
  pg::SpiConnection spi;
  catalog::lock_catalog();
  ensure_revert_target(target);
  std::vector<MigrationStep> applied = applied_steps();
  std::vector<MigrationStep> above;
  for (MigrationStep& s : applied)
    if (target < Version::parse(s.version)) above.push_back(std::move(s));
  return revert_steps(fcinfo, std::move(above));
}

namespace pgm {

// CALL migrate.run(): one transactional migration, applied or reverted and recorded exactly as
// migrate.apply() / migrate.revert() do it, in the caller's current transaction.
void run_transactional_step(const MigrationStep& step, bool up) {
  // In this transaction, as migrate.apply() runs it: the snapshot after it refreshes what it
  // touched (a whole one absorbed earlier drift into the reference).
  std::vector<std::string> scripts = catalog::load_scripts({step.version}, up);
  PreexistingDifferences before;  // (as run_steps keeps it)
  if (drift_script_needs_whole_snapshot(scripts[0]) && drift_schema_may_differ()) before = drift_preexisting_differences();
  drift_expect_migrations();
  MemoryContext scratch = create_scratch_context();
  std::string role = catalog::current_role_name();
  // A batch of one: its own subtransaction, apply's retries after a lock timeout.
  std::vector<catalog::StepRecord> done = run_batch({step}, 0, 1, scripts, up, scratch);
  if (!up) done[0].detail = check_revert_leftovers({{step.version, step.name}}, {step.version})[0];
  catalog::record_steps(done, up, role);
  catalog::bump_generation(true);
  drift_record_snapshot(up ? "apply" : "revert", before.keys.empty() ? nullptr : &before);
  pg::call([&] { MemoryContextDelete(scratch); });
}

}  // namespace pgm
