// The apply loop: migrate.apply, migrate.revert and migrate.revert_to. Each migration runs
// statement by statement in the caller's transaction, as the calling role, in a memory
// context of its own and a GUC nest level of its own, then is recorded in the catalog.
#include "apply.hpp"

#include <chrono>

#include "catalog.hpp"
#include "core/script.hpp"
#include "drift_hooks.hpp"
#include "pg/srf.hpp"
#include "safety_hooks.hpp"
#include "script_parse.hpp"
#include "settings.hpp"

namespace pgm {
namespace {

bool migration_running = false;

// Marks the backend as running a migration for the scope's life.
class MigrationRunningScope {
 public:
  MigrationRunningScope() { migration_running = true; }
  ~MigrationRunningScope() { migration_running = false; }
};

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Prefixes a statement's error with the migration and line; SQLSTATE, DETAIL and HINT stay.
void name_failure(pg::PgError& e, const ScriptLabel& label, int line) {
  ErrorData* edata = e.data();
  std::string message = fmt::format("{} failed at line {} of its {} script: {}", label.describe(),
                                    line, label.which, edata->message ? edata->message : "");
  const char* m = message.c_str();
  pg::call([&] { edata->message = pstrdup(m); });
}

// Runs every statement of a script. Settings the script changes are undone afterwards.
void run_script(const std::string& script, const ScriptLabel& label) {
  std::vector<ScriptStatement> statements = parse_script(script, label);
  for (const ScriptStatement& s : statements) check_runnable(s, script, label);

  int nest_level = pg::call([] { return NewGUCNestLevel(); });
  MigrationRunningScope running;
  for (const ScriptStatement& s : statements) {
    std::string sql = statement_text(script, s);
    const char* text = sql.c_str();
    try {
      int rc = pg::call([&] { return SPI_execute(text, false, 0); });
      if (rc < 0)
        throw Error(sqlstate::kFeatureNotSupported,
                    fmt::format("{} failed at line {} of its {} script: {} cannot run here ({})",
                                label.describe(), s.line, label.which, one_line_preview(sql, 60),
                                SPI_result_code_string(rc)));
    } catch (pg::PgError& e) {
      name_failure(e, label, s.line);
      throw;
    }
    pg::free_result();
  }
  // Undo SET, SET LOCAL, SET ROLE and set_config() of the script: they must not reach the
  // next migration or the session.
  pg::call([&] { AtEOXact_GUC(false, nest_level); });
}

struct Step {
  std::string version;
  std::string name;
  std::string checksum;
  bool has_down;
};

// Runs one migration's script and records it. All allocations of the migration live in
// `scratch`, which is reset afterwards so memory stays flat however many migrations run.
double run_step(const Step& step, bool up, MemoryContext scratch) {
  MemoryContext outer = MemoryContextSwitchTo(scratch);
  auto start = std::chrono::steady_clock::now();
  {
    std::string script = catalog::load_script(step.version, up);
    if (up) {
      lint_check_before_apply(step.version, step.name, script);
      verify_check_before_apply(step.version, step.name);
    }
    run_script(script, {step.version, step.name, up ? "up" : "down"});
  }
  double ms = elapsed_ms(start);
  std::string role = catalog::current_role_name();
  if (up)
    catalog::record_apply(step.version, step.name, step.checksum, ms, role);
  else
    catalog::record_revert(step.version, step.name, step.checksum, ms, role);
  MemoryContextSwitchTo(outer);
  pg::call([&] { MemoryContextReset(scratch); });
  return ms;
}

MemoryContext create_scratch_context() {
  return pg::call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_migrate migration", ALLOCSET_DEFAULT_SIZES);
  });
}

std::vector<Step> read_steps(uint64 rows) {
  std::vector<Step> steps;
  steps.reserve(rows);
  for (uint64 i = 0; i < rows; ++i)
    steps.push_back({pg::text_value(i, 1), pg::text_value(i, 2), pg::text_value(i, 3), pg::bool_value(i, 4)});
  pg::free_result();
  return steps;
}

std::vector<Step> pending_steps() {
  static pg::Query q{
      "SELECT m.version, m.name, m.checksum, m.down_sql IS NOT NULL FROM migrate.migrations m "
      "WHERE m.applied_seq IS NULL AND m.version_parts > "
      "coalesce((SELECT b.version_parts FROM migrate.baseline b), '{}') "
      "ORDER BY m.version_parts"};
  catalog::OwnerScope owner;
  return read_steps(q.run());
}

