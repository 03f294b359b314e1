#include "cli/commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "cli/output.hpp"
#include "core/error.hpp"
#include "core/migration_files.hpp"
#include "core/version.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace pgm::cli {

// afterMigrateError callbacks, after a failed apply (defined with run_command below).
void run_error_callbacks(Connection& conn, const Folder& folder, const Options& opts, Outcome& o);

namespace {

// The command's transactions are READ COMMITTED whatever default_transaction_isolation says: a
// concurrent apply then waits for the pg_migrate lock and sees the winner's result, where under
// REPEATABLE READ or SERIALIZABLE (a database or role default) the losers failed with 40001.
constexpr const char* kBegin = "BEGIN ISOLATION LEVEL READ COMMITTED";

struct SyncRow {
  std::string file, version, name, kind, state, action, applied_at, applied_by, checksum, detail;
  bool pending() const { return state == "pending" && action != "removed"; }
};

// A file that changes a registered migration's name or down script (sync's `metadata` row).
std::string metadata_note(const SyncRow& r) {
  bool refused = r.detail.find("; sync refuses it") != std::string::npos;
  return "in the file: " + r.detail + (refused ? "" : "; apply records it");
}

const char* kSyncColumns =
    "file, version, name, kind, state, action, "
    "pg_catalog.to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS applied_at, "
    "applied_by, checksum, detail";
// The same columns as read back from the WITH query of sync() (ten, in SyncRow's order).
const char* kSyncOutputColumns = "file, version, name, kind, state, action, applied_at, applied_by, checksum, detail";

std::string path_of(const Options& opts, const std::string& file) {
  if (file.empty()) return file;
  return (fs::path(opts.dir) / file).string();
}

// Runs the folder's callback files of `event` (migrate.run_callback), in file name order, in the
// caller's transaction; each becomes a stderr line and an element of `ran`.
void run_callbacks(Connection& conn, const Folder& folder, const Options& opts, const char* event, std::string& lines,
                   json& ran, const CallbackFile** running = nullptr) {
  for (const CallbackFile* c : folder.callbacks_of(event)) {
    if (running) *running = c;
    Result r = conn.exec("SELECT migrate.run_callback($1, $2, $3)", {c->event, c->script, c->file});
    double d = std::stod(r.get(0, 0));
    if (!opts.quiet) lines += fmt::format("ran callback {} ({})\n", printable(path_of(opts, c->file)), ms(d));
    ran.push_back({{"event", c->event}, {"file", path_of(opts, c->file)}, {"duration_ms", d}});
  }
}

// The callbacks Flyway runs on every migrate, also when nothing is pending: beforeMigrate,
// afterVersioned and afterMigrate (beforeRepeatables only before a repeatable is applied,
// afterMigrateApplied only after something was, the each-migration ones only around one).
bool runs_on_every_apply(std::string_view event) {
  return event == "beforeMigrate" || event == "afterVersioned" || event == "afterMigrate";
}
bool has_every_apply_callbacks(const Folder& folder) {
  for (const CallbackFile& c : folder.callbacks)
    if (runs_on_every_apply(c.event)) return true;
  return false;
}

// Why this server and role cannot run callbacks ("" if they can): migrate.run_callback exists
// (0.8.0) and may be called. `hint` says what fixes it.
std::string callbacks_unavailable(Connection& conn, std::string& hint) {
  Result can = conn.exec(
      "SELECT pg_catalog.to_regprocedure('migrate.run_callback(pg_catalog.text,pg_catalog.text,pg_catalog.text)') IS NOT NULL, "
      "coalesce(pg_catalog.has_function_privilege("
      "pg_catalog.to_regprocedure('migrate.run_callback(pg_catalog.text,pg_catalog.text,pg_catalog.text)')::pg_catalog.oid, 'EXECUTE'), false)");
  if (can.get(0, 0) != "t") {
    hint = "ALTER EXTENSION pg_migrate UPDATE; (0.8.0 runs them).";
    return fmt::format("the folder has Flyway callbacks, which pg_migrate {} in database {} cannot run",
                       conn.extension_version().value_or("?"), conn.database());
  }
  if (can.get(0, 1) != "t") {
    hint = "GRANT EXECUTE ON FUNCTION migrate.run_callback(text, text, text) TO <the deploy role>;";
    return "the folder has Flyway callbacks, and this role may not run them";
  }
  return "";
}

// The dry run and verify try the migrations after beforeMigrate (which may create what they
// need), in the same transaction they roll back: under pg_migrate.plan_lock_timeout without
// retries, as plan() tries statements; a lock timeout there is a warning and the trial goes on
// without it. Returns whether it ran; `refusal` is set when apply would refuse the callbacks.
bool run_before_migrate_for_trial(Connection& conn, const Folder& folder, const Options& opts, Outcome& o,
                                  std::string& refusal) {
  if (folder.callbacks.empty()) return false;
  std::string hint;
  std::string why = callbacks_unavailable(conn, hint);
  if (!why.empty()) {
    refusal = why + "\nHINT: " + hint;
    return false;
  }
  if (folder.callbacks_of("beforeMigrate").empty()) return false;
  conn.run("SAVEPOINT pg_migrate_before_migrate");
  conn.exec("SELECT pg_catalog.set_config('pg_migrate.lock_timeout', "
            "pg_catalog.current_setting('pg_migrate.plan_lock_timeout'), true), "
            "pg_catalog.set_config('pg_migrate.lock_retries', '0', true)");
  std::string lines;
  json ran = json::array();
  try {
    run_callbacks(conn, folder, opts, "beforeMigrate", lines, ran);
  } catch (const DbError& e) {
    if (e.sqlstate != "55P03") throw;
    conn.run("ROLLBACK TO SAVEPOINT pg_migrate_before_migrate");
    o.err += lines + "warning: beforeMigrate could not take its locks within pg_migrate.plan_lock_timeout (" +
             e.message + "); the migrations are tried without it\n";
    return false;
  }
  conn.run("RESET pg_migrate.lock_timeout");
  conn.run("RESET pg_migrate.lock_retries");
  o.err += lines;
  o.json["callbacks_tried"] = ran;
  return true;
}

json files_json(const Folder& folder, const std::set<std::string>& with_body) {
  json arr = json::array();
  for (const MigrationFile& m : folder.migrations) {
    json f = {{"file", m.file}, {"name", m.name}, {"checksum", m.checksum}};
    if (m.repeatable) f["repeatable"] = true;
    else f["version"] = m.version;
    if (m.no_transaction) f["no_transaction"] = true;
    if (with_body.count(m.file)) {
      f["up"] = m.up;
      if (m.down) f["down"] = *m.down;
    }
    arr.push_back(std::move(f));
  }
  return arr;
}

// Syncs the folder: first with checksums only; files the server does not know unchanged are
// sent again with their scripts. `extra` adds columns to the first round trip's query.
struct SyncResult {
  std::vector<SyncRow> rows;
  size_t total = 0;  // rows of the sync, including those not returned
  std::vector<std::string> extra;
};

SyncResult sync(Connection& conn, const Folder& folder, bool dry_run, bool accept_edited = false,
                const std::string& extra_columns = "", bool all_rows = false) {
  // Unless all rows are needed (status), only the rows that say something come back: an
  // unchanged applied migration is counted, not sent. Rows, not one JSON aggregate: reading
  // 1,000 rows with PQgetvalue costs nothing next to parsing them as JSON. The first row
  // carries the count (and `extra`); with nothing to report it is the only row, its sync
  // columns NULL.
  auto query = [&](const std::string& extra) {
    return fmt::format(
        "WITH s AS MATERIALIZED (SELECT {}, ({}) AS keep FROM migrate.sync($1::pg_catalog.jsonb, $2::pg_catalog.bool, $3::pg_catalog.bool)), "
        "c AS (SELECT pg_catalog.count(*) AS total{} FROM s) "
        "SELECT c.*, k.* FROM c LEFT JOIN LATERAL (SELECT {} FROM s WHERE s.keep) k ON true",
        kSyncColumns, all_rows ? "true"
                 : "action OPERATOR(pg_catalog.<>) 'unchanged' OR "
                   "NOT (state OPERATOR(pg_catalog.=) ANY ('{applied,below_baseline}'::pg_catalog.text[]))",
        extra.empty() ? "" : ", " + extra, kSyncOutputColumns);
  };
  const std::string first = query(extra_columns), again = query("");
  // Ask for the server's (file, source checksum) list first and send scripts only for files
  // that are not in it unchanged: one sync call, and nothing parsed for unchanged files.
  std::set<std::string> bodies;
  {
    Result known = conn.exec(
        "SELECT pg_catalog.concat(file_name, ' ', source_checksum) FROM migrate.migration_files "
        "UNION ALL SELECT pg_catalog.concat(file_name, ' ', source_checksum) FROM migrate.repeatables");
    std::set<std::string> have;
    for (int i = 0; i < known.rows(); ++i) have.insert(known.get(i, 0));
    for (const MigrationFile& m : folder.migrations)
      if (!have.count(m.file + " " + m.checksum)) bodies.insert(m.file);
  }
  SyncResult out;
  for (int pass = 0; pass < 2; ++pass) {
    std::optional<Result> got;
    try {
      got.emplace(conn.exec(pass == 0 ? first : again,
                            {files_json(folder, bodies).dump(-1, ' ', false, json::error_handler_t::strict),
                             dry_run ? "true" : "false", accept_edited ? "true" : "false"}));
    } catch (DbError& e) {
      // A role that may only read (the monitoring grants): the server's hint names the SQL
      // argument; the command's user needs to know which commands that role can run.
      if (e.sqlstate == "42501" && e.message.find("through migrate.sync()") != std::string::npos)
        e.hint = "This role can run pg_migrate status, check and drift; apply (also with --dry-run, which registers "
                 "the files in a transaction it rolls back), revert and repair need the deploy role's grants "
                 "(README \"Privileges\").";
      throw;
    }
    Result& r = *got;
    const int sync_cols = 10;  // kSyncOutputColumns
    const int first_sync = r.cols() - sync_cols;
    out.rows.clear();
    out.total = r.rows() > 0 ? std::stoul(r.get(0, 0)) : 0;
    if (pass == 0) {
      out.extra.clear();
      for (int c = 1; c < first_sync; ++c) out.extra.push_back(r.rows() == 0 || r.null(0, c) ? "" : r.get(0, c));
    }
    for (int i = 0; i < r.rows(); ++i) {
      if (r.null(i, first_sync + 5)) continue;  // action: NULL only in the row that reports nothing
      auto col = [&](int c) { return r.get(i, first_sync + c); };  // "" for NULL
      out.rows.push_back({col(0), col(1), col(2), col(3), col(4), col(5), col(6), col(7), col(8), col(9)});
    }
    bodies.clear();
    for (const SyncRow& row : out.rows)
      if (row.action == "need_body") bodies.insert(row.file);
    if (bodies.empty()) break;
  }
  return out;
}

// CALL migrate.run() and run_revert*() commit as they go and return nothing: what they did is
// read back from history, the `action` rows written after the newest one before `run`.
template <typename Run>
Result history_written_by(Connection& conn, const char* action, Run&& run) {
  std::string since = conn.exec("SELECT coalesce(pg_catalog.max(id), 0) FROM migrate.history").get(0, 0);
  run();
  return conn.exec("SELECT version, name, coalesce(duration_ms, 0) FROM migrate.history "
                   "WHERE id OPERATOR(pg_catalog.>) $1::pg_catalog.int8 AND action OPERATOR(pg_catalog.=) $2 "
                   "AND version OPERATOR(pg_catalog.<>) 'R' ORDER BY id",
                   {since, std::string(action)});
}

// A lint finding the server reports as it registers a migration ("migration 2 (\"x\") line 3:
// rule (warning): ..."): not an error, so -q leaves it out (pg_migrate lint lists them).
bool is_lint_finding(const Notice& n) {
  static const std::regex finding_re(R"re(^migration \S+ \(".*"\) line \d+: [a-z0-9-]+ \((warning|error)\): )re");
  return n.severity == "WARNING" && std::regex_search(n.message, finding_re);
}

// `rolled_back`: the notices are of a dry run's transaction, which was rolled back ("pending
// migration 2 was unregistered" did not stay).
void add_notices(Outcome& o, Connection& conn, const Options& opts, bool rolled_back = false) {
  for (const Notice& n : conn.take_notices()) {
    if (opts.quiet && (n.severity != "WARNING" || is_lint_finding(n))) continue;
    o.err += fmt::format("{}: {}{}\n", n.severity, n.message,
                         rolled_back && n.severity == "NOTICE" ? " (in the dry run, rolled back)" : "");
    if (!n.detail.empty() && opts.verbose) o.err += fmt::format("DETAIL: {}\n", n.detail);
    if (!n.hint.empty() && opts.verbose) o.err += fmt::format("HINT: {}\n", n.hint);
  }
}

// The notices a command does not show (the server's per-migration NOTICEs, which its own lines
// say better), but never a WARNING (one raised as the library loads, say) other than a lint
// finding with -q.
void drop_notices_keeping_warnings(Connection& conn, Outcome& o, const Options& opts) {
  for (const Notice& n : conn.take_notices())
    if (n.severity == "WARNING" && !(opts.quiet && is_lint_finding(n)))
      o.err += fmt::format("{}: {}\n", n.severity, n.message);
}

std::string version_or_none(const std::string& v) { return v.empty() ? "none" : v; }

// A UTC time as the queries print it ("2026-12-02 13:32:41") in --json: ISO 8601 with its zone
// ("2026-12-02T13:32:41Z"), which JSON consumers parse as UTC rather than local time. Null if
// there is none.
json json_utc(const std::string& t) {
  if (t.empty()) return json();
  std::string iso = t;
  if (iso.size() > 10 && iso[10] == ' ') iso[10] = 'T';
  return iso + "Z";
}

// A timestamptz as row_to_json() prints it, in the session's time zone with fractions
// ("2026-12-02T19:48:35.39606+02:00"), made the form json_utc() gives ("2026-12-02T17:48:35Z"):
// one time format in --json. Anything else is returned as it is.
json json_utc_of_timestamptz(const json& v) {
  if (!v.is_string()) return v;
  const std::string t = v.get<std::string>();
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &consumed) != 6)
    return v;
  size_t i = static_cast<size_t>(consumed);
  if (i < t.size() && t[i] == '.')
    for (++i; i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]));) ++i;
  long offset = 0;  // seconds east of UTC
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    int sign = t[i] == '-' ? -1 : 1;
    int parts[3] = {0, 0, 0}, n = 0;
    for (++i; i < t.size() && n < 3; ++n) {
      if (i + 2 > t.size() || !std::isdigit(static_cast<unsigned char>(t[i])) || !std::isdigit(static_cast<unsigned char>(t[i + 1])))
        return v;
      parts[n] = (t[i] - '0') * 10 + (t[i + 1] - '0');
      i += 2;
      if (i < t.size() && t[i] == ':') ++i;
    }
    offset = sign * (parts[0] * 3600L + parts[1] * 60L + parts[2]);
  } else if (i < t.size() && t[i] == 'Z') {
    ++i;
  }
  if (i != t.size()) return v;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t utc = timegm(&tm) - offset;
  std::tm out{};
  if (!gmtime_r(&utc, &out)) return v;
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &out);
  return std::string(buf);
}

