#include "pg/guard.hpp"

#include <cstring>
#include <new>

extern "C" {
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
}

namespace pgm::pg {

namespace {
// The memory context current when the innermost running entry point (invoke) was called: it
// outlives everything the call does. A caught error is copied there, not into the context
// current where it was caught: that one may belong to an SPI connection or a subtransaction
// the unwinding rolls back (AtEOSubXact_SPI deletes it) while the PgError is still in flight
// (a statement_timeout in apply's verify gate, inside the batch's subtransaction, read freed
// memory and crashed the backend).
MemoryContext entry_context = nullptr;

// What take_current_error() returns when copying the error ran out of memory: the error's
// SQLSTATE (a cancel stays a cancel) with a fixed message. Allocated in TopMemoryContext when
// the library loads (callers add to an error with MemoryContextStrdup(GetMemoryChunkContext())),
// never freed (see ~PgError).
ErrorData* uncopied_error = nullptr;

}  // namespace

void sleep_ms(long ms) {
  call([&] {
    TimestampTz end = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
    for (;;) {
      long left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), end);
      if (left <= 0) break;
      (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left, PG_WAIT_EXTENSION);
      ResetLatch(MyLatch);
      CHECK_FOR_INTERRUPTS();
    }
  });
}

PgError::PgError(ErrorData* edata) : holder_(new Holder{edata, 1, entry_context != nullptr}) {}
// (Its context is deleted only when it is the error's own: see take_current_error.)

PgError::PgError(const PgError& other) noexcept : std::exception(other), holder_(other.holder_) { ++holder_->refs; }

PgError& PgError::operator=(const PgError& other) noexcept {
  if (holder_ == other.holder_) return *this;
  PgError old(*this);  // released below, after the new one is held
  --holder_->refs;
  holder_ = other.holder_;
  ++holder_->refs;
  return *this;
}

PgError::~PgError() {
  if (--holder_->refs > 0) return;
  // The copy's own context, with whatever was added to the error (deleting raises no error).
  if (holder_->freeable && holder_->data && holder_->data != uncopied_error)
    MemoryContextDelete(GetMemoryChunkContext(holder_->data));
  delete holder_;
}

ErrorData* take_current_error(MemoryContext into) {
  // Inside an entry point: a small context of its own under the entry point's, which the last
  // PgError deletes. (Outside one — hooks, the worker — the caller's, as before.)
  // CopyErrorData must not run in ErrorContext, which FlushErrorState empties.
  if (into == ErrorContext) into = TopTransactionContext;
  // This runs in a PG_CATCH, where an error would longjmp over the C++ frames above the
  // pg::call (no destructor would run): an allocation failing here is caught too.
  const int sqlerrcode = geterrcode();
  ErrorData* volatile edata = nullptr;
  PG_TRY();
  {
    MemoryContext target =
        entry_context ? AllocSetContextCreate(entry_context, "pg_migrate caught error", ALLOCSET_SMALL_SIZES) : into;
    MemoryContextSwitchTo(target);
    edata = CopyErrorData();
  }
  PG_CATCH();
  {
    edata = nullptr;
  }
  PG_END_TRY();
  FlushErrorState();
  MemoryContextSwitchTo(into);  // the caller goes on in its own context
  if (!edata) {
    ErrorData* e = uncopied_error;
    *e = ErrorData{};
    e->elevel = ERROR;
    e->output_to_server = true;
    e->output_to_client = true;
    e->sqlerrcode = sqlerrcode;
    e->message = const_cast<char*>("out of memory while handling an error");
    e->assoc_context = ErrorContext;
    edata = e;
  }
  return edata;
}

void init_guard() {
  uncopied_error = static_cast<ErrorData*>(MemoryContextAllocZero(TopMemoryContext, sizeof(ErrorData)));
}

