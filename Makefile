# pg_migrate: PGXS build. `make && make install`; tests: see README ("Testing").
EXTENSION = pg_migrate
EXTVERSION = 0.14.0
MODULE_big = pg_migrate

include sources.mk
OBJS = $(PGM_PURE_SOURCES:.cpp=.o) $(PGM_PG_SOURCES:.cpp=.o)

# The install script is assembled from one file per feature (src/sql/NN_*.sql).
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
# Released install scripts stay installable (the upgrade test starts from each), and every
# step script pg_migrate--A--B.sql takes a database from one release to the next.
DATA = $(sort $(wildcard src/sql/released/*.sql) $(wildcard src/sql/upgrade/*.sql))
EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=plpgsql
ISOLATION = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=plpgsql
TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

PG_CONFIG ?= pg_config
# -MMD -MP: header dependencies, so a changed header rebuilds every object that includes it.
PG_CXXFLAGS = -MMD -MP -fno-omit-frame-pointer -std=c++17 -DFMT_HEADER_ONLY -fexceptions -Wno-register -Isrc -isystem $(shell $(PG_CONFIG) --includedir-server)
# Only what the server looks up is exported (the SQL-callable functions, _PG_init, the magic
# block, the background worker's entry: PGDLLEXPORT, which PostgreSQL 16 defines so itself):
# every other symbol binds inside the library, so a new backend's dlopen resolves some 600
# fewer symbols.
PG_CXXFLAGS += -fvisibility=hidden -fvisibility-inlines-hidden -DPGDLLEXPORT='__attribute__((visibility("default")))'
# libstdc++ is linked statically and fmt used header-only: loading the shared ones costs every
# new backend about 1 ms.
SHLIB_LINK = -Wl,-Bstatic -lstdc++ -Wl,-Bdynamic -Wl,--exclude-libs,ALL

# No LLVM bitcode for JIT inlining: C++ code gains nothing from it (and needs no clang).
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

-include $(OBJS:.o=.d)
EXTRA_CLEAN += $(OBJS:.o=.d)

$(EXTENSION)--$(EXTVERSION).sql: $(sort $(wildcard src/sql/*.sql))
	cat $^ > $@

# The pg_migrate command-line client (README "The pg_migrate command").
include src/cli/cli.mk