// drift_status() as row_to_json() gives it, its times in json_utc()'s form.
json drift_status_json(const std::string& row) {
  json status = json::parse(row);
  for (const char* key : {"last_snapshot_at", "oldest_unacknowledged", "newest_unacknowledged"})
    if (status.contains(key)) status[key] = json_utc_of_timestamptz(status[key]);
  return status;
}

json row_json(const SyncRow& r, const Options& opts) {
  json j = {{"file", r.file.empty() ? json() : json(path_of(opts, r.file))},
            {"version", r.version.empty() ? json() : json(r.version)},
            {"name", r.name},
            {"kind", r.kind},
            {"state", r.state},
            {"action", r.action},
            {"applied_at", json_utc(r.applied_at)},
            {"applied_by", r.applied_by.empty() ? json() : json(r.applied_by)},
            {"checksum", r.checksum.empty() ? json() : json(r.checksum)}};
  if (!r.detail.empty()) j["detail"] = r.detail;
  return j;
}

// The server lists the rows of migrations without a file after the folder's: status and check
// show every row in version order, the repeatables (no version) last, as the server has them.
std::vector<const SyncRow*> in_version_order(const std::vector<SyncRow>& rows) {
  std::vector<std::pair<std::optional<Version>, const SyncRow*>> keyed;
  for (const SyncRow& r : rows) {
    std::optional<Version> v;
    try {
      if (r.kind != "repeatable" && !r.version.empty()) v = Version::parse(r.version);
    } catch (const pgm::Error&) {
      // (a version the server wrote always parses; one that did not would sort last)
    }
    keyed.emplace_back(std::move(v), &r);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    if (!a.first || !b.first) return a.first && !b.first;
    return *a.first < *b.first;
  });
  std::vector<const SyncRow*> out;
  for (const auto& k : keyed) out.push_back(k.second);
  return out;
}

bool at_most(const std::string& version, const std::optional<Version>& target) {
  if (!target || version.empty()) return true;
  return !(*target < Version::parse(version));
}

// ---------------------------------------------------------------------------------------

