# The pg_migrate command (src/cli/, C++17, libpq): built by `make` next to the extension and
# installed into `pg_config --bindir` by `make install`. Included by the Makefile after PGXS.
# Debian packages: libpq-dev, libcli11-dev, nlohmann-json3-dev, nettle-dev (SHA-256), libfmt-dev.
PGM_CLI = src/cli/pg_migrate
PGM_CLI_SOURCES = src/cli/main.cpp src/cli/connection.cpp src/cli/folder.cpp src/cli/commands.cpp \
	src/cli/output.cpp src/core/migration_files.cpp src/core/script.cpp src/core/version.cpp
PGM_CLI_OBJS = $(patsubst %.cpp,%.cli.o,$(PGM_CLI_SOURCES))
PGM_CLI_CXXFLAGS = -std=c++17 -O2 -g -Wall -MMD -MP -DFMT_HEADER_ONLY -DPGM_VERSION=\"$(EXTVERSION)\" -Isrc -isystem $(shell $(PG_CONFIG) --includedir)

%.cli.o: %.cpp
	$(CXX) $(PGM_CLI_CXXFLAGS) -c -o $@ $<

# The version (--version) comes from the Makefile's EXTVERSION: a new release rebuilds main.
src/cli/main.cli.o: Makefile

# libstdc++ statically: resolving its symbols at start-up costs a short-lived command ~10 ms.
$(PGM_CLI): $(PGM_CLI_OBJS)
	$(CXX) -o $@ $^ -L$(shell $(PG_CONFIG) --libdir) -lpq -lnettle -lpthread -static-libstdc++ -static-libgcc -Wl,-O1 -Wl,--as-needed

all: $(PGM_CLI)

install: install-cli
install-cli: $(PGM_CLI)
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(INSTALL_PROGRAM) $(PGM_CLI) '$(DESTDIR)$(bindir)/pg_migrate'

uninstall: uninstall-cli
uninstall-cli:
	rm -f '$(DESTDIR)$(bindir)/pg_migrate'

.PHONY: install-cli uninstall-cli
EXTRA_CLEAN += $(PGM_CLI) $(PGM_CLI_OBJS) $(PGM_CLI_OBJS:.o=.d)
-include $(PGM_CLI_OBJS:.o=.d)
