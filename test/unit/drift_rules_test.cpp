#include "core/drift_rules.hpp"

#include <gtest/gtest.h>

using namespace pgm::drift;

TEST(DriftGlob, MatchesWholeText) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("tmp_*", "tmp_x"));
  EXPECT_TRUE(glob_match("tmp_*", "tmp_"));
  EXPECT_FALSE(glob_match("tmp_*", "tmpx"));
  EXPECT_FALSE(glob_match("tmp_*", "a_tmp_x"));
  EXPECT_TRUE(glob_match("*_log", "audit_log"));
  EXPECT_TRUE(glob_match("a*b*c", "a__b__b__c"));
  EXPECT_FALSE(glob_match("a*b*c", "a__b__b__"));
  EXPECT_TRUE(glob_match("t?", "t1"));
  EXPECT_FALSE(glob_match("t?", "t"));
  EXPECT_FALSE(glob_match("t?", "t12"));
  EXPECT_TRUE(glob_match("scratch", "scratch"));
  EXPECT_FALSE(glob_match("scratch", "scratch2"));
  EXPECT_TRUE(glob_match("100%", "100%"));   // no LIKE semantics
  EXPECT_FALSE(glob_match("a%", "abc"));
  EXPECT_FALSE(glob_match("a_", "ab"));
}

TEST(DriftExclusion, SchemaAndName) {
  std::vector<Exclusion> ex{{"scratch", "*"}, {"public", "tmp_*"}};
  EXPECT_TRUE(excluded(ex, std::string("scratch"), std::string("t")));
  EXPECT_TRUE(excluded(ex, std::string("scratch"), std::nullopt));  // the schema itself
  EXPECT_TRUE(excluded(ex, std::string("public"), std::string("tmp_x")));
  EXPECT_FALSE(excluded(ex, std::string("public"), std::string("users")));
  EXPECT_FALSE(excluded(ex, std::string("public"), std::nullopt));  // schema public itself
  EXPECT_FALSE(excluded(ex, std::nullopt, std::string("tmp_x")));
  EXPECT_FALSE(excluded({}, std::string("scratch"), std::string("t")));
}

TEST(DriftTemp, Schemas) {
  EXPECT_TRUE(is_temp_schema("pg_temp"));
  EXPECT_TRUE(is_temp_schema("pg_temp_3"));
  EXPECT_TRUE(is_temp_schema("pg_toast_temp_3"));
  EXPECT_FALSE(is_temp_schema("pg_toast"));
  EXPECT_FALSE(is_temp_schema("public"));
  EXPECT_FALSE(is_temp_schema("my_pg_temp"));
}

TEST(DriftScope, FromAddress) {
  Scope t = object_scope("table", std::string("public"), {"public", "users"}, std::string("users"));
  EXPECT_EQ(t.schema, "public");
  EXPECT_EQ(t.name, "users");
  Scope c = object_scope("table column", std::string("public"), {"public", "users", "email"}, std::nullopt);
  EXPECT_EQ(c.name, "users");
  Scope trg = object_scope("trigger", std::nullopt, {"public", "users", "trg"}, std::nullopt);
  EXPECT_EQ(trg.schema, "public");
  EXPECT_EQ(trg.name, "users");
  Scope s = object_scope("schema", std::nullopt, {"scratch"}, std::string("scratch"));
  EXPECT_EQ(s.schema, "scratch");
  EXPECT_FALSE(s.name);
  Scope e = object_scope("extension", std::nullopt, {"seg"}, std::string("seg"));
  EXPECT_FALSE(e.schema);
  Scope f = object_scope("function", std::string("public"), {"public", "f"}, std::nullopt);
  EXPECT_EQ(f.name, "f");
}