namespace {

// The text of a C++ error, kept until the exception object is gone. Nothing in a catch block
// may longjmp, so the copies are made with MCXT_ALLOC_NO_OOM (NULL instead of an error) in the
// caller's memory context, which outlives the ereport. The whole message is kept: nothing is
// cut. Only if memory runs out does the text fall back to a fixed buffer, cut at a character
// boundary of the server encoding (pg_mbcliplen), never inside a character.
struct ErrorText {
  char sqlstate[6] = "XX000";
  const char* message = "";
  const char* detail = "";
  const char* hint = "";
  char fallback[3][1024];  // (not zeroed: written only when used, and every call has one of these)
};

const char* copy_text(char* fallback, size_t size, const char* src, size_t len) {
  if (len < MaxAllocSize) {
    char* p = static_cast<char*>(MemoryContextAllocExtended(CurrentMemoryContext, len + 1, MCXT_ALLOC_NO_OOM));
    if (p) {
      std::memcpy(p, src, len);
      p[len] = '\0';
      return p;
    }
  }
  size_t n = std::min(size - 1, len);
  n = static_cast<size_t>(pg_mbcliplen(src, static_cast<int>(n), static_cast<int>(n)));
  std::memcpy(fallback, src, n);
  fallback[n] = '\0';
  return fallback;
}

const char* copy_text(char* fallback, size_t size, const std::string& src) {
  return copy_text(fallback, size, src.data(), src.size());
}

void copy_sqlstate(char (&dest)[6], const std::string& src) {
  if (src.size() != 5) return;  // keeps XX000
  std::memcpy(dest, src.data(), 5);
  dest[5] = '\0';
}

}  // namespace

Datum invoke(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo) {
  ErrorData* pg_error = nullptr;
  ErrorText text;
  bool failed = false;
  // Restored before this returns or raises (a nested entry point, e.g. a trigger, ends first).
  MemoryContext outer_entry_context = entry_context;
  entry_context = CurrentMemoryContext;
  try {
    Datum result = impl(fcinfo);
    entry_context = outer_entry_context;
    return result;
  } catch (const PgError& e) {
    pg_error = e.release();
  } catch (const Error& e) {
    failed = true;
    copy_sqlstate(text.sqlstate, e.sqlstate());
    text.message = copy_text(text.fallback[0], sizeof text.fallback[0], e.message());
    text.detail = copy_text(text.fallback[1], sizeof text.fallback[1], e.detail());
    text.hint = copy_text(text.fallback[2], sizeof text.fallback[2], e.hint());
  } catch (const std::bad_alloc&) {
    failed = true;
    std::memcpy(text.sqlstate, "53200", 6);
    text.message = "out of memory in pg_migrate";
  } catch (const std::exception& e) {
    failed = true;
    const char* what = e.what() ? e.what() : "";
    text.message = copy_text(text.fallback[0], sizeof text.fallback[0], what, std::strlen(what));
    text.detail = "pg_migrate raised an unexpected C++ exception.";
  } catch (...) {
    failed = true;
    text.message = "pg_migrate: unexpected C++ exception";
  }
  entry_context = outer_entry_context;
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
  // Still open if the release fails: the destructor or a catch's rollback() then rolls it back,
  // as PL/pgSQL does.
  call([] { ReleaseCurrentSubTransaction(); });
  open_ = false;
  MemoryContextSwitchTo(caller_context_);
  CurrentResourceOwner = caller_owner_;
}

void SubTransaction::rollback() {
  if (!open_) return;
  open_ = false;  // a failed rollback is not tried again: the error ends the transaction
  call([] { RollbackAndReleaseCurrentSubTransaction(); });
  MemoryContextSwitchTo(caller_context_);
  CurrentResourceOwner = caller_owner_;
}

RoundContext::RoundContext(const char* name)
    : context_(call([&] {
        // `name` is a string literal of the caller: it outlives the context, as PostgreSQL requires.
        return AllocSetContextCreateInternal(CurrentMemoryContext, name, ALLOCSET_DEFAULT_SIZES);
      })) {}

RoundContext::~RoundContext() { MemoryContextDelete(context_); }

RoundContext::Scope RoundContext::round() {
  call([&] { MemoryContextReset(context_); });
  return Scope(MemoryContextSwitchTo(context_));
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
