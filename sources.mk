# The one list of C++ sources. The PGXS Makefile includes this file; CMakeLists.txt reads it.
# Pure sources include no PostgreSQL header and are unit-tested without a server.
PGM_PURE_SOURCES = \
	src/core/backoff.cpp \
	src/core/drift_redact.cpp \
	src/core/drift_rules.cpp \
	src/core/lint_rules.cpp \
	src/core/migration_files.cpp \
	src/core/run_mode.cpp \
	src/core/script.cpp \
	src/core/version.cpp

PGM_PG_SOURCES = \
	src/pg/guard.cpp \
	src/pg/rows.cpp \
	src/pg/scan.cpp \
	src/pg/spi.cpp \
	src/pg/srf.cpp \
	src/xact.cpp \
	src/settings.cpp \
	src/script_parse.cpp \
	src/catalog.cpp \
	src/catalog_record.cpp \
	src/apply.cpp \
	src/lock_wait.cpp \
	src/callback.cpp \
	src/drift.cpp \
	src/drift_capture.cpp \
	src/drift_exclusions.cpp \
	src/drift_fingerprint.cpp \
	src/drift_log.cpp \
	src/drift_review.cpp \
	src/drift_snapshot_entries.cpp \
	src/drift_snapshot.cpp \
	src/drift_statement.cpp \
	src/lint.cpp \
	src/plan.cpp \
	src/verify.cpp \
	src/sync.cpp \
	src/policy.cpp \
	src/revert_check.cpp \
	src/repair.cpp \
	src/run.cpp \
	src/run_drift.cpp \
	src/run_worker.cpp \
	src/pg_migrate.cpp
