// The pg_migrate commands. Each runs against one database and returns an Outcome (exit code,
// text for stdout/stderr, JSON); main.cpp runs it for every database of a fleet.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cli/connection.hpp"
#include "cli/folder.hpp"

namespace pgm::cli {

// Exit codes (README "Exit codes"; --help).
// Milliseconds since the command started: the one clock of -vv's phase timings.
double ms_since_start();

namespace exit_code {
inline constexpr int kOk = 0;
inline constexpr int kFailed = 1;        // a migration or statement failed; lint errors; verify differs
inline constexpr int kUsage = 2;         // bad arguments
inline constexpr int kConnect = 3;       // could not connect
inline constexpr int kFolder = 4;        // the migrations folder cannot be used
inline constexpr int kNoExtension = 5;   // pg_migrate is not installed in the database
// check, one per cause (the lowest applies when there are several; --json lists all):
inline constexpr int kEdited = 10;       // an applied migration's file was edited
inline constexpr int kMissingFile = 11;  // a migration in the database has no file
inline constexpr int kPending = 12;      // migrations in the folder are not applied
inline constexpr int kDrift = 13;        // unacknowledged drift
inline constexpr int kSchemaDiff = 14;   // the schema differs from the last recorded snapshot
inline constexpr int kWrongVersion = 15; // not at --expect-version
}  // namespace exit_code

struct Options {
  std::vector<std::string> dbs;
  std::string dir = "migrations";
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  int jobs = 1;
  std::string dbs_from;
  bool all_databases = false;
  bool fail_fast = false;
  bool no_password = false;  // -w: never ask for a password at the terminal
  bool live = false;  // one database, stderr a terminal: progress is drawn as it happens
  // command arguments
  std::string command;
  std::string name;            // new
  std::string to;              // apply --to, revert --to
  bool dry_run = false;        // apply
  int steps = 0;               // revert --steps
  std::string version;         // verify [V], baseline V
  std::string ack;             // drift --ack
  std::string format = "text"; // lint
  std::vector<std::string> lint_files;
  std::string expect_version;  // check
  bool no_schema_diff = false; // check --no-schema-diff
  bool force = false;          // repair --force
};

struct Outcome {
  int code = exit_code::kOk;
  std::string out;      // stdout text
  std::string err;      // stderr text (progress, notices, errors)
  nlohmann::json json;  // --json
  std::string result;   // one line for the fleet summary
};

// Runs opts.command against one database (the connection is open).
Outcome run_command(Connection& conn, const Folder* folder, const Options& opts);

// check, and apply that may find nothing to do: reads ahead what they ask first (on the
// connection opened while the folder is read); true if it read anything.
bool prefetch_state(Connection& conn, const Options& opts);

// `new NAME`: creates the file and returns its path.
Outcome new_migration(const Options& opts);

// An error as the command reports it: file:line when the server names a migration's line.
void report_error(Outcome& o, const DbError& e, const Folder* folder, const Options& opts,
                  const std::string& fallback_location = {});

}  // namespace pgm::cli
