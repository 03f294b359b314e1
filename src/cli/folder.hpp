// Reading a migrations folder: every file that follows a known layout becomes one migration
// (up and down joined), with its source checksum. Two files for one version are an error.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/migration_files.hpp"

namespace pgm::cli {

// The folder cannot be used (exit code 4).
struct FolderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct MigrationFile {
  std::string file;       // path relative to the folder, of the up script (or sections file)
  std::string down_file;  // separate down file (Flyway U, .down.sql, down.sql), or ""
  std::string version;    // canonical; "" for repeatables
  std::string name;
  std::string up;
  std::optional<std::string> down;
  bool repeatable = false;
  bool no_transaction = false;
  files::Layout layout;
  std::string checksum;  // source checksum, as the server computes it
};

// A Flyway SQL callback (afterMigrate.sql, beforeEachMigrate__x.sql, ...) of an event pg_migrate
// runs (README "Callbacks").
struct CallbackFile {
  std::string file;  // path relative to the folder
  std::string event;
  std::string description;
  std::string script;
};

struct Folder {
  std::string dir;
  std::vector<MigrationFile> migrations;  // versioned in version order, then repeatables by name
  std::vector<CallbackFile> callbacks;    // in file name order
  std::vector<const CallbackFile*> callbacks_of(std::string_view event) const;
  std::vector<std::string> warnings;
  std::vector<std::string> unedited;  // files (as MigrationFile::file) still the empty template `pg_migrate new` wrote (apply and check refuse them while pending)
  std::vector<std::string> misnamed;  // .sql files named like a migration whose name does not parse (check refuses)
  // Versioned migrations whose file could not be taken (not UTF-8, an unknown directive, a
  // misplaced section marker): left out of `migrations`, and an error (exit 4) in a database
  // only if the version is above its baseline (one below it never runs: README "baseline").
  struct Unreadable {
    std::string version;  // canonical
    std::string error;    // names the file and line
  };
  std::vector<Unreadable> unreadable;  // in version order
  std::string digest;  // SHA-256 over the sorted file names and source checksums (migrate.sync_digest)
  const MigrationFile* by_version(const std::string& canonical) const;
  const MigrationFile* repeatable(const std::string& name) const;
  // Positions in `migrations` by version and by repeatable name, built by read_folder(): the
  // commands look up every row the server returns (a scan each made 10,000 files quadratic).
  std::unordered_map<std::string, size_t> versioned_at, repeatable_at;
};

// What `pg_migrate new` writes: a file still exactly this is a migration nobody wrote yet.
inline constexpr std::string_view kNewFileTemplate = "-- migrate:up\n\n\n-- migrate:down\n\n";
// What it writes in a Flyway folder (V<n>__<slug>.sql: a Flyway file holds the up script only).
inline constexpr std::string_view kNewFlywayTemplate =
    "-- Write the migration here. Its down script, if any, goes in the U file of the same version.\n\n";

Folder read_folder(const std::string& dir);

// SHA-256 (hex) of bytes.
std::string sha256_hex(const std::string& bytes);

}  // namespace pgm::cli
