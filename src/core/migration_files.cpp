#include "core/migration_files.hpp"
#include "core/run_mode.hpp"

#include <cctype>
#include <cstdint>
#include <algorithm>
#include <stdexcept>
#include <vector>

namespace pgm::files {
namespace {

constexpr const char* kNoTransaction = "-- pg_migrate:no-transaction";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_digit(c)) return false;
  return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string spaces_for_underscores(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c == '_') c = ' ';
  // Runs of spaces (from "__") become one.
  std::string collapsed;
  for (char c : out) {
    if (c == ' ' && (collapsed.empty() || collapsed.back() == ' ')) continue;
    collapsed += c;
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  return collapsed;
}

// "<digits>_<rest>" -> digits and rest; nullopt otherwise.
std::optional<std::pair<std::string, std::string>> split_numbered(std::string_view s) {
  size_t us = s.find('_');
  if (us == std::string_view::npos || us == 0) return std::nullopt;
  std::string_view digits = s.substr(0, us);
  std::string_view rest = s.substr(us + 1);
  if (!all_digits(digits) || rest.empty()) return std::nullopt;
  return std::make_pair(std::string(digits), std::string(rest));
}

std::optional<FileName> parse_flyway(std::string_view base) {
  // base has no ".sql"
  if (base.size() < 4) return std::nullopt;
  char prefix = base[0];
  size_t sep = base.find("__");
  if (sep == std::string_view::npos) return std::nullopt;
  std::string_view desc = base.substr(sep + 2);
  if (desc.empty()) return std::nullopt;
  if (prefix == 'R') {
    if (sep != 1) return std::nullopt;
    return FileName{Layout::Flyway, Part::Repeatable, "", spaces_for_underscores(desc)};
  }
  if (prefix != 'V' && prefix != 'U') return std::nullopt;
  std::string_view raw = base.substr(1, sep - 1);
  if (raw.empty() || !is_digit(raw.front()) || !is_digit(raw.back())) return std::nullopt;
  std::string version;
  for (char c : raw) {
    if (is_digit(c)) {
      version += c;
    } else if (c == '.' || c == '_') {
      if (!version.empty() && version.back() == '.') return std::nullopt;
      version += '.';
    } else {
      return std::nullopt;
    }
  }
  return FileName{Layout::Flyway, prefix == 'V' ? Part::Up : Part::Down, version,
                  spaces_for_underscores(desc)};
}

}  // namespace

const char* layout_name(Layout layout) {
  switch (layout) {
    case Layout::Timestamped: return "pg_migrate/dbmate";
    case Layout::Flyway: return "flyway";
    case Layout::UpDown: return "golang-migrate";
    case Layout::Folder: return "diesel";
  }
  return "?";
}

const char* const kCallbackEvents[8] = {"beforeMigrate",  "beforeEachMigrate", "afterEachMigrate",
                                        "afterVersioned", "beforeRepeatables", "afterMigrate",
                                        "afterMigrateApplied", "afterMigrateError"};

bool is_callback_event(std::string_view event) {
  for (const char* e : kCallbackEvents)
    if (event == e) return true;
  return false;
}

std::string callback_event_list() {
  std::string events;
  for (const char* e : kCallbackEvents) events += (events.empty() ? "" : ", ") + std::string(e);
  return events;
}

std::optional<CallbackName> parse_callback_name(std::string_view path) {
  // Flyway's other events: named, so that such a file is reported as a callback pg_migrate
  // does not run rather than as a file name it does not know.
  static const char* const kOtherEvents[] = {
      "beforeConnect", "afterConnect", "beforeEachMigrateStatement", "afterEachMigrateStatement",
      "afterEachMigrateStatementError", "afterEachMigrateError", "beforeUndo", "beforeEachUndo",
      "beforeEachUndoStatement", "afterEachUndoStatement", "afterEachUndoStatementError", "afterEachUndo",
      "afterEachUndoError", "afterUndo", "afterUndoError", "beforeClean", "afterClean", "afterCleanError",
      "beforeInfo", "afterInfo", "afterInfoError", "beforeValidate", "afterValidate", "afterValidateError",
      "beforeBaseline", "afterBaseline", "afterBaselineError", "beforeRepair", "afterRepair",
      "afterRepairError", "createSchema", "beforeCreateSchema"};
  size_t slash = path.rfind('/');
  std::string_view file = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (!ends_with(file, ".sql")) return std::nullopt;
  std::string_view base = file.substr(0, file.size() - 4);
  std::string_view event = base, description;
  if (size_t sep = base.find("__"); sep != std::string_view::npos) {
    event = base.substr(0, sep);
    description = base.substr(sep + 2);
    if (description.empty()) return std::nullopt;
  }
  if (is_callback_event(event)) return CallbackName{std::string(event), spaces_for_underscores(description), true};
  for (const char* e : kOtherEvents)
    if (event == e) return CallbackName{std::string(event), spaces_for_underscores(description), false};
  return std::nullopt;
}

