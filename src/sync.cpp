// File sync: migrate.sync(files jsonb) brings the catalog in line with a folder of migration
// files in one statement (the pg_migrate command uses it; any client can), and migrate.
// apply_repeatables() re-applies repeatable migrations whose content changed.
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "apply.hpp"
#include "catalog.hpp"
#include "catalog_record.hpp"
#include "xact.hpp"
#include "core/migration_files.hpp"
#include "core/script.hpp"
#include "drift_hooks.hpp"
#include "pg/args.hpp"
#include "pg/spi.hpp"
#include "pg/srf.hpp"
#include "run.hpp"
#include "safety_hooks.hpp"
#include "script_parse.hpp"
#include "settings.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_proc.h"
#include "storage/proc.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/jsonb.h"
}

extern "C" Datum pgm_register(PG_FUNCTION_ARGS);

namespace pgm {
namespace {

struct InFile {
  std::string file;
  std::string version_text;
  std::string version;  // canonical
  std::optional<Version> parsed;
  std::string name;
  std::optional<std::string> up;
  std::optional<std::string> down;
  std::string source_checksum;
  bool repeatable = false;
  bool no_transaction = false;
};

// The checksum of a script of `f`; a script the scanner refuses (an unterminated quote or
// comment) is reported as register reports it: which script, which line, the caret in it.
std::string checksum_of(const InFile& f, const std::string& script, const char* which) {
  try {
    return script_checksum(script);
  } catch (const pg::PgError& e) {
    if (e.is_interrupt()) throw;
    (void)parse_script(script, {f.repeatable ? std::string("R") : f.version, f.name, which});
    throw;
  }
}

struct Known {
  std::string name;
  bool applied = false;
  bool below_baseline = false;
  bool has_file_row = false;
  std::string file_name;
  std::string script_checksum;
  std::string source_checksum;
  bool applied_at_null = true;
  TimestampTz applied_at = 0;
  std::string applied_by;
  bool seen = false;
};

struct OutRow {
  std::string file, version, name, kind, state, action;
  bool applied_at_null = true;
  TimestampTz applied_at = 0;
  std::string applied_by, checksum, detail;
};

// Defined with migrate.sync() below: the caller's privileges on the functions whose writes
// sync makes for it.
bool may_repair();
[[noreturn]] void refuse_write(const char* doing, const char* signature);

void notice(const std::string& message) {
  const char* m = message.c_str();
  pg::call([&] { ereport(NOTICE, (errmsg_internal("%s", m))); });
}

[[noreturn]] void bad_file(const std::string& file, const std::string& message, const std::string& hint = {}) {
  throw Error(sqlstate::kInvalidParameterValue,
              file.empty() ? message : fmt::format("migration file {}: {}", file, message), {}, hint);
}

// The version of file `f` by `parse` (Version::parse, or parse_new for one about to be
// registered), its error naming the file.
Version file_version(const InFile& f, Version (*parse)(std::string_view)) {
  try {
    return parse(f.version_text);
  } catch (const Error& e) {
    throw Error(e.sqlstate(), fmt::format("migration file {}: {}", f.file, e.message()), e.detail(), e.hint());
  }
}

// A name with a control character (a newline, an escape sequence) is refused when it would be
// written: a new migration's, or a changed one. One an older release registered stays.
void refuse_control_characters(const std::string& file, const std::string& name, const std::string* registered) {
  if (control_character_at(name) == std::string::npos || (registered && *registered == name)) return;
  bad_file(file, "the migration name contains a control character",
           "A name is one line of plain text: write it without newlines, tabs or escape sequences.");
}

// Parses a script and checks every statement can run in a migration (as register does).
// Returns true for a script that is registered through migrate.register itself, which knows how
// it runs: one with transaction control (COMMIT split points), and an empty or comment-only
// one (a no-op migration, with register's NOTICE).
bool check_script(const std::string& script, const ScriptLabel& label,
                  std::vector<ScriptStatement>* parsed = nullptr) {
  std::vector<ScriptStatement> local;
  std::vector<ScriptStatement>& stmts = parsed ? *parsed : local;
  stmts = parse_script(script, label);
  if (stmts.empty()) return true;
  for (const ScriptStatement& s : stmts)
    if (nodeTag(s.parsetree) == T_TransactionStmt) return true;
  refuse_unknown_directive(script, label);
  refuse_misplaced_directive(script, label);  // before the statements, as register
  check_statements(stmts, script, label);
  // A batch directive in a transactional script is refused, as register refuses it: the
  // statement would run unbatched, in one transaction.
  (void)script_run_mode(script, stmts, label);
  return false;
}

// Registers (or replaces) one migration through migrate.register's own code: for scripts that
// do not run as one plain transaction (non-transactional, COMMIT split points) and for
// replacements, so whatever register records about how a script runs is recorded here too.
void register_through_register(const InFile& f) {
  std::string version = f.version, name = f.name, up = *f.up;
  bool has_down = f.down.has_value();
  std::string down = has_down ? *f.down : std::string();
  pg::call([&] {
    LOCAL_FCINFO(fc, 4);
    InitFunctionCallInfoData(*fc, nullptr, 4, InvalidOid, nullptr, nullptr);
    fc->args[0].value = PointerGetDatum(cstring_to_text_with_len(version.data(), (int)version.size()));
    fc->args[0].isnull = false;
    fc->args[1].value = PointerGetDatum(cstring_to_text_with_len(name.data(), (int)name.size()));
    fc->args[1].isnull = false;
    fc->args[2].value = PointerGetDatum(cstring_to_text_with_len(up.data(), (int)up.size()));
    fc->args[2].isnull = false;
    fc->args[3].value = has_down ? PointerGetDatum(cstring_to_text_with_len(down.data(), (int)down.size())) : (Datum)0;
    fc->args[3].isnull = !has_down;
    (void)pgm_register(fc);
  });
}

// The elements of `files`, read straight from the jsonb (no SQL). Each must be an object with
// only the documented keys, each of its JSON type: a typo ("verison") or a number where a string
// belongs is refused, naming the element, instead of being left out or converted.
struct RawFile {
  // file, version, name, up, down, checksum: pointers into the jsonb (NULL: absent or null)
  const char* text[6];
  int length[6];
  bool flag[2];  // repeatable, no_transaction (absent or null: false)
};

std::vector<RawFile> read_elements(Datum files) {
  static const char* const kStringKeys[] = {"file", "version", "name", "up", "down", "checksum"};
  static const char* const kBoolKeys[] = {"repeatable", "no_transaction"};
  enum Problem { kNone, kNotArray, kNotObject, kUnknownKey, kWrongType };
  // Plain data only inside the guarded call (an error longjmps out of it).
  struct Found {
    Problem problem;
    int element;
    char key[64];
    enum jbvType type;
    bool container_is_array;
    bool want_bool;
  } found{kNone, 0, "", jbvNull, false, false};
  RawFile* raw = nullptr;
  int count = 0;
  pg::call([&] {
    Jsonb* jb = DatumGetJsonbP(files);
    if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb)) {
      JsonbValue scalar;
      found.problem = kNotArray;
      found.container_is_array = false;
      found.type = JB_ROOT_IS_SCALAR(jb) && JsonbExtractScalar(&jb->root, &scalar) ? scalar.type : jbvBinary;
      return;
    }
    raw = static_cast<RawFile*>(palloc0(sizeof(RawFile) * (JB_ROOT_COUNT(jb) + 1)));
    JsonbIterator* it = JsonbIteratorInit(&jb->root);
    JsonbValue v;
    JsonbIteratorToken tok;
    while (found.problem == kNone && (tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE) {
      if (tok != WJB_ELEM) continue;
      int element = count + 1;
      if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data)) {
        found = {kNotObject, element, "", v.type,
                 v.type == jbvBinary && JsonContainerIsArray(v.val.binary.data), false};
        break;
      }
      RawFile& r = raw[count++];
      JsonbIterator* fields = JsonbIteratorInit(v.val.binary.data);
      JsonbValue f;
      JsonbIteratorToken ftok;
      int slot = -1;  // 0-5: a string key, 6-7: a boolean key
      char key[64] = "";
      while ((ftok = JsonbIteratorNext(&fields, &f, true)) != WJB_DONE) {
        if (ftok == WJB_KEY) {
          int len = f.val.string.len < 63 ? f.val.string.len : 63;
          memcpy(key, f.val.string.val, len);
          key[len] = '\0';
          slot = -1;
          for (int k = 0; k < 6; ++k)
            if (f.val.string.len == (int)strlen(kStringKeys[k]) && strcmp(kStringKeys[k], key) == 0) slot = k;
          for (int k = 0; k < 2; ++k)
            if (f.val.string.len == (int)strlen(kBoolKeys[k]) && strcmp(kBoolKeys[k], key) == 0) slot = 6 + k;
          if (slot < 0) {
            found = {kUnknownKey, element, "", jbvNull, false, false};
            memcpy(found.key, key, sizeof key);
            break;
          }
        } else if (ftok == WJB_VALUE && f.type != jbvNull) {
          bool want_bool = slot >= 6;
          if ((want_bool && f.type != jbvBool) || (!want_bool && f.type != jbvString)) {
            found = {kWrongType, element, "", f.type, f.type == jbvBinary && JsonContainerIsArray(f.val.binary.data),
                     want_bool};
            memcpy(found.key, key, sizeof key);
            break;
          }
          if (want_bool) {
            r.flag[slot - 6] = f.val.boolean;
          } else {
            r.text[slot] = f.val.string.val;
            r.length[slot] = f.val.string.len;
          }
        }
      }
    }
  });
  auto type_name = [&] {
    switch (found.type) {
      case jbvNull: return "null";
      case jbvString: return "string";
      case jbvNumeric: return "number";
      case jbvBool: return "boolean";
      default: return found.container_is_array ? "array" : "object";
    }
  };
  const char* hint = "Each element describes one file: {\"file\": \"V1__init.sql\", \"version\": \"1\", \"name\": \"init\", "
                     "\"up\": \"...\", \"down\": \"...\"}; \"repeatable\" and \"no_transaction\" are booleans, "
                     "every other key a string.";
  switch (found.problem) {
    case kNone:
      break;
    case kNotArray:
      throw Error(sqlstate::kInvalidParameterValue, "files must be a JSON array of objects",
                  fmt::format("It is a JSON {}.", type_name()),
                  "Pass [{\"file\": \"V1__init.sql\", \"version\": \"1\", \"name\": \"init\", \"up\": \"...\"}, ...].");
    case kNotObject:
      throw Error(sqlstate::kInvalidParameterValue,
                  fmt::format("element {} of files is a JSON {}, not an object", found.element, type_name()), {}, hint);
    case kUnknownKey:
      throw Error(sqlstate::kInvalidParameterValue,
                  fmt::format("element {} of files has an unknown key \"{}\"", found.element, found.key),
                  "Keys: file, version, name, up, down, checksum, repeatable, no_transaction.", hint);
    case kWrongType:
      throw Error(sqlstate::kInvalidParameterValue,
                  fmt::format("element {} of files: \"{}\" is a JSON {}, not a {}", found.element, found.key,
                              type_name(), found.want_bool ? "boolean" : "string"),
                  {}, hint);
  }
  return std::vector<RawFile>(raw, raw + count);
}

