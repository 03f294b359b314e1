-- == The baseline snapshot for schema_diff() until the first apply, baseline or
-- acknowledgement. Last: its catalog fingerprint must be that of the installed extension.
SELECT migrate.record_install_snapshot();