std::optional<FileName> parse_file_name(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash != std::string_view::npos) {
    std::string_view file = path.substr(slash + 1);
    // In a subfolder: Flyway's files (Flyway reads its locations recursively); the other tools
    // read one folder, so their names there are not migrations (an archive, seeds).
    if (file != "up.sql" && file != "down.sql") {
      std::optional<FileName> f = parse_file_name(file);
      if (f && f->layout == Layout::Flyway) return f;
      return std::nullopt;
    }
    // diesel / sqlx folders: <version>_<name>/up.sql or down.sql (named by the innermost folder)
    std::string_view folder = path.substr(0, slash);
    size_t outer = folder.rfind('/');
    std::string_view dir = outer == std::string_view::npos ? folder : folder.substr(outer + 1);
    size_t us = dir.find('_');
    if (us == std::string_view::npos || us == 0 || us + 1 >= dir.size()) return std::nullopt;
    std::string_view stamp = dir.substr(0, us);
    std::string version;
    for (char c : stamp) {
      if (is_digit(c)) version += c;
      else if (c != '-') return std::nullopt;
    }
    if (version.empty() || !is_digit(stamp.front())) return std::nullopt;
    return FileName{Layout::Folder, file == "up.sql" ? Part::Up : Part::Down, version,
                    spaces_for_underscores(dir.substr(us + 1))};
  }
  if (!ends_with(path, ".sql")) return std::nullopt;
  std::string_view base = path.substr(0, path.size() - 4);
  if (base.empty()) return std::nullopt;
  if (base[0] == 'V' || base[0] == 'U' || base[0] == 'R') return parse_flyway(base);
  for (const char* suffix : {".up", ".down"}) {
    if (ends_with(base, suffix)) {
      auto parts = split_numbered(base.substr(0, base.size() - std::string_view(suffix).size()));
      if (!parts) return std::nullopt;
      return FileName{Layout::UpDown, suffix[1] == 'u' ? Part::Up : Part::Down, parts->first,
                      spaces_for_underscores(parts->second)};
    }
  }
  auto parts = split_numbered(base);
  if (!parts) return std::nullopt;
  return FileName{Layout::Timestamped, Part::Sections, parts->first, spaces_for_underscores(parts->second)};
}