std::vector<InFile> read_files(Datum files) {
  std::vector<RawFile> raw = read_elements(files);
  std::vector<InFile> out;
  out.reserve(raw.size());
  std::unordered_set<std::string> file_names;
  auto text = [](const RawFile& r, int k) { return r.text[k] ? std::string(r.text[k], r.length[k]) : std::string(); };
  for (size_t i = 0; i < raw.size(); ++i) {
    const RawFile& r = raw[i];
    InFile f;
    f.file = text(r, 0);
    bool no_version = !r.text[1];
    f.version_text = text(r, 1);
    f.name = text(r, 2);
    if (r.text[3]) f.up = text(r, 3);
    if (r.text[4]) f.down = text(r, 4);
    f.source_checksum = text(r, 5);
    f.repeatable = r.flag[0];
    // The flag (the command sets it from the file's layout: dbmate's transaction:false, ...) or
    // the script's own directive: either way register's checks and run modes apply (a JSON file
    // without the flag was registered as a transactional script).
    f.no_transaction = r.flag[1] || (f.up && has_no_transaction_directive(*f.up));
    if (f.file.empty()) bad_file("", fmt::format("element {} of files has no \"file\"", i + 1));
    if (!file_names.insert(f.file).second)
      bad_file(f.file, fmt::format("the file is listed twice (element {})", i + 1), "Each file is one migration.");
    if (f.name.find_first_not_of(" \t\r\n") == std::string::npos)
      bad_file(f.file, r.text[2] ? "the migration name is empty" : "no \"name\" given");
    if (!f.up && f.source_checksum.empty())
      bad_file(f.file, "neither \"up\" nor \"checksum\" is given");
    if (f.repeatable) {
      if (!no_version) bad_file(f.file, "a repeatable migration has no version");
    } else {
      if (no_version) bad_file(f.file, "no version given", "Repeatable migrations set \"repeatable\": true.");
      f.parsed = file_version(f, Version::parse);
      f.version = f.parsed->canonical();
    }
    if (f.up)
      f.source_checksum = sha256_hex(files::source_digest_input(f.file, f.name, *f.up, f.down, f.repeatable));
    out.push_back(std::move(f));
  }
  return out;
}

// The registered migrations by version; `file_rows` gets every version that has a row in
// migrate.migration_files, registered or not (a new file's row is then inserted without a lookup).
std::map<std::string, Known> read_catalog(std::unordered_set<std::string>& file_rows) {
  static pg::Query q{
      "SELECT m.version, m.name, m.applied_seq IS NOT NULL, "
      "b.version_parts IS NOT NULL AND m.version_parts <= b.version_parts, "
      "f.version IS NOT NULL, f.file_name, f.script_checksum, f.source_checksum, m.applied_at, m.applied_by, "
      "f.version "
      "FROM migrate.migrations m FULL JOIN migrate.migration_files f ON f.version = m.version "
      "LEFT JOIN migrate.baseline b ON true"};
  catalog::OwnerScope owner;
  uint64 rows = q.run();
  std::map<std::string, Known> known;
  for (uint64 i = 0; i < rows; ++i) {
    if (!pg::is_null(i, 11)) file_rows.insert(pg::text_value(i, 11));
    if (pg::is_null(i, 1)) continue;  // a file row without its migration
    Known k;
    k.name = pg::text_value(i, 2);
    k.applied = pg::bool_value(i, 3);
    k.below_baseline = pg::bool_value(i, 4);
    k.has_file_row = pg::bool_value(i, 5);
    k.file_name = pg::text_value(i, 6);
    k.script_checksum = pg::text_value(i, 7);
    k.source_checksum = pg::text_value(i, 8);
    bool null;
    Datum at = pg::datum_value(i, 9, &null);
    k.applied_at_null = null;
    if (!null) k.applied_at = DatumGetTimestampTz(at);
    k.applied_by = pg::text_value(i, 10);
    known.emplace(pg::text_value(i, 1), std::move(k));
  }
  pg::free_result();
  return known;
}

std::optional<Version> read_baseline() {
  static pg::Query q{"SELECT version FROM migrate.baseline"};
  catalog::OwnerScope owner;
  uint64 rows = q.run();
  std::optional<Version> v;
  if (rows > 0) v = Version::parse(pg::text_value(0, 1));
  pg::free_result();
  return v;
}

// The registered up script (or down script) of a migration.
std::optional<std::string> stored_script(const std::string& version, bool up) {
  static pg::Query q{"SELECT up_sql, down_sql FROM migrate.migrations WHERE version = $1"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(version)});
  std::optional<std::string> s;
  if (pg::result_rows() > 0 && !pg::is_null(0, up ? 1 : 2)) s = pg::text_value(0, up ? 1 : 2);
  pg::free_result();
  return s;
}

const char* state_of(const Known& k) {
  return k.applied ? "applied" : (k.below_baseline ? "below_baseline" : "pending");
}

OutRow row_for(const InFile& f, const Known* k, const char* state, const char* action,
               const std::string& checksum, const std::string& detail = {}) {
  OutRow r;
  r.file = f.file;
  r.version = f.repeatable ? "" : f.version;
  r.name = f.name;
  r.kind = f.repeatable ? "repeatable" : "versioned";
  r.state = state;
  r.action = action;
  if (k) {
    r.applied_at_null = k->applied_at_null;
    r.applied_at = k->applied_at;
    r.applied_by = k->applied_by;
  }
  r.checksum = checksum;
  r.detail = detail;
  return r;
}

// Whether this installation runs non-transactional migrations (CALL migrate.run()).
bool server_runs_no_transaction() {
  static pg::Query q{"SELECT pg_catalog.to_regprocedure('migrate.run(pg_catalog.text)') IS NOT NULL"};
  catalog::OwnerScope owner;
  q.run();
  bool yes = pg::bool_value(0, 1);
  pg::free_result();
  return yes;
}

void refuse_no_transaction(const InFile& f) {
  if (!f.no_transaction || server_runs_no_transaction()) return;
  throw Error(sqlstate::kFeatureNotSupported,
              fmt::format("migration file {} is non-transactional, which this version of pg_migrate "
                          "cannot run yet",
                          f.file),
              "Its script begins with a no-transaction directive (\"-- pg_migrate:no-transaction\", "
              "\"-- migrate:up transaction:false\" or \"-- morph:nontransactional\").",
              "Run its statements outside pg_migrate, or remove the directive if the script can run "
              "in a transaction.");
}

struct Edited {
  std::string file, version, applied_checksum, file_checksum;
  bool retired = false;
};

// The migrations and repeatables whose retirement by `pg_migrate repair` stands (see
// retire_missing). Keys: {version, ""} for a versioned migration, {"R", name} for a repeatable.
using Retired = std::set<std::pair<std::string, std::string>>;

