#include "pg/guard.hpp"

#include <cstring>
#include <new>

namespace pgm::pg {

ErrorData* take_current_error(MemoryContext into) {
  // CopyErrorData must not run in ErrorContext, which FlushErrorState empties.
  MemoryContextSwitchTo(into == ErrorContext ? TopTransactionContext : into);
  ErrorData* edata = CopyErrorData();
  FlushErrorState();
  return edata;
}

namespace {

// Fixed buffers: nothing in a catch block may call palloc (it could longjmp out of the catch).
struct ErrorText {
  char sqlstate[6] = "XX000";
  char message[4096] = "";
  char detail[4096] = "";
  char hint[1024] = "";
};

void copy_text(char* dest, size_t size, const char* src, size_t len) {
  size_t n = std::min(size - 1, len);
  std::memcpy(dest, src, n);
  dest[n] = '\0';
}

void copy_text(char* dest, size_t size, const std::string& src) {
  copy_text(dest, size, src.data(), src.size());
}

// No std::string temporaries for literals: a catch block must not allocate (a bad_alloc thrown
// there would escape into PostgreSQL's C frames and terminate the backend).
void copy_text(char* dest, size_t size, const char* src) {
  copy_text(dest, size, src, std::strlen(src));
}

}  // namespace

Datum invoke(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo) {
  ErrorData* pg_error = nullptr;
  ErrorText text;
  bool failed = false;
  try {
    return impl(fcinfo);
  } catch (const PgError& e) {
    pg_error = e.data();
  } catch (const Error& e) {
    failed = true;
    copy_text(text.sqlstate, sizeof text.sqlstate, e.sqlstate());
    copy_text(text.message, sizeof text.message, e.message());
    copy_text(text.detail, sizeof text.detail, e.detail());
    copy_text(text.hint, sizeof text.hint, e.hint());
  } catch (const std::bad_alloc&) {
    failed = true;
    copy_text(text.sqlstate, sizeof text.sqlstate, "53200");
    copy_text(text.message, sizeof text.message, "out of memory in pg_migrate");
  } catch (const std::exception& e) {
    failed = true;
    const char* what = e.what() ? e.what() : "";
    snprintf(text.message, sizeof text.message, "pg_migrate: %s", what);  // pg_snprintf: no palloc
  } catch (...) {
    failed = true;
    copy_text(text.message, sizeof text.message, "pg_migrate: unexpected C++ exception");
  }
  // No exception object is alive any more: raising the PostgreSQL error is safe here.
  if (pg_error) ReThrowError(pg_error);
  if (failed) {
    const char* s = text.sqlstate;
    ereport(ERROR, (errcode(MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4])),
                    errmsg_internal("%s", text.message),
                    text.detail[0] ? errdetail_internal("%s", text.detail) : 0,
                    text.hint[0] ? errhint("%s", text.hint) : 0));
  }
  pg_unreachable();
}

SubTransaction::SubTransaction()
    : caller_context_(CurrentMemoryContext), caller_owner_(CurrentResourceOwner) {
  call([] { BeginInternalSubTransaction(nullptr); });
  // Keep working in the caller's memory context, as PL/pgSQL does.
  MemoryContextSwitchTo(caller_context_);
  open_ = true;
}

void SubTransaction::commit() {
  if (!open_) return;
  open_ = false;
  call([] { ReleaseCurrentSubTransaction(); });
  MemoryContextSwitchTo(caller_context_);
  CurrentResourceOwner = caller_owner_;
}

void SubTransaction::rollback() {
  if (!open_) return;
  open_ = false;
  call([] { RollbackAndReleaseCurrentSubTransaction(); });
  MemoryContextSwitchTo(caller_context_);
  CurrentResourceOwner = caller_owner_;
}

SubTransaction::~SubTransaction() {
  if (!open_) return;
  // Reached while unwinding from an error inside the subtransaction: roll it back so the
  // outer transaction can go on. A failure of the rollback itself cannot be thrown from a
  // destructor; PostgreSQL then aborts the whole transaction, which is safe.
  try {
    rollback();
  } catch (...) {
  }
}

}  // namespace pgm::pg