namespace {
DroppedObject obj(unsigned cls, unsigned oid, int sub, bool original, bool normal, std::string type,
                  std::vector<std::string> names, bool temp = false) {
  DroppedObject d;
  d.classid = cls;
  d.objid = oid;
  d.objsubid = sub;
  d.original = original;
  d.normal = normal;
  d.is_temporary = temp;
  d.object_type = std::move(type);
  d.address_names = std::move(names);
  return d;
}
}  // namespace

TEST(DriftDropped, TableWithItsParts) {
  std::vector<DroppedObject> d{
      obj(1259, 10, 0, true, false, "table", {"public", "s"}),
      obj(1247, 11, 0, false, false, "type", {"public.s"}),
      obj(2604, 12, 0, false, true, "default value", {"public", "s", "id"}),
      obj(2606, 13, 0, false, true, "table constraint", {"public", "s", "s_ref_fkey"}),
      obj(1259, 14, 0, false, false, "index", {"public", "s_pkey"}),
      obj(1259, 20, 0, false, true, "view", {"public", "v"}),
      obj(2618, 21, 0, false, true, "rule", {"public", "v", "_RETURN"}),
  };
  EXPECT_EQ(dropped_to_record(d), (std::vector<size_t>{0, 5}));
}

TEST(DriftDropped, ExtensionMembersAndTemporaryAndDuplicates) {
  std::vector<DroppedObject> ext{
      obj(3079, 1, 0, true, false, "extension", {"seg"}),
      obj(1255, 2, 0, false, true, "function", {"public", "seg_in"}),
      obj(2616, 3, 0, false, true, "operator class", {"public", "seg_ops", "btree"}),
  };
  EXPECT_EQ(dropped_to_record(ext), (std::vector<size_t>{0}));
  std::vector<DroppedObject> temp{obj(1259, 5, 0, true, false, "table", {"pg_temp", "t"}, true)};
  EXPECT_TRUE(dropped_to_record(temp).empty());
  std::vector<DroppedObject> dup{obj(1259, 5, 0, true, false, "table", {"public", "t"}),
                                 obj(1259, 5, 0, true, false, "table", {"public", "t"}),
                                 obj(1259, 5, 2, true, false, "table column", {"public", "t", "c"})};
  EXPECT_EQ(dropped_to_record(dup), (std::vector<size_t>{0, 2}));
}

TEST(DriftDropped, MembersKnownCascadeThroughAnExtension) {
  // DROP EXTENSION cube CASCADE: its members are not drift; a column of the user's of type
  // cube and a view using it are.
  std::vector<DroppedObject> d{
      obj(3079, 1, 0, true, false, "extension", {"cube"}),
      obj(1255, 2, 0, false, true, "function", {"public", "cube_in"}),
      obj(1259, 3, 2, false, true, "table column", {"public", "boxes", "c"}),
      obj(1259, 4, 0, false, true, "view", {"public", "box_dims"}),
  };
  d[1].extension_member = true;
  EXPECT_EQ(dropped_to_record(d, true), (std::vector<size_t>{0, 2, 3}));
  EXPECT_EQ(dropped_to_record(d), (std::vector<size_t>{0}));  // (members unknown: the extension only)
  // DROP TABLE of a partitioned table: its partitions (automatic dependencies) are tables too;
  // its indexes and row type are not recorded.
  std::vector<DroppedObject> p{
      obj(1259, 10, 0, true, false, "table", {"public", "pp"}),
      obj(1259, 11, 0, false, false, "table", {"public", "pp1"}),
      obj(1259, 12, 0, false, false, "index", {"public", "pp1_k_idx"}),
      obj(1247, 13, 0, false, false, "type", {"public.pp1"}),
      obj(1259, 14, 0, false, false, "table", {"pg_toast", "pg_toast_11"}),
  };
  EXPECT_EQ(dropped_to_record(p, true), (std::vector<size_t>{0, 1}));
}

