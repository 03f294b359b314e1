// A revert whose down script leaves the schema different from before the migration's apply
// (e.g. up: CREATE TABLE app.sneaky, down: SELECT 1) is reported: a WARNING naming the objects,
// history.detail of the revert row ({"leftovers": [...]}), and migrate.validate() until a later
// apply of that version or migrate.acknowledge_drift().
//
// The reference is the drift feature's snapshots (migrate.schema_snapshots): the newest one
// taken before the transaction that applied the migration, and the one that transaction took
// after its apply. Only objects that apply changed are compared, so unrelated drift is not
// blamed on the revert. An object that several applies this revert call undoes changed is judged
// once, against the state before the earliest of them (the later ones found it changed already:
// a rename's whole snapshot lists the columns an earlier migration added). When that
// transaction applied other migrations that stay applied, or
// repeatable migrations (which a revert never undoes), the objects cannot be attributed, and
// nothing is checked; likewise when the snapshots were pruned (pg_migrate.drift_snapshots_kept).
#include "revert_check.hpp"

#include <map>
#include <stdexcept>

#include "catalog.hpp"
#include "pg/spi.hpp"

namespace pgm {

std::vector<std::string> check_revert_leftovers(const std::vector<RevertedStep>& batch,
                                                const std::vector<std::string>& all_reverted) {
  // Snapshots are read through migrate.recorded_snapshot(): in a large schema the rows after
  // apply and revert are incremental (snapshot NULL). A catalog older than 0.2.0 (before its
  // ALTER EXTENSION UPDATE) has only full rows and no recorded_snapshot().
  // (0.8.0's schema_snapshots.previous_id: left out of the query for an older catalog, whose
  // ALTER EXTENSION UPDATE has not run yet.)
#define PREVIOUS_ID_CLAUSE                                                                          \
  "      AND s1.id >= coalesce((SELECT s8.previous_id FROM migrate.schema_snapshots s8 WHERE s8.id = " \
  "            (SELECT pg_catalog.min(s9.id) FROM migrate.schema_snapshots s9 "                      \
  "              WHERE s9.transaction_id = t.transaction_id AND s9.reason = 'apply')), 0) "
  static const char* const text =
      "WITH r AS (SELECT pg_catalog.unnest($1::pg_catalog.text[]) AS version), "
      "a AS (SELECT DISTINCT ON (h.version) h.version, h.transaction_id FROM migrate.history h "
      "  JOIN r USING (version) WHERE h.action = 'apply' ORDER BY h.version, h.id DESC), "
      "t AS (SELECT DISTINCT a.transaction_id FROM a WHERE NOT EXISTS ("
      "  SELECT FROM migrate.migrations m JOIN migrate.history h2 ON h2.id = m.applied_seq "
      "   WHERE h2.transaction_id = a.transaction_id "
      "     AND m.version <> ALL ($2::pg_catalog.text[])) "
      // nor a repeatable migration (never reverted): its objects are not the migration's
      "  AND NOT EXISTS (SELECT FROM migrate.history h3 WHERE h3.transaction_id = a.transaction_id "
      "     AND h3.version = 'R' AND h3.action = 'apply') "
      // nor a callback between its migrations (beforeEachMigrate...): a callback's changes before
      // the first of them or after the last (beforeMigrate, afterMigrate) are left out below
      "  AND NOT EXISTS (SELECT FROM migrate.schema_snapshots k WHERE k.transaction_id = a.transaction_id "
      "     AND k.reason = 'callback' "
      "     AND k.id > (SELECT pg_catalog.min(k2.id) FROM migrate.schema_snapshots k2 "
      "                  WHERE k2.transaction_id = a.transaction_id AND k2.reason = 'apply') "
      "     AND k.id < (SELECT pg_catalog.max(k3.id) FROM migrate.schema_snapshots k3 "
      "                  WHERE k3.transaction_id = a.transaction_id AND k3.reason = 'apply'))), "
      // The snapshots around the apply: the one before its migrations' first (a callback's in the
      // same transaction, or the last before it) and its migrations' last; the transaction's last
      // (an afterMigrate callback's), and when the one before the transaction was taken (drift
      // since then is not the migrations').
      "s AS (SELECT t.transaction_id, b.snapshot AS before_apply, b.taken_at AS before_at, "
      "  (SELECT pg_catalog.min(h4.id) FROM migrate.history h4 WHERE h4.transaction_id = t.transaction_id "
      "     AND h4.action = 'apply') AS applied_seq, "
      "  f.snapshot AS after_apply, f.taken_at AS after_at, z.snapshot AS last_in_transaction, "
      "  CASE WHEN b.reason IN ('install', 'baseline', 'acknowledge') THEN b.taken_at "
      "       ELSE coalesce(w.taken_at, b.taken_at) END AS window_at FROM t "
      "  LEFT JOIN LATERAL (SELECT s1.snapshot, s1.taken_at, s1.reason FROM migrate.schema_snapshots s1 "
      "    WHERE s1.id < (SELECT pg_catalog.min(s2.id) FROM migrate.schema_snapshots s2 "
      "                    WHERE s2.transaction_id = t.transaction_id AND s2.reason = 'apply') "
      // exactly the newest one when the first was recorded (0.8.0 on): pruned, none
      PREVIOUS_ID_CLAUSE
      // (taken before it: in a restored copy the install row is new, and not the one before)
      "      AND s1.taken_at <= (SELECT pg_catalog.min(s10.taken_at) FROM migrate.schema_snapshots s10 "
      "                           WHERE s10.transaction_id = t.transaction_id AND s10.reason = 'apply') "
      "    ORDER BY s1.id DESC LIMIT 1) b ON true "
      "  LEFT JOIN LATERAL (SELECT s3.snapshot, s3.taken_at FROM migrate.schema_snapshots s3 "
      "    WHERE s3.transaction_id = t.transaction_id AND s3.reason = 'apply' ORDER BY s3.id DESC LIMIT 1) f ON true "
      "  LEFT JOIN LATERAL (SELECT s4.snapshot FROM migrate.schema_snapshots s4 "
      "    WHERE s4.transaction_id = t.transaction_id AND s4.reason = 'callback' "
      "      AND s4.id > (SELECT pg_catalog.max(s5.id) FROM migrate.schema_snapshots s5 "
      "                    WHERE s5.transaction_id = t.transaction_id AND s5.reason = 'apply') "
      "    ORDER BY s4.id DESC LIMIT 1) z ON true "
      "  LEFT JOIN LATERAL (SELECT s6.taken_at FROM migrate.schema_snapshots s6 "
      "    WHERE s6.id < (SELECT pg_catalog.min(s7.id) FROM migrate.schema_snapshots s7 "
      "                    WHERE s7.transaction_id = t.transaction_id) "
      "    ORDER BY s6.id DESC LIMIT 1) w ON true), "
      "c AS (SELECT s.* FROM s WHERE s.before_apply IS NOT NULL AND s.after_apply IS NOT NULL), "
      "live AS MATERIALIZED (SELECT migrate.schema_snapshot() AS snap WHERE EXISTS (SELECT FROM c)), "
      // Objects the apply changed: what differs between the snapshots around it, except what
      // drift captured since the snapshot before it (DDL outside migrations, before the apply,
      // next to it in its transaction, or between it and this revert, acknowledged or not:
      // not the migration's); with a callback's snapshot before the apply in its transaction,
      // since the one before the transaction.
      // After the apply, a GRANT, REVOKE or COMMENT naming a table exempts that entry only: it
      // does not change the table's columns, constraints, triggers, policies or rules.
      "dr AS (SELECT DISTINCT c.transaction_id, d.object_identity, "
      "  (d.captured_at >= c.after_at AND d.command_tag OPERATOR(pg_catalog.=) ANY "
      "     ('{GRANT,REVOKE,COMMENT,\"SECURITY LABEL\"}'::pg_catalog.text[])) AS entry_only "
      "  FROM c JOIN migrate.drift d ON d.captured_at > c.window_at "
      "  WHERE d.object_identity IS NOT NULL), "
      "x AS (SELECT c.transaction_id, c.applied_seq, x.object, "
      "  pg_catalog.substr(x.object, pg_catalog.strpos(x.object, ' ') + 1) AS ident FROM c, "
      "  LATERAL migrate.snapshot_diff(c.before_apply, c.after_apply) x), "
      "e AS (SELECT x.transaction_id, x.object FROM x "
      // An object an earlier apply this call reverts changed too is judged for that one, against
      // the state before it (the later one's apply found it changed already)
      "  WHERE NOT EXISTS (SELECT FROM x x2 WHERE x2.object = x.object AND x2.applied_seq < x.applied_seq) "
      "    AND NOT EXISTS (SELECT FROM dr WHERE dr.transaction_id = x.transaction_id "
      "                      AND dr.object_identity = x.ident) "
      // a column, constraint, trigger, policy or rule of a table the drift log names (not the
      // objects of a schema it names: a grant on the schema does not make them drift)
      "    AND NOT (pg_catalog.split_part(x.object, ' ', 1) IN ('column', 'constraint', 'trigger', 'policy', 'rule') "
      "             AND EXISTS (SELECT FROM dr WHERE dr.transaction_id = x.transaction_id AND NOT dr.entry_only "
      "                           AND dr.object_identity = pg_catalog.regexp_replace(x.ident, '\\.[^.]*$', '')))), "
      // Of those, the ones whose description now differs from before the apply (snapshots are
      // jsonb objects keyed by object: no second full diff).
      // Computed once (MATERIALIZED: joined to the 1,000 reverted versions below, it was
      // recomputed per version), reading each object's entry before the apply once (OFFSET 0
      // keeps the planner from copying the lookup into each of its uses).
      "l AS MATERIALIZED (SELECT e.transaction_id, e.object, "
      "  CASE WHEN b.entry IS NULL THEN 'added' "
      "       WHEN live.snap -> e.object IS NULL THEN 'removed' ELSE 'changed' END AS change, "
      "  CASE WHEN b.entry IS NULL OR live.snap -> e.object IS NULL "
      "       THEN COALESCE(live.snap -> e.object, b.entry)::pg_catalog.text "
      "       ELSE pg_catalog.jsonb_build_object('before', b.entry, "
      "                                          'after', live.snap -> e.object)::pg_catalog.text END AS detail "
      "  FROM e JOIN c USING (transaction_id) "
      "  CROSS JOIN LATERAL (SELECT c.before_apply -> e.object AS entry, c.after_apply -> e.object AS after_entry, "
      "                             c.last_in_transaction -> e.object AS last_entry OFFSET 0) b, live "
      "  WHERE b.entry IS DISTINCT FROM (live.snap -> e.object) "
      // An object that existed before and that callbacks after the migrations (afterMigrate)
      // changed again: what the revert should leave cannot be told (both may have changed the
      // same grant), so it is not checked. An object the migrations added must be gone anyway.
      "    AND NOT (c.last_in_transaction IS NOT NULL AND b.entry IS NOT NULL "
      "             AND b.after_entry IS DISTINCT FROM b.last_entry)) "
      "SELECT a.version, pg_catalog.jsonb_build_object('leftovers', pg_catalog.jsonb_agg("
      "  pg_catalog.jsonb_build_object('object', l.object, 'change', l.change, 'detail', l.detail) "
      "  ORDER BY l.object))::pg_catalog.text, "
      "  pg_catalog.string_agg(l.object || ' (' || l.change || ')', ', ' ORDER BY l.object), "
      "  (SELECT pg_catalog.string_agg(h3.version, ', ' ORDER BY h3.id) FROM migrate.history h3 "
      "    WHERE h3.transaction_id = a.transaction_id AND h3.action = 'apply' AND h3.version <> a.version) "
      "FROM a JOIN l USING (transaction_id) GROUP BY a.version, a.transaction_id";
  // With a 0.2.0 catalog the live side is also taken for the changed objects only
  // (schema_snapshot_for_keys()), not as a whole snapshot: a revert pays for what it reverts.
  static const std::string incremental_text = [] {
    std::string t = text;
    // Each piece must be in the text: a query edited without this derivation fails loudly.
    auto find = [&t](const std::string& piece) {
      size_t at = t.find(piece);
      if (at == std::string::npos) throw std::logic_error("revert check query: \"" + piece + "\" not found");
      return at;
    };
    auto replace_all = [&t, &find](const std::string& from, const std::string& to) {
      for (size_t at = find(from); at != std::string::npos; at = t.find(from, at + to.size()))
        t.replace(at, from.size(), to);
    };
    // Snapshots by id: the two around the apply are compared through their recorded changes
    // (recorded_snapshot_diff_keys(), recorded_entry()), without composing either.
    replace_all("s1.snapshot, ", "s1.id AS snapshot, ");
    replace_all("s3.snapshot, ", "s3.id AS snapshot, ");
    replace_all("LATERAL migrate.snapshot_diff(c.before_apply, c.after_apply) x",
                "LATERAL migrate.recorded_snapshot_diff_keys(c.before_apply, c.after_apply) x(object)");
    replace_all("c.before_apply -> e.object", "migrate.recorded_entry(c.before_apply, e.object)");
    replace_all("c.after_apply -> e.object", "migrate.recorded_entry(c.after_apply, e.object)");
    replace_all("c.last_in_transaction -> e.object", "migrate.recorded_entry(c.last_in_transaction, e.object)");
    replace_all("SELECT s4.snapshot FROM", "SELECT s4.id AS snapshot FROM");
    const std::string whole_live = "live AS MATERIALIZED (SELECT migrate.schema_snapshot() AS snap WHERE EXISTS (SELECT FROM c)), ";
    t.erase(find(whole_live), whole_live.size());
    const std::string before_l = "l AS MATERIALIZED (SELECT e.transaction_id";
    t.insert(find(before_l),
             "live AS MATERIALIZED (SELECT migrate.schema_snapshot_for_keys(ARRAY(SELECT DISTINCT e.object FROM e)) AS snap "
             "WHERE EXISTS (SELECT FROM c)), ");
    return t;
  }();
  auto without_previous_id = [](std::string t) {
    const std::string clause = PREVIOUS_ID_CLAUSE;
    size_t at = t.find(clause);
    if (at == std::string::npos) throw std::logic_error("revert check query: previous_id clause not found");
    return t.erase(at, clause.size());
  };
#undef PREVIOUS_ID_CLAUSE
  static const std::string full_rows_text = without_previous_id(text);
  static const std::string before_0_8_text = without_previous_id(incremental_text);
  static pg::Query q_full_rows{full_rows_text.c_str()};
  static pg::Query q{incremental_text.c_str()};
  static pg::Query q_before_0_8{before_0_8_text.c_str()};
  // Which catalog: 0.2.0's incremental rows, 0.8.0's previous_id.
  static pg::Query catalog_version{
      "SELECT pg_catalog.to_regprocedure('migrate.recorded_snapshot_diff_keys(bigint,bigint)') IS NOT NULL, "
      "EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) "
      "pg_catalog.to_regclass('migrate.schema_snapshots') AND a.attname OPERATOR(pg_catalog.=) 'previous_id' "
      "AND NOT a.attisdropped)"};
  std::vector<std::string> versions;
  for (const RevertedStep& s : batch) versions.push_back(s.version);
  struct Found {
    std::string json, objects, applied_with;
  };
  std::map<std::string, Found> found;
  {
    catalog::OwnerScope owner;
    // (restored with the scope's settings) JIT compiling this query cost ~1.5 s with 100,000
    // drift rows, for ~0.1 s of execution.
    pg::call([] { (void)set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false); });
    catalog_version.run();
    bool current_catalog = pg::bool_value(0, 1);
    bool previous_ids = pg::bool_value(0, 2);
    pg::free_result();
    pg::Query& query = !current_catalog ? q_full_rows : previous_ids ? q : q_before_0_8;
    uint64 n = query.run({pg::text_array_param(versions), pg::text_array_param(all_reverted)});
    for (uint64 i = 0; i < n; ++i)
      found[pg::text_value(i, 1)] = {pg::text_value(i, 2), pg::text_value(i, 3), pg::text_value(i, 4)};
    pg::free_result();
  }
  std::vector<std::string> details;
  for (const RevertedStep& s : batch) {
    auto it = found.find(s.version);
    if (it == found.end()) {
      details.emplace_back();
      continue;
    }
    const Found& f = it->second;
    details.push_back(f.json);
    std::string message = fmt::format(
        "the revert of migration {} (\"{}\") left the schema different from before its apply{}: {}",
        s.version, s.name,
        f.applied_with.empty() ? std::string() : fmt::format(" (applied together with {})", f.applied_with),
        f.objects);
    std::string detail =
        "The down script did not undo everything the up script changed. The difference is "
        "recorded in the revert's history row (detail->'leftovers').";
    const char* m = message.c_str();
    const char* d = detail.c_str();
    pg::call([&] {
      ereport(WARNING, (errcode(ERRCODE_WARNING), errmsg_internal("%s", m), errdetail_internal("%s", d),
                        errhint("Remove the objects with a new migration, or review them and call "
                                "migrate.acknowledge_drift(); migrate.validate() reports this until then.")));
    });
  }
  return details;
}

}  // namespace pgm