std::pair<std::string, std::string> retirement_key(const OutRow& r) {
  return r.kind == "repeatable" ? std::make_pair(std::string("R"), r.name) : std::make_pair(r.version, std::string());
}

// What a file changes of a registered migration besides its statements: its name, or its down
// script as PostgreSQL's scanner sees it (comments, formatting and the blank lines that keep a
// section's line numbers do not count). `what` is "" when neither changed.
struct MetadataChange {
  std::string what;
  bool down_changed = false;
};
MetadataChange metadata_change(const InFile& f, const Known& k) {
  MetadataChange c;
  std::vector<std::string> what;
  if (f.name != k.name) what.push_back(fmt::format("name \"{}\" -> \"{}\"", k.name, f.name));
  std::optional<std::string> stored_down = stored_script(f.version, false);
  if (stored_down.has_value() != f.down.has_value()) {
    c.down_changed = true;
    what.push_back(stored_down ? "down script removed" : "down script added");
  } else if (stored_down && *stored_down != *f.down &&
             (script_mode(*stored_down) != script_mode(*f.down) ||  // a no-transaction line is a comment to the scanner
              script_checksum(*stored_down) != checksum_of(f, *f.down, "down"))) {
    c.down_changed = true;
    what.push_back("down script changed");
  }
  c.what = fmt::format("{}", fmt::join(what, ", "));
  return c;
}

// A down script that differs from the registered one is checked as migrate.repair() checks
// one: parsed and checked. Its run mode: a non-transactional or split one (DROP INDEX
// CONCURRENTLY for an index built concurrently) is reverted by CALL migrate.run_revert().
// Over a revert run stopped part way, as migrate.repair() takes it: the run goes on with the
// new script if the statements it finished are its first ones, unchanged (the fix of the
// statement that failed); anything else, and removing the down script, is refused.
std::string check_changed_down(const InFile& f) {
  const bool revert_run = unfinished_revert_run(f.version);
  if (!f.down || f.down->empty()) {
    if (revert_run) ensure_no_unfinished_run(f.version);  // (a revert run: refused)
    return "transaction";  // removed or empty: nothing to run
  }
  std::string mode = checked_registration_mode(*f.down, {f.version, f.name, "down"});
  if (revert_run) adopt_script_for_unfinished_run(f.version, f.name, *f.down, false);
  return mode;
}

// For a dry run: why sync would refuse what `check` checks ("" if it would not), found by the
// same check in a subtransaction that is rolled back.
template <typename Check>
std::string refusal_of(Check check) {
  std::string why;
  try {
    pg::SubTransaction sub;
    check();
    sub.rollback();
  } catch (pg::PgError& e) {
    if (e.is_interrupt()) throw;
    why = fmt::format("{}: {}", unpack_sql_state(e.sqlerrcode()), e.what());
  } catch (Error& e) {
    why = fmt::format("{}: {}", e.sqlstate(), e.message());
  }
  return why;
}

// For a dry run: why sync would refuse the file's changed down script.
std::string changed_down_refusal(const InFile& f) {
  return refusal_of([&] { (void)check_changed_down(f); });
}

// For a dry run: why sync would refuse to register (or register again) the file's scripts: a
// syntax error, a statement its mode cannot run, a misspelt directive. The dry run answered
// "new" for them, so status and check showed an ordinary pending file that only apply refused.
// `replaces`: the file replaces a registered pending migration, which a run stopped part way
// may have started: the new script must keep its finished statements (as register checks).
std::string registration_refusal(const InFile& f, bool replaces = false) {
  return refusal_of([&] {
    refuse_no_transaction(f);
    if (f.up) (void)checked_registration_mode(*f.up, {f.version, f.name, "up"});
    if (f.down) (void)checked_registration_mode(*f.down, {f.version, f.name, "down"});
    if (replaces && f.up) adopt_script_for_unfinished_run(f.version, f.name, *f.up);
  });
}

// The row's detail with the refusal a dry run found, as the changed down script's.
std::string with_refusal(std::string detail, const std::string& refusal) {
  if (refusal.empty()) return detail;
  return detail.empty() ? "sync refuses it: " + refusal : detail + "; sync refuses it: " + refusal;
}

