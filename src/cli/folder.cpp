#include "cli/folder.hpp"
#include "core/run_mode.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <nettle/sha2.h>
#include <nettle/version.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/script.hpp"
#include "core/version.hpp"

namespace fs = std::filesystem;

namespace pgm::cli {
namespace {

// Reads dir/rel; dir_fd is the open folder, so each file's path is resolved from there.
std::string read_text(int dir_fd, const std::string& dir, const std::string& rel) {
  auto cannot_read = [&](int e) { return FolderError("cannot read " + (fs::path(dir) / rel).string() + ": " + std::strerror(e)); };
  int fd = ::openat(dir_fd, rel.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw cannot_read(errno);
  // No fstat() and no read() that returns 0: a read of a regular file that returns less than
  // asked for has reached its end. Two system calls fewer per file is a fifth of reading a
  // folder of a thousand small files.
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      throw cannot_read(e);
    }
    text.append(buf, static_cast<size_t>(n));
    if (static_cast<size_t>(n) < sizeof buf) break;
  }
  ::close(fd);
  // Line endings: CRLF and CR become LF, so scripts and line numbers are the same on every checkout.
  if (text.find('\r') == std::string::npos) return text;
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') {
      out += '\n';
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// A problem of one file's text (not of the folder's layout): for a versioned migration it is
// its version's, judged per database (Folder::unreadable).
struct TextError : FolderError {
  using FolderError::FolderError;
};

struct Entry {
  std::optional<MigrationFile> up;
  std::string down_file;
  std::optional<std::string> down;
  bool down_no_transaction = false;
  std::optional<pgm::Version> version;
};

// The folder, or one of its subfolders, as `cannot read folder` names it.
std::string folder_path(const std::string& dir, const std::string& rel) {
  return rel.empty() ? dir : (fs::path(dir) / rel).string();
}

// A file name meant as a migration's, by its start: Flyway's V1 / U1 / R__ / B1 (upper case,
// as Flyway writes them, or lower case with Flyway's "__"), or a version of digits followed by a
// separator (20240101_x, 1.2-x). "seed.sql", "v8_functions.sql", "b2b_data.sql", "2fa.sql" are not.
bool named_like_a_version(const std::string& base) {
  auto digit = [&](size_t i) { return i < base.size() && std::isdigit(static_cast<unsigned char>(base[i])); };
  auto digits_then_separator = [&](size_t i) {
    if (!digit(i)) return false;
    while (digit(i) || (i < base.size() && base[i] == '.' && digit(i + 1))) ++i;
    return i < base.size() && (base[i] == '_' || base[i] == '-' || base[i] == '.');
  };
  if (base.empty()) return false;
  // V1__x, V1_x, V1.2__x, V1.1.x__x, U1__x, B1__x: a version then "_", or Flyway's "__" further
  // on ("U2F_keys", "B2B_seed" are not).
  if (std::strchr("VUB", base[0]) && digit(1)) {
    size_t after = base.find_first_not_of("0123456789.", 1);
    if ((after != std::string::npos && base[after] == '_') || base.find("__") != std::string::npos) return true;
  }
  if (base[0] == 'R' && base.size() > 2 && base[1] == '_' && base[2] == '_') return true;
  if (std::strchr("vub", base[0]) && digit(1)) {
    size_t i = 1;
    while (digit(i) || (i < base.size() && base[i] == '.')) ++i;
    return base.compare(i, 2, "__") == 0;
  }
  return digits_then_separator(0);
}

// Whether two texts differ in white space only. Stops at the first other difference, without
// copying (every file of the folder is compared with the `new` template).
bool same_but_white_space(std::string_view a, std::string_view b) {
  auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  size_t i = 0, j = 0;
  for (;;) {
    while (i < a.size() && space(a[i])) ++i;
    while (j < b.size() && space(b[j])) ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (a[i++] != b[j++]) return false;
  }
}

// "path:N: message", as compilers and the other refusals print it, from a parser's
// "line N: message".
std::string located(const std::string& path, const std::string& message) {
  size_t digits = message.rfind("line ", 0) == 0 ? message.find_first_not_of("0123456789", 5) : std::string::npos;
  if (digits == std::string::npos || digits == 5 || message.compare(digits, 2, ": ") != 0) return path + ": " + message;
  return path + ":" + message.substr(5, digits - 5) + message.substr(digits);
}

}  // namespace

std::string sha256_hex(const std::string& bytes) {
  // Nettle, not OpenSSL: OpenSSL 3 loads its providers and their name tables on the first
  // digest, about 1.5 ms of a command that has ~20 ms to check a folder.
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data()));
  unsigned char digest[SHA256_DIGEST_SIZE];
