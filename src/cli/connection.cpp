#include "cli/connection.hpp"

namespace pgm::cli {
namespace {

std::string field(const PGresult* r, int code) {
  const char* v = PQresultErrorField(r, code);
  return v ? v : "";
}

}  // namespace

std::string describe_conninfo(const std::string& conninfo) {
  if (conninfo.empty()) return "";
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    if (err) PQfreemem(err);
    return "(invalid connection string)";
  }
  std::string db, host, port;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!o->val) continue;
    std::string k = o->keyword;
    if (k == "dbname") db = o->val;
    else if (k == "host") host = o->val;
    else if (k == "port") port = o->val;
  }
  PQconninfoFree(opts);
  std::string out = db.empty() ? "(default database)" : db;
  if (!host.empty() && host[0] != '/') out += " on " + host + (port.empty() ? "" : ":" + port);
  return out;
}

std::string conninfo_problem(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts) {
    PQconninfoFree(opts);
    return "";
  }
  std::string why = err ? err : "invalid connection string";
  if (err) PQfreemem(err);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  return why;
}

Connection::Connection(const std::string& conninfo, const std::string& dbname) {
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
  if (!conn_ || PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = conn_ ? PQerrorMessage(conn_) : "out of memory";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    if (conn_) PQfinish(conn_);
    conn_ = nullptr;
    throw ConnectError(msg);
  }
  PQsetNoticeReceiver(conn_, &Connection::on_notice, this);
}

const std::optional<std::string>& Connection::extension_version() {
  if (!extversion_) {
    Result r = exec("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_migrate'");
    extversion_ = r.rows() > 0 ? std::optional<std::string>(r.get(0, 0)) : std::nullopt;
  }
  return *extversion_;
}

void Connection::load_library() {
  const std::optional<std::string>& v = extension_version();
  if (v && *v != "0.1.0") run("SELECT migrate.library_loaded()");  // 0.2.0 on
}

Connection::~Connection() {
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
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* r = params.empty() ? PQexec(conn_, sql.c_str())
                               : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                              values.data(), nullptr, nullptr, 0);
  if (!r) throw DbError("08006", PQerrorMessage(conn_));
  ExecStatusType st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Result(r);
  std::string state = field(r, PG_DIAG_SQLSTATE);
  std::string msg = field(r, PG_DIAG_MESSAGE_PRIMARY);
  if (msg.empty()) {
    msg = PQerrorMessage(conn_);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  }
  DbError e(state.empty() ? "08006" : state, msg, field(r, PG_DIAG_MESSAGE_DETAIL), field(r, PG_DIAG_MESSAGE_HINT),
            field(r, PG_DIAG_CONTEXT));
  PQclear(r);
  throw e;
}

}  // namespace pgm::cli