// Versioned files: classify against the catalog, then (unless dry_run) write.
void sync_versioned(std::vector<InFile>& in, const Retired& retired, bool dry_run, bool accept_edited,
                    std::vector<OutRow>& out, bool& changed) {
  std::unordered_set<std::string> file_rows;
  std::map<std::string, Known> known = read_catalog(file_rows);
  std::optional<Version> baseline = read_baseline();
  std::map<std::string, const InFile*> by_version;
  for (const InFile& f : in) {
    if (f.repeatable) continue;
    auto [it, fresh] = by_version.emplace(f.version, &f);
    if (!fresh)
      throw Error(sqlstate::kDuplicateObject,
                  fmt::format("migration files {} and {} have the same version {}", it->second->file,
                              f.file, f.version),
                  {}, "Give one of them a new version; each version is one migration.");
  }
  std::vector<Edited> edited;
  enum class Todo { None, Register, Replace, Metadata, Accept };
  struct Work {
    InFile* f;
    Todo todo;
    std::string script;
    bool applied = false;
    bool down_changed = false;  // Metadata: the down script's statements (or its presence) changed
    bool metadata_changed = false;  // Metadata: the name or the down script's statements changed
    // Register/Replace of a version at or below the baseline: it never runs, so what would stop
    // it from running (a statement that cannot run in a transaction, a syntax error) is not
    // checked, and nothing in it is linted (it blocked every later apply).
    bool below_baseline = false;
  };
  std::vector<Work> work;
  // Parse trees of one file's checks (directives, a dry run's registration checks) live in a
  // context reset for the next file: memory stays flat however large the folder.
  pg::RoundContext per_file("pg_migrate sync file check");
  for (InFile& f : in) {
    if (f.repeatable) continue;
    pg::RoundContext::Scope round = per_file.round();
    auto it = known.find(f.version);
    Known* k = it == known.end() ? nullptr : &it->second;
    refuse_control_characters(f.file, f.name, k ? &k->name : nullptr);
    bool below = baseline && !(*baseline < *f.parsed);
    if (!k) {
      (void)file_version(f, Version::parse_new);  // a new version: not longer than the catalog holds
      if (!f.up) {
        out.push_back(row_for(f, nullptr, below ? "below_baseline" : "pending", "need_body", ""));
        continue;
      }
      if (!below) refuse_no_transaction(f);
      std::string script = checksum_of(f, *f.up, "up");
      out.push_back(row_for(f, nullptr, below ? "below_baseline" : "pending", dry_run ? "new" : "registered", script,
                            dry_run && !below ? with_refusal("", registration_refusal(f)) : ""));
      work.push_back({&f, Todo::Register, script});
      work.back().below_baseline = below;
      continue;
    }
    k->seen = true;
    if (k->has_file_row && k->source_checksum == f.source_checksum) {
      out.push_back(row_for(f, k, state_of(*k), "unchanged", k->script_checksum));
      continue;
    }
    if (!f.up) {
      out.push_back(row_for(f, k, state_of(*k), "need_body", k->script_checksum));
      continue;
    }
    std::string new_script = checksum_of(f, *f.up, "up");
    // The registered up script, read once if needed.
    std::optional<std::optional<std::string>> registered_read;
    auto registered = [&]() -> const std::optional<std::string>& {
      if (!registered_read) registered_read = stored_script(f.version, true);
      return *registered_read;
    };
    std::string old_script = k->has_file_row ? k->script_checksum : script_checksum(*registered());
    bool same = new_script == old_script;
    // A file row that 0.9.0's library or older wrote for the registered script, whose checksum
    // counted every `;`: the statements as registered, with today's checksum (written back
    // below when the same). (Not a row of another text, such as an accepted edit.)
    if (!same && k->has_file_row)
      same = registered() && legacy_script_checksum(*registered()) == old_script &&
             script_checksum(*registered()) == new_script;
    // The same statements, but the file now runs them otherwise (a no-transaction directive
    // added or removed: a comment to the checksum): a migration not yet applied is registered
    // again, as one whose statements changed.
    bool mode_changed = same && !k->applied && registered() && script_mode(*registered()) != script_mode(*f.up);
    // Or its other directives changed (an `ignore` of a lint rule, a `batch` size), which the
    // checksum leaves out too: the stored script, which is what runs and is linted, must be
    // the file's.
    bool directives_changed =
        same && !mode_changed && !k->applied && !below && registered() &&
        script_directives(*registered(), {f.version, f.name, "up"}) != script_directives(*f.up, {f.version, f.name, "up"});
    if (same && !mode_changed && !directives_changed) {
      // What runs is the same: only formatting, comments, the file name, the name or the down
      // script differ. A changed name or down script is written by sync (a repair when the
      // migration is applied), so the database is not at the folder until then.
      MetadataChange change = metadata_change(f, *k);
      if (change.what.empty()) {
        out.push_back(row_for(f, k, state_of(*k), "unchanged", new_script,
                              k->has_file_row ? "file changed, its statements did not" : ""));
      } else {
        if (dry_run && change.down_changed) change.what = with_refusal(change.what, changed_down_refusal(f));
        out.push_back(row_for(f, k, state_of(*k), "metadata", new_script, change.what));
      }
      work.push_back({&f, Todo::Metadata, new_script, k->applied, change.down_changed, !change.what.empty()});
    } else if (!k->applied) {
      if (!below) refuse_no_transaction(f);
      std::string detail = mode_changed ? std::string(script_mode(*f.up) == ScriptMode::kNoTransaction
                                                          ? "the same statements, now outside a transaction"
                                                          : "the same statements, now in a transaction")
                           : directives_changed ? std::string("the same statements, with other pg_migrate directives")
                                                : fmt::format("checksum {} -> {}", old_script, new_script);
      if (dry_run && !below) detail = with_refusal(detail, registration_refusal(f, true));
      out.push_back(row_for(f, k, state_of(*k), dry_run ? "changed" : "replaced", new_script, detail));
      work.push_back({&f, Todo::Replace, new_script});
      work.back().below_baseline = below;
    } else if (accept_edited) {
      // The edited file's name and down script are taken too (a repair of the name or down
      // script, as when only they change).
      MetadataChange change = metadata_change(f, *k);
      if (dry_run && change.down_changed) change.what = with_refusal(change.what, changed_down_refusal(f));
      out.push_back(row_for(f, k, "applied", dry_run ? "edited" : "accepted", new_script,
                            fmt::format("applied with checksum {}; the file's checksum {} is accepted{}", old_script,
                                        new_script, change.what.empty() ? "" : "; " + change.what)));
      if (!dry_run) work.push_back({&f, Todo::Accept, new_script, true, change.down_changed, !change.what.empty()});
    } else {
      // A retired version (its file removed on purpose) that a new file reuses: `pg_migrate new`
      // numbering after the folder's last file, which no longer has the retired one.
      bool was_retired = retired.count({f.version, std::string()}) > 0;
      out.push_back(row_for(f, k, "applied", "edited", new_script,
                            was_retired ? fmt::format("version {} was applied with checksum {} and retired by "
                                                      "pg_migrate repair; the file reuses its version with checksum {}",
                                                      f.version, old_script, new_script)
                                        : fmt::format("applied with checksum {}; the file now has checksum {}",
                                                      old_script, new_script)));
      edited.push_back({f.file, f.version, old_script, new_script, was_retired});
    }
  }
  // Registered migrations without a file.
  std::vector<std::string> remove;
  for (auto& [version, k] : known) {
    if (k.seen) continue;
    OutRow r;
    r.file = k.file_name;
    r.version = version;
    r.name = k.name;
    r.kind = "versioned";
    r.state = state_of(k);
    r.applied_at_null = k.applied_at_null;
    r.applied_at = k.applied_at;
    r.applied_by = k.applied_by;
    r.checksum = k.script_checksum;
    if (k.applied || k.below_baseline || !k.has_file_row) {
      r.action = "missing_file";
      r.detail = k.has_file_row ? fmt::format("registered from {}, which is not in the folder", k.file_name)
                                : "registered without a file (migrate.register)";
    } else {
      // A pending migration registered from a file that is gone: it must not be applied; nor
      // unregistered while a run of it has finished statements (unregister() refuses that too).
      if (std::optional<Error> e = unfinished_run_error(version)) {
        if (!dry_run)
          throw Error(e->sqlstate(), fmt::format("{} is no longer in the folder, but {}", k.file_name, e->message()),
                      e->detail(),
                      fmt::format("Put the file back and finish the run ({}), or give it up with SELECT "
                                  "migrate.run_forget('{}') (what its finished statements did stays).",
                                  resume_call(true), version));
        r.action = "missing_file";
        r.detail = fmt::format("registered from {}, which is no longer in the folder; sync refuses to unregister it: {}",
                               k.file_name, e->message());
        out.push_back(std::move(r));
        continue;
      }
      r.action = "removed";
      r.detail = fmt::format("pending, registered from {}, which is no longer in the folder", k.file_name);
      remove.push_back(version);
    }
    out.push_back(std::move(r));
  }
  if (dry_run) return;
  if (!edited.empty()) {
    std::vector<std::string> lines;
    bool all_retired = true;
    for (const Edited& e : edited) {
      lines.push_back(fmt::format("{} (version {}): applied with checksum {}{}, the file has checksum {}", e.file,
                                  e.version, e.applied_checksum, e.retired ? " and retired by pg_migrate repair" : "",
                                  e.file_checksum));
      all_retired = all_retired && e.retired;
    }
    if (all_retired)
      throw Error(sqlstate::kObjectNotInPrerequisiteState,
                  edited.size() == 1
                      ? fmt::format("migration file {} reuses version {}, which was applied and retired",
                                    edited[0].file, edited[0].version)
                      : fmt::format("{} migration files reuse versions that were applied and retired", edited.size()),
                  fmt::format("{}", fmt::join(lines, "\n")),
                  "A version stays taken after its file is removed: give the new file a version above the "
                  "latest applied one (SELECT migrate.current_version()).");
    throw Error(sqlstate::kObjectNotInPrerequisiteState,
                edited.size() == 1
                    ? fmt::format("migration file {} was edited after version {} was applied", edited[0].file,
                                  edited[0].version)
                    : fmt::format("{} migration files were edited after they were applied", edited.size()),
                fmt::format("{}", fmt::join(lines, "\n")),
                "An applied migration never changes: restore the file as it was applied (for example "
                "with git checkout) and write a new migration for the further change.");
  }
  // The name and the down script are not checksummed: a file may change them. For an applied
  // migration the change is a repair, recorded in history with the old and the new text as
  // migrate.repair() records it (and the file it came from). A down script whose statements
  // are the same ($6 false) is stored as the file has it, so that its lines stay the file's,
  // without a history row.
  static pg::Query metadata{
      "WITH old AS (SELECT m.name, m.down_sql, m.checksum, m.applied_seq IS NOT NULL AS applied "
      "FROM migrate.migrations m WHERE m.version = $1), "
      "upd AS (UPDATE migrate.migrations m SET name = $2, down_sql = $3, "
      "down_mode = CASE WHEN $6 THEN $7 ELSE m.down_mode END WHERE m.version = $1 "
      "AND (m.name IS DISTINCT FROM $2 OR m.down_sql IS DISTINCT FROM $3) RETURNING m.version), "
      "rec AS (INSERT INTO migrate.history (version, name, action, role, checksum, detail) "
      "SELECT $1, $2, 'repair', $4, old.checksum, pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
      "'file', $5::text, "
      "'old_name', CASE WHEN old.name IS DISTINCT FROM $2 THEN old.name END, "
      "'new_name', CASE WHEN old.name IS DISTINCT FROM $2 THEN $2 END, "
      "'old_down', CASE WHEN $6 THEN old.down_sql END, "
      "'new_down', CASE WHEN $6 THEN $3 END, "
      "'down_removed', CASE WHEN $6 AND old.down_sql IS NOT NULL AND $3 IS NULL THEN true END, "
      "'down_added', CASE WHEN $6 AND old.down_sql IS NULL AND $3 IS NOT NULL THEN true END)) "
      "FROM old, upd WHERE old.applied AND (old.name IS DISTINCT FROM $2 OR $6) RETURNING 1) "
      "SELECT (SELECT pg_catalog.count(*) FROM upd), (SELECT pg_catalog.count(*) FROM rec)"};
  static pg::Query del{
      "WITH f AS (DELETE FROM migrate.migration_files WHERE version = $1) "
      "DELETE FROM migrate.migrations WHERE version = $1 AND applied_seq IS NULL"};
  std::vector<std::string> reg_versions, reg_parts, reg_names, reg_ups, reg_downs, reg_sums, reg_has_down;
  std::vector<std::string> file_versions, file_names, file_scripts, file_sources;
  MemoryContext scratch = pg::call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_migrate sync file", ALLOCSET_DEFAULT_SIZES);
  });
  // A new migration for the one INSERT below.
  auto register_in_bulk = [&](const InFile& f) {
    reg_versions.push_back(f.version);
    reg_parts.push_back(f.parsed->sql_array());
    reg_names.push_back(f.name);
    reg_ups.push_back(*f.up);
    reg_has_down.push_back(f.down ? "t" : "f");
    reg_downs.push_back(f.down ? *f.down : std::string());
    reg_sums.push_back(sha256_hex(*f.up));
  };
  for (Work& w : work) {
    InFile& f = *w.f;
    const std::string* down = f.down ? &*f.down : nullptr;
    if ((w.todo == Todo::Register || w.todo == Todo::Replace) && w.below_baseline) {
      if (w.todo == Todo::Replace) {
        catalog::OwnerScope owner;
        del.run({pg::text_param(f.version)});
      }
      register_in_bulk(f);
    } else if (w.todo == Todo::Register || w.todo == Todo::Replace) {
      // Parse trees and lint state of one file live in `scratch`, reset after each file.
      MemoryContext outer = MemoryContextSwitchTo(scratch);
      ScriptLabel up_label{f.version, f.name, "up"};
      bool via_register = w.todo == Todo::Replace || f.no_transaction;
      std::vector<ScriptStatement> up_statements;  // parsed once: checked, then linted
      if (!via_register) {
        via_register = check_script(*f.up, up_label, &up_statements);
        if (f.down && check_script(*f.down, {f.version, f.name, "down"})) via_register = true;
      }
      if (!via_register) lint_report_on_register(f.version, f.name, *f.up, up_statements);
      // register()'s own parse, checks and lint in `scratch` too (it returns nothing kept).
      if (via_register) register_through_register(f);
      MemoryContextSwitchTo(outer);
      pg::call([&] { MemoryContextReset(scratch); });
      if (!via_register && w.todo == Todo::Register) register_in_bulk(f);
    } else if (w.todo == Todo::Accept) {
      // pg_migrate repair: the applied script stays as it ran; the file's checksums are recorded
      // as the accepted ones, and history says so.
      static pg::Query repair{
          "INSERT INTO migrate.history (version, name, action, role, checksum, detail) "
          "VALUES ($1, $2, 'repair', $3, $4, pg_catalog.jsonb_build_object('file', $5::text, "
          "'accepted_checksum', $6::text))"};
      std::string role = catalog::current_role_name();
      {
        catalog::OwnerScope owner;
        repair.run({pg::text_param(f.version), pg::text_param(f.name), pg::text_param(role),
                    pg::text_param(sha256_hex(*stored_script(f.version, true))), pg::text_param(f.file),
                    pg::text_param(w.script)});
      }
      notice(fmt::format("applied migration {}: the edited file {} is accepted as it is now", f.version, f.file));
    }
    if (w.todo == Todo::Metadata || (w.todo == Todo::Accept && w.metadata_changed)) {
      // A down script that differs from the registered one is checked as migrate.repair() checks
      // one, and recorded with its run mode.
      std::string down_mode = "transaction";
      if (w.down_changed) {
        MemoryContext outer = MemoryContextSwitchTo(scratch);
        down_mode = check_changed_down(f);
        MemoryContextSwitchTo(outer);
        pg::call([&] { MemoryContextReset(scratch); });
      }
      // A revert run of it that is unfinished resumes with the exact text it started with: the
      // stored down script stays, also when the file differs only in formatting.
      std::optional<std::string> kept_down;
      if (!w.down_changed && unfinished_revert_run(f.version)) {
        kept_down = stored_script(f.version, false);
        down = kept_down ? &*kept_down : nullptr;
      }
      std::string role = catalog::current_role_name();
      bool updated = false, repaired = false;
      {
        catalog::OwnerScope owner;
        metadata.run({pg::text_param(f.version), pg::text_param(f.name), pg::nullable_text_param(down),
                      pg::text_param(role), pg::text_param(f.file), pg::bool_param(w.down_changed),
                      pg::text_param(down_mode)});
        updated = pg::int8_value(0, 1) > 0;
        repaired = pg::int8_value(0, 2) > 0;
        pg::free_result();
      }
      // What migrate.repair() does, with its privilege (the error undoes the write).
      if (repaired && !may_repair())
        refuse_write(fmt::format("change the name or down script of applied migration {}", f.version).c_str(),
                     "migrate.repair(text, text, text, boolean)");
      if (repaired)
        notice(fmt::format("applied migration {} (\"{}\"): name or down script replaced from {} (recorded in history "
                           "as a repair)",
                           f.version, f.name, f.file));
      else if (updated && w.metadata_changed)
        notice(fmt::format("migration {} (\"{}\"): name or down script updated from {}", f.version, f.name, f.file));
    }
    if (w.todo == Todo::Replace)
      notice(fmt::format("pending migration {} was replaced from the edited file {}", f.version, f.file));
    file_versions.push_back(f.version);
    file_names.push_back(f.file);
    file_scripts.push_back(w.script);
    file_sources.push_back(f.source_checksum);
    changed = true;
  }
  // New migrations and their file rows: one statement each, however many files.
  static pg::Query insert_all{
      "INSERT INTO migrate.migrations (version, version_parts, name, up_sql, down_sql, checksum) "
      "SELECT v, p::numeric[], n, u, CASE WHEN hd OPERATOR(pg_catalog.=) 't' THEN d END, c FROM ROWS FROM (pg_catalog.unnest($1::text[]), "
      "pg_catalog.unnest($2::text[]), pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::text[]), "
      "pg_catalog.unnest($5::text[]), pg_catalog.unnest($6::text[]), pg_catalog.unnest($7::text[])) "
      "AS r(v, p, n, u, hd, d, c)"};
  static pg::Query files_all{
      "INSERT INTO migrate.migration_files AS f (version, file_name, script_checksum, source_checksum) "
      "SELECT * FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]), "
      "pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::text[])) "
      "ON CONFLICT (version) DO UPDATE SET file_name = EXCLUDED.file_name, "
      "script_checksum = EXCLUDED.script_checksum, source_checksum = EXCLUDED.source_checksum"};
  if (!reg_versions.empty()) {
    std::vector<std::string> has_down_text(reg_has_down.begin(), reg_has_down.end());
    catalog::OwnerScope owner;
    std::vector<catalog::NewMigration> rows;
    rows.reserve(reg_versions.size());
    for (size_t i = 0; i < reg_versions.size(); ++i)
      rows.push_back({reg_versions[i].c_str(), reg_parts[i].c_str(), reg_names[i].c_str(), reg_ups[i].c_str(),
                      reg_has_down[i] == "t" ? reg_downs[i].c_str() : nullptr, reg_sums[i].c_str()});
    if (!catalog::register_directly(rows))
      insert_all.run({pg::text_array_param(reg_versions), pg::text_array_param(reg_parts),
                      pg::text_array_param(reg_names), pg::text_array_param(reg_ups),
                      pg::text_array_param(has_down_text), pg::text_array_param(reg_downs),
                      pg::text_array_param(reg_sums)});
  }
  if (!file_versions.empty()) {
    catalog::OwnerScope owner;
    std::vector<catalog::FileRow> rows;
    rows.reserve(file_versions.size());
    for (size_t i = 0; i < file_versions.size(); ++i)
      rows.push_back({file_versions[i].c_str(), file_names[i].c_str(), file_scripts[i].c_str(), file_sources[i].c_str(),
                      file_rows.count(file_versions[i]) == 0});
    if (!catalog::record_files_directly(rows))
      files_all.run({pg::text_array_param(file_versions), pg::text_array_param(file_names),
                     pg::text_array_param(file_scripts), pg::text_array_param(file_sources)});
  }
  for (const std::string& v : remove) {
    {
      catalog::OwnerScope owner;
      del.run({pg::text_param(v)});
    }
    notice(fmt::format("pending migration {} was unregistered: its file is no longer in the folder", v));
    changed = true;
  }
}

