// Drift: recorded schema snapshots. After apply and revert only the objects the migrations
// touched are refreshed (README "Snapshots after apply and revert"); the event triggers report
// them while a migration runs.
#pragma once

#include <string>
#include <vector>

#include "pg/pg.hpp"

namespace pgm::drift {

// An object a migration's DDL statement created or changed (pg_event_trigger_ddl_commands()).
void track_snapshot_object(Oid classid, Oid objid);
// An object a migration's DDL statement dropped (pg_event_trigger_dropped_objects()).
void track_snapshot_drop(const std::string& object_type, const std::vector<std::string>& address_names);
// Entries of relation `relid` that may vanish although nothing was dropped (a partition's
// foreign key becoming its parent's when attached; a partition's trigger firing as its parent's
// again): every recorded entry "<part> <relation>." of the given kinds ("constraint ",
// "trigger ") goes, and the refresh writes back those that still exist.
void track_snapshot_relation_parts(Oid relid, std::initializer_list<const char*> parts);
// Before a migration's ALTER TABLE / ALTER INDEX runs: every recorded entry of the relation
// (its table's, for an index) and of its partitions and inheritors goes, and the refresh writes
// back those that still exist — parts of a table the statement renames or drops without an
// event (an index ADD CONSTRAINT ... USING INDEX renames, the sequence DROP IDENTITY drops, a
// partition's constraint its parent's new one takes over).
void track_snapshot_relation_before_alter(Node* parsetree);
// A utility statement run by a migration: statements whose effect on the snapshot the event
// triggers do not report object by object (renames, SET SCHEMA, extensions, REASSIGN/DROP
// OWNED, CLUSTER, REINDEX, event trigger changes) make the next recorded snapshot a whole one.
void track_snapshot_statement(Node* parsetree) noexcept;
// A statement after which the snapshot is taken whole (its effect is not followed object by
// object: renames, SET SCHEMA, extensions, REASSIGN/DROP OWNED, CLUSTER, REINDEX, ...).
bool needs_whole_snapshot(Node* parsetree) noexcept;
// Forgets what was tracked (transaction end, PREPARE).
void reset_snapshot_tracking() noexcept;
// Forgets it when the subtransaction the migrations started in is rolled back.
void forget_snapshot_tracking_of(SubTransactionId subxact) noexcept;
// The next snapshot recorded after the running migrations is a whole one: they did something
// the event triggers do not describe object by object.
void snapshot_must_be_whole() noexcept;

}  // namespace pgm::drift
