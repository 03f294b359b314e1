// migrate.repair: fixes the fields of a migration that are not checksummed (its name and its
// down script), also once it is applied, recorded in history with the old and new text (like
// Flyway's repair). The up script never changes: that is what the checksum protects.
// Also migrate.library_loaded(), which pg_migrate's SQL-language functions call so that any
// pg_migrate call loads the library (and so reserves the pg_migrate. settings prefix).
#include "catalog.hpp"
#include "pg/args.hpp"
#include "run.hpp"
#include "script_parse.hpp"
#include "xact.hpp"

using namespace pgm;

// migrate.repair(version, name DEFAULT NULL, down DEFAULT NULL, remove_down DEFAULT false)
PGM_FUNCTION(pgm_repair) {
  if (PG_ARGISNULL(0)) throw Error(sqlstate::kInvalidParameterValue, "migration version must not be NULL");
  Version version = Version::parse(pg::text_arg(fcinfo, 0));
  std::optional<std::string> name = pg::optional_text_arg(fcinfo, 1);
  std::optional<std::string> down = pg::optional_text_arg(fcinfo, 2);
  bool remove_down = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
  ensure_not_in_migration("migrate.repair");
  if (name) catalog::check_name("migration " + version.canonical(), *name);
  if (down && remove_down)
    throw Error(sqlstate::kInvalidParameterValue, "pass either down or remove_down => true, not both");
  if (!name && !down && !remove_down)
    throw Error(sqlstate::kInvalidParameterValue, "nothing to repair",
                {}, "Pass name => '...', down => '...' or remove_down => true.");

  pg::SpiConnection spi;
  catalog::lock_catalog();
  std::optional<catalog::MigrationInfo> m = catalog::find_migration(version.canonical());
  if (!m)
    throw Error(sqlstate::kUndefinedObject, fmt::format("migration {} is not registered", version.canonical()),
                {}, "See migrate.status() for the registered versions.");
  // A run stopped part way goes on with the script it started (its statements are counted);
  // a revert run's down script may be repaired keeping the statements it finished (below).
  const bool revert_run = unfinished_revert_run(m->version);
  if (!revert_run || !down) ensure_no_unfinished_run(version.canonical());
  std::optional<std::string> down_mode;  // unchanged unless the down script is
  // Checked as register checks it (an empty one is a no-op), with its run mode: a
  // non-transactional or split down script (DROP INDEX CONCURRENTLY for an index its up script
  // built concurrently) is reverted by CALL migrate.run_revert(), as registered.
  if (down) down_mode = checked_registration_mode(*down, {m->version, name ? *name : m->name, "down"});
  if (remove_down) down_mode = "transaction";
  std::optional<std::string> old_down;
  if (m->has_down) old_down = catalog::load_script(m->version, false);
  // The unfinished revert run goes on with the repaired script if the statements it finished
  // are its first ones, unchanged (else the run's error says which one differs).
  std::string new_name = name ? *name : m->name;
  if (revert_run && down && old_down != down) adopt_script_for_unfinished_run(m->version, new_name, *down, false);
  std::optional<std::string> new_down = remove_down ? std::nullopt : down ? down : old_down;
  if (new_name == m->name && new_down == old_down) {
    const char* r = "unchanged";
    return pg::call([&] {
      MemoryContext old = MemoryContextSwitchTo(spi.caller_context());
      Datum d = CStringGetTextDatum(r);
      MemoryContextSwitchTo(old);
      return d;
    });
  }
  static pg::Query update{
      "UPDATE migrate.migrations SET name = $2, down_sql = $3, down_mode = COALESCE($4, down_mode) "
      "WHERE version = $1"};
  // The file the migration was registered from no longer describes it: the next sync compares
  // the folder's name and down script with the repaired ones again (its unchanged-file fast
  // path hid the file's down script for good).
  static pg::Query forget_file{
      "UPDATE migrate.migration_files SET source_checksum = '' WHERE version OPERATOR(pg_catalog.=) $1"};
  // History keeps what was there before and after: the jsonb has only the fields that changed.
  static pg::Query record{
      "INSERT INTO migrate.history (version, name, action, role, checksum, detail) "
      "SELECT $1, $2, 'repair', $3, m.checksum, pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
      "'old_name', CASE WHEN $5 THEN $4 END, 'new_name', CASE WHEN $5 THEN $2 END, "
      "'old_down', CASE WHEN $8 THEN $6 END, 'new_down', CASE WHEN $8 THEN $7 END, "
      "'down_removed', CASE WHEN $8 AND $7 IS NULL THEN true END, "
      "'down_added', CASE WHEN $8 AND $6 IS NULL THEN true END)) "
      "FROM migrate.migrations m WHERE m.version = $1"};
  std::string role = catalog::current_role_name();
  bool name_changed = new_name != m->name;
  bool down_changed = new_down != old_down;
  {
    catalog::OwnerScope owner;
    update.run({pg::text_param(m->version), pg::text_param(new_name),
                pg::nullable_text_param(new_down ? &*new_down : nullptr),
                pg::nullable_text_param(down_mode ? &*down_mode : nullptr)});
    forget_file.run({pg::text_param(m->version)});
    record.run({pg::text_param(m->version), pg::text_param(new_name), pg::text_param(role),
                pg::text_param(m->name), {BOOLOID, BoolGetDatum(name_changed), false},
                pg::nullable_text_param(old_down ? &*old_down : nullptr),
                pg::nullable_text_param(new_down ? &*new_down : nullptr),
                {BOOLOID, BoolGetDatum(down_changed), false}});
  }
  catalog::bump_generation();
  std::vector<std::string> changes;
  if (name_changed) changes.push_back(fmt::format("name \"{}\" -> \"{}\"", m->name, new_name));
  if (down_changed)
    changes.push_back(!new_down ? "down script removed" : old_down ? "down script replaced" : "down script added");
  std::string note = fmt::format("migration {} repaired: {}", m->version, fmt::join(changes, "; "));
  const char* n = note.c_str();
  pg::call([&] { ereport(NOTICE, (errmsg_internal("%s", n))); });
  const char* r = "repaired";
  return pg::call([&] {
    MemoryContext old = MemoryContextSwitchTo(spi.caller_context());
    Datum d = CStringGetTextDatum(r);
    MemoryContextSwitchTo(old);
    return d;
  });
}

// Called by pg_migrate's LANGUAGE sql functions (status, validate, current_version): calling
// it loads the library, whose _PG_init reserves the pg_migrate. prefix, so a misspelt setting
// is reported (and refused from then on) whatever pg_migrate function a session calls first.
PGM_FUNCTION(pgm_library_loaded) { return BoolGetDatum(true); }