// The script stored for repeatable `name`.
std::optional<std::string> stored_repeatable_script(const std::string& name) {
  static pg::Query q{"SELECT up_sql FROM migrate.repeatables WHERE name = $1"};
  std::optional<std::string> up;
  catalog::OwnerScope owner;
  q.run({pg::text_param(name)});
  if (pg::result_rows() > 0 && !pg::is_null(0, 1)) up = pg::text_value(0, 1);
  pg::free_result();
  return up;
}

struct KnownRepeatable {
  std::string file_name, script_checksum, source_checksum, applied_checksum, applied_by;
  bool applied_at_null = true;
  TimestampTz applied_at = 0;
  bool seen = false;
};

void sync_repeatables(std::vector<InFile>& in, bool dry_run, std::vector<OutRow>& out, bool& changed) {
  static pg::Query q{
      "SELECT name, file_name, script_checksum, source_checksum, applied_checksum, applied_at, applied_by "
      "FROM migrate.repeatables"};
  std::map<std::string, KnownRepeatable> known;
  {
    catalog::OwnerScope owner;
    uint64 rows = q.run();
    for (uint64 i = 0; i < rows; ++i) {
      KnownRepeatable k;
      k.file_name = pg::text_value(i, 2);
      k.script_checksum = pg::text_value(i, 3);
      k.source_checksum = pg::text_value(i, 4);
      k.applied_checksum = pg::text_value(i, 5);
      bool null;
      Datum at = pg::datum_value(i, 6, &null);
      k.applied_at_null = null;
      if (!null) k.applied_at = DatumGetTimestampTz(at);
      k.applied_by = pg::text_value(i, 7);
      known.emplace(pg::text_value(i, 1), std::move(k));
    }
    pg::free_result();
  }
  static pg::Query upsert{
      "INSERT INTO migrate.repeatables AS r (name, file_name, up_sql, script_checksum, source_checksum) "
      "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET file_name = EXCLUDED.file_name, "
      "up_sql = EXCLUDED.up_sql, script_checksum = EXCLUDED.script_checksum, "
      "source_checksum = EXCLUDED.source_checksum, registered_at = pg_catalog.now()"};
  static pg::Query touch{
      "UPDATE migrate.repeatables SET file_name = $2, source_checksum = $3 WHERE name = $1"};
  std::map<std::string, const InFile*> by_name;
  pg::RoundContext per_file("pg_migrate sync repeatable check");  // (as in sync_versioned)
  for (InFile& f : in) {
    if (!f.repeatable) continue;
    pg::RoundContext::Scope round = per_file.round();
    auto [dup, fresh] = by_name.emplace(f.name, &f);
    if (!fresh)
      throw Error(sqlstate::kDuplicateObject,
                  fmt::format("repeatable migration files {} and {} have the same name \"{}\"",
                              dup->second->file, f.file, f.name));
    auto it = known.find(f.name);
    KnownRepeatable* k = it == known.end() ? nullptr : &it->second;
    refuse_control_characters(f.file, f.name, k ? &it->first : nullptr);
    auto make_row = [&](const char* state, const char* action, const std::string& checksum,
                        const std::string& detail) {
      OutRow r = row_for(f, nullptr, state, action, checksum, detail);
      if (k) {
        r.applied_at_null = k->applied_at_null;
        r.applied_at = k->applied_at;
        r.applied_by = k->applied_by;
      }
      return r;
    };
    if (k) k->seen = true;
    if (k && k->source_checksum == f.source_checksum) {
      out.push_back(make_row(k->applied_checksum == k->script_checksum ? "applied" : "pending", "unchanged",
                             k->script_checksum, ""));
      continue;
    }
    if (!f.up) {
      out.push_back(make_row(k ? "applied" : "pending", "need_body", k ? k->script_checksum : "", ""));
      continue;
    }
    std::string script = checksum_of(f, *f.up, "up");
    // A row that 0.9.0's library or older wrote, whose checksums counted every `;`: the same
    // statements as the stored script keep its checksums (and so its applied state).
    bool same_as_stored = false;
    std::optional<std::string> legacy_file;  // the file's checksum as such a library computed it
    if (k && k->script_checksum != script) {
      std::optional<std::string> stored = stored_repeatable_script(f.name);
      same_as_stored = stored && legacy_script_checksum(*stored) == k->script_checksum &&
                       script_checksum(*stored) == script;
      if (!same_as_stored) legacy_file = legacy_script_checksum(*f.up);
    }
    if (k && (k->script_checksum == script || same_as_stored)) {
      out.push_back(make_row(k->applied_checksum == k->script_checksum ? "applied" : "pending", "unchanged",
                             k->script_checksum, "file changed, its statements did not"));
      if (!dry_run) {
        catalog::OwnerScope owner;
        touch.run({pg::text_param(f.name), pg::text_param(f.file), pg::text_param(f.source_checksum)});
        changed = true;
      }
      continue;
    }
    refuse_no_transaction(f);
    // Checked as the write below checks it; a dry run says what it would refuse.
    auto check_repeatable = [&] {
      // A repeatable runs in the transaction of apply_repeatables() (or the command's): the
      // general refusal of a statement that cannot run in a transaction would tell it to add
      // the directive it already has.
      if (f.no_transaction || script_mode(*f.up) == ScriptMode::kNoTransaction)
        throw Error(sqlstate::kFeatureNotSupported,
                    fmt::format("repeatable migration file {} is non-transactional; repeatable migrations always "
                                "run in one transaction",
                                f.file),
                    {}, "Put statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY, ...) in a "
                        "versioned migration beginning with the line \"-- pg_migrate:no-transaction\".");
      check_script(*f.up, {"R", f.name, "up"});
    };
    std::string refusal = dry_run ? refusal_of(check_repeatable) : std::string();
    // The file is the script applied last, by the checksum such a library stored: it stays
    // applied (with today's checksum), as that library would have kept it.
    bool back_to_applied = k && legacy_file && k->applied_checksum == *legacy_file;
    out.push_back(make_row(back_to_applied ? "applied" : "pending",
                           k ? (dry_run ? "changed" : "replaced") : (dry_run ? "new" : "registered"), script,
                           with_refusal(k ? fmt::format("checksum {} -> {}", k->script_checksum, script) : "", refusal)));
    if (dry_run) continue;
    check_repeatable();
    {
      catalog::OwnerScope owner;
      upsert.run({pg::text_param(f.name), pg::text_param(f.file), pg::text_param(*f.up), pg::text_param(script),
                  pg::text_param(f.source_checksum)});
      static pg::Query applied_as{"UPDATE migrate.repeatables SET applied_checksum = $2 WHERE name = $1"};
      if (back_to_applied) applied_as.run({pg::text_param(f.name), pg::text_param(script)});
    }
    changed = true;
  }
  for (auto& [name, k] : known) {
    if (k.seen) continue;
    OutRow r;
    r.file = k.file_name;
    r.name = name;
    r.kind = "repeatable";
    r.state = k.applied_checksum == k.script_checksum ? "applied" : "pending";
    r.action = "missing_file";
    r.applied_at_null = k.applied_at_null;
    r.applied_at = k.applied_at;
    r.applied_by = k.applied_by;
    r.checksum = k.script_checksum;
    r.detail = fmt::format("registered from {}, which is not in the folder", k.file_name);
    out.push_back(std::move(r));
  }
}