TEST(DriftStatementText, Slices) {
  std::string q = "CREATE TABLE a (); \n  CREATE TABLE b ();  ";
  EXPECT_EQ(statement_text(q, 0, 17), "CREATE TABLE a ()");
  EXPECT_EQ(statement_text(q, 18, 0), "CREATE TABLE b ()");
  EXPECT_EQ(statement_text(q, -1, 0), "CREATE TABLE a (); \n  CREATE TABLE b ()");
  EXPECT_EQ(statement_text("   ", 0, 0), "");
  EXPECT_EQ(statement_text("x", 5, 3), "");
  EXPECT_EQ(statement_text("DROP TABLE t;;", 0, 0), "DROP TABLE t");
}

TEST(DriftSnapshotDrop, KeysPrefixesOwners) {
  auto quote = [](const std::string& s) {
    bool plain = !s.empty() && (std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_');
    for (char c : s) plain = plain && (std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_');
    return plain ? s : "\"" + s + "\"";
  };
  SnapshotDrop t = snapshot_drop("table", {"public", "Users"}, quote);
  EXPECT_EQ(t.keys, std::vector<std::string>{"table public.\"Users\""});
  EXPECT_EQ(t.prefixes.size(), 5u);
  EXPECT_EQ(t.prefixes[0], "column public.\"Users\".");
  EXPECT_EQ(t.owner_kind, 'r');
  EXPECT_EQ(t.owner, "public.\"Users\"");
  SnapshotDrop c = snapshot_drop("table column", {"public", "t", "Email"}, quote);
  EXPECT_EQ(c.keys, std::vector<std::string>{"column public.t.\"Email\""});
  EXPECT_TRUE(c.prefixes.empty());
  EXPECT_EQ(c.owner, "public.t");
  SnapshotDrop i = snapshot_drop("index", {"s", "t_idx"}, quote);
  EXPECT_EQ(i.keys, std::vector<std::string>{"index s.t_idx"});
  EXPECT_TRUE(i.prefixes.empty());
  SnapshotDrop mv = snapshot_drop("materialized view", {"s", "m"}, quote);
  EXPECT_EQ(mv.keys, std::vector<std::string>{"materialized_view s.m"});
  SnapshotDrop f = snapshot_drop("function", {"s", "f"}, quote);
  EXPECT_TRUE(f.keys.empty());
  EXPECT_EQ(f.prefixes, std::vector<std::string>{"function s.f("});
  EXPECT_EQ(f.owner_kind, 'p');
  SnapshotDrop d = snapshot_drop("domain", {"s.posint"}, quote);
  EXPECT_EQ(d.keys, (std::vector<std::string>{"type s.posint", "domain s.posint"}));
  EXPECT_EQ(d.prefixes, std::vector<std::string>{"constraint s.posint."});
  SnapshotDrop dc = snapshot_drop("domain constraint", {"s.posint", "positive"}, quote);
  EXPECT_EQ(dc.keys, std::vector<std::string>{"constraint s.posint.positive"});
  EXPECT_EQ(snapshot_drop("schema", {"app"}, quote).keys, std::vector<std::string>{"schema app"});
  EXPECT_TRUE(snapshot_drop("extension", {"seg"}, quote).whole);
  SnapshotDrop none = snapshot_drop("cast", {}, quote);
  EXPECT_TRUE(none.keys.empty() && none.prefixes.empty() && none.owner_kind == 0 && !none.whole);
  SnapshotDrop def = snapshot_drop("default value", {"s", "t", "c"}, quote);
  EXPECT_TRUE(def.keys.empty());
  EXPECT_EQ(def.owner, "s.t");
}

// '?' is one character, also a multi-byte one (as LIKE's '_' in schema_diff()).
TEST(DriftGlob, MultiByteCharacters) {
  using pgm::drift::glob_match;
  EXPECT_TRUE(glob_match("tmp_?", "tmp_\xC3\xA9"));         // tmp_é
  EXPECT_FALSE(glob_match("tmp_??", "tmp_\xC3\xA9"));
  EXPECT_TRUE(glob_match("*?", "\xE2\x82\xAC"));            // €
  EXPECT_TRUE(glob_match("a*b", "a\xE2\x82\xAC" "b"));
  EXPECT_TRUE(glob_match("?*\xC3\xA9", "x\xC3\xA9\xC3\xA9"));
  EXPECT_FALSE(glob_match("?", "ab"));
}

// A dropped domain constraint's one address name is its domain's qualified type name.
TEST(DriftScope, DomainConstraintGoesWithItsDomain) {
  using pgm::drift::object_scope;
  EXPECT_EQ(object_scope("domain constraint", std::string("public"), {"public.xd"}, std::nullopt).name, "xd");
  EXPECT_EQ(object_scope("domain constraint", std::string("s"), {"s.\"X \"\"d\"\".\""}, std::nullopt).name, "X \"d\".");
  EXPECT_EQ(object_scope("domain constraint", std::string("public"), {"public.xd"}, std::string("xd")).name, "xd");
}

TEST(DriftKeyConcerns, ObjectsAndTheirParts) {
  using pgm::drift::key_concerns;
  EXPECT_TRUE(key_concerns("table public.t", "table", "public.t"));
  EXPECT_TRUE(key_concerns("column public.t.c", "table", "public.t"));
  EXPECT_TRUE(key_concerns("constraint public.t.t_pkey", "table", "public.t"));
  EXPECT_FALSE(key_concerns("table public.t2", "table", "public.t"));      // not a prefix of a name
  EXPECT_FALSE(key_concerns("column public.t2.c", "table", "public.t"));
  EXPECT_TRUE(key_concerns("column public.t.c", "table column", "public.t.c"));   // a column row
  EXPECT_FALSE(key_concerns("table public.t", "table column", "public.t.c"));
  // Parts named "x on table".
  EXPECT_TRUE(key_concerns("constraint public.t.chk", "table constraint", "chk on public.t"));
  EXPECT_TRUE(key_concerns("trigger public.t.audit", "trigger", "audit on public.t"));
  EXPECT_FALSE(key_concerns("trigger public.t.audit2", "trigger", "audit on public.t"));
  EXPECT_TRUE(key_concerns("trigger public.\"on t\".\"a on b\"", "trigger", "\"a on b\" on public.\"on t\""));
  // A schema row: the schema's own entry only.
  EXPECT_TRUE(key_concerns("schema s", "schema", "s"));
  EXPECT_FALSE(key_concerns("table s.t", "schema", "s"));
  EXPECT_FALSE(key_concerns("table s2.t", "schema", "s"));
  EXPECT_TRUE(key_concerns("function public.f(integer)", "function", "public.f(integer)"));
  EXPECT_FALSE(key_concerns("function public.f(integer)", "function", "public.f(text)"));
  // The identity qualifies built-in types and writes no space after a comma; the key neither.
  EXPECT_TRUE(key_concerns("function public.h(text)", "function", "public.h(pg_catalog.text)"));
  EXPECT_TRUE(key_concerns("function public.g(character varying, integer)", "function", "public.g(character varying,integer)"));
  EXPECT_TRUE(key_concerns("function public.g(public.mood, text[])", "function", "public.g(public.mood,pg_catalog.text[])"));
  EXPECT_FALSE(key_concerns("function public.g(public.mood, text)", "function", "public.g(other.mood,pg_catalog.text)"));
  EXPECT_FALSE(key_concerns("function public.h(text)", "function", "public.h2(pg_catalog.text)"));
  // A '(' inside a quoted name is part of the name.
  EXPECT_TRUE(key_concerns("column public.\"t(1)\".c", "table", "public.\"t(1)\""));
  EXPECT_TRUE(key_concerns("function public.\"f(x\"(text, integer)", "function", "public.\"f(x\"(pg_catalog.text,integer)"));
  // A column default: "for public.t.a" is the column's entry.
  EXPECT_TRUE(key_concerns("column public.t.a", "default value", "for public.t.a"));
  EXPECT_FALSE(key_concerns("column public.t.b", "default value", "for public.t.a"));
  // A domain's constraint.
  EXPECT_TRUE(key_concerns("constraint public.xd.c", "domain constraint", "c on public.xd"));
  EXPECT_FALSE(key_concerns("table public.t", "table", ""));
  EXPECT_FALSE(key_concerns("nospace", "table", "public.t"));
}

TEST(DriftRules, IndexEntryTable) {
  using pgm::drift::index_entry_table;
  EXPECT_EQ(index_entry_table(R"j({"table": "public.kt", "definition": "CREATE INDEX kt_v ON public.kt USING btree (v)"})j"),
            "public.kt");
  EXPECT_EQ(index_entry_table(R"j({"table": "\"Odd\".\"T\\x\"", "definition": "x"})j"), "\"Odd\".\"T\\x\"");
  EXPECT_EQ(index_entry_table(R"j({"definition": "x"})j"), std::nullopt);
  EXPECT_EQ(index_entry_table(""), std::nullopt);
  EXPECT_EQ(index_entry_table(R"j({"table": "unterminated)j"), std::nullopt);
}

TEST(DriftRules, PreviousIdentityFromTheDetail) {
  using pgm::drift::previous_identity;
  EXPECT_EQ(previous_identity("renamed (was public.ren1)"), "public.ren1");
  EXPECT_EQ(previous_identity("moved (was public.t)"), "public.t");
  EXPECT_EQ(previous_identity("ADD COLUMN b; renamed (was s5)"), "s5");
  EXPECT_EQ(previous_identity("renamed (was public.\"a)b\"); ADD COLUMN c"), "public.\"a)b\"");
  EXPECT_EQ(previous_identity("left the watched objects (was public.ledger)"), "public.ledger");
  EXPECT_EQ(previous_identity("left the watched objects (was schema watched)"), "watched");
  EXPECT_EQ(previous_identity("ATTACH PARTITION public.p4"), std::nullopt);
  EXPECT_EQ(previous_identity("xrenamed (was a)"), std::nullopt);  // not a part of its own
  EXPECT_EQ(previous_identity("renamed (was )"), std::nullopt);
  EXPECT_EQ(previous_identity(""), std::nullopt);
}

TEST(DriftRules, RenamedRowsConcernBothNames) {
  using pgm::drift::key_concerns_renamed;
  EXPECT_TRUE(key_concerns_renamed("table public.ren1", "table", "public.ren2", "public.ren1"));
  EXPECT_TRUE(key_concerns_renamed("column public.ren2.id", "table", "public.ren2", "public.ren1"));
  EXPECT_FALSE(key_concerns_renamed("table public.other", "table", "public.ren2", "public.ren1"));
  // A schema renamed: its tables moved with it, under either name.
  EXPECT_TRUE(key_concerns_renamed("schema s5", "schema", "s6", "s5"));
  EXPECT_TRUE(key_concerns_renamed("table s5.t", "schema", "s6", "s5"));
  EXPECT_TRUE(key_concerns_renamed("column s6.t.id", "schema", "s6", "s5"));
  EXPECT_FALSE(key_concerns_renamed("table s55.t", "schema", "s6", "s5"));
  // A function's previous name is recorded without its arguments.
  EXPECT_TRUE(key_concerns_renamed("function public.fx(integer)", "function", "public.fy(integer)", "public.fx"));
  EXPECT_FALSE(key_concerns_renamed("function public.fx(text)", "function", "public.fy(integer)", "public.fx"));
  // An index or a constraint renamed.
  EXPECT_TRUE(key_concerns_renamed("index public.ix", "index", "public.ix2", "public.ix"));
  EXPECT_TRUE(key_concerns_renamed("constraint public.t.c_old", "table constraint", "c_new on public.t", "c_old on public.t"));
}
