#include "cli/connection.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace pgm::cli {
namespace {

// libpgcommon's password prompt (common/string.h), as psql asks: on the terminal, without echo.
// (This signature is PostgreSQL 14's on; 13 and older had another.)
#if defined(PGM_PG_VERSION_NUM) && PGM_PG_VERSION_NUM < 140000
#error "the pg_migrate command needs PostgreSQL 14 or later's libpgcommon (simple_prompt)"
#endif
extern "C" char* simple_prompt(const char* prompt, bool echo);

// Prompting for a password (psql's rule: when the server asks for one, none was given, and the
// command has a terminal). An answer (or a refusal: an empty one) is reused for connections as
// the same user to the same server, as psql's \connect reuses it; another one is asked again.
std::atomic<bool> password_prompt_allowed{false};
std::mutex prompt_mutex;  // one prompt at a time; guards answers
std::map<std::string, std::optional<std::string>> answers;  // "user host port" -> password
// Set while a prompt waits or is shown: a signal then ends the command (after the cancels of
// what runs elsewhere), with the terminal as it was.
std::atomic<int> prompts_waiting{0};
struct termios terminal_before;
std::atomic<int> prompt_terminal{-1};

void restore_terminal() {
  int fd = prompt_terminal.load();
  if (fd >= 0) (void)tcsetattr(fd, TCSAFLUSH, &terminal_before);
}

std::atomic<int> received_signal{0};
std::atomic<int> cancels_in_flight{0};          // cancel requests being sent
std::atomic<bool> any_connection_opened{false};  // a database was reached (its result is due)

// A second signal ends the command, but not before the cancel requests of the first are sent
// (a server slow to accept them would otherwise be left running the statement): up to 3 s.
[[noreturn]] void exit_after_cancels(int sig) {
  for (int i = 0; i < 300 && cancels_in_flight.load() > 0; ++i) usleep(10000);
  restore_terminal();
  _exit(128 + sig);
}
std::mutex cancels_mutex;  // guards open_cancels only: never held while talking to a server
// One per open connection, shared: a cancel request being sent keeps its PGcancel alive after
// the connection is gone.
std::vector<std::shared_ptr<PGcancel>> open_cancels;

void register_cancel(const std::shared_ptr<PGcancel>& c) {
  if (!c) return;
  std::lock_guard<std::mutex> lock(cancels_mutex);
  open_cancels.push_back(c);
}

void unregister_cancel(const std::shared_ptr<PGcancel>& c) {
  if (!c) return;
  std::lock_guard<std::mutex> lock(cancels_mutex);
  open_cancels.erase(std::remove(open_cancels.begin(), open_cancels.end(), c), open_cancels.end());
}

std::string field(const PGresult* r, int code) {
  const char* v = PQresultErrorField(r, code);
  return v ? v : "";
}

}  // namespace

DbError connection_lost(const std::string& text) {
  // libpq keeps only the text when the server's last word was a FATAL error before it closed the
  // connection ("FATAL:  terminating connection due to administrator command\nCONTEXT:  ...\n
  // server closed the connection unexpectedly\n..."): its fields are read back from it.
  std::string message, detail, hint, context, own, sqlstate = "08006";
  std::string location;  // LOCATION (where in the server's source): read, not shown
  std::string* last = &own;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    auto starts = [&](const char* label) { return line.rfind(label, 0) == 0; };
    if (message.empty() && (starts("FATAL:  ") || starts("PANIC:  ") || starts("ERROR:  "))) {
      message = line.substr(line.find(':') + 3);
      // Verbose: "57P01: terminating connection ..." (connect sets PQERRORS_VERBOSE).
      if (message.size() > 7 && message[5] == ':' && message[6] == ' ' &&
          std::all_of(message.begin(), message.begin() + 5, [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c)); })) {
        sqlstate = message.substr(0, 5);
        message = message.substr(7);
      }
      last = &message;
    } else if (starts("LOCATION:  ")) {
      last = &location;
    } else if (starts("DETAIL:  ")) {
      detail = line.substr(9);
      last = &detail;
    } else if (starts("HINT:  ")) {
      hint = line.substr(7);
      last = &hint;
    } else if (starts("CONTEXT:  ")) {
      context = line.substr(10);
      last = &context;
    } else if (!line.empty() && line[0] == '\t' && last != &own) {
      *last += "\n" + line.substr(1);
    } else if (last == &context && !starts("server closed the connection") && !starts("connection to server")) {
      context += "\n" + line;  // a context of several lines: one per level
    } else if (size_t text_at = line.find_first_not_of(" \t"); text_at != std::string::npos) {
      own += (own.empty() ? "" : " ") + line.substr(text_at);
      last = &own;
    }
  }
  if (message.empty()) return DbError("08006", own.empty() ? "connection to the server lost" : own);
  // The server's message first; libpq's own words ("server closed the connection unexpectedly")
  // say what followed.
  return DbError(sqlstate, message, detail.empty() ? own : detail + "\n" + own, hint, context);
}

