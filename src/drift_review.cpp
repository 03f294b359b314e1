// Drift: reviewing it (README "Reviewing drift"): acknowledge_drift() and the CI status
// drift_status().
#include "xact.hpp"
#include "catalog.hpp"
#include "core/drift_rules.hpp"
#include "drift_hooks.hpp"
#include "drift_internal.hpp"
#include "settings.hpp"
#include "pg/spi.hpp"
#include "pg/srf.hpp"

using namespace pgm;

namespace pgm {
namespace {

// The differences from the newest snapshot of the objects drift entries name (object type,
// identity; all of them with `all`): what the snapshot recorded next keeps as differences.
struct PendingObject {
  std::string type, identity;
  std::optional<std::string> previous;  // renamed or moved from (drift::previous_identity)
};

// Row i of a query's result: object_type, object_identity, (restore flag), detail.
PendingObject pending_object(uint64 i) {
  return {pg::text_value(i, 1), pg::text_value(i, 2),
          pg::is_null(i, 4) ? std::nullopt : drift::previous_identity(pg::text_value(i, 4))};
}

PreexistingDifferences differences_of_objects(const std::vector<PendingObject>& objects, bool all, const char* unread) {
  PreexistingDifferences differing = drift_preexisting_differences(unread);
  PreexistingDifferences keep;
  for (size_t i = 0; i < differing.keys.size(); ++i) {
    bool concerned = all;
    for (const PendingObject& o : objects)
      concerned = concerned || (o.previous ? drift::key_concerns_renamed(differing.keys[i], o.type, o.identity, *o.previous)
                                           : drift::key_concerns(differing.keys[i], o.type, o.identity));
    if (!concerned) continue;
    keep.keys.push_back(differing.keys[i]);
    keep.recorded.push_back(differing.recorded[i]);
    keep.live.push_back(differing.live[i]);
  }
  return keep;
}

}  // namespace

PreexistingDifferences drift_captured_since(std::int64_t since) {
  static pg::Query captured{
      "SELECT DISTINCT object_type, object_identity, pg_catalog.starts_with(detail, 'restore-mode DDL'), detail "
      "FROM migrate.drift WHERE acknowledgement_id IS NULL AND captured_at OPERATOR(pg_catalog.>=) $1 "
      "AND (object_identity IS NOT NULL OR pg_catalog.starts_with(detail, 'restore-mode DDL'))"};
  std::vector<PendingObject> objects;
  bool all = false;
  {
    catalog::OwnerScope owner;
    uint64 n = captured.run({{TIMESTAMPTZOID, TimestampTzGetDatum(since), false}});
    for (uint64 i = 0; i < n; ++i) {
      objects.push_back(pending_object(i));
      all = all || pg::bool_value(i, 3);
    }
    pg::free_result();
  }
  if (objects.empty()) return {};
  return differences_of_objects(objects, all,
                                "(a relation is locked): the snapshot recorded after the migration takes in the "
                                "changes other sessions made while it ran");
}

}  // namespace pgm