// Applied migrations, newest application first.
std::vector<Step> applied_steps() {
  static pg::Query q{
      "SELECT m.version, m.name, m.checksum, m.down_sql IS NOT NULL FROM migrate.migrations m "
      "WHERE m.applied_seq IS NOT NULL ORDER BY m.applied_seq DESC"};
  catalog::OwnerScope owner;
  return read_steps(q.run());
}

Datum run_steps(FunctionCallInfo fcinfo, const std::vector<Step>& steps, bool up) {
  pg::ResultSet out(fcinfo);
  MemoryContext scratch = create_scratch_context();
  for (const Step& step : steps) {
    double ms = run_step(step, up, scratch);
    out.add_row({pg::Cell::text(step.version), pg::Cell::text(step.name), pg::Cell::float8(ms)});
  }
  if (!steps.empty()) {
    catalog::bump_generation();
    drift_record_snapshot(up ? "apply" : "revert");
  }
  return out.done();
}

}  // namespace

bool in_migration() { return migration_running; }

void reset_migration_state() { migration_running = false; }

void ensure_not_in_migration(const char* function_name) {
  if (migration_running)
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                fmt::format("{}() cannot be called from inside a migration", function_name),
                {}, "Migrations are applied by migrate.apply(); a migration script must not call pg_migrate's changing functions.");
}

}  // namespace pgm

using namespace pgm;

PGM_FUNCTION(pgm_apply) {
  ensure_not_in_migration("migrate.apply");
  std::optional<Version> target;
  if (!PG_ARGISNULL(0)) {
    text* t = pg::call([&] { return PG_GETARG_TEXT_PP(0); });
    target = Version::parse(std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
  }
  pg::SpiConnection spi;
  catalog::lock_catalog();
  if (target && !catalog::find_migration(target->canonical()))
    throw Error(sqlstate::kUndefinedObject,
                fmt::format("target version {} is not a registered migration", target->canonical()),
                {}, "See migrate.status() for the registered versions.");
  std::vector<Step> steps = pending_steps();
  if (target) {
    std::vector<Step> upto;
    for (Step& s : steps)
      if (!(*target < Version::parse(s.version))) upto.push_back(std::move(s));
    steps.swap(upto);
  }
  if (!steps.empty() && !settings::out_of_order) {
    std::optional<Version> newest = catalog::newest_applied_version();
    if (newest) {
      for (const Step& s : steps) {
        if (Version::parse(s.version) < *newest)
          throw Error(sqlstate::kObjectNotInPrerequisiteState,
                      fmt::format("pending migration {} (\"{}\") is older than the newest applied "
                                  "version {}",
                                  s.version, s.name, newest->canonical()),
                      "Applying it now would run migrations out of version order. Nothing was applied.",
                      "Set pg_migrate.out_of_order = on to apply it anyway, or register it under a "
                      "version above the newest applied one.");
      }
    }
  }
  return run_steps(fcinfo, steps, true);
}

namespace {

Datum revert_steps(FunctionCallInfo fcinfo, std::vector<Step> steps) {
  std::vector<std::string> missing;
  for (const Step& s : steps)
    if (!s.has_down) missing.push_back(fmt::format("{} (\"{}\")", s.version, s.name));
  if (!missing.empty())
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                fmt::format("cannot revert migration {}: it has no down script",
                            fmt::join(missing, ", ")),
                "Nothing was reverted.",
                "Register a new migration that undoes the change instead.");
  return run_steps(fcinfo, steps, false);
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
  std::vector<Step> applied = applied_steps();
  if (static_cast<size_t>(steps) > applied.size())
    throw Error(sqlstate::kInvalidParameterValue,
                fmt::format("cannot revert {} migrations: only {} {} applied", steps, applied.size(),
                            applied.size() == 1 ? "is" : "are"),
                "Nothing was reverted.");
  applied.resize(steps);
  return revert_steps(fcinfo, std::move(applied));
}

PGM_FUNCTION(pgm_revert_to) {
  ensure_not_in_migration("migrate.revert_to");
  if (PG_ARGISNULL(0))
    throw Error(sqlstate::kInvalidParameterValue, "target version must not be NULL");
  text* t = pg::call([&] { return PG_GETARG_TEXT_PP(0); });
  Version target = Version::parse(std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
  pg::SpiConnection spi;
  catalog::lock_catalog();
  std::vector<Step> applied = applied_steps();
  std::vector<Step> above;
  for (Step& s : applied)
    if (target < Version::parse(s.version)) above.push_back(std::move(s));
  return revert_steps(fcinfo, std::move(above));
}
