// pg_migrate: the command-line client. Arguments (CLI11), the list of target databases
// (-d, --dbs-from, --all-databases), running a command on each (in parallel with -j) and the
// fleet summary. The commands themselves are in commands.cpp.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <exception>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <csignal>

#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/connection.hpp"
#include "cli/folder.hpp"
#include "cli/output.hpp"
#include "core/error.hpp"
#include "core/version.hpp"

using namespace pgm::cli;
using nlohmann::json;

namespace {

const char* kFooter = R"(Connection: -d takes a conninfo string or a URL; without -d, DATABASE_URL, then
the PG* environment variables and ~/.pgpass apply, as with psql; for one database
(or --all-databases), a password the server asks for and none of these gives is
asked at the terminal (not with -w; a fleet of several takes ~/.pgpass).

Files in --dir (default: migrations), recognised per file:
  20240101120000_add_users.sql    pg_migrate new / dbmate: "-- migrate:up", "-- migrate:down"
                                  (also goose "-- +goose Up", sql-migrate "-- +migrate Up")
  V1__init.sql  U1__init.sql      Flyway versioned and undo
  R__views.sql                    Flyway repeatable: re-applied when its content changes
  1_init.up.sql 1_init.down.sql   golang-migrate, morph, sqlx
  2019-02-26-002946_users/up.sql  diesel (version 20190226002946), down.sql beside it
Subfolders: Flyway files and diesel folders at any depth; the path is the file's name.
Flyway callbacks beforeMigrate.sql, afterMigrate__grants.sql, ... run with apply.

Exit codes:
  0  success                       10  check: an applied migration's file was edited
  1  a migration/statement failed  11  check: a migration in the database has no file
     (lint: error-level findings;  12  check: migrations are pending
     verify: a revert differs)     13  check/drift: unacknowledged drift
  2  invalid arguments             14  check/drift: schema differs from the last snapshot
  3  could not connect             15  check: not at --expect-version
  4  migrations folder unusable
  5  pg_migrate not installed in the database
130  interrupted (Ctrl-C; 143: SIGTERM): the server's running statement is canceled
With several databases the exit code is the lowest non-zero code of any database.)";

struct Target {
  std::string conninfo;
  std::string dbname;  // override (for --all-databases)
  std::string label;
  bool distinct = false;  // label made to tell it apart from another target's: kept after connecting
};

// Targets that would print the same name (one database name on two servers, the same
// connection twice) are named with their server, then numbered if that is not enough.
void tell_apart(std::vector<Target>& targets) {
  auto count = [&](const std::string& label) {
    return std::count_if(targets.begin(), targets.end(), [&](const Target& t) { return t.label == label; });
  };
  std::vector<bool> same(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) same[i] = count(targets[i].label) > 1;
  for (size_t i = 0; i < targets.size(); ++i)
    if (same[i]) {
      targets[i].label = describe_conninfo(targets[i].conninfo, true, targets[i].dbname);
      targets[i].distinct = true;
    }
  for (size_t i = 0; i < targets.size(); ++i) same[i] = targets[i].distinct && count(targets[i].label) > 1;
  for (size_t i = 0; i < targets.size(); ++i)
    if (same[i]) targets[i].label += fmt::format(" (#{})", i + 1);
}

// A URL of a scheme libpq does not read ("postgresq://user:secret@host/db") would be taken for
// a database name, and the server's "database ... does not exist" would print it, password
// and all: refused without showing more than the scheme.
// (Before the conninfo check: "postgresq://u:pw@h/db?sslmode=require" has an "=", and libpq's
// "invalid connection option" would quote the text before it.)
void refuse_unknown_scheme(const std::string& c, const std::string& source) {
  size_t first = c.find_first_not_of(" \t");
  size_t at = c.find("://");
  if (first == std::string::npos || at == std::string::npos || at <= first) return;
  std::string scheme = c.substr(first, at - first);
  bool word = std::isalpha(static_cast<unsigned char>(scheme[0])) &&
              std::all_of(scheme.begin(), scheme.end(), [](unsigned char ch) {
                return std::isalnum(ch) || ch == '+' || ch == '-' || ch == '.';
              });
  // (libpq reads these two in lower case only: "POSTGRESQL://..." is no URL to it either.)
  if (!word || ((scheme == "postgresql" || scheme == "postgres") && first == 0)) return;
  throw FolderError(fmt::format("{}: \"{}://...\" is not a URL libpq reads (it takes postgresql:// or postgres://); "
                                "the rest is not shown, it may hold a password",
                                source, scheme));
}