void install_interrupt_handler() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return;
  try {
    std::thread([set] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (received_signal.exchange(sig) != 0) exit_after_cancels(sig);  // the second one
        std::vector<std::shared_ptr<PGcancel>> cancels;
        {
          std::lock_guard<std::mutex> lock(cancels_mutex);
          cancels = open_cancels;
        }
        // No database reached yet (connecting, reading the folder): nothing runs on a server
        // and no result is due.
        if (cancels.empty() && !any_connection_opened.load()) {
          restore_terminal();
          _exit(128 + sig);
        }
        bool at_prompt = prompts_waiting.load() > 0;
        // Each request on a thread of its own: a server that does not answer holds neither
        // this thread (a second signal still ends the command) nor the others.
        for (const std::shared_ptr<PGcancel>& c : cancels) {
          cancels_in_flight.fetch_add(1);
          try {
            std::thread([c] {
              char error[256];
              (void)PQcancel(c.get(), error, sizeof error);
              cancels_in_flight.fetch_sub(1);
            }).detach();
          } catch (const std::system_error&) {
            cancels_in_flight.fetch_sub(1);
          }
        }
        // A password prompt cannot be interrupted otherwise: the command ends, as psql does.
        if (at_prompt) exit_after_cancels(sig);
      }
    }).detach();
  } catch (const std::system_error&) {
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);  // no thread: the signals end the process
  }
}

int interrupted() { return received_signal.load(); }

void wait_for_cancels() {
  for (int i = 0; i < 300 && cancels_in_flight.load() > 0; ++i) usleep(10000);
}

// What libpq reads as a connection string or URL; anything else (no "=") is a database name,
// as psql -d takes it.
bool is_conninfo(const std::string& s) {
  return s.find('=') != std::string::npos || s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0;
}

std::string describe_conninfo(const std::string& conninfo, bool with_server, const std::string& dbname) {
  if (conninfo.empty() && !with_server) return "";
  if (!is_conninfo(conninfo) && !with_server) return dbname.empty() ? conninfo : dbname;
  std::string db, host, port;
  if (!is_conninfo(conninfo)) {
    db = conninfo;  // a plain database name
  } else {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
    if (!opts) {
      if (err) PQfreemem(err);
      return "(invalid connection string)";
    }
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
      if (!o->val) continue;
      std::string k = o->keyword;
      if (k == "dbname") db = o->val;
      else if (k == "host") host = o->val;
      else if (k == "port") port = o->val;
    }
    PQconninfoFree(opts);
  }
  if (with_server && (host.empty() || port.empty())) {
    // The server libpq will take (PGHOST, PGPORT): "-d tenant_a" and "dbname=tenant_a host=..."
    // of the same server are then told apart only by number, as the same connection.
    if (PQconninfoOption* defaults = PQconndefaults()) {
      for (PQconninfoOption* o = defaults; o->keyword; ++o) {
        if (!o->val || !*o->val) continue;
        std::string k = o->keyword;
        if (k == "host" && host.empty()) host = o->val;
        else if (k == "port" && port.empty() && !host.empty()) port = o->val;
      }
      PQconninfoFree(defaults);
    }
  }
  if (!dbname.empty()) db = dbname;
  std::string out = db.empty() ? "(default database)" : db;
  // A socket directory is left out unless the server must be told apart (with_server).
  if (!host.empty() && (host[0] != '/' || with_server)) out += " on " + host + (port.empty() ? "" : ":" + port);
  else if (with_server) out += port.empty() ? " on the default server" : " on port " + port;
  return out;
}