// Applied migrations and repeatables whose file is gone on purpose: `pg_migrate repair`
// (accept_edited) retires them, a history row ("repair", {"retired": true}) that stands until
// the migration is applied again or a sync that writes finds its file again ("repair",
// {"restored": true}); a retired one is reported as "retired", not "missing_file" (Flyway's
// repair marks missing migrations as deleted in the same way). A file put back and removed
// once more is then missing again, as any removal by mistake (standing_retirements, Retired
// above).

// The retirements that stand. History has no index on version: one scan, whose filter keeps
// only the (rare) retirements.
Retired standing_retirements() {
  static pg::Query q{
      "SELECT r.version, CASE WHEN r.version = 'R' THEN r.name ELSE '' END FROM migrate.history r "
      "WHERE r.action = 'repair' AND r.detail ? 'retired' "
      "  AND NOT EXISTS (SELECT FROM migrate.history a WHERE a.version = r.version "
      "                    AND (r.version <> 'R' OR a.name = r.name) AND a.id > r.id "
      "                    AND (a.action = 'apply' OR (a.action = 'repair' AND a.detail ? 'restored')))"};
  Retired retired;
  catalog::OwnerScope owner;
  uint64 rows = q.run();
  for (uint64 i = 0; i < rows; ++i) retired.emplace(pg::text_value(i, 1), pg::text_value(i, 2));
  pg::free_result();
  return retired;
}

void retire_missing(std::vector<OutRow>& out, const Retired& already, bool dry_run, bool accept_edited,
                    bool& changed) {
  static pg::Query retire{
      "INSERT INTO migrate.history (version, name, action, role, checksum, detail) "
      "VALUES ($1, $2, 'repair', $3, $4, pg_catalog.jsonb_build_object('retired', true, 'file', $5::text))"};
  std::string role;
  for (OutRow& r : out) {
    if (r.action != "missing_file") continue;
    std::string version = r.kind == "repeatable" ? "R" : r.version;
    std::string what = r.file.empty() ? "registered without a file" : fmt::format("its file {} is gone", r.file);
    if (already.count(retirement_key(r))) {
      r.action = "retired";
      r.detail = what + "; retired by pg_migrate repair";
      continue;
    }
    // Only what stays as it is: a pending one (a repeatable changed since its apply, a migration
    // registered without a file) would still be applied from the catalog.
    if (dry_run || !accept_edited || (r.state != "applied" && r.state != "below_baseline")) continue;
    if (role.empty()) role = catalog::current_role_name();
    {
      catalog::OwnerScope owner;
      retire.run({pg::text_param(version), pg::text_param(r.name), pg::text_param(role),
                  pg::nullable_text_param(r.checksum.empty() ? nullptr : &r.checksum), pg::text_param(r.file)});
    }
    notice(fmt::format("{} {} retired: {}; no longer reported as missing (recorded in history)",
                       r.kind == "repeatable" ? "repeatable migration" : "migration",
                       r.kind == "repeatable" ? r.name : r.version, what));
    r.action = "retired";
    r.detail = what + "; retired now";
    changed = true;
  }
}

