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

TEST(DriftStatementText, Slices) {
  std::string q = "CREATE TABLE a (); \n  CREATE TABLE b ();  ";
  EXPECT_EQ(statement_text(q, 0, 17), "CREATE TABLE a ()");
  EXPECT_EQ(statement_text(q, 18, 0), "CREATE TABLE b ()");
  EXPECT_EQ(statement_text(q, -1, 0), "CREATE TABLE a (); \n  CREATE TABLE b ()");
  EXPECT_EQ(statement_text("   ", 0, 0), "");
  EXPECT_EQ(statement_text("x", 5, 3), "");
  EXPECT_EQ(statement_text("DROP TABLE t;;", 0, 0), "DROP TABLE t");
}