namespace {

// The tools whose one-file format (an up section, then a down section) is read.
enum class Dialect { kNone, kDbmate, kGoose, kSqlMigrate };

const char* dialect_marker(Dialect d) {
  switch (d) {
    case Dialect::kGoose: return "-- +goose";
    case Dialect::kSqlMigrate: return "-- +migrate";
    default: return "-- migrate:";
  }
}

enum class MarkerKind {
  kNone,
  kUp,
  kDown,
  kStatement,      // goose's and sql-migrate's StatementBegin / StatementEnd: the server's
                   // parser splits statements itself, so they stay as comments
  kNoTransaction,  // goose's "-- +goose NO TRANSACTION": the whole file (up and down)
};

struct Marker {
  bool is_marker = false;
  bool up = false;
  bool no_transaction = false;
  MarkerKind kind = MarkerKind::kNone;
  Dialect dialect = Dialect::kNone;
  std::string error;  // an annotation of that tool pg_migrate cannot follow (ENVSUB, unknown)
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// The words after "-- +goose" or "-- +migrate", lower-cased, white space collapsed.
std::string annotation_words(std::string_view rest) {
  std::string out;
  bool space = false;
  for (char c : rest) {
    if (c == ' ' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// `-- migrate:up [options]` or `-- migrate:down [options]` (dbmate); `-- +goose Up`,
// `-- +goose Down`, `-- +goose NO TRANSACTION`, `-- +goose StatementBegin|StatementEnd`
// (goose, case-insensitive); `-- +migrate Up [notransaction]`, `-- +migrate Down
// [notransaction]`, `-- +migrate StatementBegin|StatementEnd` (sql-migrate).
Marker marker_of(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (line.substr(i, 2) != "--") return {};
  i += 2;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  std::string_view rest = line.substr(i);
  Marker m;
  std::string_view options;
  if (rest.substr(0, 10) == "migrate:up" && (rest.size() == 10 || std::isspace(static_cast<unsigned char>(rest[10])))) {
    m.is_marker = true;
    m.up = true;
    m.kind = MarkerKind::kUp;
    options = rest.substr(10);
  } else if (rest.substr(0, 12) == "migrate:down" &&
             (rest.size() == 12 || std::isspace(static_cast<unsigned char>(rest[12])))) {
    m.is_marker = true;
    m.kind = MarkerKind::kDown;
    options = rest.substr(12);
  } else {
    for (Dialect d : {Dialect::kGoose, Dialect::kSqlMigrate}) {
      std::string_view prefix = d == Dialect::kGoose ? "+goose" : "+migrate";
      if (!iequals(rest.substr(0, prefix.size()), prefix) ||
          (rest.size() > prefix.size() && !std::isspace(static_cast<unsigned char>(rest[prefix.size()]))))
        continue;
      std::string words = annotation_words(rest.substr(prefix.size()));
      m.is_marker = true;
      m.dialect = d;
      std::string first = words.substr(0, words.find(' '));
      std::string more = words.size() > first.size() ? words.substr(first.size() + 1) : "";
      if (first == "up" || first == "down") {
        m.kind = first == "up" ? MarkerKind::kUp : MarkerKind::kDown;
        m.up = first == "up";
        if (d == Dialect::kSqlMigrate && more == "notransaction") m.no_transaction = true;
        else if (!more.empty()) m.error = "unknown option \"" + more + "\"";
      } else if ((first == "statementbegin" || first == "statementend") && more.empty()) {
        m.kind = MarkerKind::kStatement;
      } else if (d == Dialect::kGoose && words == "no transaction") {
        m.kind = MarkerKind::kNoTransaction;
      } else if (d == Dialect::kGoose && first == "envsub") {
        m.error = "environment variable substitution (ENVSUB) is not supported: the script runs as written";
      } else {
        m.error = "unknown annotation";
      }
      return m;
    }
    return {};
  }
  m.dialect = Dialect::kDbmate;
  m.no_transaction = options.find("transaction:false") != std::string_view::npos;
  return m;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

void drop_trailing_blank_lines(std::string& s) {
  size_t end = s.size();
  while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r')) --end;
  s.resize(end);
  if (!s.empty()) s += '\n';
}

// The line (1-based) of the first text before lines[end] that is neither white space nor a
// comment (`--` to the end of the line, `/* */`, nested as in PostgreSQL); 0 if none.
int statement_line_before(const std::vector<std::string_view>& lines, int end) {
  int depth = 0;  // inside /* */
  for (int n = 0; n < end; ++n) {
    std::string_view l = lines[n];
    for (size_t i = 0; i < l.size();) {
      if (depth > 0) {
        if (l.compare(i, 2, "*/") == 0) --depth, i += 2;
        else if (l.compare(i, 2, "/*") == 0) ++depth, i += 2;
        else ++i;
      } else if (l.compare(i, 2, "/*") == 0) {
        ++depth, i += 2;
      } else if (l.compare(i, 2, "--") == 0) {
        break;
      } else if (std::isspace(static_cast<unsigned char>(l[i]))) {
        ++i;
      } else {
        return n + 1;
      }
    }
  }
  return 0;
}

}  // namespace

// A comment that reads as a section marker but is not one ("-- migrate: down", "-- MIGRATE:UP"):
// "up" or "down" for a near miss, else empty. dbmate would run such a down section as part of
// the up script, which must not happen silently.
std::string near_miss_marker(std::string_view line) {
  size_t i = 0;
  auto spaces = [&] {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  };
  spaces();
  if (line.substr(i, 2) != "--") return "";
  i += 2;
  spaces();
  std::string word;
  auto read_word = [&] {
    word.clear();
    while (i < line.size() && std::isalpha(static_cast<unsigned char>(line[i])))
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(line[i++])));
  };
  read_word();
  if (word != "migrate") return "";
  spaces();
  if (i >= line.size() || line[i] != ':') return "";
  ++i;
  spaces();
  read_word();
  if (word != "up" && word != "down") return "";
  if (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) return "";
  // Shaped as a marker: nothing after the word but white space or options ("transaction:false");
  // "-- Migrate: up to 3 retries" is prose.
  spaces();
  std::string_view rest = line.substr(i);
  while (!rest.empty() && (rest.back() == '\r' || rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  if (!rest.empty() && rest.substr(0, 12) != "transaction:") return "";
  return word;
}

int down_section_marker_line(std::string_view text) {
  int line = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    std::string_view l = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    ++line;
    Marker m = marker_of(l);
    if (m.is_marker && m.kind == MarkerKind::kDown) return line;
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return 0;
}

Sections split_sections(std::string_view text) {
  std::vector<std::string_view> lines = lines_of(text);
  Sections out;
  int up_at = -1, down_at = -1;
  Dialect dialect = Dialect::kNone;
  bool whole_file_no_transaction = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    Marker m = marker_of(lines[i]);
    std::string_view shown = lines[i];
    while (!shown.empty() && (shown.back() == '\r' || shown.back() == ' ')) shown.remove_suffix(1);
    std::string where = "line " + std::to_string(i + 1);
    if (!m.is_marker) {
      std::string near = near_miss_marker(lines[i]);
      if (!near.empty())
        throw std::invalid_argument(where + ": \"" + std::string(shown) + "\" is not a section marker; write \"-- migrate:" +
                                    near + "\"");
      continue;
    }
    if (!m.error.empty()) throw std::invalid_argument(where + ": \"" + std::string(shown) + "\": " + m.error);
    if (dialect != Dialect::kNone && m.dialect != dialect)
      throw std::invalid_argument(where + ": \"" + std::string(shown) + "\" mixes markers of two tools (the file began with \"" +
                                  dialect_marker(dialect) + "\")");
    dialect = m.dialect;
    if (m.kind == MarkerKind::kStatement) continue;
    if (m.kind == MarkerKind::kNoTransaction) {
      whole_file_no_transaction = true;
      continue;
    }
    std::string up_name = std::string(dialect_marker(dialect)) + (dialect == Dialect::kDbmate ? "up" : " Up");
    std::string down_name = std::string(dialect_marker(dialect)) + (dialect == Dialect::kDbmate ? "down" : " Down");
    if (m.up) {
      if (up_at >= 0) throw std::invalid_argument("a second \"" + up_name + "\" at " + where);
      if (down_at >= 0) throw std::invalid_argument("\"" + up_name + "\" after \"" + down_name + "\" at " + where);
      up_at = static_cast<int>(i);
      out.up_no_transaction = m.no_transaction;
    } else {
      if (down_at >= 0) throw std::invalid_argument("a second \"" + down_name + "\" at " + where);
      if (up_at < 0) throw std::invalid_argument("\"" + down_name + "\" before \"" + up_name + "\" at " + where);
      down_at = static_cast<int>(i);
      out.down_no_transaction = m.no_transaction;
    }
  }
  if (dialect != Dialect::kNone && dialect != Dialect::kDbmate && up_at < 0)
    throw std::invalid_argument(std::string("no \"") + dialect_marker(dialect) + " Up\" line: the file has " +
                                dialect_marker(dialect) + " annotations but no up section");
  // goose: the whole file, both sections, runs outside a transaction.
  if (whole_file_no_transaction) out.up_no_transaction = out.down_no_transaction = true;
  if (up_at < 0) {
    out.up = with_pg_migrate_directive(std::string(text));
    drop_trailing_blank_lines(out.up);
    out.up_no_transaction = has_no_transaction_directive(out.up);
    return out;
  }
  out.has_markers = true;
  // Text above the up marker belongs to no section: dbmate and goose refuse such a file, and
  // dropping its statements silently would leave them unrun. Comments and blank lines are
  // fine (a header, the directive).
  if (int line = statement_line_before(lines, up_at); line > 0) {
    std::string up_name = std::string(dialect_marker(dialect)) + (dialect == Dialect::kDbmate ? "up" : " Up");
    throw std::invalid_argument("line " + std::to_string(line) + ": SQL above \"" + up_name +
                                "\" belongs to no section; move it below the marker (or make it a comment)");
  }
  // The directive as the file's first line, above "-- migrate:up" (where a file begins, as the
  // refusal's hint says), is the up script's; the down script has its own. (Not both: a down
  // script of an applied migration that became non-transactional cannot be replaced.)
  if (!out.up_no_transaction && up_at > 0) {
    std::string_view preamble = text.substr(0, static_cast<size_t>(lines[up_at].data() - text.data()));
    if (has_no_transaction_directive(preamble)) out.up_no_transaction = true;
  }
  int up_end = down_at >= 0 ? down_at : static_cast<int>(lines.size());
  std::string up, down;
  for (int i = 0; i < static_cast<int>(lines.size()); ++i) {
    bool in_up = i > up_at && i < up_end;
    bool in_down = down_at >= 0 && i > down_at;
    if (in_up) up.append(lines[i]);
    if (in_down) down.append(lines[i]);
    // dbmate's "transaction:false" becomes pg_migrate's directive on the marker's own line.
    if (i == up_at && out.up_no_transaction) up.append(kNoTransaction);
    if (i == down_at && out.down_no_transaction) down.append(kNoTransaction);
    if (i + 1 < static_cast<int>(lines.size())) {
      if (i < up_end) up += '\n';
      down += '\n';
    }
  }
  drop_trailing_blank_lines(up);
  out.up = with_pg_migrate_directive(std::move(up));
  if (down_at >= 0) {
    drop_trailing_blank_lines(down);
    // A down section with nothing but comments and blank lines is no down script.
    bool has_content = false;
    for (std::string_view l : lines_of(down)) {
      size_t j = l.find_first_not_of(" \t\r");
      if (j != std::string_view::npos && l.substr(j, 2) != "--") has_content = true;
    }
    if (has_content) out.down = with_pg_migrate_directive(std::move(down));
  }
  if (has_no_transaction_directive(out.up)) out.up_no_transaction = true;
  if (out.down && has_no_transaction_directive(*out.down)) out.down_no_transaction = true;
  return out;
}

bool has_no_transaction_directive(std::string_view script) {
  // Line by line up to the first that is not blank (no list of every line: it is called for
  // every file of a folder).
  for (size_t start = 0; start <= script.size();) {
    size_t nl = script.find('\n', start);
    std::string_view line = script.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? script.size() + 1 : nl + 1;
    size_t i = line.find_first_not_of(" \t\r");
    if (i == std::string_view::npos) continue;
    std::string_view l = line.substr(i);
    while (!l.empty() && (l.back() == ' ' || l.back() == '\t' || l.back() == '\r')) l.remove_suffix(1);
    if (l.substr(0, kNoTransactionBlock.size()) == kNoTransactionBlock) return true;
    if (l.substr(0, 2) != "--") return false;
    std::string_view body = l.substr(2);
    size_t j = body.find_first_not_of(" \t");
    body = j == std::string_view::npos ? std::string_view() : body.substr(j);
    if (body == "pg_migrate:no-transaction" || body == "morph:nontransactional" || body == "no-transaction")
      return true;
    Marker m = marker_of(l);
    return m.is_marker && (m.no_transaction || m.kind == MarkerKind::kNoTransaction);
  }
  return false;
}

std::string with_no_transaction_block(std::string script) {
  if (has_no_transaction_directive(script)) return script;
  return std::string(kNoTransactionBlock) + " " + script;
}

bool diesel_runs_in_transaction(std::string_view toml) {
  bool in_transaction = true;
  if (toml.substr(0, 3) == "\xEF\xBB\xBF") toml.remove_prefix(3);  // a UTF-8 byte order mark
  for (std::string_view line : lines_of(toml)) {
    size_t hash = line.find('#');
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    auto trim = [](std::string_view v) {
      size_t b = v.find_first_not_of(" \t\r"), e = v.find_last_not_of(" \t\r");
      return b == std::string_view::npos ? std::string_view() : v.substr(b, e - b + 1);
    };
    if (trim(line.substr(0, eq)) != "run_in_transaction") continue;
    std::string_view value = trim(line.substr(eq + 1));
    if (value == "true") in_transaction = true;
    else if (value == "false") in_transaction = false;
    else throw std::invalid_argument("run_in_transaction must be true or false, not " + std::string(value));
  }
  return in_transaction;
}

std::string with_pg_migrate_directive(std::string script) {
  if (!has_no_transaction_directive(script)) return script;
  size_t start = 0;
  while (start < script.size()) {
    size_t nl = script.find('\n', start);
    size_t end = nl == std::string::npos ? script.size() : nl;
    std::string_view line(script.data() + start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      if (line.find("pg_migrate:no-transaction") == std::string_view::npos)
        script.replace(start, end - start, kNoTransaction);
      break;
    }
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return script;
}

size_t invalid_utf8_at(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    if (len == 2 && c < 0xC2) return i;  // overlong
    for (size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    if (len == 3) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) return i;  // overlong, surrogate
    }
    if (len == 4) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xF0 && c1 < 0x90) || c > 0xF4 || (c == 0xF4 && c1 >= 0x90)) return i;
    }
    if (c == 0) return i;  // PostgreSQL text cannot hold NUL
    i += len;
  }
  return std::string_view::npos;
}