// Not a conninfo string or URL, a target is a database name: one with white space or a URL's
// punctuation is a malformed URL or conninfo ("user:secret@host/db", a quoted
// "postgres://...", "Postgres://..."), which the server's "database ... does not exist" would
// print back, password and all: refused without echoing it.
void refuse_url_like_name(const std::string& c, const std::string& source) {
  if (c.empty() || is_conninfo(c) || c.find_first_of(" \t\r\n@:/?\"'") == std::string::npos) return;
  throw FolderError(fmt::format("{}: neither a conninfo string (key=value ...), a URL (postgresql://...) nor a database "
                                "name (it is not shown: it may hold a password)",
                                source));
}

// A target (-d, a --dbs-from line, DATABASE_URL) that is no conninfo string, URL or plain
// database name is a bad argument (exit 2), not a failed connection, and is not echoed.
// `source` names where it came from; `hint` is added to a conninfo string's parse error.
void refuse_bad_target(const std::string& c, const std::string& source, const char* hint = "") {
  refuse_unknown_scheme(c, source);
  if (std::string why = conninfo_problem(c); !why.empty())
    throw FolderError(fmt::format("{}: not a conninfo string or URL: {}{}", source, why, hint));
  refuse_url_like_name(c, source);
}

std::vector<Target> targets_of(const Options& opts) {
  std::vector<Target> t;
  for (const std::string& d : opts.dbs) {
    refuse_bad_target(d, "-d");
    t.push_back({d, "", describe_conninfo(d)});
  }
  if (!opts.dbs_from.empty()) {
    std::ifstream in(opts.dbs_from);
    if (!in) throw FolderError(fmt::format("cannot read --dbs-from file {}: {}", opts.dbs_from, std::strerror(errno)));
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
      ++number;
      // A UTF-8 byte order mark (Windows editors write one), as in migration files.
      if (number == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
      size_t a = line.find_first_not_of(" \t\r");
      if (a == std::string::npos || line[a] == '#') continue;
      size_t b = line.find_last_not_of(" \t\r");
      std::string c = line.substr(a, b - a + 1);
      // Named by file and line: a bad line is reported as such, not as a failed connection.
      refuse_bad_target(c, fmt::format("{}:{}", opts.dbs_from, number), " (a comment takes a whole line, starting with #)");
      t.push_back({c, "", describe_conninfo(c)});
    }
    if (t.size() == opts.dbs.size())
      throw FolderError("--dbs-from file " + opts.dbs_from + " lists no database (one conninfo or URL per line)");
  }
  if (t.empty()) {
    const char* url = std::getenv("DATABASE_URL");
    std::string c = url && *url ? url : "";
    refuse_bad_target(c, "DATABASE_URL");
    t.push_back({c, "", describe_conninfo(c)});
  }
  return t;
}

// --all-databases: every database of each server that accepts connections; those without
// the extension are skipped (by the worker). Those that accept none (ALLOW_CONNECTIONS false,
// not templates) cannot be checked: named in `not_accepting`, so the summary says so.
std::vector<Target> expand_all(const std::vector<Target>& servers, std::vector<std::string>& not_accepting) {
  std::vector<Target> out;
  // Several -d (or --dbs-from lines) on one server name it once: its databases are listed
  // once. The server as it answers: its address (none over a Unix socket) and port.
  std::set<std::string> servers_seen;
  for (const Target& s : servers) {
    Connection c(s.conninfo);
    std::string server = c.exec("SELECT coalesce(pg_catalog.host(pg_catalog.inet_server_addr()), 'socket') "
                                "OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) pg_catalog.current_setting('port')")
                             .get(0, 0);
    if (!servers_seen.insert(server).second) continue;
    Result r = c.exec("SELECT datname, datallowconn FROM pg_catalog.pg_database WHERE NOT datistemplate ORDER BY datname");
    for (int i = 0; i < r.rows(); ++i) {
      if (r.get(i, 1) == "t") out.push_back({s.conninfo, r.get(i, 0), r.get(i, 0)});
      else not_accepting.push_back(r.get(i, 0));
    }
  }
  return out;
}