#if NETTLE_VERSION_MAJOR >= 4
  sha256_digest(&ctx, digest);
#else
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
#endif
  return to_hex(digest, SHA256_DIGEST_SIZE);
}

std::vector<const CallbackFile*> Folder::callbacks_of(std::string_view event) const {
  std::vector<const CallbackFile*> out;
  for (const CallbackFile& c : callbacks)
    if (c.event == event) out.push_back(&c);
  return out;
}

const MigrationFile* Folder::by_version(const std::string& v) const {
  auto it = versioned_at.find(v);
  return it == versioned_at.end() ? nullptr : &migrations[it->second];
}

const MigrationFile* Folder::repeatable(const std::string& name) const {
  auto it = repeatable_at.find(name);
  return it == repeatable_at.end() ? nullptr : &migrations[it->second];
}

Folder read_folder(const std::string& dir) {
  Folder folder;
  folder.dir = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (fs::exists(dir, ec)) throw FolderError("migrations folder \"" + dir + "\" is not a directory (use --dir)");
    throw FolderError("migrations folder \"" + dir + "\" does not exist (use --dir)");
  }
  // Relative paths: files at the top and in subfolders, read recursively as Flyway reads its
  // locations; a subfolder holding up.sql/down.sql is a diesel migration.
  std::vector<std::string> paths;
  // A name that would be a migration but is not a readable regular file (a broken symbolic
  // link, a pipe, a device, a link loop) is an error, never silently left out.
  // Deeper than this is a symbolic link loop, not a layout.
  constexpr int kMaxDepth = 16;
  // With readdir() and the entry's type rather than std::filesystem: a stat() only for a
  // symbolic link (followed) or an entry of unknown type, no path object per file.
  std::function<void(int, const std::string&, int)> list_dir = [&](int dir_fd, const std::string& prefix, int depth) {
    DIR* d = ::fdopendir(dir_fd);
    if (!d) {
      int e = errno;
      ::close(dir_fd);
      throw FolderError("cannot read folder " + folder_path(dir, prefix) + ": " + std::strerror(e));
    }
    struct DirCloser {
      DIR* d;
      ~DirCloser() { ::closedir(d); }
    } closer{d};
    for (;;) {
      errno = 0;
      const struct dirent* ent = ::readdir(d);
      if (!ent) {
        if (errno != 0) throw FolderError("cannot read folder " + folder_path(dir, prefix) + ": " + std::strerror(errno));
        break;
      }
      std::string_view name(ent->d_name);
      if (name.empty() || name[0] == '.') continue;
      std::string rel = prefix;
      rel.append(name);
      if (size_t bad = files::invalid_utf8_at(name); bad != std::string::npos) {
        std::string shown;
        for (unsigned char ch : name) shown += ch < 0x80 && ch >= 0x20 ? std::string(1, static_cast<char>(ch)) : fmt::format("\\x{:02x}", ch);
        throw FolderError(folder_path(dir, prefix + shown) + ": the file name is not valid UTF-8; rename the file");
      }
      bool is_dir = ent->d_type == DT_DIR, is_file = ent->d_type == DT_REG;
      int why = 0;
      if (ent->d_type == DT_LNK || ent->d_type == DT_UNKNOWN) {
        struct stat st;
        if (::fstatat(::dirfd(d), ent->d_name, &st, 0) == 0) {
          is_dir = S_ISDIR(st.st_mode);
          is_file = S_ISREG(st.st_mode);
        } else {
          why = errno;
        }
      }
      if (is_dir) {
        if (depth >= kMaxDepth)
          throw FolderError(folder_path(dir, rel) + ": folders nested more than " + std::to_string(kMaxDepth) +
                            " deep (a symbolic link loop?)");
        int sub = ::openat(::dirfd(d), ent->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sub < 0) throw FolderError("cannot read folder " + folder_path(dir, rel) + ": " + std::strerror(errno));
        list_dir(sub, rel + "/", depth + 1);
      } else if (is_file) {
        paths.push_back(std::move(rel));
      } else if (files::parse_file_name(rel)) {
        throw FolderError(folder_path(dir, rel) + ": not a regular file" + (why ? fmt::format(" ({})", std::strerror(why)) : "") +
                          "; a migration file must be one (a symbolic link must point to one)");
      }
    }
  };
  {
    int top = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (top < 0) throw FolderError("cannot read folder " + dir + ": " + std::strerror(errno));
    list_dir(top, "", 0);
  }
  std::sort(paths.begin(), paths.end());
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) throw FolderError("cannot open migrations folder \"" + dir + "\": " + std::strerror(errno));
  struct DirCloser {
    int fd;
    ~DirCloser() { ::close(fd); }
  } dir_closer{dir_fd};
  std::map<std::string, Entry> versions;     // canonical version -> entry
  std::map<std::string, MigrationFile> reps;  // name -> repeatable
  std::map<std::string, std::string> unreadable;  // canonical version -> the first error of its files
  for (const std::string& rel : paths) {
    std::optional<files::FileName> fn = files::parse_file_name(rel);
    std::optional<files::CallbackName> callback = fn ? std::nullopt : files::parse_callback_name(rel);
    if (callback && !callback->supported) {
      folder.warnings.push_back("ignoring " + rel + ": pg_migrate does not run Flyway's " + callback->event +
                                " callbacks (it runs those of " + files::callback_event_list() + ")");
      continue;
    }
    if (!fn && !callback) {
      // ".SQL" too: such a file is not read (names are case-sensitive), which must not go unnoticed.
      std::string ext = rel.size() > 4 ? rel.substr(rel.size() - 4) : std::string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      // In subfolders (which may hold seeds or an archive) only what looks meant as a migration:
      // a Flyway-like name (V1_x.sql with one underscore) or an upper-case extension.
      size_t slash = rel.rfind('/');
      std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);
      // (v7__x.sql too: a misspelt V, named like a version, is refused by check as at the top)
      bool flyway_like = base.size() > 1 &&
                         (((base[0] == 'V' || base[0] == 'U' || base[0] == 'R') &&
                           (std::isdigit(static_cast<unsigned char>(base[1])) || base[1] == '_')) ||
                          ((base[0] == 'v' || base[0] == 'u') && std::isdigit(static_cast<unsigned char>(base[1]))));
      bool odd_case = rel.size() > 4 && rel.compare(rel.size() - 4, 4, ".sql") != 0;
      // up.sql in a folder not named <version>_<name>: meant as a diesel migration, surely.
      bool diesel_like = slash != std::string::npos && (base == "up.sql" || base == "down.sql");
      if (diesel_like) {
        size_t start = rel.rfind('/', slash - 1);
        std::string sub = rel.substr(start == std::string::npos ? 0 : start + 1, slash - (start == std::string::npos ? 0 : start + 1));
        folder.warnings.push_back("ignoring " + rel + ": a folder holding " + base +
                                  " is a diesel migration named <version>_<name> (e.g. 2019-02-26-002946_" + sub +
                                  " or 20190226002946_" + sub + "); \"" + sub + "\" has no version");
      } else if (ext == ".sql" && (slash == std::string::npos || flyway_like || odd_case)) {
        bool versioned_like = named_like_a_version(base);
        bool baseline = base.size() > 1 && base[0] == 'B' && std::isdigit(static_cast<unsigned char>(base[1]));
        if (baseline)
          folder.warnings.push_back("ignoring " + rel + ": pg_migrate does not run Flyway's baseline migrations (B...); "
                                    "a database whose schema is there already is marked with pg_migrate baseline <version>");
        else
          folder.warnings.push_back("ignoring " + rel + ": not a migration file name (see pg_migrate --help)");
        if (versioned_like) folder.misnamed.push_back(rel);
      }
      continue;
    }
    // A versioned file's version, known before its text is judged: a problem of the text is
    // that version's (below a database's baseline it is never read there).
    std::optional<pgm::Version> parsed;
    if (fn && fn->part != files::Part::Repeatable) {
      try {
        parsed = pgm::Version::parse(fn->version);
      } catch (const pgm::Error& e) {
        throw FolderError(folder_path(dir, rel) + ": " + e.message());
      }
    }
    try {
      std::string text = read_text(dir_fd, dir, rel);
      // A byte order mark some Windows editors write: not part of the SQL.
      if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
      if (size_t bad = files::invalid_utf8_at(text); bad != std::string::npos) {
        std::string_view before(text.data(), bad);
        size_t line = static_cast<size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
        // A NUL byte is valid UTF-8, but no SQL text can hold it (PostgreSQL's strings end there).
        if (text[bad] == '\0')
          throw TextError(folder_path(dir, rel) + ":" + std::to_string(line) + ": a NUL byte (byte " + std::to_string(bad + 1) +
                            "); SQL text cannot hold one (a file saved as UTF-16?)");
        throw TextError(folder_path(dir, rel) + ":" + std::to_string(line) + ": not valid UTF-8 (byte " + std::to_string(bad + 1) +
                          "); migration files are read as UTF-8");
      }
      // A misspelt directive is a problem of the file, as a misspelt section marker is (exit 4),
      // found before anything is sent (the server refuses it too, as it registers the script).
      if (std::optional<UnknownDirective> d = find_unknown_directive(text))
        throw TextError(fmt::format("{}:{}: an unknown or misspelled pg_migrate directive \"{}\"; the directives are "
                                      "\"-- pg_migrate:no-transaction\" (the first line), \"-- pg_migrate:batch <rows> "
                                      "[pause <ms>ms]\" and \"-- pg_migrate:ignore <rule>\"",
                                      folder_path(dir, rel), d->line, d->text));
      if (callback) {
        folder.callbacks.push_back({rel, callback->event, callback->description, std::move(text)});
        continue;
      }
      // (CRLF line ends, blank lines an editor removed, trailing spaces: no SQL either.)
      if (same_but_white_space(text, kNewFileTemplate) || same_but_white_space(text, kNewFlywayTemplate))
        folder.unedited.push_back(rel);
      // diesel: `run_in_transaction = false` in the migration's metadata.toml marks both scripts
      // non-transactional (without adding a line, so errors keep the file's line numbers).
      if (fn->layout == files::Layout::Folder) {
        std::string metadata = rel.substr(0, rel.rfind('/') + 1) + "metadata.toml";
        if (std::binary_search(paths.begin(), paths.end(), metadata)) {
          try {
            if (!files::diesel_runs_in_transaction(read_text(dir_fd, dir, metadata)))
              text = files::with_no_transaction_block(std::move(text));
          } catch (const std::invalid_argument& e) {
            throw FolderError(folder_path(dir, metadata) + ": " + e.what());
          }
        }
      }
      if (fn->part == files::Part::Repeatable) {
        MigrationFile m;
        m.file = rel;
        m.name = fn->description;
        m.up = text;
        m.repeatable = true;
        m.layout = fn->layout;
        m.no_transaction = files::has_no_transaction_directive(text);
        auto [it, fresh] = reps.emplace(m.name, std::move(m));
        if (!fresh)
          throw FolderError("repeatable migration files " + folder_path(dir, it->second.file) + " and " + folder_path(dir, rel) + " have the same name");
        continue;
      }
      const pgm::Version& v = *parsed;
      Entry& entry = versions[v.canonical()];
      if (!entry.version) entry.version = v;
      if (fn->part == files::Part::Down) {
        if (!entry.down_file.empty())
          throw FolderError("migration files " + folder_path(dir, entry.down_file) + " and " + folder_path(dir, rel) + " are both the down script of version " +
                            v.canonical());
        entry.down_file = rel;
        entry.down_no_transaction = files::has_no_transaction_directive(text);
        entry.down = files::with_pg_migrate_directive(std::move(text));
        continue;
      }
      if (entry.up)
        throw FolderError("migration files " + folder_path(dir, entry.up->file) + " and " + folder_path(dir, rel) + " have the same version " + v.canonical() +
                          "; each version is one migration");
      MigrationFile m;
      m.file = rel;
      m.version = v.canonical();
      m.name = fn->description;
      m.layout = fn->layout;
      if (fn->part == files::Part::Sections) {
        files::Sections s;
        try {
          s = files::split_sections(text);
        } catch (const std::invalid_argument& e) {
          throw TextError(located(folder_path(dir, rel), e.what()));
        }
        m.up = std::move(s.up);
        m.down = std::move(s.down);
        m.no_transaction = s.up_no_transaction || s.down_no_transaction;
      } else {
        // A whole-file script with another tool's down marker: that tool's down section would run
        // as part of the up script here.
        if (int line = files::down_section_marker_line(text))
          throw TextError(fmt::format("{}:{}: a down-section marker of dbmate, goose or sql-migrate, in a {} file that is "
                                        "one script: what follows would run as part of it. Put the down script in its "
                                        "own file ({}), or name the file as that tool names its files",
                                        folder_path(dir, rel), line, files::layout_name(fn->layout),
                                        fn->layout == files::Layout::Flyway ? "U" + v.canonical() + "__...sql"
                                                                            : "the layout's down file"));
        m.no_transaction = files::has_no_transaction_directive(text);
        m.up = files::with_pg_migrate_directive(std::move(text));
      }
      entry.up = std::move(m);
    } catch (const TextError& e) {
      if (!parsed) throw FolderError(e.what());  // a repeatable migration or a callback: always read
      unreadable.emplace(parsed->canonical(), e.what());
    }
  }
  // A version with an unreadable file is left out whole (its up and down scripts go together).
  for (const auto& [canonical, error] : unreadable) {
    versions.erase(canonical);
    folder.unreadable.push_back({canonical, error});
  }
  std::sort(folder.unreadable.begin(), folder.unreadable.end(),
            [](const Folder::Unreadable& a, const Folder::Unreadable& b) {
              return pgm::Version::parse(a.version) < pgm::Version::parse(b.version);
            });
  std::vector<Entry*> ordered;  // (sorted as pointers: a MigrationFile is six strings)
  ordered.reserve(versions.size());
  for (auto& [canonical, e] : versions) {
    if (!e.up)
      throw FolderError(folder_path(dir, e.down_file) + " is a down script for version " + canonical + ", which has no up script");
    if (!e.down_file.empty()) {
      if (e.up->down)
        throw FolderError(folder_path(dir, e.up->file) + " has a down section and " + folder_path(dir, e.down_file) + " is a down script for the same version");
      e.up->down_file = std::move(e.down_file);
      e.up->down = std::move(e.down);
      e.up->no_transaction = e.up->no_transaction || e.down_no_transaction;
    }
    ordered.push_back(&e);
  }
  std::sort(ordered.begin(), ordered.end(), [](const Entry* a, const Entry* b) { return *a->version < *b->version; });
  folder.migrations.reserve(ordered.size() + reps.size());
  for (Entry* e : ordered) folder.migrations.push_back(std::move(*e->up));
  for (auto& [name, m] : reps) folder.migrations.push_back(std::move(m));
  for (MigrationFile& m : folder.migrations)
    m.checksum = sha256_hex(files::source_digest_input(m.file, m.name, m.up, m.down, m.repeatable));
  std::vector<std::pair<std::string, std::string>> list;
  for (const MigrationFile& m : folder.migrations) list.emplace_back(m.file, m.checksum);
  folder.digest = sha256_hex(files::folder_digest_input(std::move(list)));
  // Those of one event run in the order of their file names (the folder path included).
  std::stable_sort(folder.callbacks.begin(), folder.callbacks.end(),
                   [](const CallbackFile& a, const CallbackFile& b) { return a.file < b.file; });
  for (size_t i = 0; i < folder.migrations.size(); ++i) {
    const MigrationFile& m = folder.migrations[i];
    if (m.repeatable) folder.repeatable_at.emplace(m.name, i);
    else folder.versioned_at.emplace(m.version, i);
  }
  return folder;
}

}  // namespace pgm::cli