namespace {

// Code points that separate words in a name: Latin-1 punctuation and symbols, the general
// punctuation, symbol, arrow and drawing blocks, CJK and full-width punctuation, emoji. Any
// other non-ASCII code point is taken as part of a word (a letter of some script).
bool separator_code_point(uint32_t c) {
  if (c == 0xAA || c == 0xB5 || c == 0xBA) return false;  // ª µ º are letters
  if (c == 0x200C || c == 0x200D) return false;            // (non-)joiners inside Persian, Indic words
  return (c >= 0x80 && c <= 0xBF) || c == 0xD7 || c == 0xF7 || (c >= 0x2000 && c <= 0x2BFF) ||
         (c >= 0x3000 && c <= 0x303F) || (c >= 0xFE30 && c <= 0xFE4F) || c == 0xFEFF ||
         (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
         (c >= 0xFF5B && c <= 0xFF65) || (c >= 0x1F000 && c <= 0x1FAFF);  // emoji, not CJK extensions
}

// Length of the valid UTF-8 sequence at text[i] (2-4) and its code point, or 0.
size_t utf8_sequence(std::string_view text, size_t i, uint32_t& code_point) {
  size_t bad = invalid_utf8_at(text.substr(i, std::min<size_t>(4, text.size() - i)));
  unsigned char lead = static_cast<unsigned char>(text[i]);
  size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
  if (len == 0 || i + len > text.size() || (bad != std::string_view::npos && bad < len)) return 0;
  code_point = lead & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) code_point = (code_point << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
  return len;
}

}  // namespace

std::string slug(std::string_view name) {
  std::string out;
  size_t characters = 0;
  auto separate = [&] {
    if (!out.empty() && out.back() != '_') {
      out += '_';
      ++characters;
    }
  };
  // 60 characters, and at most 200 bytes (four-byte characters would make a file name longer
  // than file systems allow, 255 bytes).
  for (size_t i = 0; i < name.size() && characters < 60 && out.size() <= 196;) {
    unsigned char u = static_cast<unsigned char>(name[i]);
    if (u < 128) {
      if (std::isalnum(u)) {
        out += static_cast<char>(std::tolower(u));
        ++characters;
      } else {
        separate();
      }
      ++i;
      continue;
    }
    uint32_t code_point = 0;
    size_t len = utf8_sequence(name, i, code_point);
    if (len > 0 && !separator_code_point(code_point)) {
      out.append(name.substr(i, len));
      ++characters;
    } else {
      separate();
    }
    i += len > 0 ? len : 1;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

namespace {
// Appends normalize(text) to out.
void append_normalized(std::string& out, std::string_view text) {
  const size_t from = out.size();
  if (text.find('\r') == std::string_view::npos) {
    out.append(text);  // the usual case, one copy
  } else {
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '\r') {
        out += '\n';
        if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
      } else {
        out += c;
      }
    }
  }
  size_t end = out.size();
  while (end > from && (out[end - 1] == '\n' || out[end - 1] == ' ' || out[end - 1] == '\t' ||
                        out[end - 1] == '\f' || out[end - 1] == '\v'))
    --end;
  out.resize(end);
}
}  // namespace

std::string normalize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_normalized(out, text);
  return out;
}

std::string source_digest_input(std::string_view file, std::string_view name, std::string_view up,
                                const std::optional<std::string>& down, bool repeatable) {
  std::string s;
  s.reserve(file.size() + name.size() + up.size() + (down ? down->size() : 0) + 16);
  s += "pg_migrate source 1";
  s += '\0';
  s.append(file);
  s += '\0';
  s.append(name);
  s += '\0';
  append_normalized(s, up);
  s += '\0';
  if (down) {
    s += 'D';
    append_normalized(s, *down);
  } else {
    s += 'N';
  }
  s += '\0';
  s += repeatable ? 'R' : 'V';
  return s;
}

std::string folder_digest_input(std::vector<std::pair<std::string, std::string>> files) {
  std::sort(files.begin(), files.end());
  std::string s = "pg_migrate folder 1";
  s += '\n';
  for (const auto& [file, checksum] : files) {
    s += file;
    s += '\0';
    s += checksum;
    s += '\n';
  }
  return s;
}

}  // namespace pgm::files

#include "core/no_pg.hpp"
