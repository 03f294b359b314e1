// Drift capture's pure rules: exclusion globs, temporary schemas, which dropped objects are
// recorded, statement text slicing. No PostgreSQL header; unit-tested (test/unit/drift_rules_test.cpp).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgm::drift {

// Glob match of the whole text: '*' matches any run (also empty), '?' one character; every
// other character matches itself.
bool glob_match(std::string_view pattern, std::string_view text);

struct Exclusion {
  std::string schema_pattern;
  std::string name_pattern;
};

// An object is excluded when an exclusion's schema pattern matches its schema and the name
// pattern matches its name (a missing name reads as ""). No schema: never excluded.
bool excluded(const std::vector<Exclusion>& exclusions, const std::optional<std::string>& schema,
              const std::optional<std::string>& name);

// pg_temp, pg_temp_N, pg_toast_temp_N.
bool is_temp_schema(std::string_view schema);

// The (schema, name) exclusions are matched against, from what PostgreSQL reports for an
// object: its type, its namespace (if it has one), its address names (as
// pg_identify_object_as_address gives them) and its plain name. Columns, constraints,
// triggers, policies, rules and defaults ({schema, table, x}) give the table's name; a schema
// gives itself as schema and no name.
struct Scope {
  std::optional<std::string> schema;
  std::optional<std::string> name;
};
Scope object_scope(std::string_view object_type, const std::optional<std::string>& schema,
                   const std::vector<std::string>& address_names,
                   const std::optional<std::string>& object_name);

// One row of pg_event_trigger_dropped_objects().
struct DroppedObject {
  unsigned classid = 0;
  unsigned objid = 0;
  int objsubid = 0;
  bool original = false;
  bool normal = false;
  bool is_temporary = false;
  bool extension_member = false;  // a member of an extension (members_known: read before the drop)
  std::string object_type;
  std::vector<std::string> address_names;
};

// Indexes of the dropped objects to record, in order, without duplicates: what the statement
// dropped, and what its CASCADE took along unless that is a part of a dropped table or view
// (defaults, constraints, rules: address {schema, table, x}) or came with a dropped extension.
// Temporary objects never. With `members_known` (extension_member was read before the drop),
// only extension members are left out, so a CASCADE through an extension (DROP EXTENSION
// cube CASCADE taking a column of type cube, DROP SCHEMA ... CASCADE taking an extension) is
// recorded for the user's objects and not for the extension's; a partition of a dropped
// partitioned table (an automatic dependency) is recorded as well.
std::vector<size_t> dropped_to_record(const std::vector<DroppedObject>& dropped, bool members_known = false);

// Whether the schema snapshot key `key` ("<kind> <identity>") describes the object a drift row
// names by `object_type` and `identity` (its object_identity), or a part of it: the identity
// itself, what it qualifies (a table's columns, constraints, triggers, policies and rules:
// "public.t.c"), and for a part named "x on public.t" (constraints, triggers, policies, rules)
// the key "public.t.x". A schema row concerns the schema's own entry only (a GRANT on it is not
// a change of its tables). How acknowledge_drift(note, up_to) keeps the recorded entries of
// objects whose drift entries stay unacknowledged.
bool key_concerns(std::string_view key, std::string_view object_type, std::string_view identity);

// The identity an object had before the statement of a drift row renamed or moved it, as
// capture writes it into the row's detail ("renamed (was public.t)", "moved (was s.t)", "left the
// watched objects (was public.t)"); nullopt for other rows.
std::optional<std::string> previous_identity(std::string_view detail);

// key_concerns() for a row that renamed or moved its object from `previous`: the object under
// either name; for a schema, also what is in it under either name (its tables moved with it).
bool key_concerns_renamed(std::string_view key, std::string_view object_type, std::string_view identity,
                          std::string_view previous);

// The table of a snapshot's index entry (its JSON text, {"table": "public.t", ...}), as the
// entry quotes it; nothing for another entry or text that is not one.
std::optional<std::string> index_entry_table(std::string_view entry);

// The statement at [location, location + length) of query (length 0: to the end; location
// -1 or 0: from the start), without surrounding white space and trailing semicolons.
std::string statement_text(std::string_view query, int location, int length);

}  // namespace pgm::drift

namespace pgm::drift {

// What dropping an object removes from a recorded schema snapshot (migrate.schema_snapshot()
// keys), from what pg_event_trigger_dropped_objects() reports for it, and which object owns
// the snapshot entries that remain (refreshed from the live catalog afterwards, so that a
// rolled-back drop loses nothing). `quote` quotes an identifier as quote_ident() does.
struct SnapshotDrop {
  std::vector<std::string> keys;      // exact keys removed
  std::vector<std::string> prefixes;  // keys starting with one of these are removed
  char owner_kind = 0;                // 'r' relation, 't' type, 'n' schema, 'p' function; 0: none
  std::string owner;                  // quoted, qualified name of the owner
  bool whole = false;                 // the snapshot must be taken whole (an extension)
};
SnapshotDrop snapshot_drop(std::string_view object_type, const std::vector<std::string>& address_names,
                           const std::function<std::string(const std::string&)>& quote);

}  // namespace pgm::drift
