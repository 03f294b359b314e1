// A libpq connection for the pg_migrate command: connects like psql (conninfo or URL,
// DATABASE_URL, PG* variables, ~/.pgpass), runs parameterized statements, turns server errors
// into DbError with SQLSTATE, DETAIL and HINT, and collects NOTICEs.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgm::cli {

struct DbError : std::runtime_error {
  DbError(std::string sqlstate, std::string message, std::string detail = {}, std::string hint = {},
          std::string context = {})
      : std::runtime_error(message),
        sqlstate(std::move(sqlstate)),
        message(std::move(message)),
        detail(std::move(detail)),
        hint(std::move(hint)),
        context(std::move(context)) {}
  std::string sqlstate, message, detail, hint, context;
  // Class 57, operator intervention: a cancel, a statement timeout, a shutdown. A catch that goes
  // on after an error rethrows these.
  bool is_interrupt() const { return sqlstate.rfind("57", 0) == 0; }
};

// The error of a connection the server closed after a FATAL error (pg_terminate_backend, a
// shutdown), from libpq's text of it: message, DETAIL, HINT and CONTEXT as the server sent them.
DbError connection_lost(const std::string& libpq_text);

// A connection could not be made (exit code 3).
struct ConnectError : std::runtime_error {
  explicit ConnectError(const std::string& what, bool needs_password = false)
      : std::runtime_error(what), needs_password(needs_password) {}
  bool needs_password;  // the server asked for a password nobody gave
};

class Result {
 public:
  explicit Result(PGresult* r) : r_(r, PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  int cols() const { return PQnfields(r_.get()); }
  bool null(int row, int col) const { return PQgetisnull(r_.get(), row, col); }
  std::string get(int row, int col) const { return PQgetvalue(r_.get(), row, col); }

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_;
};

struct Notice {
  std::string severity, message, detail, hint;
};

// "dbname" or "dbname on host:port" from a conninfo string or URL, never its password.
// With `with_server`, the server too, socket directory and port included (to tell apart
// databases of the same name on several servers); `dbname` overrides the string's.
std::string describe_conninfo(const std::string& conninfo, bool with_server = false, const std::string& dbname = "");

// libpq's reason why a conninfo string or URL cannot be parsed; "" when it can.
std::string conninfo_problem(const std::string& conninfo);
// libpq's message with every quoted value but connection keywords and "=" replaced by "...".
std::string without_quoted_values(const std::string& message);
// Whether libpq reads `s` as a connection string or URL (else it is a database name).
bool is_conninfo(const std::string& s);

// Ctrl-C and SIGTERM, as psql handles Ctrl-C: the running statement of every open connection
// is canceled on the server (a non-transactional run stops as an interrupted one does), and
// no further statement but ROLLBACK is sent. A second signal ends the process at once. Call
// before any other thread starts: a thread of its own waits for the signals (the others
// block them), so the cancels are sent outside a signal handler.
void install_interrupt_handler();
// The signal received (SIGINT, SIGTERM), 0 for none.
int interrupted();
// Waits (up to 3 s) until the cancel requests a signal sent are through: exiting while one is
// open closes its socket under the server or pooler (Debian 12's pgbouncer 1.18 exits on that).
void wait_for_cancels();
// Whether a connection whose server asks for a password nobody gave may ask for it at the
// terminal (as psql does): for one database (or --all-databases' one server), not with
// -w/--no-password. Off until allowed.
void allow_password_prompt(bool allowed);

class Connection {
 public:
  // conninfo: a connection string or URL ("" = libpq defaults: PG* variables). dbname, when
  // not empty, overrides the database of conninfo (for --all-databases).
  // may_prompt: false for the connection opened while the folder is read (its warnings and
  // errors would print over the prompt): the command connects again after reading it.
  Connection(const std::string& conninfo, const std::string& dbname = {}, bool may_prompt = true);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Result exec(const std::string& sql, const std::vector<std::optional<std::string>>& params = {});
  void run(const std::string& sql) { (void)exec(sql); }
  std::vector<Notice> take_notices();
  std::string database() const { return PQdb(conn_); }
  std::string label() const;  // "dbname" or "dbname on host:port"
  // A transaction is open (possibly failed): ROLLBACK ends it.
  bool in_transaction() const { return PQtransactionStatus(conn_) != PQTRANS_IDLE; }
  // The server closed the connection (a crash, a shutdown, a terminated backend).
  bool lost() const { return PQstatus(conn_) == CONNECTION_BAD; }
  // pg_migrate's extversion in this database (nullopt: not installed), asked once.
  const std::optional<std::string>& extension_version();
  // Has the server load pg_migrate's library now (when installed): its first call in a
  // session costs ~2 ms, which a connection opened while the folder is read can pay early.
  void load_library();
  // Read ahead while the folder was, in one statement (prefetch_state()): check's drift and
  // schema state (JSON, "" for none); the folder digest migrate.sync_digest() accepts now ("" for
  // none) and the version the database is at then.
  std::optional<std::string> early_check_state;
  std::optional<std::string> early_sync_digest;
  std::string early_current_version;

 private:
  std::optional<std::optional<std::string>> extversion_;
  static void on_notice(void* self, const PGresult* r);
  PGconn* conn_ = nullptr;
  std::shared_ptr<PGcancel> cancel_;  // registered for install_interrupt_handler()
  std::vector<Notice> notices_;
};

}  // namespace pgm::cli