void print(const Outcome& o, const Options& opts, bool to_json) {
  // (Control characters in names and server messages escaped: none reaches the terminal.)
  if (!o.err.empty()) std::cerr << terminal_safe(o.err);
  if (!to_json && !o.out.empty()) std::cout << terminal_safe(o.out);
  (void)opts;
}

}  // namespace

// Levenshtein distance, for "did you mean".
static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

int run_command(int argc, char** argv);

int main(int argc, char** argv) {
  int code = run_command(argc, argv);
  wait_for_cancels();
  return code;
}

int run_command(int argc, char** argv) {
  auto since = [] { return ms_since_start(); };
  Options opts;
  CLI::App app{"pg_migrate: versioned schema migrations from a folder of SQL files, run by the pg_migrate extension",
               "pg_migrate"};
  app.footer(kFooter);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("-d,--dbname", opts.dbs, "Database: conninfo or URL (repeat for several)")
      ->allow_extra_args(false)
      ->type_name("CONNINFO");
  app.add_option("--dir", opts.dir, "Migrations folder (default: migrations)")->type_name("DIR");
  app.add_flag("--json", opts.json, "Machine-readable output on stdout");
  app.add_flag("-q,--quiet", opts.quiet, "Only errors and the result");
  app.add_flag("-v,--verbose", opts.verbose, "More detail (repeatable)");
  app.add_option("-j,--jobs", opts.jobs, "Databases to work on in parallel (default 1)")
      ->check(CLI::Range(1, 256))
      ->type_name("N");
  app.add_option("--dbs-from", opts.dbs_from, "Read one conninfo per line from FILE (# comments)")->type_name("FILE");
  app.add_flag("--all-databases", opts.all_databases, "Every database of the server that has pg_migrate");
  app.add_flag("--fail-fast", opts.fail_fast, "Start no further database after one failed");
  app.add_flag("-w,--no-password", opts.no_password, "Never prompt for a password (as psql -w)");
  app.set_version_flag("--version", std::string("pg_migrate ") + PGM_VERSION, "Print the version and exit");

  // A version argument is checked before anything connects: the same exit code (2) for every
  // command, and an empty one would otherwise mean "no target" (everything).
  const CLI::Validator valid_version(
      [](std::string& v) {
        if (v.empty()) return std::string("must not be empty");
        try {
          (void)pgm::Version::parse(v);
        } catch (const pgm::Error& e) {
          return e.message();
        }
        return std::string();
      },
      "", "version");
  auto* c_new = app.add_subcommand("new", "Create <dir>/<UTC timestamp>_<slug>.sql (Flyway: the next V file), print its path");
  c_new->add_option("NAME", opts.name, "What the migration does")->required();
  app.add_subcommand("status", "Every migration: version, file, state, applied at/by; pending count; drift");
  auto* c_apply = app.add_subcommand("apply", "Sync the folder and apply what is pending, in one transaction");
  c_apply->add_option("--to", opts.to, "Apply up to this version")->type_name("V")->check(valid_version);
  c_apply->add_flag("--dry-run", opts.dry_run, "Show the server's plan (locks, rewrites) and change nothing");
  auto* c_revert = app.add_subcommand("revert", "Revert the newest applied migrations with their down scripts");
  auto* steps = c_revert->add_option("--steps", opts.steps, "How many (default 1)")
                    ->type_name("N")
                    ->check(CLI::Validator(
                        [](std::string& v) {
                          bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
                          if (!digits) return std::string("must be a whole number of migrations (1 or more), not \"" + v + "\"");
                          if (v.size() > 7 || std::stol(v) < 1 || std::stol(v) > 1000000)
                            return std::string("must be between 1 and 1000000");
                          return std::string();
                        },
                        "", "steps"));
  c_revert->add_option("--to", opts.to, "Revert every migration above this version")
      ->type_name("V")
      ->excludes(steps)
      ->check(valid_version);
  auto* c_verify = app.add_subcommand("verify", "Prove that pending migrations' down scripts undo their up scripts");
  c_verify->add_option("VERSION", opts.version, "Only this version")->check(valid_version);
  auto* c_baseline = app.add_subcommand("baseline", "Adopt an existing database at version V");
  c_baseline->add_option("VERSION", opts.version, "The version the database is at")->required()->check(valid_version);
  auto* c_drift = app.add_subcommand("drift", "Schema changes made outside migrations (exit 13/14 if any)");
  c_drift->add_option("--ack", opts.ack, "Acknowledge the drift so far with this note")
      ->type_name("NOTE")
      ->check(CLI::Validator(
          [](std::string& v) {
            return v.find_first_not_of(" \t\r\n") == std::string::npos ? std::string("must not be empty") : std::string();
          },
          "", "note"));
  auto* c_repair = app.add_subcommand("repair", "Accept edited applied files as they are now (recorded in history)");
  c_repair->add_flag("--force", opts.force,
                     "Also when the folder has none of the registered migrations' files (renamed or removed on purpose)");
  auto* c_lint = app.add_subcommand("lint", "Lint files (default: pending ones) against the database's catalog");
  c_lint->add_option("FILE", opts.lint_files, "Files to lint");
  c_lint->add_option("--format", opts.format, "text, json or github")
      ->check(CLI::IsMember({"text", "json", "github"}));
  auto* c_check = app.add_subcommand("check", "CI gate: exit 0 only when the database is exactly at the folder");
  c_check->add_option("--expect-version", opts.expect_version, "Also require this current version")
      ->type_name("V")
      ->check(valid_version);
  c_check->add_flag("--no-schema-diff", opts.no_schema_diff,
                    "Skip the schema comparison (exit 14); drift entries (13) are still checked");

  // A command's --help lists its own options; the connection and output ones apply to all.
  for (CLI::App* sub : app.get_subcommands({}))
    sub->footer("Options of every command (before or after it): -d CONNINFO, --dir DIR, --json, -q, -v, -j N,\n"
                "--dbs-from FILE, --all-databases, --fail-fast, -w; see pg_migrate --help.");
  // --json asked for anywhere before "--": a refused argument gives its JSON error object too
  // (CLI11 may stop before it reads the flag).
  bool json_asked = false;
  for (int i = 1; i < argc && std::string_view(argv[i]) != "--"; ++i) json_asked = json_asked || std::string_view(argv[i]) == "--json";
  auto usage_json = [&](const std::string& message) {
    if (json_asked)
      std::cout << json{{"error", {{"message", message}}}, {"exit_code", exit_code::kUsage}}.dump(
                       2, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A mistyped command ("aply") is reported as such, not as a missing one.
    std::vector<std::string> rest = app.remaining();
    if (app.get_subcommands().empty() && !rest.empty() && !rest.front().empty() && rest.front()[0] != '-') {
      std::string best;
      size_t best_distance = 3;  // suggest only a near miss
      for (const CLI::App* sub : app.get_subcommands({})) {
        size_t d = edit_distance(rest.front(), sub->get_name());
        if (d < best_distance) best_distance = d, best = sub->get_name();
      }
      std::cerr << "error: unknown command \"" << rest.front() << "\""
                << (best.empty() ? "" : "; did you mean \"" + best + "\"?") << "\nRun with --help for the commands.\n";
      usage_json("unknown command \"" + rest.front() + "\"" + (best.empty() ? "" : "; did you mean \"" + best + "\"?"));
      return exit_code::kUsage;
    }
    int rc = app.exit(e);
    if (rc != 0) usage_json(e.what());
    return rc == 0 ? 0 : exit_code::kUsage;
  }
  opts.command = app.get_subcommands().front()->get_name();
  if (opts.command == "new") {
    Outcome o = new_migration(opts);
    if (o.code != 0 && o.json.is_null()) {  // the JSON error object every refusal gives
      std::string message = o.err.rfind("error: ", 0) == 0 ? o.err.substr(7) : o.err;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      o.json = {{"error", {{"message", message}}}, {"exit_code", o.code}};
    }
    print(o, opts, opts.json);
    if (opts.json) std::cout << o.json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return o.code;
  }

  install_interrupt_handler();  // before any thread starts
  // The list of databases first (an error in it is reported after the folder's): with one
  // database, its connection is opened, and pg_migrate's library loaded, on another thread
  // while the folder is read. Nothing is written before the folder has been read.
  std::vector<Target> targets;
  std::vector<std::string> not_accepting;  // --all-databases: databases that accept no connection
  std::exception_ptr targets_error;
  try {
    targets = targets_of(opts);
  } catch (...) {
    targets_error = std::current_exception();
  }
  // A password is asked for at the terminal for one database (or one server's databases), not
  // for a fleet of them, whose output it would interleave with: psql's rule for one connection.
  allow_password_prompt(!opts.no_password && !targets_error && targets.size() == 1);
  std::unique_ptr<Connection> early_conn;
  std::exception_ptr early_error;
  std::thread early;
  std::promise<void> early_done;  // set when the thread's work with the connection is over
  std::future<void> early_finished = early_done.get_future();
  if (!targets_error && !opts.all_databases && targets.size() == 1) {
    try {
      early = std::thread([&] {
        struct Done {
          std::promise<void>& p;
          ~Done() { p.set_value(); }
        } done{early_done};
        try {
          early_conn = std::make_unique<Connection>(targets[0].conninfo, targets[0].dbname, false);
        } catch (const ConnectError& e) {
          // The worker reports it, as for any database; or, for a password to ask, connects
          // again itself once the folder is read.
          if (!e.needs_password || opts.no_password) early_error = std::current_exception();
          return;
        } catch (...) {
          return;  // the worker connects itself
        }
        try {
          // (The read-ahead loads the library itself: migrate.current_version() does.)
          bool read_ahead = early_conn->extension_version() && *early_conn->extension_version() != "0.1.0" &&
                            prefetch_state(*early_conn, opts);
          if (!read_ahead) early_conn->load_library();
        } catch (const DbError&) {
          // Not installed, no privilege...: the command meets it again and reports it.
        } catch (...) {
          early_conn.reset();  // in an unknown state: the worker connects itself
        }
      });
    } catch (const std::system_error&) {
      // No thread to be had: the worker connects when the folder has been read.
    }
  }
  struct Join {
    std::thread& t;
    ~Join() {
      if (t.joinable()) t.join();
    }
  } join_early{early};
  // An error before the database is used: the connection being opened meanwhile is closed
  // (PQfinish) once what it sent is answered: exiting with a query in flight had the server
  // log "could not send data to client: Broken pipe" and "FATAL: connection to client lost".
  // A server that does not answer within a few seconds does not hold the exit (libpq could
  // wait for it as long as connect_timeout allows).
  auto leave = [&](int code) {
    if (!early.joinable()) return code;
    if (early_finished.wait_for(std::chrono::seconds(5)) == std::future_status::ready) {
      early.join();
      early_conn.reset();
      return code;
    }
    std::cout << std::flush;
    std::cerr << std::flush;
    _exit(code);
  };

  // A refusal before any database was worked on: stderr, and with --json the same keys as
  // every other result.
  auto refuse = [&opts](const std::string& message, const char* prefix, int code) {
    std::cerr << "error: " << prefix << terminal_safe(message) << "\n";
    if (opts.json)
      std::cout << json{{"error", {{"message", prefix + message}}}, {"exit_code", code}}.dump(
                       2, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    return code;
  };
  std::optional<Folder> folder;
  bool needs_folder = opts.command != "drift" && opts.command != "revert" && opts.command != "baseline";
  try {
    std::error_code dir_error;
    // (drift never reads it: 20,000 files took 530 ms of a 580 ms drift)
    if (needs_folder || (opts.command != "drift" && std::filesystem::is_directory(opts.dir, dir_error)))
      folder = read_folder(opts.dir);
  } catch (const FolderError& e) {
    return leave(refuse(e.what(), "", exit_code::kFolder));
  }
  if (folder && !opts.quiet)
    for (const std::string& w : folder->warnings) std::cerr << "warning: " << w << "\n";
  // The CI gate does not pass over a file meant as a migration that is not read (V1.1.x__a.sql,
  // V2_a.sql, v3__a.sql): the database would be "at the folder's version" without it.
  if (folder && opts.command == "check" && !folder->misnamed.empty())
    return leave(refuse(fmt::format("{} {} named like a migration but not read (the name does not parse: see pg_migrate "
                                    "--help): rename {} or move {} out of the folder",
                                    fmt::join(folder->misnamed, ", "), folder->misnamed.size() == 1 ? "is" : "are",
                                    folder->misnamed.size() == 1 ? "it" : "them",
                                    folder->misnamed.size() == 1 ? "it" : "them"),
                        "", exit_code::kFolder));
  if (opts.verbose >= 2) std::cerr << fmt::format("[{:.1f} ms] folder read\n", since());

  try {
    if (targets_error) std::rethrow_exception(targets_error);
    if (opts.all_databases) targets = expand_all(targets, not_accepting);
    tell_apart(targets);
  } catch (const FolderError& e) {
    return leave(refuse(e.what(), "", exit_code::kUsage));
  } catch (const ConnectError& e) {
    return leave(refuse(e.what(), "could not connect: ", exit_code::kConnect));
  } catch (const DbError& e) {
    return leave(refuse(e.message, "", exit_code::kFailed));
  }
  if (early.joinable()) early.join();
  const bool fleet = targets.size() > 1;
  opts.live = !fleet && !opts.quiet && !opts.json && isatty(STDERR_FILENO);
  std::vector<Outcome> outcomes(targets.size());
  std::vector<std::string> labels(targets.size());
  std::vector<char> started(targets.size(), 0), skipped(targets.size(), 0);
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex print_mutex;
  auto worker = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= targets.size()) return;
      if (stop.load() || interrupted()) continue;
      started[i] = 1;
      const Target& t = targets[i];
      Outcome o;
      labels[i] = t.label;
      try {
        if (early_error) std::rethrow_exception(early_error);
        std::unique_ptr<Connection> own = early_conn ? std::move(early_conn) : std::make_unique<Connection>(t.conninfo, t.dbname);
        Connection& conn = *own;
        if (!t.distinct) labels[i] = conn.label();
        if (opts.verbose >= 2) o.err += fmt::format("[{:.1f} ms] connected\n", since());
        if (opts.all_databases) {
          // A query error here (a lock timeout, a cancel, a terminated backend) is the
          // command's to report: run_command asks again inside its error handling.
          bool installed = true;
          try {
            installed = conn.extension_version().has_value();
          } catch (const DbError&) {
          }
          if (!installed) {
            skipped[i] = 1;
            continue;
          }
        }
        std::string early = std::move(o.err);
        o = run_command(conn, folder ? &*folder : nullptr, opts);
        o.err = early + o.err;
        if (opts.verbose >= 2) o.err += fmt::format("[{:.1f} ms] done\n", since());
      } catch (const ConnectError& e) {
        o.code = exit_code::kConnect;
        o.err = fmt::format("error: could not connect{}: {}\n", t.label.empty() ? "" : " to " + t.label, e.what());
        o.result = "FAILED: could not connect";
        o.json = {{"database", t.label}, {"error", {{"message", e.what()}}}};
      } catch (const std::exception& e) {
        // Nothing may leave a worker thread (std::terminate): any other failure is this
        // database's.
        o.code = exit_code::kFailed;
        o.err = fmt::format("error: {}\n", e.what());
        o.result = std::string("FAILED: ") + e.what();
        o.json = {{"database", t.label}, {"error", {{"message", e.what()}}}};
      }
      if (o.code != 0 && opts.fail_fast) stop = true;
      // With several databases each stderr line says which one it is about (stdout has the
      // "== database" headers, but stderr is often read on its own, e.g. a CI log).
      if (fleet && !o.err.empty()) {
        std::string tagged, label = labels[i].empty() ? t.label : labels[i];
        size_t from = 0;
        while (from < o.err.size()) {
          size_t nl = o.err.find('\n', from);
          size_t to = nl == std::string::npos ? o.err.size() : nl + 1;
          tagged += label + ": " + o.err.substr(from, to - from);
          from = to;
        }
        o.err = std::move(tagged);
      }
      outcomes[i] = std::move(o);
      std::lock_guard<std::mutex> lock(print_mutex);
      const Outcome& done = outcomes[i];
      if (fleet && !opts.json && !opts.quiet) std::cout << "== " << labels[i] << "\n" << std::flush;
      if (fleet && opts.quiet) {
        if (!done.err.empty()) std::cerr << terminal_safe(done.err);
      } else {
        print(done, opts, opts.json);
      }
      std::cout << std::flush;
    }
  };
  int jobs = std::max(1, std::min<int>(opts.jobs, static_cast<int>(targets.size())));
  std::vector<std::thread> threads;
  for (int j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (std::thread& t : threads) t.join();

  int code = 0;
  size_t ok = 0, failed = 0, not_started = 0, skipped_count = 0;
  // The databases by outcome, named as the text output names them (a database that could not
  // be connected to by its target). --json gives each outcome as such a list.
  std::vector<std::string> ok_labels, failed_labels, not_started_labels, skipped_labels;
  json dbs = json::array();
  for (size_t i = 0; i < targets.size(); ++i) {
    const std::string& name = labels[i].empty() ? targets[i].label : labels[i];
    if (skipped[i]) {
      ++skipped_count;
      skipped_labels.push_back(name);
      continue;
    }
    if (!started[i]) {
      ++not_started;
      not_started_labels.push_back(name);
      dbs.push_back({{"database", targets[i].label}, {"status", interrupted() ? "not started (interrupted)" : "not started (--fail-fast)"}});
      continue;
    }
    const Outcome& o = outcomes[i];
    if (o.code == 0) {
      ++ok;
      ok_labels.push_back(name);
    } else {
      ++failed;
      failed_labels.push_back(name);
      if (code == 0 || o.code < code) code = o.code;
    }
    json j = o.json;
    j["exit_code"] = o.code;
    // The name the text output uses: the database's, with its server when another target
    // has the same name.
    if (targets[i].distinct) j["target"] = targets[i].label;
    dbs.push_back(j);
  }
  if (fleet && code == 0 && not_started) code = exit_code::kFailed;
  int sig = interrupted();
  if (sig) code = 128 + sig;
  auto print_fleet_json = [&] {
    json fleet_json{{"databases", dbs},
                    {"ok", ok_labels},
                    {"failed", failed_labels},
                    {"not_started", not_started_labels},
                    {"exit_code", code}};
    if (opts.all_databases) {
      fleet_json["skipped"] = skipped_labels;  // without pg_migrate
      fleet_json["not_accepting_connections"] = not_accepting;
    }
    std::cout << fleet_json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  };
  if (fleet) {
    if (!opts.json) {
      std::cout << "\n";
      for (size_t i = 0; i < targets.size(); ++i) {
        if (skipped[i]) continue;
        std::string r = !started[i] ? (interrupted() ? "not started (interrupted)" : "not started (--fail-fast)") : outcomes[i].result;
        std::cout << fmt::format("{}: {}\n", printable(labels[i].empty() ? targets[i].label : labels[i]), printable(r));
      }
      std::cout << fmt::format("summary: {} of {} database{} ok", ok, ok + failed + not_started,
                               ok + failed + not_started == 1 ? "" : "s");
      if (failed) std::cout << fmt::format("; failed: {}", fmt::join(failed_labels, ", "));
      if (not_started) std::cout << fmt::format("; {} not started ({})", not_started, interrupted() ? "interrupted" : "--fail-fast");
      if (skipped_count) std::cout << fmt::format("; {} without pg_migrate skipped", skipped_count);
      if (!not_accepting.empty())
        std::cout << fmt::format("; {} not accepting connections not checked ({})", not_accepting.size(),
                                 printable(fmt::format("{}", fmt::join(not_accepting, ", "))));
      std::cout << "\n";
    } else {
      print_fleet_json();
    }
  } else if (opts.json && (!opts.dbs_from.empty() || opts.all_databases)) {
    // A list of databases gives the fleet's shape however many it holds today: a CI parser
    // must not break when the tenant list shrinks to one.
    print_fleet_json();
  } else if (opts.json) {
    json one = dbs.empty() ? json::object() : dbs[0];
    if (sig) one["exit_code"] = code;  // the process's own: 128 + the signal
    std::cout << one.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  if (sig) {
    // What the server had running was canceled and rolled back (or, for CALL migrate.run(),
    // stopped as an interrupted run that pg_migrate apply resumes): 128 + the signal, as shells report.
    std::cerr << fmt::format("interrupted by {}: the running statement was canceled{}\n",
                             sig == SIGINT ? "SIGINT" : "SIGTERM", not_started ? ", and no further database started" : "");
  }
  return code;
}