Outcome cmd_status(Connection& conn, const Folder& folder, const Options& opts) {
  Outcome o;
  // Runs of CALL migrate.run() / run_revert() that stopped part way (migrate.progress, where
  // the server has it): such a migration is not simply pending, some statements committed.
  bool has_runs = conn.exec("SELECT pg_catalog.to_regclass('migrate.progress') IS NOT NULL").get(0, 0) == "t";
  SyncResult s = sync(conn, folder, true, false,
                      std::string("migrate.current_version(), (SELECT pg_catalog.row_to_json(d) FROM migrate.drift_status() d), "
                                  "(SELECT pg_catalog.json_build_object('version', b.version, 'name', b.name, 'baselined_at', "
                                  "pg_catalog.to_char(b.baselined_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
                                  "'baselined_by', b.baselined_by) FROM migrate.baseline b)") +
                          (has_runs ? ", (SELECT pg_catalog.json_object_agg(p.version, pg_catalog.json_build_object("
                                      "'phase', p.phase, 'direction', p.direction, 'statement', p.statement, "
                                      "'statements', p.statements, 'line', p.line, 'error', p.error)) FROM migrate.progress p)"
                                    : ""),
                      true);
  std::string current = s.extra.size() > 0 ? s.extra[0] : "";
  json drift = s.extra.size() > 1 && !s.extra[1].empty() ? drift_status_json(s.extra[1]) : json::object();
  json baseline = s.extra.size() > 2 && !s.extra[2].empty() ? json::parse(s.extra[2]) : json();
  json runs = s.extra.size() > 3 && !s.extra[3].empty() ? json::parse(s.extra[3]) : json::object();
  size_t pending = 0;
  std::vector<std::vector<std::string>> rows{{"VERSION", "FILE", "STATE", "APPLIED AT (UTC)", "BY", "NOTE"}};
  json list = json::array();
  for (const SyncRow* row : in_version_order(s.rows)) {
    const SyncRow& r = *row;
    if (r.pending()) ++pending;
    std::string note;
    if (r.action == "edited")
      note = r.detail.find("retired by pg_migrate repair") != std::string::npos ? "reuses a retired version"
                                                                                : "file edited after apply";
    else if (r.action == "missing_file") note = "no file";
    else if (r.action == "retired") note = "no file: retired by pg_migrate repair";
    else if (r.action == "removed") note = "file removed; apply unregisters it";
    else if (r.action == "new") note = "new file";
    else if (r.action == "changed") note = "file changed; apply replaces it";
    else if (r.action == "metadata") note = metadata_note(r);
    if (r.pending() && !r.file.empty() &&
        std::find(folder.unedited.begin(), folder.unedited.end(), r.file) != folder.unedited.end())
      note = "still the empty template of pg_migrate new: apply refuses it";
    // A new or changed file whose scripts the sync refuses (a syntax error, VACUUM in a
    // transaction): apply would fail on it, as check says.
    else if (size_t refused = r.detail.find("sync refuses it: "); refused != std::string::npos)
      note = (note.empty() ? std::string() : note + "; ") + "apply refuses it: " +
             r.detail.substr(refused + std::strlen("sync refuses it: "));
    std::string state = r.state;
    json run;
    if (r.kind == "versioned" && runs.is_object() && runs.contains(r.version)) {
      run = runs[r.version];
      // Fields may be null: a monitoring role does not see another role's index build
      // (pg_stat_progress_create_index), so its phase reads NULL.
      auto text = [&](const char* key) {
        auto it = run.find(key);
        return it != run.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      auto number = [&](const char* key) {
        auto it = run.find(key);
        return it != run.end() && it->is_number() ? it->get<long>() : 0L;
      };
      std::string phase = text("phase");
      state = phase == "failed" || phase == "interrupted" ? phase : "running";
      std::string what = text("direction") == "down" ? "revert" : "apply";
      note = fmt::format("{} {} at statement {} of {}", what, state == "running" ? "running" : "stopped",
                         number("statement"), number("statements"));
      if (run.contains("line") && run["line"].is_number()) note += fmt::format(" (line {})", run["line"].get<long>());
      if (run.contains("error") && run["error"].is_string()) note += ": " + run["error"].get<std::string>();
      if (r.action == "missing_file")  // (sync refuses to unregister it)
        note += fmt::format("; its file is gone: put it back and pg_migrate {} resumes it, or give the run up "
                            "with migrate.run_forget()", what == "apply" ? "apply" : "revert");
      else if (state != "running" && r.detail.find("sync refuses it: ") != std::string::npos)
        note += "; the file changed since, and apply refuses it: " +
                r.detail.substr(r.detail.find("sync refuses it: ") + std::strlen("sync refuses it: "));
      else if (state != "running")
        note += what == "apply" ? "; pg_migrate apply resumes it" : "; pg_migrate revert resumes it";
    }
    rows.push_back({r.kind == "repeatable" ? "R" : r.version, r.file.empty() ? "-" : r.file, state,
                    r.applied_at.empty() ? "-" : r.applied_at, r.applied_by.empty() ? "-" : r.applied_by, note});
    json j = row_json(r, opts);
    if (!run.is_null()) {
      j["state"] = state;
      j["run"] = run;
    }
    list.push_back(std::move(j));
  }
  int64_t unack = drift.value("unacknowledged", 0);
  int64_t diffs = drift.value("schema_differences", 0);
  o.out += fmt::format("database {}: version {}, {} pending\n", conn.label(), version_or_none(current),
                       count_of(pending, "migration", "migrations"));
  if (baseline.is_object())
    o.out += fmt::format("baseline: version {} (\"{}\"), {} UTC by {}\n", baseline.value("version", ""),
                         printable(baseline.value("name", "")), baseline.value("baselined_at", ""),
                         printable(baseline.value("baselined_by", "")));
  if (s.rows.empty()) o.out += "no migrations in " + opts.dir + " or in the database\n";
  else o.out += table(rows);
  o.out += fmt::format("drift: {} unacknowledged, {} schema difference{}\n", unack, diffs, diffs == 1 ? "" : "s");
  o.json = {{"database", conn.database()}, {"version", current.empty() ? json() : json(current)},
            {"pending", pending}, {"migrations", list}, {"drift", drift}, {"baseline", baseline}};
  if (baseline.is_object() && baseline.contains("baselined_at") && baseline["baselined_at"].is_string())
    o.json["baseline"]["baselined_at"] = json_utc(baseline["baselined_at"].get<std::string>());
  o.result = fmt::format("version {}, {} pending", version_or_none(current), pending);
  return o;
}

// Where in the folder a server error happened ("dir/V3__x.sql:4", empty when it names no file),
// and its message without the "migration 3 (...) failed at line 4 of its up script: " prefix.
struct ErrorPlace {
  std::string location, message;
};

// "file" and "line" of a location ("dir/V3__x.sql:4") in a JSON object.
void put_location(json& j, const std::string& location) {
  if (location.empty()) return;
  size_t colon = location.rfind(':');
  bool has_line = colon != std::string::npos && colon + 1 < location.size() &&
                  std::isdigit(static_cast<unsigned char>(location[colon + 1]));
  j["file"] = has_line ? location.substr(0, colon) : location;
  if (has_line) j["line"] = std::stoi(location.substr(colon + 1));
}

// pg_migrate's refusal because another session runs migrations (55006, which PostgreSQL also
// raises for a migration's own failure, e.g. pending trigger events): by its message.
bool is_busy_refusal(const std::string& sqlstate, const std::string& message) {
  return sqlstate == "55006" && message.rfind("pg_migrate is busy", 0) == 0;
}

ErrorPlace locate_error(const DbError& e, const Folder* folder, const Options& opts) {
  // The server names a migration and a line: "migration 3 ("add email") failed at line 4 of its
  // up script: ...", "up script of migration 3 ("add email") has a syntax error at line 2: ...".
  static const std::regex migration_re(R"re(migration (\S+) \("((?:[^"\\]|\\.)*)"\))re");
  static const std::regex line_re(R"(line (\d+))");
  static const std::regex prefix_re(R"re(^migration \S+ \("(?:[^"\\]|\\.)*"\) failed at line \d+ of its \w+ script: )re");
  std::string location;
  std::string message = e.message;
  std::smatch m, l;
  // A session ended while a migration ran: the context says which ("while migration 3 ("add
  // email") line 4 of its up script ran").
  static const std::regex running_re(R"re(while migration (\S+) \("((?:[^"\\]|\\.)*)"\) line (\d+) of its (\w+) script ran)re");
  if (folder && std::regex_search(e.context, m, running_re)) {
    const MigrationFile* f = m[1] == "R" ? folder->repeatable(m[2]) : folder->by_version(m[1]);
    if (f) {
      std::string file = m[4] == "down" && !f->down_file.empty() ? f->down_file : f->file;
      return {path_of(opts, file) + ":" + m[3].str(), message};
    }
  }
  static const std::regex callback_running_re(R"re(while callback (\S+) line (\d+) of its \w+ script ran)re");
  if (folder && std::regex_search(e.context, m, callback_running_re))
    for (const CallbackFile& c : folder->callbacks)
      if (c.file == m[1]) return {path_of(opts, c.file) + ":" + m[2].str(), message};
  // (A busy refusal, 55006, names the migration another session is running: not one of this
  // call's, nor a place to look.)
  if (folder && !is_busy_refusal(e.sqlstate, e.message) && std::regex_search(e.message, m, migration_re)) {
    std::string version = m[1];
    const MigrationFile* f = version == "R" ? folder->repeatable(m[2]) : folder->by_version(version);
    if (f) {
      bool down = e.message.find("down script") != std::string::npos;
      std::string file = down && !f->down_file.empty() ? f->down_file : f->file;
      location = path_of(opts, file);
      if (std::regex_search(e.message, l, line_re)) location += ":" + l[1].str();
      message = std::regex_replace(e.message, prefix_re, "");
    }
  }
  // An applied file edited since (sync's refusal): "migration file V2__b.sql was edited after
  // version 2 was applied" names the file as sent, without the folder.
  // Or one that reuses a retired version: "migration file V1__b.sql reuses version 1, which
  // was applied and retired".
  static const std::regex edited_re(
      R"re(^migration file .+ (was edited after version (\S+) was applied|reuses version (\S+), which was applied and retired)$)re");
  if (folder && location.empty() && std::regex_search(e.message, m, edited_re))
    if (const MigrationFile* f = folder->by_version(m[2].matched ? m[2] : m[3])) {
      location = path_of(opts, f->file);
      message = m[2].matched ? fmt::format("edited after version {} was applied", m[2].str()) : m[1].str();
    }
  // A run stopped part way that the changed file cannot continue: "migration 5 has an
  // unfinished apply run (1 of 2 statements done)" names the file the change is in.
  static const std::regex unfinished_re(R"re(^migration (\S+) has an unfinished (apply|revert) run)re");
  if (folder && location.empty() && std::regex_search(e.message, m, unfinished_re))
    if (const MigrationFile* f = folder->by_version(m[1])) location = path_of(opts, m[2] == "revert" && !f->down_file.empty() ? f->down_file : f->file);
  // A callback: "callback afterMigrate.sql failed at line 2 of its SQL script: ...", "SQL script
  // of callback afterMigrate.sql has a syntax error at line 2: ...".
  if (folder && location.empty()) {
    const CallbackFile* named = nullptr;  // the longest file name the message names
    for (const CallbackFile& c : folder->callbacks)
      if (e.message.find("callback " + c.file) != std::string::npos && (!named || c.file.size() > named->file.size()))
        named = &c;
    if (named) {
      location = path_of(opts, named->file);
      std::string after = e.message.substr(e.message.find("callback " + named->file) + 9 + named->file.size());
      if (std::regex_search(after, l, line_re)) location += ":" + l[1].str();
      std::string prefix = "callback " + named->file + " failed at line ";
      if (e.message.rfind(prefix, 0) == 0) {
        size_t colon = e.message.find(" of its SQL script: ");
        if (colon != std::string::npos) message = e.message.substr(colon + 20);
      }
    }
  }
  return {location, message};
}

// The dry run's trial of the pending repeatables, as apply runs them: after the versioned
// migrations, in the transaction the dry run rolls back. plan() rolled its own trial back, so
// the versioned ones are applied once more first, under pg_migrate.plan_lock_timeout and without
// retries. Rows for the plan table; `why_not` says why they were not tried.
struct RepeatablesTrial {
  std::vector<std::vector<std::string>> rows;
  json entries = json::array();
  bool failed = false;
  std::string why_not;
};

RepeatablesTrial try_repeatables(Connection& conn, const Folder& folder, const Options& opts,
                                 const std::optional<std::string>& target, size_t pending_versioned) {
  RepeatablesTrial t;
  conn.run("SAVEPOINT pg_migrate_repeatables");
  conn.exec("SELECT pg_catalog.set_config('pg_migrate.lock_timeout', "
            "pg_catalog.current_setting('pg_migrate.plan_lock_timeout'), true), "
            "pg_catalog.set_config('pg_migrate.lock_retries', '0', true)");
  try {
    if (pending_versioned > 0) conn.exec("SELECT pg_catalog.count(*) FROM migrate.apply($1)", {target});
  } catch (const DbError& e) {
    if (e.is_interrupt()) throw;
    conn.run("ROLLBACK TO SAVEPOINT pg_migrate_repeatables");
    t.why_not = "the versioned migrations could not be applied before them (" + e.message + ")";
    return t;
  }
  try {
    Result r = conn.exec("SELECT name, file, duration_ms FROM migrate.apply_repeatables()");
    for (int i = 0; i < r.rows(); ++i) {
      double d = std::stod(r.get(i, 2));
      t.rows.push_back({"R", path_of(opts, r.get(i, 1)), "ok", fmt::format("{:.1f}", d), "-", "-", "-"});
      t.entries.push_back({{"repeatable", r.get(i, 0)}, {"file", path_of(opts, r.get(i, 1))}, {"status", "ok"}, {"duration_ms", d}});
    }
  } catch (const DbError& e) {
    if (e.is_interrupt()) throw;
    ErrorPlace place = locate_error(e, &folder, opts);
    t.failed = true;
    t.rows.push_back({"R", place.location.empty() ? "-" : place.location, "failed", "-", "-", "-", "-", place.message});
    json entry = {{"status", "failed"}, {"error", place.message}, {"sqlstate", e.sqlstate}};
    put_location(entry, place.location);
    t.entries.push_back(entry);
  }
  conn.run("ROLLBACK TO SAVEPOINT pg_migrate_repeatables");
  return t;
}

// The folder is the one recorded in sync, by what was read ahead (prefetch_state()).
bool in_sync_early(const Connection& conn, const Folder& folder) {
  return conn.early_sync_digest && !conn.early_sync_digest->empty() && *conn.early_sync_digest == folder.digest;
}

// A pending migration whose file `pg_migrate new` wrote and nobody filled in would, applied,
// be an empty migration for good (its SQL, written later, is an edit of an applied file):
// apply, check and verify refuse it (exit 4), naming the files; kept empty on purpose, a
// comment says so. One already applied is left alone. True when `o` holds the refusal.
// The database's baseline version, if it has one (migrations at or below it never run).
std::optional<Version> baseline_version(Connection& conn) {
  Result baseline = conn.exec("SELECT version FROM migrate.baseline");
  if (baseline.rows() == 0) return std::nullopt;
  return Version::parse(baseline.get(0, 0));
}

bool refuse_unedited(Connection& conn, const Folder& folder, const Options& opts, Outcome& o) {
  if (folder.unedited.empty()) return false;
  std::vector<const MigrationFile*> unedited;
  std::vector<std::string> versions, paths;
  for (const MigrationFile& m : folder.migrations)
    if (!m.repeatable && std::find(folder.unedited.begin(), folder.unedited.end(), m.file) != folder.unedited.end()) {
      unedited.push_back(&m);
      versions.push_back(m.version);
    }
  if (versions.empty()) return false;
  Result applied = conn.exec(
      "SELECT version FROM migrate.migrations WHERE applied_seq IS NOT NULL "
      "AND version OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT pg_catalog.jsonb_array_elements_text($1::pg_catalog.jsonb)))",
      {json(versions).dump()});
  std::set<std::string> done;
  for (int i = 0; i < applied.rows(); ++i) done.insert(applied.get(i, 0));
  // At or below the baseline, a migration is never applied.
  std::optional<Version> below = baseline_version(conn);
  for (const MigrationFile* m : unedited)
    if (!done.count(m->version) && !(below && !(*below < Version::parse(m->version))))
      paths.push_back(path_of(opts, m->file));
  if (paths.empty()) return false;
  std::string message = fmt::format(
      "{} {} still the empty template pg_migrate new wrote: write {} up section (applied empty, a migration cannot "
      "take SQL later), or delete {}; a comment in it keeps it empty on purpose",
      fmt::join(paths, ", "), paths.size() == 1 ? "is" : "are", paths.size() == 1 ? "its" : "their",
      paths.size() == 1 ? "it" : "them");
  o.code = exit_code::kFolder;
  o.err = "error: " + message + "\n";
  o.result = "FAILED: an unedited migration file";
  o.json = {{"database", conn.database()}, {"error", {{"message", message}}}};
  return true;
}

Outcome cmd_apply(Connection& conn, const Folder& folder, const Options& opts) {
  Outcome o;
  if (refuse_unedited(conn, folder, opts, o)) return o;
  std::optional<Version> target;
  if (!opts.to.empty()) target = Version::parse(opts.to);
  // An unknown target is an error, as for migrate.apply(): not "nothing to apply".
  if (target && !folder.by_version(target->canonical()) &&
      conn.exec("SELECT EXISTS (SELECT FROM migrate.migrations WHERE version OPERATOR(pg_catalog.=) $1)",
                {target->canonical()})
              .get(0, 0) != "t") {
    std::string message = fmt::format("--to {}: no migration file in {} has version {}, and the database has no "
                                      "such migration",
                                      opts.to, opts.dir, target->canonical());
    o.code = exit_code::kUsage;
    o.err = "error: " + message + "\n";
    o.result = fmt::format("FAILED: unknown version {}", target->canonical());
    o.json = {{"database", conn.database()}, {"error", {{"message", message}}}};
    return o;
  }
  auto start = std::chrono::steady_clock::now();  // (the apply's own time, which its summary line reports)
  auto phase = [&](const char* what) {
    if (opts.verbose >= 2) o.err += fmt::format("[{:.1f} ms] {}\n", ms_since_start(), what);
  };
  // The folder's digest was recorded when it was last found in sync, and the catalog has not
  // changed since: nothing to do, and no file needs to be sent. (Only beforeMigrate,
  // afterVersioned and afterMigrate run then, as Flyway runs them on every migrate.)
  bool in_sync = false;
  if (!opts.dry_run) {
    std::string current;
    bool callbacks = has_every_apply_callbacks(folder);
    // (Callbacks run on the catalog as it is when their transaction starts: asked then.)
    if (in_sync_early(conn, folder) && !callbacks) {
      in_sync = true;
      current = conn.early_current_version;
    } else {
      Result fast = conn.exec("SELECT migrate.sync_digest($1), migrate.current_version()", {folder.digest});
      in_sync = fast.get(0, 0) == "t";
      current = fast.null(0, 1) ? "" : fast.get(0, 1);
    }
    if (in_sync && !callbacks) {
      o.out += fmt::format("{}: nothing to apply, at version {}\n", conn.label(), version_or_none(current));
      o.json = {{"database", conn.database()}, {"applied", json::array()}, {"repeatables", json::array()},
                {"version", current.empty() ? json() : json(current)}};
      o.result = fmt::format("applied 0, at version {}", version_or_none(current));
      return o;
    }
  }
  conn.run(kBegin);
  SyncResult s = in_sync ? SyncResult{} : sync(conn, folder, false);
  phase("synced");
  add_notices(o, conn, opts, opts.dry_run);  // (a dry run syncs in the transaction it rolls back)
  size_t pending = 0, pending_rep = 0;
  for (const SyncRow& r : s.rows)
    if (r.action == "missing_file" && !opts.quiet)
      o.err += fmt::format("warning: {} {} is in the database but has no file ({})\n",
                           r.kind == "repeatable" ? "repeatable" : "migration",
                           printable(r.kind == "repeatable" ? r.name : r.version), printable(r.detail));
  for (const SyncRow& r : s.rows) {
    if (!r.pending()) continue;
    if (r.kind == "repeatable") ++pending_rep;
    else if (at_most(r.version, target)) ++pending;
  }
  // A repeatable whose changed text was synced but never applied, and whose file is gone (or
  // was retired before):
  // migrate.apply_repeatables() would run that text. Nothing is applied until the file is back.
  for (const SyncRow& r : s.rows)
    if (!opts.dry_run && r.kind == "repeatable" && (r.action == "missing_file" || r.action == "retired") &&
        r.state == "pending") {
      conn.run("ROLLBACK");
      std::string message = fmt::format("repeatable migration {} is pending but its file {} is gone", printable(r.name),
                                        r.file.empty() ? "-" : r.file);
      o.code = exit_code::kFailed;
      o.err += "error: " + message +
               "\nHINT: apply would run the text synced from the file before it was removed. Put the file back "
               "(as it should be applied, or as it was applied), then apply. Nothing was applied.\n";
      o.result = "FAILED: " + message;
      o.json = {{"database", conn.database()}, {"error", {{"message", message}}}};
      run_error_callbacks(conn, folder, opts, o);
      return o;
    }
  // Flyway's callbacks (README "Callbacks"): beforeMigrate, afterVersioned and afterMigrate on
  // every apply; the others when there is something to apply.
  bool work = pending > 0 || pending_rep > 0;
  auto runs = [&](const char* event) {
    if (runs_on_every_apply(event)) return true;
    std::string_view e(event);
    if (e == "beforeRepeatables") return pending_rep > 0;
    if (e == "beforeEachMigrate" || e == "afterEachMigrate") return pending > 0 || pending_rep > 0;
    return work && e != "afterMigrateError";
  };
  bool any_callback_runs = false;
  for (const CallbackFile& c : folder.callbacks) any_callback_runs = any_callback_runs || runs(c.event.c_str());
  bool each_callbacks = !folder.callbacks_of("beforeEachMigrate").empty() || !folder.callbacks_of("afterEachMigrate").empty();
  // A pending non-transactional migration: the registration is committed and CALL migrate.run()
  // applies everything pending (each statement of such a migration committed on its own), as
  // the non-transactional issue specifies; the rest continues in a new transaction.
  bool nontx_pending = false;
  bool can_confirm = false;  // migrate.sync_confirm() (0.5.0 on), and the role may call it
  for (const SyncRow& r : s.rows)
    if (r.pending() && r.kind == "versioned" && at_most(r.version, target))
      if (const MigrationFile* m = folder.by_version(r.version); m && m->no_transaction) nontx_pending = true;
  if (pending > 0) {
    // Where the server runs non-transactional and COMMIT-split migrations (migrate.run), it
    // records how each pending script runs (up_mode, a column older catalogs do not have: asked
    // only where migrate.run exists; to_jsonb() of every pending row cost ~5 ms per 1,000).
    Result modes = conn.exec(
        "SELECT pg_catalog.to_regprocedure('migrate.run(pg_catalog.text)') IS NOT NULL, "
        "coalesce(pg_catalog.has_function_privilege(pg_catalog.to_regprocedure('migrate.sync_confirm(pg_catalog.text)')::pg_catalog.oid, "
        "'EXECUTE'), false)");
    bool has_run = modes.get(0, 0) == "t";
    can_confirm = modes.get(0, 1) == "t";
    if (has_run && !nontx_pending) {
      // (registered without a file, or with the directive from another client: up to --to)
      Result nt = conn.exec("SELECT m.version FROM migrate.migrations m WHERE m.applied_seq IS NULL "
                            "AND m.up_mode OPERATOR(pg_catalog.<>) 'transaction'");
      for (int i = 0; i < nt.rows() && !nontx_pending; ++i) nontx_pending = at_most(nt.get(i, 0), target);
    }
    nontx_pending = has_run && nontx_pending;
  }
  // What apply refuses after the sync (the dry run says it would): a revert run stopped part
  // way leaves the database between versions, and apply does not build on it (nor report
  // "nothing to apply" and run the callbacks), as migrate.apply() refuses to; per-migration
  // callbacks cannot run around what CALL migrate.run() commits statement by statement.
  struct Refusal {
    std::string message, hint;
    bool error_callbacks = false;
    std::string location;  // the file of the migration it names, if any
  };
  std::optional<Refusal> refusal_after_sync;
  if (conn.exec("SELECT pg_catalog.to_regclass('migrate.runs') IS NOT NULL").get(0, 0) == "t") {
    Result down = conn.exec("SELECT r.version, m.name FROM migrate.runs r JOIN migrate.migrations m USING (version) "
                            "WHERE r.direction OPERATOR(pg_catalog.=) 'down' ORDER BY r.version LIMIT 1");
    if (down.rows() > 0) {
      const MigrationFile* f = folder.by_version(down.get(0, 0));
      refusal_after_sync = Refusal{
          fmt::format("migration {} (\"{}\") is partially reverted", down.get(0, 0), printable(down.get(0, 1))),
          "Finish it with pg_migrate revert, or see migrate.progress and migrate.run_forget().", false,
          f ? path_of(opts, f->down_file.empty() ? f->file : f->down_file) : std::string()};
    }
  }
  if (!refusal_after_sync && pending > 0 && nontx_pending && each_callbacks)
    refusal_after_sync = Refusal{"beforeEachMigrate and afterEachMigrate callbacks cannot run around the migrations "
                                 "CALL migrate.run() applies (a pending migration is non-transactional or split by COMMIT)",
                                 "Apply the non-transactional migration without those callback files, or with --to up "
                                 "to the migration before it.",
                                 true};
  json callbacks = json::array();
  if (opts.dry_run) {
    json plan = json::array();
    std::vector<std::vector<std::string>> rows{{"VERSION", "LINE", "STATUS", "MS", "LOCKS", "REWRITES", "FINDINGS"}};
    std::string refusal;
    bool before_ran = any_callback_runs && run_before_migrate_for_trial(conn, folder, opts, o, refusal);
    if (refusal_after_sync && refusal.empty()) refusal = refusal_after_sync->message + "\nHINT: " + refusal_after_sync->hint;
    if (pending > 0) {
      Result r = conn.exec(
          "SELECT pg_catalog.json_agg(p) FROM (SELECT version, name, line, statement, status, locks, rewrites, "
          "duration_ms, findings, error FROM migrate.plan($1)) p",
          {target ? std::optional<std::string>(target->canonical()) : std::nullopt});
      plan = r.null(0, 0) ? json::array() : json::parse(r.get(0, 0));
    }
    bool versioned_failed = false;
    for (const json& p : plan) versioned_failed = versioned_failed || p.value("status", "") == "failed";
    RepeatablesTrial reps;
    if (pending_rep > 0) {
      if (versioned_failed) reps.why_not = "a versioned migration failed";
      else reps = try_repeatables(conn, folder, opts, target ? std::optional<std::string>(target->canonical()) : std::nullopt, pending);
    }
    conn.run("ROLLBACK");
    add_notices(o, conn, opts, true);
    bool failed = false;
    auto join = [](const json& a) {
      std::string s;
      if (a.is_array())
        for (const json& x : a) s += (s.empty() ? "" : ", ") + x.get<std::string>();
      return s.empty() ? std::string("-") : s;
    };
    // A number or NULL (a skipped non-transactional migration has no duration, no line).
    auto number = [](const json& p, const char* key) {
      auto it = p.find(key);
      return it != p.end() && it->is_number() ? it->get<double>() : 0.0;
    };
    for (const json& p : plan) {
      std::string v = p.value("version", "");
      const MigrationFile* m = folder.by_version(v);
      std::string status = p.value("status", "");
      if (status == "failed") failed = true;
      std::string line = p.contains("line") && p["line"].is_number() ? ":" + std::to_string(p["line"].get<long>()) : "";
      // A migration registered without a file (from SQL): "line 3 (no file)", not "4:3".
      std::string where = m ? path_of(opts, m->file) + line : line.empty() ? "(no file)" : "line " + line.substr(1) + " (no file)";
      rows.push_back({v, where, status, fmt::format("{:.1f}", number(p, "duration_ms")),
                      join(p.value("locks", json())), join(p.value("rewrites", json())), join(p.value("findings", json()))});
      if (p.contains("error") && p["error"].is_string()) rows.back().push_back(p["error"].get<std::string>());
    }
    if (reps.failed) failed = true;
    for (const std::vector<std::string>& row : reps.rows) rows.push_back(row);
    // (the summary goes first; it is written once the callbacks are checked too)
    size_t summary_at = o.out.size();
    if (rows.size() > 1) o.out += table(rows);
    if (!reps.why_not.empty())
      o.err += fmt::format("warning: the repeatable migrations were not tried: {}\n", reps.why_not);
    std::vector<const CallbackFile*> not_tried;
    for (const char* event : files::kCallbackEvents)  // in the order an apply runs them
      if (runs(event) && !(before_ran && std::string_view(event) == "beforeMigrate"))
        for (const CallbackFile* c : folder.callbacks_of(event)) not_tried.push_back(c);
    json would_run = json::array();
    json callback_errors = json::array();
    if (!not_tried.empty()) {
      std::string names;
      for (const CallbackFile* c : not_tried) {
        would_run.push_back({{"event", c->event}, {"file", path_of(opts, c->file)}});
        names += (names.empty() ? "" : ", ") + path_of(opts, c->file);
      }
      o.out += fmt::format("callbacks that would run (not tried by the dry run): {}\n", names);
      // Not tried, but checked as migrate.run_callback() checks a script before it runs any of
      // it: by the server's migrate.check_callback() (0.12.0), which makes the same checks; an
      // older server by what the client can check: a syntax error, a statement that cannot run
      // in the apply's transaction, error-level findings under the session's
      // pg_migrate.lint_blocks_apply, the non-transactional directive.
      bool server_checks =
          conn.exec("SELECT pg_catalog.to_regprocedure('migrate.check_callback(pg_catalog.text,pg_catalog.text,"
                    "pg_catalog.text)') IS NOT NULL").get(0, 0) == "t";
      for (const CallbackFile* c : not_tried) {
        auto refuse = [&](const std::string& line, const std::string& message, bool syntax) {
          failed = true;
          o.err += fmt::format("error: {}:{}: {} (apply would {} this callback)\n", path_of(opts, c->file), line,
                               message, syntax ? "fail in" : "refuse");
          callback_errors.push_back({{"file", path_of(opts, c->file)}, {"line", std::stoi(line)}, {"message", message}});
        };
        if (server_checks) {
          try {  // (outside a transaction: the dry run's was rolled back above)
            conn.exec("SELECT migrate.check_callback($1, $2, $3)", {c->event, c->script, c->file});
          } catch (const DbError& e) {
            if (interrupted() || e.is_interrupt() || conn.lost()) throw;
            // "... at line 3: ...", or the lint gate's DETAIL ("line 3: rule: message"); the
            // line goes before the message, as "file:line", not in it.
            static const std::regex line_re(R"(\bline (\d+))");
            static const std::regex prefix_re(R"(^SQL script of callback .* has a syntax error at line \d+: )");
            static const std::regex suffix_re(R"(: SQL script of callback [^\n]*, line \d+$)");
            std::smatch m;
            std::string line = std::regex_search(e.message, m, line_re) || std::regex_search(e.detail, m, line_re)
                                   ? m[1].str() : "1";
            std::string message = std::regex_replace(std::regex_replace(e.message, prefix_re, ""), suffix_re, "");
            refuse(line, message, e.sqlstate == "42601");
            if (!e.detail.empty()) o.err += "DETAIL: " + e.detail + "\n";
            if (!e.hint.empty()) o.err += "HINT: " + e.hint + "\n";
          }
          continue;
        }
        if (files::has_no_transaction_directive(c->script)) {
          refuse("1", "a callback cannot be non-transactional (-- pg_migrate:no-transaction): it runs in the apply's "
                      "transaction", false);
          continue;
        }
        Result r = conn.exec("SELECT coalesce(line, 1), message, rule OPERATOR(pg_catalog.=) 'syntax-error' "
                             "FROM migrate.lint($1) WHERE rule OPERATOR(pg_catalog.=) ANY "
                             "('{syntax-error,not-allowed-in-migration,transaction-nesting}'::pg_catalog.text[]) "
                             "OR (severity OPERATOR(pg_catalog.=) 'error' AND coalesce(pg_catalog.current_setting("
                             "'pg_migrate.lint_blocks_apply', true), 'off') OPERATOR(pg_catalog.=) 'on')",
                             {c->script});
        for (int i = 0; i < r.rows(); ++i) refuse(r.get(i, 0), r.get(i, 1), r.get(i, 2) == "t");
      }
    }
    o.out.insert(summary_at, fmt::format("dry run on {}: {}{} {}; nothing was changed\n", conn.label(),
                                         count_of(pending, "migration", "migrations"),
                                         pending_rep ? fmt::format(" (and {})", count_of(pending_rep, "repeatable", "repeatables")) : "",
                                         !callback_errors.empty() ? "tried, and a callback would fail"
                                         : failed                  ? "tried, and a statement failed"
                                                                   : "would be applied"));
    json tried = o.json.contains("callbacks_tried") ? o.json["callbacks_tried"] : json::array();
    o.json = {{"database", conn.database()}, {"dry_run", true}, {"plan", plan}, {"repeatables", reps.entries},
              {"callbacks", would_run}, {"callbacks_tried", tried}};
    if (!reps.why_not.empty()) o.json["repeatables_not_tried"] = reps.why_not;
    if (!callback_errors.empty()) o.json["callback_errors"] = callback_errors;
    if (!refusal.empty()) {
      o.err += "error: apply would refuse: " + refusal + "\n";
      o.json["error"] = {{"message", refusal.substr(0, refusal.find('\n'))}};
      o.code = exit_code::kFailed;
      o.result = "dry run: apply would refuse: " + refusal.substr(0, refusal.find('\n'));
      return o;
    }
    o.code = failed ? exit_code::kFailed : exit_code::kOk;
    o.result = failed ? (!callback_errors.empty() ? "dry run: a callback would fail"
                         : reps.failed             ? "dry run: a repeatable migration failed"
                                                   : "dry run: a statement failed")
                      : fmt::format("dry run: {} would be applied", pending);
    return o;
  }
  json applied = json::array();
  double total = 0;
  if (refusal_after_sync) {
    conn.run("ROLLBACK");
    o.code = exit_code::kFailed;
    const std::string& at = refusal_after_sync->location;
    o.err += "error: " + (at.empty() ? "" : printable(at) + ": ") + refusal_after_sync->message +
             " (SQLSTATE 55000)\nHINT: " + refusal_after_sync->hint + " Nothing was applied.\n";
    o.result = "FAILED: " + refusal_after_sync->message;
    json err = {{"sqlstate", "55000"}, {"message", refusal_after_sync->message}};
    put_location(err, at);
    o.json = {{"database", conn.database()}, {"error", err}};
    if (refusal_after_sync->error_callbacks) run_error_callbacks(conn, folder, opts, o);
    return o;
  }
  // Callback lines, in order with the migrations' (on a terminal, above the progress bar).
  auto callbacks_of = [&](const char* event) {
    std::string lines;
    run_callbacks(conn, folder, opts, event, lines, callbacks);
    if (opts.live) std::cerr << lines << std::flush;
    else o.err += lines;
  };
  if (any_callback_runs) {
    // Before anything is written or committed: the server and the role can run callbacks.
    std::string hint;
    std::string message = callbacks_unavailable(conn, hint);
    hint += " Nothing was applied.";
    if (!message.empty()) {
      conn.run("ROLLBACK");
      o.code = exit_code::kFailed;
      o.err += "error: " + message + "\nHINT: " + hint + "\n";
      o.result = "FAILED: " + message;
      o.json = {{"database", conn.database()}, {"error", {{"message", message}, {"hint", hint}}}};
      return o;
    }
  }
  callbacks_of("beforeMigrate");
  // Once CALL migrate.run() has committed migrations, a later failure (a callback, the next
  // transaction) is reported here, with what was committed, rather than as if nothing had been.
  bool committed = false;
  bool failed_in_run = false;  // the error came from CALL migrate.run() itself
  bool connection_lost_in_run = false;  // and the connection with it: what it committed is unknown
  bool live_lines_shown = false;  // "applied" lines drawn on the terminal before the commit
  try {
  if (pending > 0 && nontx_pending) {
    // The migrations the run committed are listed also when it fails part way: they stay.
    std::optional<DbError> run_error;
    std::optional<Result> written;
    try {
    written = history_written_by(conn, "apply", [&] {
      conn.run("COMMIT");
      committed = true;
      add_notices(o, conn, opts);
      try {
        conn.exec("CALL migrate.run($1)", {target ? std::optional<std::string>(target->canonical()) : std::nullopt});
      } catch (const DbError& e) {
        if (interrupted()) throw;
        run_error = e;
        return;
      }
      conn.run(kBegin);
    });
    } catch (const DbError&) {
      // The connection died with the run (a crash, a shutdown): what it committed cannot be
      // read back; the run's own error is the one to report.
      if (!run_error || !conn.lost()) throw;
      connection_lost_in_run = true;
    }
    for (int i = 0; written && i < written->rows(); ++i) {
      const Result& r = *written;
      const MigrationFile* m = folder.by_version(r.get(i, 0));
      double d = std::stod(r.get(i, 2));
      if (!opts.quiet)
        o.err += fmt::format("applied {} {} ({})\n", r.get(i, 0), printable(m ? path_of(opts, m->file) : r.get(i, 1)), ms(d));
      applied.push_back({{"version", r.get(i, 0)}, {"name", r.get(i, 1)}, {"file", m ? json(path_of(opts, m->file)) : json()},
                         {"duration_ms", d}});
    }
    if (run_error) {
      failed_in_run = true;
      throw *run_error;
    }
  } else if (pending > 0) {
    // On a terminal, the pending migrations are applied in up to 10 steps (each migrate.apply()
    // up to a version, all in this one transaction) to show progress; otherwise in one call.
    std::vector<std::string> targets;
    std::vector<Version> versions;  // the pending ones, in order, when applied in steps
    if (each_callbacks || (opts.live && pending > 1)) {
      for (const SyncRow& r : s.rows)
        if (r.pending() && r.kind == "versioned" && at_most(r.version, target)) versions.push_back(Version::parse(r.version));
      std::sort(versions.begin(), versions.end());
    }
    if (each_callbacks) {
      // beforeEachMigrate / afterEachMigrate: one migrate.apply() per migration, between them.
      for (const Version& v : versions) targets.push_back(v.canonical());
    } else if (opts.live && pending > 1) {
      size_t steps = std::min<size_t>(10, versions.size());
      for (size_t k = 1; k <= steps; ++k) targets.push_back(versions[k * versions.size() / steps - 1].canonical());
    } else {
      targets.push_back(target ? target->canonical() : std::string());
    }
    for (const std::string& t : targets) {
      std::string lines;
      if (each_callbacks) run_callbacks(conn, folder, opts, "beforeEachMigrate", lines, callbacks);
      Result r = conn.exec("SELECT version, name, duration_ms FROM migrate.apply($1)",
                           {t.empty() ? std::nullopt : std::optional<std::string>(t)});
      for (int i = 0; i < r.rows(); ++i) {
        const MigrationFile* m = folder.by_version(r.get(i, 0));
        double d = std::stod(r.get(i, 2));
        total += d;
        if (!opts.quiet)
          lines += fmt::format("applied {} {} ({})\n", r.get(i, 0), printable(m ? path_of(opts, m->file) : r.get(i, 1)), ms(d));
        applied.push_back({{"version", r.get(i, 0)}, {"name", r.get(i, 1)}, {"file", m ? json(path_of(opts, m->file)) : json()},
                           {"duration_ms", d}});
      }
      if (each_callbacks) run_callbacks(conn, folder, opts, "afterEachMigrate", lines, callbacks);
      if (opts.live) {
        size_t width = 30, done = applied.size();
        size_t fill = pending ? done * width / pending : width;
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        live_lines_shown = true;
        std::cerr << "\r\033[K" << lines
                  << fmt::format("[{}{}] {}/{} migrations, {:.1f} s", std::string(fill, '#'),
                                 std::string(width - fill, '.'), done, pending, secs)
                  << std::flush;
      } else {
        o.err += lines;
      }
    }
    if (opts.live) std::cerr << "\r\033[K" << std::flush;
  }
  phase("applied");
  callbacks_of("afterVersioned");
  if (pending_rep > 0) callbacks_of("beforeRepeatables");
  json reps = json::array();
  if (pending_rep > 0) {
    // With beforeEachMigrate/afterEachMigrate callbacks, one repeatable at a time between them
    // (migrate.apply_repeatables(text), 0.9.0), in the order the server applies them.
    std::vector<std::optional<std::string>> one_by_one{std::nullopt};
    if (each_callbacks) {
      Result can = conn.exec(
          "SELECT coalesce(pg_catalog.has_function_privilege(pg_catalog.to_regprocedure("
          "'migrate.apply_repeatables(pg_catalog.text)')::pg_catalog.oid, 'EXECUTE'), false)");
      if (can.get(0, 0) == "t") {
        std::vector<std::string> names;
        for (const SyncRow& r : s.rows)
          if (r.kind == "repeatable" && r.pending()) names.push_back(r.name);
        std::sort(names.begin(), names.end());  // byte order, as COLLATE "C"
        one_by_one.assign(names.begin(), names.end());
      } else if (!opts.quiet) {
        o.err += "warning: beforeEachMigrate and afterEachMigrate callbacks do not run around the repeatable migrations: "
                 "migrate.apply_repeatables(text) is missing (pg_migrate 0.9.0) or this role may not run it\n";
      }
    }
    for (const std::optional<std::string>& one : one_by_one) {
      std::string lines;
      if (one) run_callbacks(conn, folder, opts, "beforeEachMigrate", lines, callbacks);
      Result r = one ? conn.exec("SELECT name, file, duration_ms FROM migrate.apply_repeatables($1)", {one})
                     : conn.exec("SELECT name, file, duration_ms FROM migrate.apply_repeatables()");
      for (int i = 0; i < r.rows(); ++i) {
        double d = std::stod(r.get(i, 2));
        if (!opts.quiet) lines += fmt::format("applied repeatable {} ({})\n", path_of(opts, r.get(i, 1)), ms(d));
        reps.push_back({{"name", r.get(i, 0)}, {"file", path_of(opts, r.get(i, 1))}, {"duration_ms", d}});
      }
      if (one) run_callbacks(conn, folder, opts, "afterEachMigrate", lines, callbacks);
      if (opts.live) std::cerr << lines << std::flush;
      else o.err += lines;
    }
  }
  callbacks_of("afterMigrate");
  if (!applied.empty() || !reps.empty()) callbacks_of("afterMigrateApplied");
  // Applied something: have the server record the folder as in sync (migrate.sync_digest) for
  // the next run. migrate.sync_confirm() does it from what this transaction's sync saw, without
  // sending the files again; where it cannot (--to left migrations pending, something else
  // changed the catalog, an older server), sync once more.
  if (!applied.empty() || !reps.empty()) {
    bool confirmed = false;
    if (can_confirm && !nontx_pending) confirmed = conn.exec("SELECT migrate.sync_confirm($1)", {folder.digest}).get(0, 0) == "t";
    if (!confirmed) (void)sync(conn, folder, false);
  }
  std::string current;
  {
    Result r = conn.exec("SELECT migrate.current_version()");
    current = r.null(0, 0) ? "" : r.get(0, 0);
  }
  conn.run("COMMIT");
  phase("committed");
  add_notices(o, conn, opts);
  double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (applied.empty() && reps.empty())
    o.out += fmt::format("{}: nothing to apply, at version {}\n", conn.label(), version_or_none(current));
  else
    o.out += fmt::format("{}: applied {} in {}, now at version {}\n", conn.label(),
                         applied.empty()  ? count_of(reps.size(), "repeatable", "repeatables")
                         : reps.empty() ? count_of(applied.size(), "migration", "migrations")
                                        : fmt::format("{} and {}", count_of(applied.size(), "migration", "migrations"),
                                                      count_of(reps.size(), "repeatable", "repeatables")),
                         ms(wall), version_or_none(current));
  o.json = {{"database", conn.database()}, {"applied", applied}, {"repeatables", reps}, {"callbacks", callbacks},
            {"version", current.empty() ? json() : json(current)}, {"duration_ms", wall}};
  o.result = fmt::format("applied {}, at version {}", applied.size() + reps.size(), version_or_none(current));
  return o;
  } catch (const DbError& e) {
    if (!committed) {
      // The lines drawn as the migrations ran were not the end: the transaction is rolled back.
      if (live_lines_shown)
        std::cerr << "\r\033[K"
                  << "note: the migrations listed above ran, but the apply failed and was rolled back: none of "
                     "them is applied\n"
                  << std::flush;
      throw;
    }
    add_notices(o, conn, opts);
    report_error(o, e, &folder, opts);
    if (connection_lost_in_run) {
      o.err += "note: the connection to the server was lost during CALL migrate.run(): the migrations it committed "
               "before stay applied (pg_migrate status lists them) and pg_migrate apply resumes the one it stopped\n";
      o.json["database"] = conn.database();
      o.json["callbacks"] = callbacks;
      run_error_callbacks(conn, folder, opts, o);
      return o;
    }
    if (applied.empty()) {  // (the sync and beforeMigrate were committed; no migration)
      o.json["database"] = conn.database();
      run_error_callbacks(conn, folder, opts, o);
      return o;
    }
    // A failure in the run leaves the failed migration's finished statements committed (its
    // HINT says how it resumes); a later one (a callback, the next transaction) rolled back.
    std::string note = fmt::format("{} committed by CALL migrate.run() before the error (listed above) {} applied; {}",
                                   count_of(applied.size(), "migration", "migrations"), applied.size() == 1 ? "stays" : "stay",
                                   failed_in_run ? "the failed one stopped at its failing statement"
                                                 : fmt::format("what ran after {} was rolled back",
                                                               applied.size() == 1 ? "it" : "them"));
    o.err += "note: " + note + "\n";
    o.json["applied"] = applied;
    o.json["callbacks"] = callbacks;  // (beforeMigrate's committed with the sync)
    o.json["database"] = conn.database();
    run_error_callbacks(conn, folder, opts, o);
    return o;
  }
}

// Drift and schema differences as check reports them (JSON): unacknowledged drift rows and
// the rows of schema_diff(), which from 0.3.0 on answers at once, without a snapshot, while
// the catalogs are as its newest recorded snapshot left them.
std::string check_state_sql(const Options& opts) {
  std::string differences = opts.no_schema_diff ? "0" : "(SELECT pg_catalog.count(*) FROM migrate.schema_diff())";
  // Runs of CALL migrate.run() / run_revert() stopped part way (migrate.runs, from 0.2.0 on).
  return fmt::format(
      "(SELECT pg_catalog.json_build_object('unacknowledged', pg_catalog.count(*), 'schema_differences', {}, "
      // A run whose CALL still holds its session lock is running, not stopped (as migrate.progress reads it).
      "'unfinished', (SELECT pg_catalog.json_object_agg(r.version, CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_locks l "
      "WHERE l.locktype OPERATOR(pg_catalog.=) 'advisory' AND l.pid OPERATOR(pg_catalog.=) r.pid AND l.granted "
      "AND l.classid OPERATOR(pg_catalog.=) 1885822829 AND l.objid OPERATOR(pg_catalog.=) 1768387169 "
      "AND l.objsubid OPERATOR(pg_catalog.=) 28008 AND l.database OPERATOR(pg_catalog.=) (SELECT d.oid "
      "FROM pg_catalog.pg_database d WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())) "
      "THEN r.direction OPERATOR(pg_catalog.||) ' running' "
      "ELSE r.direction END) FROM migrate.runs r)) "
      "FROM migrate.drift WHERE acknowledgement_id IS NULL)", differences);
}

Outcome cmd_check(Connection& conn, const Folder& folder, const Options& opts) {
  Outcome o;
  if (refuse_unedited(conn, folder, opts, o)) return o;
  // No round trip when what was read while the folder was (prefetch_state()) shows the folder
  // recorded as in sync; one when migrate.sync_digest() does; otherwise a dry-run sync reports
  // every difference.
  std::string drift_sql = check_state_sql(opts);
  bool early = conn.early_check_state.has_value();
  SyncResult s;
  std::string current;
  json drift;
  bool in_sync = early && in_sync_early(conn, folder);
  if (in_sync) {
    current = conn.early_current_version;
  } else {
    Result fast = conn.exec(fmt::format("SELECT migrate.sync_digest($1), NULL, migrate.current_version(){}",
                                        early ? "" : ", " + drift_sql),
                            {folder.digest});
    in_sync = fast.get(0, 0) == "t";
    if (in_sync) {
      current = fast.null(0, 2) ? "" : fast.get(0, 2);
      if (!early) drift = fast.null(0, 3) ? json::object() : json::parse(fast.get(0, 3));
    }
  }
  if (in_sync) {
    s.total = folder.migrations.size();
  } else {  // (with the state read early, schema_diff() is not run a second time)
    s = sync(conn, folder, true, false, std::string("migrate.current_version()") + (early ? "" : ", " + drift_sql));
    current = s.extra.size() > 0 ? s.extra[0] : "";
    if (!early) drift = s.extra.size() > 1 && !s.extra[1].empty() ? json::parse(s.extra[1]) : json::object();
  }
  if (early) drift = conn.early_check_state->empty() ? json::object() : json::parse(*conn.early_check_state);
  struct Cause {
    const char* name;
    int code;
    std::vector<std::string> items;
  };
  std::vector<Cause> causes{{"edited", exit_code::kEdited, {}},      {"missing_file", exit_code::kMissingFile, {}},
                            {"pending", exit_code::kPending, {}},    {"drift", exit_code::kDrift, {}},
                            {"schema_difference", exit_code::kSchemaDiff, {}},
                            {"wrong_version", exit_code::kWrongVersion, {}}};
  auto label = [&](const SyncRow& r) {
    std::string v = r.kind == "repeatable" ? "repeatable \"" + r.name + "\"" : r.version;
    return r.file.empty() ? v : fmt::format("{} ({})", v, path_of(opts, r.file));
  };
  // A migration CALL migrate.run() stopped part way is pending work, whichever its direction.
  json unfinished = drift.contains("unfinished") && drift["unfinished"].is_object() ? drift["unfinished"] : json::object();
  auto partly = [&](const std::string& version) -> std::string {
    if (!unfinished.contains(version) || !unfinished[version].is_string()) return "";
    std::string how = unfinished[version].get<std::string>();
    if (how == "up running") return ": being applied now (a run is in progress)";
    if (how == "down running") return ": being reverted now (a run is in progress)";
    return how == "up" ? ": partially applied (pg_migrate apply finishes it)"
                       : ": partially reverted (pg_migrate revert finishes it)";
  };
  std::set<std::string> listed;
  for (const SyncRow* row : in_version_order(s.rows)) {
    const SyncRow& r = *row;
    if (r.action == "edited") causes[0].items.push_back(label(r) + ": " + r.detail);
    else if (r.action == "missing_file" || r.action == "removed") causes[1].items.push_back(label(r) + ": " + r.detail);
    else if (r.pending() || (r.kind != "repeatable" && !partly(r.version).empty())) {
      // A new or changed file whose scripts sync would refuse (a syntax error, VACUUM in a
      // transaction) says so: apply would fail on it.
      size_t refused = r.detail.find("sync refuses it: ");
      std::string why = refused == std::string::npos ? "" : ": " + r.detail.substr(refused);
      // A pending version below the newest applied one (a hotfix merged late): apply refuses it
      // unless out-of-order applies are allowed, which check says rather than a plain pending.
      if (why.empty() && r.kind != "repeatable" && r.pending() && !current.empty() &&
          Version::parse(r.version) < Version::parse(current))
        why = fmt::format(": older than the newest applied version {}; apply refuses it unless "
                          "pg_migrate.out_of_order is on", current);
      std::string part = r.kind == "repeatable" ? "" : partly(r.version);
      // Stopped part way, and the file changed so that apply refuses it: not "apply finishes it".
      if (!part.empty() && refused != std::string::npos)
        part = part.substr(0, part.find(" (")) + "; the file changed since the run stopped";
      causes[2].items.push_back(label(r) + part + why);
      if (r.kind != "repeatable") listed.insert(r.version);
    } else if (r.action == "metadata") {
      // The statements are those applied; the name or down script in the file are not yet.
      causes[2].items.push_back(label(r) + ": " + metadata_note(r));
    }
  }
  for (const auto& [version, direction] : unfinished.items())  // (the one-query path reads no rows)
    if (!listed.count(version)) {
      const MigrationFile* f = folder.by_version(version);
      causes[2].items.push_back((f ? fmt::format("{} ({})", version, path_of(opts, f->file)) : version) + partly(version));
    }
  int64_t unack = drift.value("unacknowledged", 0);
  int64_t diffs = drift.value("schema_differences", 0);
  if (unack > 0) causes[3].items.push_back(fmt::format("{} unacknowledged DDL change{} (pg_migrate drift)", unack, unack == 1 ? "" : "s"));
  if (diffs > 0) causes[4].items.push_back(fmt::format("{} {} from the last snapshot (SELECT * FROM migrate.schema_diff())", diffs, diffs == 1 ? "object differs" : "objects differ"));
  if (!opts.expect_version.empty()) {
    std::string want = Version::parse(opts.expect_version).canonical();
    if (want != current) causes[5].items.push_back(fmt::format("at version {}, expected {}", version_or_none(current), want));
  }
  json jc = json::array();
  for (const Cause& c : causes) {
    if (c.items.empty()) continue;
    if (o.code == 0) o.code = c.code;
    jc.push_back({{"cause", c.name}, {"exit_code", c.code}, {"items", c.items}});
    o.out += fmt::format("  {} ({}):\n", c.name, c.code);
    for (const std::string& i : c.items) o.out += "    " + printable(i) + "\n";
  }
  size_t n = s.total;
  for (const SyncRow& r : s.rows)
    if (r.action == "missing_file" || r.action == "removed" || r.action == "retired") --n;
  std::string head = o.code == 0 ? fmt::format("check {}: ok, at version {} ({} in {})\n", conn.label(),
                                               version_or_none(current), count_of(n, "migration", "migrations"), opts.dir)
                                 : fmt::format("check {}: FAILED (exit {}), at version {}\n", conn.label(), o.code,
                                               version_or_none(current));
  o.out = head + o.out;
  o.json = {{"database", conn.database()}, {"ok", o.code == 0}, {"exit_code", o.code},
            {"version", current.empty() ? json() : json(current)}, {"causes", jc}};
  o.result = o.code == 0 ? "ok" : fmt::format("FAILED (exit {}): {}", o.code, jc[0]["cause"].get<std::string>());
  return o;
}

// revert runs the down scripts stored in the database. Where the folder changed the down script
// (or name) of an applied migration — a fixed U file, a down section added after the apply —
// the folder is synced first, in a transaction of its own, as apply would sync it: the revert
// then runs what the files say. A sync that refuses (an applied file was edited) leaves the
// stored scripts, with a warning: a revert must not depend on the rest of the folder.
void record_changed_downs(Connection& conn, const Folder& folder, const Options& opts, Outcome& o) {
  SyncResult preview;
  try {
    preview = sync(conn, folder, true);
  } catch (const DbError& e) {
    // A role that may revert but not sync (no EXECUTE on migrate.sync), an older catalog, ...:
    // the stored scripts, as before.
    if (e.is_interrupt()) throw;
    if (e.sqlstate != "42501")
      o.err += fmt::format("warning: the folder could not be compared with the database ({}); revert runs the down "
                           "scripts stored in the database\n", e.message);
    return;
  }
  drop_notices_keeping_warnings(conn, o, opts);
  std::vector<const SyncRow*> changed;
  std::vector<std::string> edited;  // applied files edited since: the sync would refuse
  std::vector<std::string> removed;  // down scripts the files no longer have: a revert keeps them
  for (const SyncRow& r : preview.rows) {
    if (r.action == "metadata") changed.push_back(&r);
    if (r.action == "metadata" && r.detail.find("down script removed") != std::string::npos)
      removed.push_back(fmt::format("{} (version {})", path_of(opts, r.file), r.version));
    if (r.action == "edited" && r.state == "applied")
      edited.push_back(fmt::format("{} (version {})", path_of(opts, r.file), r.version));
  }
  if (!removed.empty()) {
    o.err += fmt::format("warning: the folder has no down script for {}; revert does not sync the folder (that would "
                         "remove the stored ones) and runs the down scripts stored in the database\n",
                         fmt::join(removed, ", "));
    return;
  }
  if (!edited.empty()) {
    o.err += fmt::format("warning: edited after it was applied: {}; revert runs the down scripts stored in the "
                         "database, not the folder's (pg_migrate repair records the files as they are now)\n",
                         fmt::join(edited, ", "));
    return;
  }
  if (changed.empty()) return;
  try {
    conn.run(kBegin);
    (void)sync(conn, folder, false);
    conn.run("COMMIT");
  } catch (const DbError& e) {
    if (e.is_interrupt()) throw;
    conn.run("ROLLBACK");
    drop_notices_keeping_warnings(conn, o, opts);
    o.err += fmt::format("warning: the folder changes the down script or name of an applied migration, but it could "
                         "not be recorded ({}); revert runs the down scripts stored in the database\n",
                         e.message);
    return;
  }
  drop_notices_keeping_warnings(conn, o, opts);  // (the server's NOTICE per migration says less than the lines below)
  if (opts.quiet) return;
  for (const SyncRow* r : changed)
    o.err += fmt::format("recorded from the folder before the revert: {} ({}): {}\n", r->version,
                         path_of(opts, r->file), r->detail);
}

// Fills the caller's `o`: what it reports before an error (down scripts recorded from the
// folder) stays in the output when the revert fails.
void cmd_revert(Connection& conn, const Folder* folder, const Options& opts, Outcome& o) {
  const std::string steps = std::to_string(opts.steps > 0 ? opts.steps : 1);
  // An unknown target is a bad argument (exit 2), as for apply --to; 0 reverts everything.
  if (!opts.to.empty()) {
    Version to = Version::parse(opts.to);
    if (to.canonical() != "0" &&
        conn.exec("SELECT EXISTS (SELECT FROM migrate.migrations WHERE version OPERATOR(pg_catalog.=) $1) "
                  "OR EXISTS (SELECT FROM migrate.baseline WHERE version OPERATOR(pg_catalog.=) $1)",
                  {to.canonical()})
                .get(0, 0) != "t") {
      std::string message = fmt::format("--to {}: the database has no migration {} (--to 0 reverts every migration above version 0)",
                                        opts.to, to.canonical());
      o.code = exit_code::kUsage;
      o.err += "error: " + message + "\n";
      o.result = fmt::format("FAILED: unknown version {}", to.canonical());
      o.json = {{"database", conn.database()}, {"error", {{"message", message}}}};
      return;
    }
  }
  // More steps than applied migrations is a bad argument too (exit 2), like an unknown --to.
  if (opts.to.empty() && opts.steps > 0) {
    long long applied =
        std::stoll(conn.exec("SELECT pg_catalog.count(*) FROM migrate.migrations WHERE applied_seq IS NOT NULL").get(0, 0));
    // (Over a stopped revert run, the same command again finishes that run and stops: the
    // server says so. The migrations it reverted before no longer count as applied.)
    bool stopped_revert =
        conn.exec("SELECT pg_catalog.to_regclass('migrate.runs') IS NOT NULL").get(0, 0) == "t" &&
        conn.exec("SELECT EXISTS (SELECT FROM migrate.runs WHERE direction OPERATOR(pg_catalog.=) 'down')").get(0, 0) == "t";
    if (opts.steps > applied && !stopped_revert) {
      std::string message = fmt::format("--steps {}: only {} migration{} applied", opts.steps, applied,
                                        applied == 1 ? " is" : "s are");
      o.code = exit_code::kUsage;
      o.err += "error: " + message + "\n";
      o.result = "FAILED: " + message;
      o.json = {{"database", conn.database()}, {"error", {{"message", message}}}};
      return;
    }
  }
  if (folder) record_changed_downs(conn, *folder, opts, o);
  // A down script that is not one transaction (non-transactional, or split by COMMIT) is
  // reverted by CALL migrate.run_revert() (each statement commits), as apply runs such an up
  // script with CALL migrate.run(); every other revert is one migrate.revert() transaction.
  bool by_run = false;
  {
    Result modes = conn.exec("SELECT pg_catalog.to_regprocedure('migrate.run_revert(integer)') IS NOT NULL");
    if (modes.get(0, 0) == "t") {
      std::optional<Version> to;
      if (!opts.to.empty()) to = Version::parse(opts.to);
      by_run = (to ? conn.exec("SELECT EXISTS (SELECT FROM migrate.migrations WHERE applied_seq IS NOT NULL "
                               "AND version_parts OPERATOR(pg_catalog.>) $1::pg_catalog.numeric[] "
                               "AND down_mode OPERATOR(pg_catalog.<>) 'transaction')",
                               {to->sql_array()})
                   : conn.exec("SELECT EXISTS (SELECT FROM (SELECT down_mode FROM migrate.migrations "
                               "WHERE applied_seq IS NOT NULL ORDER BY applied_seq DESC LIMIT $1::pg_catalog.int4) m "
                               "WHERE m.down_mode OPERATOR(pg_catalog.<>) 'transaction')",
                               {steps}))
                   .get(0, 0) == "t";
    }
  }
  std::optional<Result> rows;
  // CALL migrate.run_revert() commits each migration's revert: those before a failure stay
  // reverted, and the output says which.
  std::string history_before =
      by_run ? conn.exec("SELECT coalesce(pg_catalog.max(id), 0) FROM migrate.history").get(0, 0) : std::string();
  try {
    if (by_run) {
      rows = history_written_by(conn, "revert", [&] {
        if (opts.to.empty()) conn.exec("CALL migrate.run_revert($1::pg_catalog.int4)", {steps});
        else conn.exec("CALL migrate.run_revert_to($1)", {opts.to});
      });
    } else {
      rows = opts.to.empty() ? conn.exec("SELECT version, name, duration_ms FROM migrate.revert($1::pg_catalog.int4)", {steps})
                             : conn.exec("SELECT version, name, duration_ms FROM migrate.revert_to($1)", {opts.to});
    }
  } catch (DbError& e) {
    if (by_run && !conn.lost()) {
      Result done = conn.exec("SELECT version, name, coalesce(duration_ms, 0) FROM migrate.history "
                              "WHERE id OPERATOR(pg_catalog.>) $1::pg_catalog.int8 AND action OPERATOR(pg_catalog.=) 'revert' "
                              "ORDER BY id", {history_before});
      json list = json::array();
      for (int i = 0; i < done.rows(); ++i) {
        const MigrationFile* m = folder ? folder->by_version(done.get(i, 0)) : nullptr;
        std::string from = printable(m ? path_of(opts, m->down_file.empty() ? m->file : m->down_file) : done.get(i, 1));
        o.err += fmt::format("reverted {} {} ({}) before the error: it stays reverted\n", done.get(i, 0), from,
                             ms(std::stod(done.get(i, 2))));
        list.push_back({{"version", done.get(i, 0)}, {"name", done.get(i, 1)}, {"duration_ms", std::stod(done.get(i, 2))}});
      }
      if (!list.empty()) o.json["reverted"] = list;
    }
    // revert runs the down scripts stored in the database; one added to the file of an applied
    // migration (a U file, a down section) is stored by the next apply or repair.
    // The versions the error names ("migration 3 (\"x\")", "3 (\"x\"), 4 (\"y\")") that have one in the folder.
    bool folder_has_down = false;
    if (folder)
      for (const MigrationFile& m : folder->migrations)
        if ((m.down || !m.down_file.empty()) && e.message.find(" " + m.version + " (\"") != std::string::npos)
          folder_has_down = true;
    if (e.sqlstate == "55000" && e.message.find("no down script") != std::string::npos && folder_has_down)
      e.hint = "revert runs the down scripts stored in the database. If the folder has this migration's down script "
               "(a U file, a .down.sql file or a -- migrate:down section added after it was applied), run "
               "pg_migrate apply or pg_migrate repair first: they record it.";
    throw;
  }
  Result& r = *rows;
  add_notices(o, conn, opts);
  json list = json::array();
  for (int i = 0; i < r.rows(); ++i) {
    const MigrationFile* m = folder ? folder->by_version(r.get(i, 0)) : nullptr;
    double d = std::stod(r.get(i, 2));
    // The file the down script came from: U2__x.sql or 000002_x.down.sql where there is one.
    std::string from = printable(m ? path_of(opts, m->down_file.empty() ? m->file : m->down_file) : r.get(i, 1));
    if (!opts.quiet) o.err += fmt::format("reverted {} {} ({})\n", r.get(i, 0), from, ms(d));
    list.push_back({{"version", r.get(i, 0)}, {"name", r.get(i, 1)}, {"duration_ms", d}});
  }
  Result cur = conn.exec("SELECT migrate.current_version()");
  std::string current = cur.null(0, 0) ? "" : cur.get(0, 0);
  o.out += fmt::format("{}: reverted {}, now at version {}\n", conn.label(), count_of(list.size(), "migration", "migrations"),
                       version_or_none(current));
  o.json = {{"database", conn.database()}, {"reverted", list}, {"version", current.empty() ? json() : json(current)}};
  o.result = fmt::format("reverted {}, at version {}", list.size(), version_or_none(current));
}

Outcome cmd_verify(Connection& conn, const Folder& folder, const Options& opts) {
  Outcome o;
  if (refuse_unedited(conn, folder, opts, o)) return o;
  // An unknown version is a bad argument (exit 2), as for apply --to and revert --to, not the
  // server's "not registered" (exit 1).
  if (!opts.version.empty()) {
    Version v = Version::parse(opts.version);
    if (!folder.by_version(v.canonical()) &&
        conn.exec("SELECT EXISTS (SELECT FROM migrate.migrations WHERE version OPERATOR(pg_catalog.=) $1)",
                  {v.canonical()})
                .get(0, 0) != "t") {
      std::string message = fmt::format("verify {}: no migration file in {} has version {}, and the database has "
                                        "no such migration",
                                        opts.version, opts.dir, v.canonical());
      o.code = exit_code::kUsage;
      o.err = "error: " + message + "\n";
      o.result = fmt::format("FAILED: unknown version {}", v.canonical());
      o.json = {{"database", conn.database()}, {"error", {{"message", message}}}};
      return o;
    }
  }
  conn.run(kBegin);
  SyncResult synced = sync(conn, folder, false);
  drop_notices_keeping_warnings(conn, o, opts);
  bool pending = false;
  for (const SyncRow& r : synced.rows) pending = pending || (r.pending() && r.kind == "versioned");
  std::string refusal;
  if (pending) (void)run_before_migrate_for_trial(conn, folder, opts, o, refusal);
  if (!refusal.empty() && !opts.quiet) o.err += "warning: " + refusal + "\n";
  add_notices(o, conn, opts);
  Result r = conn.exec("SELECT version, name, status, object, change, detail FROM migrate.verify($1)",
                       {opts.version.empty() ? std::nullopt : std::optional<std::string>(opts.version)});
  conn.run("ROLLBACK");
  std::vector<std::vector<std::string>> rows{{"VERSION", "FILE", "STATUS", "OBJECT", "CHANGE", "DETAIL"}};
  json list = json::array();
  bool bad = false;
  for (int i = 0; i < r.rows(); ++i) {
    const MigrationFile* m = folder.by_version(r.get(i, 0));
    std::string status = r.get(i, 2);
    // Skipped because an earlier pending migration failed: not verified, which `verify V` must
    // not report as success (skipped behind an unverifiable one, one that cannot be tried in a
    // transaction, is as unverifiable: not a failure).
    static const std::regex behind_unverifiable("^earlier (pending )?migration \\S+ (cannot|could not) be tried in a "
                                                "transaction");
    bool behind_failure = status == "skipped" && !std::regex_search(r.get(i, 5), behind_unverifiable);
    if (status == "differs" || status == "failed" || behind_failure) bad = true;
    rows.push_back({r.get(i, 0), m ? path_of(opts, m->file) : "-", status, r.get(i, 3), r.get(i, 4), r.get(i, 5)});
    list.push_back({{"version", r.get(i, 0)}, {"status", status}, {"object", r.get(i, 3)}, {"change", r.get(i, 4)},
                    {"detail", r.get(i, 5)}});
  }
  o.out += r.rows() == 0 ? "nothing to verify: no pending migration\n" : table(rows);
  o.code = bad ? exit_code::kFailed : exit_code::kOk;
  o.json = {{"database", conn.database()}, {"verify", list}, {"ok", !bad}};
  o.result = bad ? "a revert does not verify" : "reverts verify";
  return o;
}

Outcome cmd_baseline(Connection& conn, const Folder* folder, const Options& opts) {
  Outcome o;
  std::string v = Version::parse(opts.version).canonical();
  const MigrationFile* m = folder ? folder->by_version(v) : nullptr;
  Result r = conn.exec("SELECT migrate.baseline($1, $2)", {v, m ? m->name : std::string("baseline")});
  add_notices(o, conn, opts);
  o.out += fmt::format("{}: baselined at version {}\n", conn.label(), r.get(0, 0));
  o.json = {{"database", conn.database()}, {"baseline", r.get(0, 0)}};
  o.result = "baselined at " + r.get(0, 0);
  return o;
}

Outcome cmd_drift(Connection& conn, const Options& opts) {
  Outcome o;
  json acknowledged;  // what --ack did, for --json
  if (!opts.ack.empty()) {
    // Up to the newest entry there is now: one captured while this call waits for the
    // pg_migrate lock is left for the next review, not acknowledged unseen.
    Result newest = conn.exec("SELECT coalesce(pg_catalog.max(id), 0) FROM migrate.drift");
    // No entry at all (differences that capture never saw: capture off, a restore): the schema
    // alone is acknowledged; an up_to of 0 is no drift id, so none is given.
    std::optional<std::string> up_to;
    if (newest.get(0, 0) != "0") up_to = newest.get(0, 0);
    Result a = conn.exec("SELECT migrate.acknowledge_drift($1, $2::pg_catalog.int8)", {opts.ack, up_to});
    bool entries = !a.null(0, 0) && a.get(0, 0) != "0";
    o.err += entries ? fmt::format("acknowledged {} drift {} up to entry {}\n", a.get(0, 0),
                                   a.get(0, 0) == "1" ? "entry" : "entries", newest.get(0, 0))
                     : "acknowledged: no drift entries; the schema as it is now is the reference for schema differences\n";
    acknowledged = {{"entries", std::stoll(a.null(0, 0) ? std::string("0") : a.get(0, 0))},
                    {"up_to", std::stoll(newest.get(0, 0))}, {"note", opts.ack}};
  }
  Result st = conn.exec("SELECT pg_catalog.row_to_json(d) FROM migrate.drift_status() d");
  json status = drift_status_json(st.get(0, 0));
  // The text lists the oldest kDriftListed entries (a log of 200,000 held 500 MB here and
  // printed a screenful nobody reads); --json lists them all.
  constexpr int kDriftListed = 1000;
  bool as_json = opts.json;
  Result list = conn.exec(
      "SELECT id, pg_catalog.to_char(captured_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), performed_by, "
      "command_tag, coalesce(object_identity, '') FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id" +
      std::string(as_json ? "" : " LIMIT " + std::to_string(kDriftListed)));
  std::vector<std::vector<std::string>> rows{{"ID", "CAPTURED AT (UTC)", "BY", "COMMAND", "OBJECT"}};
  json items = json::array();
  for (int i = 0; i < list.rows(); ++i) {
    if (as_json)
      items.push_back({{"id", std::stoll(list.get(i, 0))}, {"captured_at", json_utc(list.get(i, 1))}, {"by", list.get(i, 2)},
                       {"command", list.get(i, 3)}, {"object", list.get(i, 4)}});
    else
      rows.push_back({list.get(i, 0), list.get(i, 1), list.get(i, 2), list.get(i, 3), list.get(i, 4)});
  }
  int64_t unack = status.value("unacknowledged", 0);
  int64_t diffs = status.value("schema_differences", 0);
  o.out += fmt::format("{}: {} unacknowledged drift entr{}, {} schema difference{}, capture {}\n", conn.label(), unack,
                       unack == 1 ? "y" : "ies", diffs, diffs == 1 ? "" : "s", status.value("capture", "?"));
  if (!as_json && list.rows() > 0) {
    o.out += table(rows);
    if (unack > list.rows())
      o.out += fmt::format("... and {} more (the oldest {} are listed; pg_migrate --json drift lists them all)\n",
                           unack - list.rows(), list.rows());
  }
  // What the triggers could not see: the objects that differ from the newest snapshot.
  json differences = json::array();
  if (diffs > 0) {
    Result d = conn.exec("SELECT object, change, coalesce(detail, '') FROM migrate.schema_diff() ORDER BY object");
    std::vector<std::vector<std::string>> drows{{"OBJECT", "CHANGE", "DETAIL"}};
    for (int i = 0; i < d.rows(); ++i) {
      drows.push_back({d.get(i, 0), d.get(i, 1), d.get(i, 2)});
      // The detail is an entry (JSON text): embedded as JSON, not as a string of it.
      json detail = d.get(i, 2).empty() ? json(nullptr) : json::parse(d.get(i, 2), nullptr, false);
      if (detail.is_discarded()) detail = d.get(i, 2);
      differences.push_back({{"object", d.get(i, 0)}, {"change", d.get(i, 1)}, {"detail", detail}});
    }
    o.out += "schema differences from the newest snapshot:\n" + table(drows);
  }
  // A run stopped part way committed its finished statements; the snapshot is recorded when it
  // finishes: until then they are differences too, which is not a hand-made change.
  json unfinished = json::array();
  if (diffs > 0) {
    Result r = conn.exec(  // (migrate.runs: 0.2.0 on, as check reads it)
        "SELECT r.version, r.direction FROM migrate.runs r ORDER BY r.version");
    for (int i = 0; i < r.rows(); ++i) {
      unfinished.push_back(r.get(i, 0));
      o.out += fmt::format("note: migration {} stopped part way (an unfinished run): what its finished statements "
                           "did is among these differences until it finishes (pg_migrate {})\n",
                           r.get(i, 0), r.get(i, 1) == "down" ? "revert" : "apply");
    }
  }
  o.code = unack > 0 ? exit_code::kDrift : (diffs > 0 ? exit_code::kSchemaDiff : exit_code::kOk);
  o.json = {{"database", conn.database()}, {"status", status}, {"drift", items}, {"schema_differences", differences},
            {"unfinished_runs", unfinished}};
  if (!acknowledged.is_null()) o.json["acknowledged"] = acknowledged;
  o.result = o.code == 0 ? "no drift" : fmt::format("{} unacknowledged, {} schema differences", unack, diffs);
  return o;
}

Outcome cmd_repair(Connection& conn, const Folder& folder, const Options& opts) {
  Outcome o;
  // A wrong --dir (empty, a typo, another project's folder) would retire every applied
  // migration and silence check's missing-file gate for good, or, where the other folder's
  // files share version numbers with the registered migrations (V1, V2 of another project),
  // accept their statements, names and down scripts in place of the applied ones: refused
  // when the folder has none of the registered migrations (unless --force).
  if (!opts.force) {
    SyncResult preview = sync(conn, folder, true, true, "", true);
    drop_notices_keeping_warnings(conn, o, opts);
    // The file each registered migration was registered from (versioned by version,
    // repeatables as "R name"); none for those registered from SQL.
    std::map<std::string, std::string> recorded;
    {
      Result r = conn.exec("SELECT version, file_name FROM migrate.migration_files "
                           "UNION ALL SELECT pg_catalog.concat('R ', name), file_name FROM migrate.repeatables");
      for (int i = 0; i < r.rows(); ++i) recorded[r.get(i, 0)] = r.get(i, 1);
    }
    std::set<std::string> in_folder;
    for (const MigrationFile& m : folder.migrations) in_folder.insert(m.file);
    // Matched: registered migrations whose recorded file is in the folder (edited or not: what
    // repair is for), or whose statements are (a renamed file). A shared version number alone
    // (V1 of another project) is no match. Versioned ones where the database has any (a
    // repeatable alone does not make a folder the right one).
    size_t retiring = 0, rewriting = 0, removing = 0, registered_versioned = 0, registered_repeatable = 0, matched_versioned = 0,
           matched_repeatable = 0;
    for (const SyncRow& r : preview.rows) {
      bool registered = r.action != "new" && r.action != "retired";
      if (!registered) continue;
      auto file = recorded.find(r.kind == "repeatable" ? "R " + r.name : r.version);
      bool matched = r.action == "unchanged" || r.action == "metadata" ||
                     (file != recorded.end() && in_folder.count(file->second) > 0);
      if (r.action == "missing_file" && (r.state == "applied" || r.state == "below_baseline")) ++retiring;
      if (!matched && (r.action == "accepted" || r.action == "edited" || r.action == "changed")) ++rewriting;
      if (r.action == "removed") ++removing;
      if (r.kind == "repeatable") {
        ++registered_repeatable;
        if (matched) ++matched_repeatable;
      } else {
        ++registered_versioned;
        if (matched) ++matched_versioned;
      }
    }
    size_t registered = registered_versioned + registered_repeatable;
    size_t matched = registered_versioned > 0 ? matched_versioned : matched_repeatable;
    if (registered > 0 && matched == 0 && (retiring > 0 || rewriting > 0 || removing > 0)) {
      std::vector<std::string> would;
      if (rewriting > 0)
        would.push_back(fmt::format("accept {} of its files in place of the registered migration{} of the same "
                                    "version{}",
                                    rewriting, rewriting == 1 ? "" : "s", rewriting == 1 ? "" : "s"));
      if (retiring > 0)
        would.push_back("retire " + (retiring < registered ? count_of(retiring, "migration", "migrations")
                                     : retiring == 1     ? std::string("it")
                                                         : fmt::format("all {}", retiring)));
      if (removing > 0) would.push_back("unregister " + count_of(removing, "pending migration", "pending migrations"));
      std::string message = fmt::format("{} has none of the files of the {} registered in database {}: repair would {}",
                                        opts.dir, count_of(registered, "migration", "migrations"), conn.database(),
                                        fmt::join(would, " and "));
      std::string hint = "Check --dir. If the files were renamed or removed on purpose, pg_migrate repair --force "
                         "records the folder as it is.";
      o.code = exit_code::kFolder;
      o.err += "error: " + message + "\nHINT: " + hint + "\nNothing was changed.\n";
      o.result = "FAILED: " + message;
      o.json = {{"database", conn.database()}, {"error", {{"message", message}, {"hint", hint}}}};
      return o;
    }
  }
  conn.run(kBegin);
  SyncResult s = sync(conn, folder, false, true);
  // Names and down scripts the files changed for applied migrations, and retirements: the
  // repair rows this transaction wrote.
  Result changed = conn.exec(
      "SELECT CASE WHEN version OPERATOR(pg_catalog.=) 'R' THEN pg_catalog.concat('R ', name) ELSE version END, "
      "coalesce(detail OPERATOR(pg_catalog.->>) 'file', ''), detail OPERATOR(pg_catalog.?) 'new_name', "
      "detail OPERATOR(pg_catalog.?|) ARRAY['old_down', 'new_down', 'down_added', 'down_removed'], "
      "detail OPERATOR(pg_catalog.?) 'retired', detail OPERATOR(pg_catalog.?) 'restored' FROM migrate.history "
      "WHERE transaction_id OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id() "
      "AND action OPERATOR(pg_catalog.=) 'repair' AND NOT detail OPERATOR(pg_catalog.?) 'accepted_checksum' ORDER BY id");
  conn.run("COMMIT");
  add_notices(o, conn, opts);
  json list = json::array();
  for (const SyncRow& r : s.rows) {
    if (r.action != "accepted" && r.action != "removed") continue;
    o.out += fmt::format("{} {} ({}): {}\n", r.action, r.version, printable(path_of(opts, r.file)), printable(r.detail));
    list.push_back(row_json(r, opts));
  }
  for (int i = 0; i < changed.rows(); ++i) {
    std::string detail, action = "repaired";
    if (changed.get(i, 4) == "t") {
      action = "retired";
      detail = changed.get(i, 1).empty() ? "registered without a file; no longer reported as missing"
                                         : "its file is gone; no longer reported as missing";
    } else if (changed.get(i, 5) == "t") {
      action = "restored";
      detail = "its file is back; no longer retired";
    } else {
      std::vector<std::string> what;
      if (changed.get(i, 2) == "t") what.push_back("name");
      if (changed.get(i, 3) == "t") what.push_back("down script");
      detail = fmt::format("{} replaced from the file (applied migration)", fmt::join(what, " and "));
    }
    std::string file = changed.get(i, 1).empty() ? "-" : path_of(opts, changed.get(i, 1));
    o.out += fmt::format("{} {} ({}): {}\n", action, printable(changed.get(i, 0)), printable(file), printable(detail));
    list.push_back({{"version", changed.get(i, 0)}, {"file", changed.get(i, 1).empty() ? json() : json(file)}, {"action", action}, {"detail", detail}});
  }
  if (list.empty()) o.out += fmt::format("{}: nothing to repair\n", conn.label());
  o.json = {{"database", conn.database()}, {"repaired", list}};
  o.result = fmt::format("repaired {}", list.size());
  return o;
}

// GitHub's workflow-command escaping: %, CR and LF in the message; also : and , in a
// property (a file name "a,b:c.sql" would otherwise end the property early).
std::string github_escape(const std::string& s, bool property) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '%': out += "%25"; break;
      case '\r': out += "%0D"; break;
      case '\n': out += "%0A"; break;
      case ':': out += property ? "%3A" : ":"; break;
      case ',': out += property ? "%2C" : ","; break;
      default: out += c;
    }
  }
  return out;
}

Outcome cmd_lint(Connection& conn, const Folder& folder, const Options& opts) {
  Outcome o;
  struct Target {
    std::string file;  // in the folder
    const std::string* script;
  };
  std::vector<Target> targets;
  if (!opts.lint_files.empty()) {
    for (const std::string& f : opts.lint_files) {
      std::optional<Target> found;
      auto matches = [&](const std::string& file) {
        return file == f || path_of(opts, file) == f || fs::path(f).filename() == fs::path(file).filename();
      };
      for (const MigrationFile& m : folder.migrations) {
        if (matches(m.file) || (!m.down_file.empty() && (m.down_file == f || path_of(opts, m.down_file) == f)))
          found = Target{m.file, &m.up};
      }
      for (const CallbackFile& c : folder.callbacks)
        if (matches(c.file)) found = Target{c.file, &c.script};
      if (!found) throw FolderError(f + " is not a migration or callback file in " + opts.dir);
      // A file named twice (or by two paths) is linted once.
      if (std::none_of(targets.begin(), targets.end(), [&](const Target& t) { return t.file == found->file; }))
        targets.push_back(*found);
    }
  } else {
    // The pending migrations, and the callbacks (which run with every apply).
    SyncResult s = sync(conn, folder, true);
    for (const SyncRow& r : s.rows) {
      if (!r.pending() || r.file.empty()) continue;
      for (const MigrationFile& m : folder.migrations)
        if (m.file == r.file) targets.push_back({m.file, &m.up});
    }
    for (const CallbackFile& c : folder.callbacks)
      if (files::is_callback_event(c.event)) targets.push_back({c.file, &c.script});
  }
  json findings = json::array();
  size_t errors = 0;
  for (const Target& t : targets) {
    Result r = conn.exec("SELECT line, statement, rule, severity, message, coalesce(hint, '') FROM migrate.lint($1)", {*t.script});
    for (int i = 0; i < r.rows(); ++i) {
      std::string file = path_of(opts, t.file);
      std::string line = r.null(i, 0) ? "1" : r.get(i, 0);
      std::string severity = r.get(i, 3), rule = r.get(i, 2), message = r.get(i, 4), hint = r.get(i, 5);
      if (severity == "error") ++errors;
      findings.push_back({{"file", file}, {"line", std::stoi(line)}, {"rule", rule}, {"severity", severity},
                          {"message", message}, {"hint", hint}, {"statement", r.get(i, 1)}});
      if (opts.format == "github") {
        const char* level = severity == "error" ? "error" : (severity == "warning" ? "warning" : "notice");
        o.out += fmt::format("::{} file={},line={},title={}::{}\n", level, github_escape(file, true), line,
                             github_escape(rule, true),
                             github_escape(message + (hint.empty() ? "" : " (" + hint + ")"), false));
      } else if (opts.format == "text") {
        o.out += fmt::format("{}:{}: {} {}: {}\n", file, line, severity, rule, message);
        if (!hint.empty() && !opts.quiet) o.out += fmt::format("  hint: {}\n", hint);
      }
    }
  }
  if (opts.format == "json") o.out += findings.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (opts.format == "text")
    o.out += fmt::format("{} linted, {}, {} error-level\n", count_of(targets.size(), "file", "files"),
                         count_of(findings.size(), "finding", "findings"), errors);
  o.code = errors > 0 ? exit_code::kFailed : exit_code::kOk;
  o.json = {{"database", conn.database()}, {"findings", findings}, {"errors", errors}};
  o.result = fmt::format("{} findings, {} errors", findings.size(), errors);
  return o;
}

}  // namespace

// Where in the folder the characters a database's encoding cannot hold are (SQLSTATE 22P05,
// raised while the files are sent, naming none): the byte sequence the server quotes, looked
// up in the scripts. "dir/file:line", or empty.
std::string locate_untranslatable(const DbError& e, const Folder& folder, const Options& opts) {
  static const std::regex sequence_re(R"(byte sequence ((?:0x[0-9a-f]{2} ?)+))");
  std::smatch m;
  if (!std::regex_search(e.message, m, sequence_re)) return "";
  std::string bytes;
  std::string hex = m[1];
  for (size_t at = 0; (at = hex.find("0x", at)) != std::string::npos; at += 4)
    bytes += static_cast<char>(std::stoi(hex.substr(at + 2, 2), nullptr, 16));
  auto find_in = [&](const std::string& text, const std::string& file) -> std::string {
    size_t at = text.find(bytes);
    if (at == std::string::npos || file.empty()) return "";
    long line = std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n') + 1;
    return fmt::format("{}:{}", path_of(opts, file), line);
  };
  for (const MigrationFile& f : folder.migrations) {
    if (std::string w = find_in(f.up, f.file); !w.empty()) return w;
    if (f.down)
      if (std::string w = find_in(*f.down, f.down_file.empty() ? f.file : f.down_file); !w.empty()) return w;
  }
  for (const CallbackFile& c : folder.callbacks)
    if (std::string w = find_in(c.script, c.file); !w.empty()) return w;
  return "";
}

void report_error(Outcome& o, const DbError& e, const Folder* folder, const Options& opts,
                  const std::string& fallback_location) {
  auto [location, message] = locate_error(e, folder, opts);
  if (location.empty()) location = fallback_location;  // (the callback file that was running)
  if (location.empty() && folder && e.sqlstate == "22P05") location = locate_untranslatable(e, *folder, opts);
  // The server's hints name the SQL that resumes a run; here the command does.
  std::string hint = e.hint;
  // A role without the grants a command needs (not a migration's own statement: that one has
  // a location): the grant to make.
  static const std::regex denied_re(R"(^permission denied for (function|procedure|schema|table|view|sequence) (\S+)$)");
  std::smatch d;
  if (e.sqlstate == "42501" && hint.empty() && location.empty() && std::regex_search(e.message, d, denied_re)) {
    std::string kind = d[1], name = d[2];
    std::string grant = kind == "schema" ? fmt::format("GRANT USAGE ON SCHEMA {} TO <role>;", name)
                        : kind == "function" || kind == "procedure"
                            ? fmt::format("GRANT EXECUTE ON {} migrate.{} TO <role>;", kind == "function" ? "FUNCTION" : "PROCEDURE", name)
                            : "GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO <role>;";
    hint = grant + " README \"Privileges for the command\" lists what each command needs.";
  }
  for (auto [sql, command] : {std::pair{"(CALL migrate.run() or the pg_migrate command)", "(pg_migrate apply does)"},
                              std::pair{"CALL migrate.run_revert()", "pg_migrate revert"},
                              std::pair{"CALL migrate.run()", "pg_migrate apply"},
                              std::pair{"Revert it first (migrate.revert_to), then verify it.",
                                        "Revert it first (pg_migrate revert --to <the version before it>), then verify it."},
                              // (revert of a migration without a down script: with files, apply
                              // records a down script added to the file)
                              std::pair{"Register a new migration that undoes the change instead.",
                                        "Add a down script to its file (a \"-- migrate:down\" section, or the U, .down.sql or "
                                        "down.sql file of its layout); pg_migrate apply records it, then revert again. Or write "
                                        "a new migration that undoes the change."}})
    for (size_t at; (at = hint.find(sql)) != std::string::npos;) hint.replace(at, std::strlen(sql), command);
  // A down script is fixed in the file: revert stores the changed one over a stopped run.
  static const std::regex repair_down_re(R"( \(a fixed down script is stored with SELECT migrate\.repair\('[^']*', down => \.\.\.\)\))");
  hint = std::regex_replace(hint, repair_down_re, " in the down script of its file (pg_migrate revert stores it)");
  // A hint to set one of pg_migrate's settings: how, from the command (it has no flags for
  // them; they travel in the connection's options, as psql's do).
  static const std::regex setting_re(R"(\b([Ss]et|raise) (pg_migrate\.[a-z_]+)(?: = ([a-z0-9]+))?)");
  std::smatch st;
  if (std::regex_search(hint, st, setting_re))
    hint += fmt::format(" From the command: PGOPTIONS='-c {}={}' pg_migrate ... (a gate's weakening value is taken "
                        "from a connection only for a superuser; README \"Settings\").",
                        st[2].str(), st[3].matched ? st[3].str() : "<value>");
  o.err += fmt::format("error: {}{} (SQLSTATE {})\n", location.empty() ? "" : location + ": ", message, e.sqlstate);
  if (!e.detail.empty()) o.err += "DETAIL: " + e.detail + "\n";
  if (!hint.empty()) o.err += "HINT: " + hint + "\n";
  if (opts.verbose && !e.context.empty()) o.err += "CONTEXT: " + e.context + "\n";
  json err = {{"sqlstate", e.sqlstate}, {"message", message}};
  put_location(err, location);
  if (!e.detail.empty()) err["detail"] = e.detail;
  if (!hint.empty()) err["hint"] = hint;
  o.json["error"] = err;
  o.code = exit_code::kFailed;
  o.result = fmt::format("FAILED: {}{}", location.empty() ? "" : location + ": ", message);
}

// afterMigrateError: after a failed apply (rolled back), in a transaction of their own. Their
// own failure is reported after the apply's.
void run_error_callbacks(Connection& conn, const Folder& folder, const Options& opts, Outcome& o) {
  if (folder.callbacks_of("afterMigrateError").empty()) return;
  // Refused because another session runs migrations (55006): nothing ran here, and the
  // callbacks, which need the same lock, would only be refused again.
  if (o.json.contains("error") &&
      is_busy_refusal(o.json["error"].value("sqlstate", ""), o.json["error"].value("message", ""))) {
    if (!opts.quiet) o.err += "afterMigrateError callbacks not run: the apply did not start (pg_migrate is busy)\n";
    return;
  }
  // A standby or a read-only transaction refuses the callbacks as it refused the apply.
  static const std::regex read_only_re(R"(^\S+\(\) cannot run (on a standby server|in a read-only transaction))");
  if (o.json.contains("error") && o.json["error"].value("sqlstate", "") == "25006" &&
      std::regex_search(o.json["error"].value("message", ""), read_only_re)) {
    if (!opts.quiet) o.err += "afterMigrateError callbacks not run: the apply did not start (the server refuses writes)\n";
    return;
  }
  if (conn.lost()) {
    if (!opts.quiet) o.err += "afterMigrateError callbacks not run: the connection to the server was lost\n";
    return;
  }
  json ran = json::array();
  const CallbackFile* running = nullptr;
  try {
    if (conn.in_transaction()) conn.run("ROLLBACK");
    conn.run(kBegin);
    std::string lines;
    run_callbacks(conn, folder, opts, "afterMigrateError", lines, ran, &running);
    conn.run("COMMIT");
    o.err += lines;
  } catch (const DbError& e) {
    Outcome failed;
    report_error(failed, e, &folder, opts, running ? path_of(opts, running->file) : std::string());
    o.err += failed.err;
    o.json["callback_error"] = failed.json["error"];
  } catch (const std::exception& e) {
    o.err += std::string("error: ") + e.what() + "\n";
  }
  if (!o.json.contains("callbacks") || !o.json["callbacks"].is_array()) o.json["callbacks"] = json::array();
  for (const json& c : ran) o.json["callbacks"].push_back(c);
}

// For check, and for an apply that may find nothing to do: what they would ask first, read on the
// connection opened while the folder is read. The digest is migrate.sync_digest()'s test (the
// folder recorded in sync, at the catalog's current generation) without the folder, which is
// not read yet, for a role that may call migrate.sync_digest() (which the command calls
// otherwise, with its permission error). The answer is the database as the command started:
// a migration registered while the folder is read is not seen, as one registered just after
// migrate.sync_digest() answered was not.
// False (nothing read) for other commands.
bool prefetch_state(Connection& conn, const Options& opts) {
  bool check = opts.command == "check";
  if (!check && !(opts.command == "apply" && opts.to.empty() && !opts.dry_run)) return false;
  Result r = conn.exec(fmt::format(
      "SELECT CASE WHEN pg_catalog.has_function_privilege('migrate.sync_digest(pg_catalog.text)', 'EXECUTE') "
      "THEN COALESCE((SELECT s.folder_digest FROM migrate.sync_state s, migrate.catalog_state c "
      "WHERE s.generation OPERATOR(pg_catalog.=) c.generation), '') END, migrate.current_version(){}",
      check ? ", " + check_state_sql(opts) : ""));
  if (!r.null(0, 0)) conn.early_sync_digest = r.get(0, 0);
  conn.early_current_version = r.null(0, 1) ? std::string() : r.get(0, 1);
  if (check) conn.early_check_state = r.null(0, 2) ? std::string() : r.get(0, 2);
  return true;
}

// A versioned file the folder could not take (Folder::unreadable: not UTF-8, a misplaced
// section marker...) stops the command in a database where its version is above the baseline
// (for `baseline V`, above V); at or below it the migration never runs, and is left out with a
// warning, as README "baseline" says such files are not checked.
void judge_unreadable(Connection& conn, const Folder& folder, const Options& opts, Outcome& o) {
  if (folder.unreadable.empty()) return;
  std::optional<Version> baseline =
      opts.command == "baseline" ? std::optional<Version>(Version::parse(opts.version)) : baseline_version(conn);
  for (const Folder::Unreadable& u : folder.unreadable) {
    if (!baseline || *baseline < Version::parse(u.version)) throw FolderError(u.error);
    if (!opts.quiet)
      o.err += fmt::format("warning: {}; version {} is not above the baseline {} and never runs: left out\n",
                           u.error, u.version, baseline->canonical());
  }
}

namespace {
// (initialized as the program starts, before main)
const std::chrono::steady_clock::time_point process_start = std::chrono::steady_clock::now();
}  // namespace

double ms_since_start() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - process_start).count();
}

