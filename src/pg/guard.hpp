// The C++/PostgreSQL error boundary, used by every file that talks to the server.
//
// Rule: PostgreSQL errors longjmp; C++ unwinds. So
//  * every PostgreSQL call that can ereport goes through pg::call(), which catches the error
//    (PG_TRY + CopyErrorData + FlushErrorState) and rethrows it as pg::PgError;
//  * every SQL-callable function is defined with PGM_FUNCTION, whose wrapper catches every C++
//    exception and only then, with no C++ object alive, raises it with ereport/ReThrowError.
// A caught PostgreSQL error leaves the transaction in need of abort; code that wants to go on
// after one must run the failing work inside pg::SubTransaction (see below).
#pragma once

#include "core/error.hpp"
#include "pg/pg.hpp"

namespace pgm::pg {

class PgError : public std::exception {
 public:
  // Takes the copy take_current_error() made. When that copy is in a memory context of its own
  // under the entry point's (see guard.cpp), the last PgError holding it deletes that context:
  // a loop that handles errors and goes on (lock-timeout retries) keeps no copy of each. What
  // is added to the error (a hint, a detail) goes into GetMemoryChunkContext(data()).
  explicit PgError(ErrorData* edata);
  PgError(const PgError& other) noexcept;
  PgError& operator=(const PgError& other) noexcept;
  ~PgError() override;
  ErrorData* data() const { return holder_->data; }
  int sqlerrcode() const { return holder_->data->sqlerrcode; }
  // Cancel, timeout, shutdown (see is_interrupt below): must propagate.
  bool is_interrupt() const;
  const char* what() const noexcept override {
    return holder_->data->message ? holder_->data->message : "PostgreSQL error";
  }
  // For the entry point, which raises it with ReThrowError: no longer freed with the last copy.
  ErrorData* release() const noexcept {
    holder_->freeable = false;
    return holder_->data;
  }

 private:
  struct Holder {
    ErrorData* data;
    long refs;
    bool freeable;  // data's context is its own, under the entry point's
  };
  Holder* holder_;
};

// True for errors no catch that carries on may swallow: query cancel and statement_timeout
// (57014) and the rest of class 57 (operator intervention: shutdown, crash shutdown, cannot
// connect now, ...), and ASSERT_FAILURE — exactly what PL/pgSQL's WHEN OTHERS does not catch,
// plus the class of the shutdown requests. A catch that reports a failure and goes on calls
// rethrow_if_interrupt() first.
inline bool is_interrupt(int sqlerrcode) {
  return ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION ||
         sqlerrcode == ERRCODE_QUERY_CANCELED || sqlerrcode == ERRCODE_ASSERT_FAILURE;
}

// Copies the error being handled into `into` and clears the error state. Only for PG_CATCH.
ErrorData* take_current_error(MemoryContext into);
// From _PG_init: what take_current_error() falls back to when memory runs out.
void init_guard();

// Runs `f` (a lambda calling PostgreSQL; it must not create C++ objects with destructors nor
// throw) and turns a PostgreSQL error into pg::PgError. Returns f's scalar result.
template <typename F>
auto call(F&& f) -> decltype(f()) {
  using R = decltype(f());
  MemoryContext caller_context = CurrentMemoryContext;
  ErrorData* volatile edata = nullptr;
  if constexpr (std::is_void_v<R>) {
    PG_TRY();
    { f(); }
    PG_CATCH();
    { edata = take_current_error(caller_context); }
    PG_END_TRY();
    if (edata) throw PgError(edata);
  } else {
    static_assert(std::is_scalar_v<R>, "pg::call returns scalars and pointers only");
    volatile R result{};
    PG_TRY();
    { result = f(); }
    PG_CATCH();
    { edata = take_current_error(caller_context); }
    PG_END_TRY();
    if (edata) throw PgError(edata);
    return result;
  }
}

// Sleeps `ms` milliseconds on the process latch, answering cancels and shutdown at once. The
// whole time: a latch set meanwhile (a timeout's handler sets it too) does not end it early.
void sleep_ms(long ms);

// Entry-point wrapper: runs impl and converts any C++ exception into a PostgreSQL error after
// the exception object is gone.
Datum invoke(Datum (*impl)(FunctionCallInfo), FunctionCallInfo fcinfo);

// Internal subtransaction for work that may fail and be gone on with (plan, retry, verify).
// Usage: SubTransaction sub; ...work...; sub.commit();  — if work throws, the destructor
// rolls back, restoring PostgreSQL's state (locks, SPI, memory, GUCs, user id).
class SubTransaction {
 public:
  SubTransaction();
  ~SubTransaction();
  void commit();
  void rollback();
  SubTransaction(const SubTransaction&) = delete;
  SubTransaction& operator=(const SubTransaction&) = delete;

 private:
  MemoryContext caller_context_;
  ResourceOwner caller_owner_;
  bool open_ = false;
};

// A memory context for the rounds of a long loop (one migration each), a child of the current
// one: each round() resets it and makes it current until the returned scope ends, so what one
// round allocates (parse trees, lookups) never piles up across rounds. Deleted with this object.
class RoundContext {
 public:
  explicit RoundContext(const char* name);
  ~RoundContext();
  class Scope {
   public:
    explicit Scope(MemoryContext outer) : outer_(outer) {}
    ~Scope() { MemoryContextSwitchTo(outer_); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    MemoryContext outer_;
  };
  [[nodiscard]] Scope round();
  RoundContext(const RoundContext&) = delete;
  RoundContext& operator=(const RoundContext&) = delete;

 private:
  MemoryContext context_;
};

inline bool PgError::is_interrupt() const { return pg::is_interrupt(holder_->data->sqlerrcode); }

}  // namespace pgm::pg

// Defines an SQL-callable C function `name` whose body is C++.
#define PGM_FUNCTION(name)                                                         \
  extern "C" {                                                                     \
  PG_FUNCTION_INFO_V1(name);                                                       \
  }                                                                                \
  static Datum name##_impl(FunctionCallInfo fcinfo);                               \
  extern "C" PGDLLEXPORT Datum name(PG_FUNCTION_ARGS) { return pgm::pg::invoke(name##_impl, fcinfo); } \
  static Datum name##_impl(FunctionCallInfo fcinfo)