// A retired migration whose file is in the folder again: a sync that writes records that the
// retirement no longer stands, so that removing the file once more is reported as missing.
void restore_returned(const std::vector<OutRow>& out, const Retired& retired, bool dry_run, bool& changed) {
  if (dry_run || retired.empty()) return;
  static pg::Query restore{
      "INSERT INTO migrate.history (version, name, action, role, checksum, detail) "
      "VALUES ($1, $2, 'repair', $3, $4, pg_catalog.jsonb_build_object('restored', true, 'file', $5::text))"};
  std::string role;
  for (const OutRow& r : out) {
    if (r.file.empty() || r.action == "missing_file" || r.action == "removed" || r.action == "retired" ||
        r.action == "need_body" || !retired.count(retirement_key(r)))
      continue;
    if (role.empty()) role = catalog::current_role_name();
    {
      catalog::OwnerScope owner;
      restore.run({pg::text_param(r.kind == "repeatable" ? "R" : r.version), pg::text_param(r.name),
                   pg::text_param(role), pg::nullable_text_param(r.checksum.empty() ? nullptr : &r.checksum),
                   pg::text_param(r.file)});
    }
    notice(fmt::format("{} {} is no longer retired: its file {} is back (recorded in history)",
                       r.kind == "repeatable" ? "repeatable migration" : "migration",
                       r.kind == "repeatable" ? r.name : r.version, r.file));
    changed = true;
  }
}

// Records `digest` as the folder in sync at the catalog's current generation.
void record_digest(const std::string& digest) {
  static pg::Query q{
      "INSERT INTO migrate.sync_state AS s (singleton, folder_digest, generation) "
      "SELECT true, $1, generation FROM migrate.catalog_state "
      "ON CONFLICT (singleton) DO UPDATE SET folder_digest = EXCLUDED.folder_digest, "
      "generation = EXCLUDED.generation, recorded_at = pg_catalog.now()"};
  catalog::OwnerScope owner;
  q.run({pg::text_param(digest)});
}

// A folder this transaction's migrate.sync() left registered exactly (every file registered,
// unchanged or replaced; nothing without a file, no applied file edited), though perhaps with
// migrations pending: once apply has applied them, migrate.sync_confirm() records it as in sync
// without the files being sent and compared again.
struct SyncedFolder {
  std::string digest;
  LocalTransactionId transaction = InvalidLocalTransactionId;
  SubTransactionId subtransaction = InvalidSubTransactionId;
  int64 generation = -1;
  uint64_t bumps = 0, registration_bumps = 0;
};
SyncedFolder synced_folder;

// Repeatables the latest sync of this transaction found pending with their file gone (missing,
// or retired earlier): migrate.apply_repeatables() in the same transaction refuses to run the
// text synced before the file was removed (as `pg_migrate apply` does). One entry per sync, by
// subtransaction: rolling one back returns to what the sync before it found.
struct MissingRepeatables {
  LocalTransactionId transaction = InvalidLocalTransactionId;
  SubTransactionId subtransaction = InvalidSubTransactionId;
  std::vector<std::pair<std::string, std::string>> name_and_file;
};
std::vector<MissingRepeatables> missing_repeatables;

void remember_missing_repeatables(const std::vector<OutRow>& out) {
  LocalTransactionId now = current_local_transaction();
  if (!missing_repeatables.empty() && missing_repeatables.back().transaction != now) missing_repeatables.clear();
  MissingRepeatables m;
  m.transaction = now;
  m.subtransaction = GetCurrentSubTransactionId();
  for (const OutRow& r : out)
    if (r.kind == "repeatable" && (r.action == "missing_file" || r.action == "retired") && r.state == "pending")
      m.name_and_file.emplace_back(r.name, r.file);
  missing_repeatables.push_back(std::move(m));
}

// What the latest sync of this transaction that is not rolled back found, or nullptr.
const MissingRepeatables* latest_missing_repeatables() {
  if (missing_repeatables.empty() || missing_repeatables.back().transaction != current_local_transaction())
    return nullptr;
  return &missing_repeatables.back();
}

// A rolled-back subtransaction the sync ran in (itself, or one it was nested in: subtransactions
// nest, so every one begun while an aborting one was open has a larger id) undoes its
// registrations, and releases the catalog lock another session may then take: forget it.
void on_subtransaction_event(SubXactEvent event, SubTransactionId subxact, SubTransactionId, void*) {
  if (event != SUBXACT_EVENT_ABORT_SUB) return;
  if (synced_folder.subtransaction != InvalidSubTransactionId && subxact <= synced_folder.subtransaction)
    synced_folder.transaction = InvalidLocalTransactionId;
  while (!missing_repeatables.empty() && missing_repeatables.back().subtransaction >= subxact)
    missing_repeatables.pop_back();
}

void register_subtransaction_callback() {
  static bool registered = false;
  if (!registered) {
    pg::call([] { RegisterSubXactCallback(on_subtransaction_event, nullptr); });
    registered = true;
  }
}

// The folder is exactly at the catalog (every file unchanged and applied, nothing without a
// file): record its digest with the catalog's generation, so that migrate.sync_digest() can
// answer "in sync" for the same folder until the catalog changes. Registered but with
// migrations pending, it is remembered for migrate.sync_confirm().
void record_digest_if_in_sync(const std::vector<InFile>& in, const std::vector<OutRow>& out) {
  synced_folder = SyncedFolder{};
  bool in_sync = true;
  for (const OutRow& r : out) {
    bool written = r.action == "unchanged" || r.action == "metadata";  // the file's metadata is recorded now
    if (!written && r.action != "registered" && r.action != "replaced" && r.action != "accepted" &&
        r.action != "retired")
      return;
    if (r.action == "retired") continue;  // no file expected
    if (!written || (r.state != "applied" && r.state != "below_baseline")) in_sync = false;
  }
  std::vector<std::pair<std::string, std::string>> list;
  list.reserve(in.size());
  for (const InFile& f : in) list.emplace_back(f.file, f.source_checksum);
  std::string digest = sha256_hex(files::folder_digest_input(std::move(list)));
  if (in_sync) {
    record_digest(digest);
    return;
  }
  synced_folder.digest = digest;
  synced_folder.transaction = current_local_transaction();
  synced_folder.subtransaction = GetCurrentSubTransactionId();
  synced_folder.generation = catalog::current_generation();
  synced_folder.bumps = catalog::generation_bumps();
  synced_folder.registration_bumps = catalog::registration_bumps();
}

}  // namespace
}  // namespace pgm

using namespace pgm;

PGM_FUNCTION(pgm_script_checksum) {
  std::string script = pg::text_arg(fcinfo, 0);
  std::string sum;
  try {
    sum = script_checksum(script);
  } catch (pg::PgError& e) {
    // The scanner's error position is in the script, not in the caller's query (where the
    // error report would put its caret): the line says where.
    if (e.is_interrupt() || e.data()->cursorpos <= 0) throw;
    int line = line_at(script, char_pos_to_byte(script, e.data()->cursorpos));
    throw Error(unpack_sql_state(e.sqlerrcode()),
                fmt::format("the script has a syntax error at line {}: {}", line, e.data()->message));
  }
  return pg::Cell::text(sum).value;
}

namespace pgm {
namespace {

// migrate.sync() writes as the extension's owner. What it writes is what migrate.register
// (registering, replacing pending migrations) and migrate.repair (accepting edited files)
// write, so it asks for their privilege: a role granted migrate.sync for `pg_migrate status`
// and `check` (dry runs) cannot register or repair through it.
// Whether the caller may execute migrate.<name>(<args>): looked up by name and argument types
// (nothing the caller's search_path could stand in for). A missing function is a "no".
bool may_execute(const char* name, std::initializer_list<Oid> args) {
  Oid caller = GetUserId();
  Oid types[4];
  int n = 0;
  for (Oid t : args) types[n++] = t;
  Oid fn = pg::call([&] {
    return LookupFuncName(list_make2(makeString(pstrdup("migrate")), makeString(pstrdup(name))), n, types, true);
  });
  if (!OidIsValid(fn)) return false;
  AclResult r = pg::call([&] {
#if PG_VERSION_NUM >= 160000
    return object_aclcheck(ProcedureRelationId, fn, caller, ACL_EXECUTE);
#else
    return pg_proc_aclcheck(fn, caller, ACL_EXECUTE);
#endif
  });
  return r == ACLCHECK_OK;
}

bool may_register() { return may_execute("register", {TEXTOID, TEXTOID, TEXTOID, TEXTOID}); }
bool may_repair() { return may_execute("repair", {TEXTOID, TEXTOID, TEXTOID, BOOLOID}); }

[[noreturn]] void refuse_write(const char* doing, const char* signature) {
  throw Error(sqlstate::kInsufficientPrivilege, fmt::format("permission denied to {} through migrate.sync()", doing),
              fmt::format("That needs EXECUTE on {}, as calling it directly would.", signature),
              "Pass dry_run => true to compare a folder without writing (what pg_migrate status and check do).");
}

}  // namespace
}  // namespace pgm