Outcome run_command(Connection& conn, const Folder* folder, const Options& opts) {
  Outcome o;
  try {
    const std::optional<std::string>& ext = conn.extension_version();
    if (ext && *ext == "0.1.0") {
      o.code = exit_code::kNoExtension;
      o.err += fmt::format("error: pg_migrate in database {} is version 0.1.0, which has no migrate.sync\n"
                           "HINT: ALTER EXTENSION pg_migrate UPDATE;\n",
                           conn.label());
      o.result = "pg_migrate 0.1.0 needs ALTER EXTENSION pg_migrate UPDATE";
      o.json = {{"database", conn.database()}, {"error", {{"message", "pg_migrate 0.1.0"}}}};
      return o;
    }
    if (!ext) {
      o.code = exit_code::kNoExtension;
      o.err += fmt::format("error: pg_migrate is not installed in database {}\nHINT: CREATE EXTENSION pg_migrate;\n",
                           conn.label());
      o.result = "pg_migrate is not installed";
      o.json = {{"database", conn.database()}, {"error", {{"message", "pg_migrate is not installed"}}}};
      return o;
    }
    Outcome unread;
    if (folder) judge_unreadable(conn, *folder, opts, unread);
    const std::string& c = opts.command;
    if (c == "status") o = cmd_status(conn, *folder, opts);
    else if (c == "apply") o = cmd_apply(conn, *folder, opts);
    else if (c == "check") o = cmd_check(conn, *folder, opts);
    else if (c == "revert") cmd_revert(conn, folder, opts, o);
    else if (c == "verify") o = cmd_verify(conn, *folder, opts);
    else if (c == "baseline") o = cmd_baseline(conn, folder, opts);
    else if (c == "drift") o = cmd_drift(conn, opts);
    else if (c == "repair") o = cmd_repair(conn, *folder, opts);
    else if (c == "lint") o = cmd_lint(conn, *folder, opts);
    else throw std::logic_error("unknown command " + c);
    o.err = unread.err + o.err;
    // A server WARNING the command did not report (one raised as the library loaded: a
    // misspelt pg_migrate.* setting in PGOPTIONS, say) is never swallowed.
    drop_notices_keeping_warnings(conn, o, opts);
  } catch (const DbError& e) {
    add_notices(o, conn, opts);
    report_error(o, e, folder, opts);
    o.json["database"] = conn.database();
    if (opts.command == "apply" && !opts.dry_run && folder) run_error_callbacks(conn, *folder, opts, o);
  } catch (const pgm::Error& e) {
    o.err += "error: " + e.message() + "\n";
    if (!e.detail().empty()) o.err += "DETAIL: " + e.detail() + "\n";
    o.code = exit_code::kUsage;
    o.result = "FAILED: " + e.message();
    o.json = {{"database", conn.database()}, {"error", {{"message", e.message()}}}};
  } catch (const FolderError& e) {
    o.err += std::string("error: ") + e.what() + "\n";
    o.code = exit_code::kFolder;
    o.result = std::string("FAILED: ") + e.what();
    o.json = {{"database", conn.database()}, {"error", {{"message", e.what()}}}};
  } catch (const std::exception& e) {
    o.err += std::string("error: ") + e.what() + "\n";
    o.code = exit_code::kFailed;
    o.result = std::string("FAILED: ") + e.what();
    o.json = {{"database", conn.database()}, {"error", {{"message", e.what()}}}};
  }
  return o;
}

