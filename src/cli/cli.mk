# The pg_migrate command (src/cli/, C++17, libpq): built by `make` next to the extension and
# installed into `pg_config --bindir` by `make install`. Included by the Makefile after PGXS.
# Debian packages: libpq-dev, libcli11-dev, nlohmann-json3-dev, nettle-dev (SHA-256), libfmt-dev.
PGM_CLI = src/cli/pg_migrate
PGM_CLI_SOURCES = src/cli/main.cpp src/cli/connection.cpp src/cli/folder.cpp src/cli/commands.cpp \
	src/cli/output.cpp src/core/migration_files.cpp src/core/run_mode.cpp src/core/script.cpp src/core/version.cpp
PGM_CLI_OBJS = $(patsubst %.cpp,%.cli.o,$(PGM_CLI_SOURCES))
PGM_CLI_CXXFLAGS = -std=c++17 -O2 -g -Wall -MMD -MP -DFMT_HEADER_ONLY -DPGM_VERSION=\"$(EXTVERSION)\" \
	-DPGM_PG_VERSION_NUM=$(VERSION_NUM) -Isrc -isystem $(shell $(PG_CONFIG) --includedir)

%.cli.o: %.cpp
	$(CXX) $(PGM_CLI_CXXFLAGS) -c -o $@ $<

# The version (--version) comes from the Makefile's EXTVERSION: a new release rebuilds main.
src/cli/main.cli.o: Makefile

# libpq: the static library when the system has it for this PostgreSQL major version, with
# GSSAPI and LDAP loaded on first use (src/cli/deferred_libs.cpp says why); the shared library
# otherwise, or with `make PGM_CLI_STATIC_LIBPQ=no`. libpq-dev's own directory (pkg-config), so a
# relocated PostgreSQL (PGM_SANDBOX) finds it too; the sonames are the ones libpq.so needs.
PGM_PQ_LIBDIR := $(or $(shell pkg-config --variable=libdir libpq 2>/dev/null),$(shell $(PG_CONFIG) --libdir))
PGM_PQ_PKGLIBDIR := $(shell $(PG_CONFIG) --pkglibdir)
PGM_PQ_NEEDED := $(shell objdump -p $(PGM_PQ_LIBDIR)/libpq.so 2>/dev/null | awk '$$1 == "NEEDED" {print $$2}')
PGM_GSSAPI_SONAME := $(filter libgssapi_krb5.so.%,$(PGM_PQ_NEEDED))
PGM_LDAP_SONAME := $(filter libldap%,$(PGM_PQ_NEEDED))
ifndef PGM_CLI_STATIC_LIBPQ
PGM_CLI_STATIC_LIBPQ := $(shell \
	test -f $(PGM_PQ_LIBDIR)/libpq.a -a -f $(PGM_PQ_PKGLIBDIR)/libpgcommon_shlib.a \
	     -a -f $(PGM_PQ_PKGLIBDIR)/libpgport_shlib.a -a -n "$(PGM_GSSAPI_SONAME)" -a -n "$(PGM_LDAP_SONAME)" \
	&& test "$$(pkg-config --modversion libpq 2>/dev/null | cut -d. -f1)" = "$$($(PG_CONFIG) --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')" \
	&& printf '\#include <gssapi/gssapi.h>\n\#include <ldap.h>\n' | $(CXX) -E -x c++ - >/dev/null 2>&1 && echo yes || echo no)
endif
ifeq ($(PGM_CLI_STATIC_LIBPQ),yes)
PGM_CLI_OBJS += src/cli/deferred_libs.cli.o
PGM_CLI_LIBPQ_FILES = $(PGM_PQ_LIBDIR)/libpq.a $(PGM_PQ_PKGLIBDIR)/libpgcommon_shlib.a \
	$(PGM_PQ_PKGLIBDIR)/libpgport_shlib.a
PGM_CLI_LIBPQ = $(PGM_CLI_LIBPQ_FILES) -lssl -lcrypto -ldl
src/cli/deferred_libs.cli.o: PGM_CLI_CXXFLAGS += -DPGM_GSSAPI_SONAME='"$(PGM_GSSAPI_SONAME)"' -DPGM_LDAP_SONAME='"$(PGM_LDAP_SONAME)"'
else
# (libpgcommon for simple_prompt(), the password prompt psql uses.)
PGM_CLI_LIBPQ_FILES = $(PGM_PQ_PKGLIBDIR)/libpgcommon_shlib.a $(PGM_PQ_PKGLIBDIR)/libpgport_shlib.a
PGM_CLI_LIBPQ = -L$(PGM_PQ_LIBDIR) -lpq $(PGM_CLI_LIBPQ_FILES)
endif

# The link mode and libraries in a file rewritten only when they change: switching modes
# relinks, and so does a new libpq.a (a libpq fix reaches the command by `make` again).
PGM_CLI_LINK_STAMP = src/cli/link-mode.stamp
PGM_CLI_LINK_MODE = static-libpq=$(PGM_CLI_STATIC_LIBPQ) $(PGM_CLI_LIBPQ) $(PGM_GSSAPI_SONAME) $(PGM_LDAP_SONAME)
$(PGM_CLI_LINK_STAMP): FORCE
	@test "$$(cat $@ 2>/dev/null)" = '$(PGM_CLI_LINK_MODE)' || echo '$(PGM_CLI_LINK_MODE)' > $@
src/cli/deferred_libs.cli.o: $(PGM_CLI_LINK_STAMP)
FORCE:

# Prints whether the command links libpq statically (test/run.sh hands it to the TAP tests).
print-cli-static-libpq:
	@echo $(PGM_CLI_STATIC_LIBPQ)

# libstdc++ statically: resolving its symbols at start-up costs a short-lived command ~10 ms.
$(PGM_CLI): $(PGM_CLI_OBJS) $(PGM_CLI_LIBPQ_FILES) $(PGM_CLI_LINK_STAMP)
	$(CXX) -o $@ $(PGM_CLI_OBJS) $(PGM_CLI_LIBPQ) -lnettle -lpthread -static-libstdc++ -static-libgcc -Wl,-O1 -Wl,--as-needed

all: $(PGM_CLI)

install: install-cli
install-cli: $(PGM_CLI)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(PGM_CLI) '$(DESTDIR)$(bindir)/pg_migrate'

uninstall: uninstall-cli
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/pg_migrate'

.PHONY: install-cli uninstall-cli print-cli-static-libpq FORCE
EXTRA_CLEAN += $(PGM_CLI) $(PGM_CLI_OBJS) $(PGM_CLI_OBJS:.o=.d) src/cli/deferred_libs.cli.o src/cli/deferred_libs.cli.d $(PGM_CLI_LINK_STAMP)
-include $(PGM_CLI_OBJS:.o=.d)
