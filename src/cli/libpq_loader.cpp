// libpq, loaded when the command first calls it rather than before main().
//
// Linked with -lpq, the dynamic loader maps and relocates libpq and the twenty libraries it
// needs (TLS, Kerberos, LDAP, ...) before main() runs: about 8 ms at every start on a small VM,
// as long as reading a folder of a thousand files. The command is linked without it, and the
// libpq functions it calls are defined here, each calling the library's own. The first call
// loads libpq; main() makes that call on the thread that connects while the folder is read,
// so the two overlap (README "Performance").
#include <dlfcn.h>
#include <libpq-fe.h>

#include <cstring>
#include <mutex>
#include <string>

#include "cli/connection.hpp"

// Every libpq function the command calls: return type, name, parameters, arguments.
#define PGM_LIBPQ_FUNCTIONS(X)                                                                            \
  X(PGconn*, PQconnectdbParams, (const char* const* keywords, const char* const* values, int expand_dbname), \
    (keywords, values, expand_dbname))                                                                    \
  X(void, PQfinish, (PGconn * conn), (conn))                                                              \
  X(ConnStatusType, PQstatus, (const PGconn* conn), (conn))                                               \
  X(PGTransactionStatusType, PQtransactionStatus, (const PGconn* conn), (conn))                           \
  X(char*, PQerrorMessage, (const PGconn* conn), (conn))                                                  \
  X(char*, PQdb, (const PGconn* conn), (conn))                                                            \
  X(char*, PQhost, (const PGconn* conn), (conn))                                                          \
  X(char*, PQport, (const PGconn* conn), (conn))                                                          \
  X(PQconninfoOption*, PQconninfoParse, (const char* conninfo, char** errmsg), (conninfo, errmsg))         \
  X(void, PQconninfoFree, (PQconninfoOption * connOptions), (connOptions))                                \
  X(void, PQfreemem, (void* ptr), (ptr))                                                                  \
  X(PQnoticeReceiver, PQsetNoticeReceiver, (PGconn * conn, PQnoticeReceiver proc, void* arg), (conn, proc, arg)) \
  X(PGcancel*, PQgetCancel, (PGconn * conn), (conn))                                                      \
  X(void, PQfreeCancel, (PGcancel * cancel), (cancel))                                                    \
  X(int, PQcancel, (PGcancel * cancel, char* errbuf, int errbufsize), (cancel, errbuf, errbufsize))       \
  X(PGresult*, PQexec, (PGconn * conn, const char* query), (conn, query))                                 \
  X(PGresult*, PQexecParams,                                                                              \
    (PGconn * conn, const char* command, int nParams, const Oid* paramTypes, const char* const* paramValues, \
     const int* paramLengths, const int* paramFormats, int resultFormat),                                 \
    (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))          \
  X(ExecStatusType, PQresultStatus, (const PGresult* res), (res))                                         \
  X(char*, PQresultErrorField, (const PGresult* res, int fieldcode), (res, fieldcode))                    \
  X(int, PQntuples, (const PGresult* res), (res))                                                         \
  X(int, PQnfields, (const PGresult* res), (res))                                                         \
  X(char*, PQgetvalue, (const PGresult* res, int tup_num, int field_num), (res, tup_num, field_num))      \
  X(int, PQgetisnull, (const PGresult* res, int tup_num, int field_num), (res, tup_num, field_num))       \
  X(void, PQclear, (PGresult * res), (res))

namespace {

struct Libpq {
#define PGM_POINTER(ret, name, params, args) ret(*name) params = nullptr;
  PGM_LIBPQ_FUNCTIONS(PGM_POINTER)
#undef PGM_POINTER
};

// Trivially destructible: a thread may still be loading when another one leaves the program.
Libpq libpq_functions;
const char* load_error = nullptr;
std::once_flag loaded;

void load() {
  void* handle = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    load_error = strdup(why ? why : "libpq.so.5 not found");
    return;
  }
#define PGM_RESOLVE(ret, name, params, args)                                        \
  libpq_functions.name = reinterpret_cast<ret(*) params>(dlsym(handle, #name));     \
  if (!libpq_functions.name && !load_error) load_error = strdup("libpq.so.5 has no " #name);
  PGM_LIBPQ_FUNCTIONS(PGM_RESOLVE)
#undef PGM_RESOLVE
}

// The loaded library; the first caller loads it, others wait. A library that cannot be loaded
// is a failed connection (exit 3), whichever call meets it first.
const Libpq& libpq() {
  std::call_once(loaded, load);
  if (load_error) throw pgm::cli::ConnectError(std::string("cannot load libpq: ") + load_error);
  return libpq_functions;
}

}  // namespace

extern "C" {
#define PGM_FORWARD(ret, name, params, args) \
  ret name params { return libpq().name args; }
PGM_LIBPQ_FUNCTIONS(PGM_FORWARD)
#undef PGM_FORWARD
}