std::string conninfo_problem(const std::string& conninfo) {
  if (!is_conninfo(conninfo)) return "";
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts) {
    PQconninfoFree(opts);
    return "";
  }
  std::string why = err ? err : "invalid connection string";
  if (err) PQfreemem(err);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  return without_quoted_values(why);
}

// libpq quotes the part of a connection string it could not parse, and that part may be a
// password ("invalid percent-encoded token: "s3cr%zz"", which may itself hold quotes). Only an
// unknown key is named ("invalid connection option "badkey"": a key, not a value); in any other
// message everything from the first quote mark to the last becomes "..." (a translated message
// quotes with other marks: any non-ASCII byte counts as one).
std::string without_quoted_values(const std::string& message) {
  const std::string option = "invalid connection option \"";
  if (message.compare(0, option.size(), option) == 0) {
    // A key is a word; anything else quoted there is a text libpq took for a key (a mistyped
    // URL: "postgresq://user:secret@host/db?sslmode").
    size_t end = message.find('"', option.size());
    bool word = end != std::string::npos && end > option.size() &&
                std::all_of(message.begin() + option.size(), message.begin() + end,
                            [](unsigned char c) { return std::isalnum(c) || c == '_'; });
    if (word) return message;
  }
  auto quote_like = [](char c) { return c == '"' || c == '\'' || (static_cast<unsigned char>(c) & 0x80) != 0; };
  size_t first = std::string::npos, last = std::string::npos;
  for (size_t i = 0; i < message.size(); ++i)
    if (quote_like(message[i])) {
      if (first == std::string::npos) first = i;
      last = i;
    }
  if (first == std::string::npos) return message;
  return message.substr(0, first) + "\"...\"" + message.substr(last + 1);
}

void allow_password_prompt(bool allowed) { password_prompt_allowed = allowed; }

namespace {

// The password typed at the terminal for the connection's user and server, or nothing: no
// terminal (or not the foreground), prompting not allowed, an empty answer.
std::optional<std::string> password_from_terminal(PGconn* conn) {
  if (!password_prompt_allowed.load()) return std::nullopt;
  const char* user = PQuser(conn);
  std::string key = fmt::format("{}\n{}\n{}", user ? user : "", PQhost(conn) ? PQhost(conn) : "",
                                PQport(conn) ? PQport(conn) : "");
  struct Waiting {
    Waiting() { prompts_waiting.fetch_add(1); }
    ~Waiting() { prompts_waiting.fetch_sub(1); }
  } waiting;
  std::lock_guard<std::mutex> lock(prompt_mutex);
  if (interrupted()) return std::nullopt;
  if (auto it = answers.find(key); it != answers.end()) return it->second;
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return std::nullopt;  // no terminal (psql's prompt would then read the input)
  if (tcgetpgrp(fd) != getpgrp()) {  // a background job: asking would stop it
    close(fd);
    return std::nullopt;
  }
  if (tcgetattr(fd, &terminal_before) == 0) prompt_terminal = fd;
  std::string prompt = fmt::format("Password for user {}: ", user ? user : "");
  char* typed = simple_prompt(prompt.c_str(), false);
  prompt_terminal = -1;
  close(fd);
  std::optional<std::string> password;
  if (typed && *typed) password = std::string(typed);
  free(typed);
  answers[key] = password;
  return password;
}

}  // namespace