PGM_FUNCTION(pgm_acknowledge_drift) {
  if (PG_ARGISNULL(0))
    throw Error(sqlstate::kNullValueNotAllowed, "note must not be NULL",
                {}, "Say what was reviewed, e.g. migrate.acknowledge_drift('hotfix index, see ticket 123').");
  text* t = pg::call([&] { return PG_GETARG_TEXT_PP(0); });
  std::string note(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
  if (note.find_first_not_of(" \t\r\n") == std::string::npos)
    throw Error(sqlstate::kInvalidParameterValue, "note must not be empty",
                {}, "Say what was reviewed, e.g. migrate.acknowledge_drift('hotfix index, see ticket 123').");
  std::optional<int64> up_to;
  if (!PG_ARGISNULL(1)) {
    up_to = PG_GETARG_INT64(1);
    if (*up_to < 1)
      throw Error(sqlstate::kInvalidParameterValue,
                  fmt::format("up_to must be a drift id (at least 1), not {}", *up_to));
  }
  ensure_not_in_migration("migrate.acknowledge_drift");
  pg::SpiConnection spi;
  catalog::lock_catalog();
  static pg::Query count{
      "SELECT pg_catalog.count(*) FROM migrate.drift WHERE acknowledgement_id IS NULL "
      "AND ($1::int8 IS NULL OR id <= $1::int8)"};
  static pg::Query record{
      "WITH a AS (INSERT INTO migrate.drift_acknowledgements (role, note, up_to, drift_rows) "
      "VALUES ($1, $2, $3, $4) RETURNING id) "
      "UPDATE migrate.drift d SET acknowledgement_id = a.id FROM a "
      "WHERE d.acknowledgement_id IS NULL AND ($3::int8 IS NULL OR d.id <= $3::int8)"};
  int64 rows;
  {
    catalog::OwnerScope owner;
    pg::Param up = up_to ? pg::int8_param(*up_to) : pg::null_param(INT8OID);
    count.run({up});
    rows = pg::int8_value(0, 1);
    pg::free_result();
    record.run({pg::text_param(owner.caller_role()), pg::text_param(note), up, pg::int8_param(rows)});
  }
  // Entries left unacknowledged: what they changed stays a difference from the reference (the
  // recorded entries of their objects are kept), not only a row of the drift log.
  // A restore-mode row stands for every further restore-mode change of its session (not
  // named one by one): left unacknowledged, no difference goes into the reference.
  std::vector<PendingObject> pending;
  bool keep_all = false;
  if (up_to) {
    static pg::Query remaining{
        "SELECT DISTINCT object_type, object_identity, pg_catalog.starts_with(detail, 'restore-mode DDL'), detail "
        "FROM migrate.drift "
        "WHERE acknowledgement_id IS NULL AND (object_identity IS NOT NULL OR pg_catalog.starts_with(detail, 'restore-mode DDL'))"};
    catalog::OwnerScope owner;
    uint64 n = remaining.run();
    for (uint64 i = 0; i < n; ++i) {
      pending.push_back(pending_object(i));
      keep_all = keep_all || pg::bool_value(i, 3);
    }
    pg::free_result();
  }
  if (pending.empty()) {
    drift_record_snapshot("acknowledge");
    return Int64GetDatum(rows);
  }
  PreexistingDifferences keep = differences_of_objects(
      pending, keep_all,
      "(a relation is locked): the reference recorded by acknowledge_drift() takes in the changes of the drift "
      "entries left unacknowledged");
  drift_record_snapshot("acknowledge", keep.keys.empty() ? nullptr : &keep);
  return Int64GetDatum(rows);
}

PGM_FUNCTION(pgm_drift_status) {
  catalog::ensure_caller_may_read("drift");
  pg::ResultSet out(fcinfo);
  pg::SpiConnection spi;
  static pg::Query q{
      "SELECT pg_catalog.count(*), pg_catalog.min(captured_at), pg_catalog.max(captured_at), "
      " (SELECT pg_catalog.count(*) FROM migrate.schema_diff()), "
      " (SELECT s.taken_at FROM migrate.schema_snapshots s ORDER BY s.id DESC LIMIT 1), "
      " (SELECT s.reason FROM migrate.schema_snapshots s ORDER BY s.id DESC LIMIT 1), "
      " (SELECT pg_catalog.string_agg(e.evtname, ', ' ORDER BY e.evtname) FROM pg_catalog.pg_event_trigger e "
      "   JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass "
      "    AND d.objid = e.oid AND d.deptype = 'e' "
      "   JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid AND x.extname = 'pg_migrate' "
      "  WHERE e.evtenabled <> 'A'), "
      " (SELECT pg_catalog.count(*) FROM pg_catalog.pg_event_trigger e "
      "   JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass "
      "    AND d.objid = e.oid AND d.deptype = 'e' "
      "   JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid AND x.extname = 'pg_migrate'), "
      // The triggers that keep pg_migrate's tables append-only, if one is not ENABLE ALWAYS.
      " (SELECT pg_catalog.string_agg(c.relname || '.' || t.tgname, ', ' ORDER BY c.relname, t.tgname) "
      "   FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
      "  WHERE c.relnamespace = 'migrate'::pg_catalog.regnamespace AND NOT t.tgisinternal "
      "    AND t.tgfoid = 'migrate.protect_catalog()'::pg_catalog.regprocedure AND t.tgenabled <> 'A'), "
      // What the extension's owner (or a superuser) could change to stop capture or let rows
      // be rewritten while the checks above still pass: a protect trigger dropped or made to
      // fire on other events, a trigger or rule of someone else's on pg_migrate's tables,
      // row-level security hiding rows from these functions, a capture or protect function
      // replaced (CREATE OR REPLACE in another language), an event trigger recreated for other
      // tags or another function.
      " (SELECT pg_catalog.string_agg(x.problem, '; ' ORDER BY x.problem) FROM ("
      "   SELECT 'no ' || w.name || ' trigger on migrate.' || c.relname AS problem "
      "     FROM pg_catalog.pg_class c CROSS JOIN (VALUES ('protect', 27), ('protect_truncate', 34)) w(name, events) "
      "    WHERE c.relnamespace = 'migrate'::pg_catalog.regnamespace AND c.relkind = 'r' "
      "      AND c.relname <> 'drift_exclusions' "
      "      AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = w.name "
      "                         AND t.tgfoid = 'migrate.protect_catalog()'::pg_catalog.regprocedure "
      "                         AND (t.tgtype::pg_catalog.int4 & w.events) = w.events) "
      "   UNION ALL "
      // Each of pg_migrate's triggers only as the install scripts create it: on its table, for
      // its events, with no WHEN condition or column list of someone else's (a trigger named
      // like one of them, calling its function, elsewhere or otherwise, is not pg_migrate's).
      "   SELECT 'trigger ' || t.tgname || ' on migrate.' || c.relname || ' is not pg_migrate''s' "
      "     FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
      "    WHERE c.relnamespace = 'migrate'::pg_catalog.regnamespace AND NOT t.tgisinternal "
      "      AND NOT (t.tgnargs = 0 AND pg_catalog.cardinality(t.tgattr::pg_catalog.int2[]) = 0 AND ( "
      "           (t.tgname IN ('protect', 'protect_truncate') AND c.relname <> 'drift_exclusions' "
      "            AND t.tgfoid = 'migrate.protect_catalog()'::pg_catalog.regprocedure AND t.tgqual IS NULL "
      "            AND t.tgtype = ANY (CASE t.tgname WHEN 'protect' THEN '{27,31}'::pg_catalog.int2[] ELSE '{34}' END)) "
      "        OR (t.tgname = 'invalidate_cache' AND c.relname = 'drift_exclusions' AND t.tgtype = 60 AND t.tgqual IS NULL "
      "            AND t.tgfoid = pg_catalog.to_regprocedure('migrate.drift_exclusions_changed()')) "
      "        OR (t.tgname = 'install_snapshot_restored' AND c.relname = 'schema_snapshots' AND t.tgtype = 7 "
      "            AND t.tgfoid = pg_catalog.to_regprocedure('migrate.install_snapshot_restored()')))) "
      "   UNION ALL "
      "   SELECT 'rule ' || r.rulename || ' on migrate.' || c.relname "
      "     FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class "
      "    WHERE c.relnamespace = 'migrate'::pg_catalog.regnamespace AND r.rulename <> '_RETURN' "
      "   UNION ALL "
      "   SELECT 'row-level security on migrate.' || c.relname FROM pg_catalog.pg_class c "
      "    WHERE c.relnamespace = 'migrate'::pg_catalog.regnamespace AND (c.relrowsecurity OR c.relforcerowsecurity) "
      "   UNION ALL "
      "   SELECT 'function migrate.' || p.proname || ' replaced' FROM pg_catalog.pg_proc p "
      "    WHERE p.pronamespace = 'migrate'::pg_catalog.regnamespace "
      "      AND p.proname IN ('protect_catalog', 'drift_exclusions_changed', 'install_snapshot_restored', "
      "                        'drift_capture_start', 'drift_capture_ddl', 'drift_capture_drop', 'drift_capture_rewrite') "
      "      AND (p.prolang <> (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname = 'c') "
      "           OR p.prosrc <> 'pgm_' || p.proname OR p.probin IS DISTINCT FROM '$libdir/pg_migrate' "
      "           OR p.proconfig IS NOT NULL OR p.prosecdef) "
      "   UNION ALL "
      "   SELECT 'event trigger ' || e.evtname || ' changed' FROM pg_catalog.pg_event_trigger e "
      "     JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass "
      "      AND d.objid = e.oid AND d.deptype = 'e' "
      "     JOIN pg_catalog.pg_extension x ON x.oid = d.refobjid AND x.extname = 'pg_migrate' "
      // (the tags 30_drift.sql gives the ddl_command_start trigger)
      "    CROSS JOIN (SELECT ARRAY['ALTER DOMAIN', 'ALTER FOREIGN TABLE', 'ALTER INDEX', "
      "'ALTER MATERIALIZED VIEW', 'ALTER SEQUENCE', 'ALTER TABLE', 'ALTER TYPE', "
      "'ALTER VIEW', 'CREATE EXTENSION', 'CREATE INDEX', 'CREATE MATERIALIZED VIEW', "
      "'CREATE TABLE AS', 'DROP ACCESS METHOD', 'DROP AGGREGATE', 'DROP CAST', "
      "'DROP COLLATION', 'DROP CONVERSION', 'DROP DOMAIN', 'DROP EXTENSION', "
      "'DROP FOREIGN DATA WRAPPER', 'DROP FOREIGN TABLE', 'DROP FUNCTION', "
      "'DROP INDEX', 'DROP LANGUAGE', 'DROP MATERIALIZED VIEW', 'DROP OPERATOR', "
      "'DROP OPERATOR CLASS', 'DROP OPERATOR FAMILY', 'DROP OWNED', 'DROP POLICY', "
      "'DROP PROCEDURE', 'DROP PUBLICATION', 'DROP ROUTINE', 'DROP RULE', "
      "'DROP SCHEMA', 'DROP SEQUENCE', 'DROP SERVER', 'DROP STATISTICS', "
      "'DROP SUBSCRIPTION', 'DROP TABLE', 'DROP TEXT SEARCH CONFIGURATION', "
      "'DROP TEXT SEARCH DICTIONARY', 'DROP TEXT SEARCH PARSER', "
      "'DROP TEXT SEARCH TEMPLATE', 'DROP TRANSFORM', 'DROP TRIGGER', 'DROP TYPE', "
      "'DROP USER MAPPING', 'DROP VIEW', 'SELECT INTO']::pg_catalog.text[] AS start_tags) t "
      "    WHERE CASE WHEN e.evtname = 'migrate_drift_start' "
      "               THEN NOT coalesce(e.evttags @> t.start_tags AND e.evttags <@ t.start_tags, false) "
      "               ELSE e.evttags IS NOT NULL END "
      "       OR (e.evtname, e.evtevent, e.evtfoid::pg_catalog.regproc::pg_catalog.text) NOT IN ("
      "           ('migrate_drift_start', 'ddl_command_start', 'migrate.drift_capture_start'), "
      "           ('migrate_drift_ddl', 'ddl_command_end', 'migrate.drift_capture_ddl'), "
      "           ('migrate_drift_drop', 'sql_drop', 'migrate.drift_capture_drop'), "
      "           ('migrate_drift_rewrite', 'table_rewrite', 'migrate.drift_capture_rewrite'))"
      " ) x) "
      "FROM migrate.drift WHERE acknowledgement_id IS NULL"};
  catalog::OwnerScope owner;
  q.run();
  std::string not_always = pg::text_value(0, 7);
  int64 triggers = pg::int8_value(0, 8);
  std::string unprotected = pg::text_value(0, 9);
  std::string tampered = pg::text_value(0, 10);
  std::string capture;
  if (!settings::drift_capture)
    capture = "off (pg_migrate.drift_capture is off)";
  else if (triggers < 4)
    capture = "off (event triggers of pg_migrate are missing)";
  else if (!not_always.empty())
    capture = fmt::format("degraded (event trigger {} not ENABLE ALWAYS)", not_always);
  else if (!unprotected.empty())
    capture = fmt::format("degraded (protect trigger {} not ENABLE ALWAYS)", unprotected);
  else if (!tampered.empty())
    capture = fmt::format("degraded ({})", tampered);
  else
    capture = "on";
  std::string statement_capture =
      drift::loaded_at_backend_start() ? "exact (preloaded)" : "exact after the session's first DDL (not preloaded)";
  auto ts = [](int col) {
    bool isnull;
    Datum d = pg::datum_value(0, col, &isnull);
    return isnull ? pg::Cell::null_value() : pg::Cell{d, false};
  };
  std::string reason = pg::text_value(0, 6);
  out.add_row({pg::Cell::int8(pg::int8_value(0, 1)), ts(2), ts(3), pg::Cell::int8(pg::int8_value(0, 4)), ts(5),
               pg::is_null(0, 6) ? pg::Cell::null_value() : pg::Cell::text(reason), pg::Cell::text(capture),
               pg::Cell::text(statement_capture)});
  pg::free_result();
  return out.done();
}