Outcome new_migration(const Options& opts) {
  Outcome o;
  std::string s = files::slug(opts.name);
  if (s.empty()) {
    o.code = exit_code::kUsage;
    o.err = "error: the name \"" + opts.name + "\" has no letters or digits\n";
    return o;
  }
  std::error_code ec;
  fs::create_directories(opts.dir, ec);
  if (ec) {
    o.code = exit_code::kFolder;
    o.err = "error: cannot create " + opts.dir + ": " + ec.message() + "\n";
    return o;
  }
  // The version is the UTC time; a second file in the same second (or any file already at
  // that version) takes the next free second, so two quick `new` never share a version.
  // The versions already in the folder, whatever the layout of their files.
  std::set<std::string> versions;
  // The newest versioned file: in a Flyway folder numbered by hand (V1, V2, ...) the new file
  // follows it (V3__<slug>.sql): a timestamp version would put every later V file out of order.
  std::optional<Version> newest;
  files::Layout newest_layout = files::Layout::Timestamped;
  {
    fs::directory_iterator it(opts.dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::optional<files::FileName> fn = files::parse_file_name(it->path().filename().string());
      if (!fn || fn->part == files::Part::Repeatable) continue;
      try {
        Version v = Version::parse(fn->version);
        versions.insert(v.canonical());
        if (!newest || *newest < v) {
          newest = v;
          newest_layout = fn->layout;
        }
      } catch (const pgm::Error&) {
      }
    }
    if (ec) {
      o.code = exit_code::kFolder;
      o.err = "error: cannot list " + opts.dir + ": " + ec.message() + " (new needs the versions already there)\n";
      return o;
    }
  }
  auto taken = [&](const std::string& stamp) { return versions.count(Version::parse(stamp).canonical()) > 0; };
  std::time_t now = std::time(nullptr);
  char stamp[32];
  for (;; ++now) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
    if (!taken(stamp)) break;
  }
  // (a Flyway version of up to 9 digits in its first part: numbered by hand, not a timestamp)
  std::string first = newest ? newest->canonical().substr(0, newest->canonical().find('.')) : std::string();
  bool flyway = newest && newest_layout == files::Layout::Flyway && first.size() <= 9;
  fs::path p = flyway ? fs::path(opts.dir) / fmt::format("V{}__{}.sql", std::stoll(first) + 1, s)
                      : fs::path(opts.dir) / (std::string(stamp) + "_" + s + ".sql");
  if (fs::exists(p, ec) || ec) {
    if (ec) {
      o.code = exit_code::kFolder;
      o.err = "error: cannot use " + p.string() + ": " + ec.message() + "\n";
      return o;
    }
    o.code = exit_code::kFolder;
    o.err = "error: " + p.string() + " already exists\n";
    return o;
  }
  std::ofstream out(p);
  int write_errno = out ? 0 : errno;
  out << (flyway ? kNewFlywayTemplate : kNewFileTemplate);
  out.flush();
  if (!out) {
    if (!write_errno) write_errno = errno;
    o.code = exit_code::kFolder;
    o.err = "error: cannot write " + p.string() + (write_errno ? std::string(": ") + std::strerror(write_errno) : "") + "\n";
    return o;
  }
  o.out = p.string() + "\n";
  o.json = {{"file", p.string()}, {"version", stamp}};
  return o;
}

}  // namespace pgm::cli
