// Included last by every pure C++ file: proves at compile time that no PostgreSQL header
// reached it, so the file can be unit-tested without a server and never meets longjmp.
#pragma once
#if defined(PG_VERSION_NUM) || defined(POSTGRES_H)
#error "pure pg_migrate code must not include PostgreSQL headers"
#endif
static_assert(true, "pure translation unit");