Connection::Connection(const std::string& conninfo, const std::string& dbname, bool may_prompt) {
  std::vector<const char*> keys{"dbname"};
  std::vector<const char*> values{conninfo.c_str()};
  if (!dbname.empty()) {
    keys.push_back("dbname");
    values.push_back(dbname.c_str());
  }
  keys.push_back("fallback_application_name");
  values.push_back("pg_migrate");
  // Files are UTF-8 and so is the command's output (JSON): the server converts.
  keys.push_back("client_encoding");
  values.push_back("UTF8");
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
  // The server wants a password and none was given: asked at the terminal, as psql does.
  bool needs_password = conn_ && PQstatus(conn_) == CONNECTION_BAD && PQconnectionNeedsPassword(conn_);
  if (needs_password && may_prompt) {
    if (std::optional<std::string> password = password_from_terminal(conn_)) {
      keys.back() = "password";
      values.back() = password->c_str();
      keys.push_back(nullptr);
      values.push_back(nullptr);
      PQfinish(conn_);
      conn_ = PQconnectdbParams(keys.data(), values.data(), 1);
    }
  }
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = conn_ ? PQerrorMessage(conn_) : "out of memory";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    needs_password = conn_ && PQconnectionNeedsPassword(conn_);
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    throw ConnectError(msg, needs_password);
  }
  PQsetNoticeReceiver(conn_, &Connection::on_notice, this);
  // libpq keeps only the text of a FATAL error the server sends as it ends the session: with
  // the SQLSTATE in it (connection_lost reads it back). Results keep their fields either way.
  PQsetErrorVerbosity(conn_, PQERRORS_VERBOSE);
  if (PGcancel* c = PQgetCancel(conn_)) cancel_ = std::shared_ptr<PGcancel>(c, PQfreeCancel);
  register_cancel(cancel_);
  any_connection_opened = true;
}

const std::optional<std::string>& Connection::extension_version() {
  if (!extversion_) {
    Result r = exec("SELECT extversion FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'pg_migrate'");
    extversion_ = r.rows() > 0 ? std::optional<std::string>(r.get(0, 0)) : std::nullopt;
  }
  return *extversion_;
}

void Connection::load_library() {
  const std::optional<std::string>& v = extension_version();
  if (v && *v != "0.1.0") run("SELECT migrate.library_loaded()");  // 0.2.0 on
}

Connection::~Connection() {
  unregister_cancel(cancel_);
  if (conn_) PQfinish(conn_);
}

void Connection::on_notice(void* self, const PGresult* r) {
  auto* c = static_cast<Connection*>(self);
  c->notices_.push_back({field(r, PG_DIAG_SEVERITY), field(r, PG_DIAG_MESSAGE_PRIMARY),
                         field(r, PG_DIAG_MESSAGE_DETAIL), field(r, PG_DIAG_MESSAGE_HINT)});
}

std::vector<Notice> Connection::take_notices() {
  std::vector<Notice> out;
  out.swap(notices_);
  return out;
}

std::string Connection::label() const {
  std::string db = PQdb(conn_);
  const char* host = PQhost(conn_);
  if (host && *host && *host != '/') return db + " on " + host + ":" + PQport(conn_);
  return db;
}

Result Connection::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  if (int sig = interrupted(); sig && sql != "ROLLBACK")
    throw DbError("57014", fmt::format("canceled: pg_migrate received {}", sig == SIGINT ? "SIGINT" : "SIGTERM"),
                  "Nothing more was sent to the server after the signal.");
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* r = params.empty() ? PQexec(conn_, sql.c_str())
                               : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                              values.data(), nullptr, nullptr, 0);
  if (!r) throw connection_lost(PQerrorMessage(conn_));  // the query could not even be sent
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Result(r);
  std::string state = field(r, PG_DIAG_SQLSTATE);
  std::string msg = field(r, PG_DIAG_MESSAGE_PRIMARY);
  if (msg.empty()) {
    std::string text = PQerrorMessage(conn_);
    bool lost = PQstatus(conn_) == CONNECTION_BAD;
    PQclear(r);
    if (lost) throw connection_lost(text);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    throw DbError(state.empty() ? "08006" : state, text);
  }
  DbError e(state.empty() ? "08006" : state, msg, field(r, PG_DIAG_MESSAGE_DETAIL), field(r, PG_DIAG_MESSAGE_HINT),
            field(r, PG_DIAG_CONTEXT));
  PQclear(r);
  throw e;
}

}  // namespace pgm::cli