PGM_FUNCTION(pgm_sync) {
  if (PG_ARGISNULL(0)) throw Error(sqlstate::kInvalidParameterValue, "files must not be NULL");
  // A NULL switch is no answer: taken as false, a NULL dry_run (a driver binding an unset
  // variable) would write.
  if (PG_ARGISNULL(1)) throw Error(sqlstate::kInvalidParameterValue, "dry_run must not be NULL");
  if (PG_ARGISNULL(2)) throw Error(sqlstate::kInvalidParameterValue, "accept_edited must not be NULL");
  bool dry_run = PG_GETARG_BOOL(1);
  bool accept_edited = PG_GETARG_BOOL(2);
  Datum files = PG_GETARG_DATUM(0);
  if (!dry_run) {
    if (!may_register()) refuse_write("register migrations", "migrate.register(text, text, text, text)");
    if (accept_edited && !may_repair())
      refuse_write("accept edited applied files", "migrate.repair(text, text, text, boolean)");
  }
  if (!dry_run) ensure_not_in_migration("migrate.sync");
  // It reads the catalog as its owner and shows what it holds (names, states, who applied,
  // checksums): only to a role that may read it, as status() does.
  catalog::ensure_caller_may_read("migrations");
  catalog::ensure_caller_may_read("repeatables");
  pg::ResultSet result(fcinfo);
  pg::SpiConnection spi;
  if (!dry_run) catalog::lock_catalog();
  std::vector<InFile> in = read_files(files);
  std::vector<OutRow> out;
  bool changed = false;
  Retired retired = standing_retirements();
  sync_versioned(in, retired, dry_run, accept_edited, out, changed);
  sync_repeatables(in, dry_run, out, changed);
  retire_missing(out, retired, dry_run, accept_edited, changed);
  restore_returned(out, retired, dry_run, changed);
  if (changed) catalog::bump_generation();
  register_subtransaction_callback();
  remember_missing_repeatables(out);
  if (!dry_run) record_digest_if_in_sync(in, out);
  for (const OutRow& r : out) {
    std::vector<pg::Cell> cells{
        r.file.empty() ? pg::Cell::null_value() : pg::Cell::text(r.file),
        r.version.empty() ? pg::Cell::null_value() : pg::Cell::text(r.version),
        pg::Cell::text(r.name),
        pg::Cell::text(r.kind),
        pg::Cell::text(r.state),
        pg::Cell::text(r.action),
        r.applied_at_null ? pg::Cell::null_value() : pg::Cell{TimestampTzGetDatum(r.applied_at), false},
        r.applied_by.empty() ? pg::Cell::null_value() : pg::Cell::text(r.applied_by),
        r.checksum.empty() ? pg::Cell::null_value() : pg::Cell::text(r.checksum),
        r.detail.empty() ? pg::Cell::null_value() : pg::Cell::text(r.detail)};
    result.add_row(cells);
  }
  return result.done();
}

// migrate.sync_confirm(digest) RETURNS boolean: records the folder migrate.sync() registered
// earlier in this transaction as in sync, once nothing is pending any more (apply has applied
// it) and nothing but applies changed the catalog since; false (nothing recorded) otherwise.
PGM_FUNCTION(pgm_sync_confirm) {
  if (PG_ARGISNULL(0)) throw Error(sqlstate::kInvalidParameterValue, "digest must not be NULL");
  std::string digest = pg::text_arg(fcinfo, 0);
  ensure_not_in_migration("migrate.sync_confirm");
  pg::SpiConnection spi;
  catalog::lock_catalog();
  const SyncedFolder& f = synced_folder;
  if (f.transaction != current_local_transaction() || f.digest != digest ||
      f.registration_bumps != catalog::registration_bumps() ||
      catalog::current_generation() != f.generation + static_cast<int64>(catalog::generation_bumps() - f.bumps))
    return BoolGetDatum(false);
  static pg::Query pending{
      "SELECT EXISTS (SELECT FROM migrate.migrations m LEFT JOIN migrate.baseline b ON true "
      "WHERE m.applied_seq IS NULL AND (b.version_parts IS NULL OR m.version_parts > b.version_parts)) "
      "OR EXISTS (SELECT FROM migrate.repeatables r WHERE r.applied_checksum IS DISTINCT FROM r.script_checksum)"};
  {
    catalog::OwnerScope owner;
    pending.run();
    bool any = pg::bool_value(0, 1);
    pg::free_result();
    if (any) return BoolGetDatum(false);
  }
  record_digest(digest);
  synced_folder = SyncedFolder{};
  return BoolGetDatum(true);
}

// migrate.apply_repeatables() applies every pending repeatable; migrate.apply_repeatables(name)
// (0.9.0) only that one, if it is pending (the command runs beforeEachMigrate and
// afterEachMigrate callbacks around each).
PGM_FUNCTION(pgm_apply_repeatables) {
  ensure_not_in_migration("migrate.apply_repeatables");
  std::optional<std::string> only;
  if (PG_NARGS() > 0) {
    if (PG_ARGISNULL(0)) throw Error(sqlstate::kInvalidParameterValue, "repeatable migration name must not be NULL");
    only = pg::text_arg(fcinfo, 0);
  }
  pg::ResultSet result(fcinfo);
  pg::SpiConnection spi;
  catalog::lock_catalog();
  static pg::Query pending{
      "SELECT name, file_name, up_sql, script_checksum FROM migrate.repeatables "
      "WHERE applied_checksum IS DISTINCT FROM script_checksum AND ($1::pg_catalog.text IS NULL OR name = $1) "
      "ORDER BY name COLLATE \"C\""};
  struct Item {
    std::string name, file, up, checksum;
  };
  std::vector<Item> items;
  {
    catalog::OwnerScope owner;
    uint64 rows = pending.run({only ? pg::text_param(*only) : pg::null_param(TEXTOID)});
    for (uint64 i = 0; i < rows; ++i)
      items.push_back({pg::text_value(i, 1), pg::text_value(i, 2), pg::text_value(i, 3), pg::text_value(i, 4)});
    pg::free_result();
  }
  if (only && items.empty()) {
    static pg::Query known{"SELECT 1 FROM migrate.repeatables WHERE name = $1"};
    catalog::OwnerScope owner;
    bool exists = known.run({pg::text_param(*only)}) > 0;
    pg::free_result();
    if (!exists)
      throw Error(sqlstate::kUndefinedObject, fmt::format("repeatable migration \"{}\" is not registered", *only), {},
                  "See migrate.repeatables for the registered ones.");
  }
  if (const MissingRepeatables* missing = latest_missing_repeatables())
    for (const Item& it : items)
      for (const auto& [name, file] : missing->name_and_file)
        if (name == it.name)
          throw Error(sqlstate::kObjectNotInPrerequisiteState,
                      fmt::format("repeatable migration {} is pending but its file {} is gone", name, file),
                      "migrate.sync() in this transaction did not find the file.",
                      "apply_repeatables() would run the text synced from the file before it was removed. Put "
                      "the file back (as it should be applied, or as it was applied) and sync again.");
  // Like every applied script, the repeatable's text is kept in migrate.scripts (by SHA-256) and
  // history points to it.
  static pg::Query record{
      "WITH s AS (INSERT INTO migrate.scripts (checksum, script) VALUES ($6, $7) ON CONFLICT (checksum) DO NOTHING), "
      "h AS (INSERT INTO migrate.history (version, name, action, role, duration_ms, checksum, detail, script_checksum) "
      "VALUES ('R', $1, 'apply', $2, $3, $4, pg_catalog.jsonb_build_object('repeatable', true, 'file', $5::text), $6) "
      "RETURNING performed_at, performed_by) "
      "UPDATE migrate.repeatables r SET applied_checksum = $4, applied_at = h.performed_at, "
      "applied_by = h.performed_by FROM h WHERE r.name = $1"};
  std::string role = catalog::current_role_name();
  // The snapshot after them refreshes what they touched, as after migrate.apply() (a whole one
  // absorbed earlier drift into the reference).
  if (!items.empty()) drift_expect_migrations();
  MemoryContext scratch = pg::call([] {
    return AllocSetContextCreate(CurrentMemoryContext, "pg_migrate repeatable", ALLOCSET_DEFAULT_SIZES);
  });
  for (const Item& it : items) {
    auto start = std::chrono::steady_clock::now();
    MemoryContext outer = MemoryContextSwitchTo(scratch);
    {
      ScriptLabel label{"R", it.name, "up"};
      // Under lint_blocks_apply, as a versioned migration or a callback about to run.
      lint_check_before_running(fmt::format("repeatable migration \"{}\"", it.name), it.up);
      std::vector<ScriptStatement> statements = parse_script(it.up, label);
      check_statements(statements, it.up, label);
      int failed = -1;
      run_statements(it.up, statements, label, settings::lock_timeout_ms, failed);
    }
    MemoryContextSwitchTo(outer);
    pg::call([&] { MemoryContextReset(scratch); });
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    {
      catalog::OwnerScope owner;
      record.run({pg::text_param(it.name), pg::text_param(role), pg::float8_param(ms), pg::text_param(it.checksum),
                  pg::text_param(it.file), pg::text_param(sha256_hex(it.up)), pg::text_param(it.up)});
    }
    result.add_row({pg::Cell::text(it.name), pg::Cell::text(it.file), pg::Cell::float8(ms)});
  }
  if (!items.empty()) {
    catalog::bump_generation(true);
    drift_record_snapshot("apply");
  }
  return result.done();
}
