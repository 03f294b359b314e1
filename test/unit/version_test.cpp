#include "core/version.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.hpp"

using pgm::Version;

TEST(Version, ParsesAndCanonicalizes) {
  EXPECT_EQ(Version::parse("1").canonical(), "1");
  EXPECT_EQ(Version::parse("1.2").canonical(), "1.2");
  EXPECT_EQ(Version::parse("01.010").canonical(), "1.10");
  EXPECT_EQ(Version::parse("1.0").canonical(), "1");
  EXPECT_EQ(Version::parse("1.0.0").canonical(), "1");
  EXPECT_EQ(Version::parse("0").canonical(), "0");
  EXPECT_EQ(Version::parse("0.0").canonical(), "0");
  EXPECT_EQ(Version::parse("20261120093000").canonical(), "20261120093000");
  EXPECT_EQ(Version::parse("1.0.3").canonical(), "1.0.3");
}

TEST(Version, ComparesPartByPartNumerically) {
  EXPECT_LT(Version::parse("1.9"), Version::parse("1.10"));
  EXPECT_LT(Version::parse("2"), Version::parse("10"));
  EXPECT_LT(Version::parse("1"), Version::parse("1.1"));
  EXPECT_LT(Version::parse("1.0.1"), Version::parse("1.1"));
  EXPECT_EQ(Version::parse("1.0"), Version::parse("1"));
  EXPECT_EQ(Version::parse("007"), Version::parse("7"));
  EXPECT_LT(Version::parse("20261120093000"), Version::parse("20261120093001"));
  // Parts beyond 64 bits still compare correctly.
  EXPECT_LT(Version::parse("99999999999999999999"), Version::parse("100000000000000000000"));
}

TEST(Version, SortsLikeFlyway) {
  std::vector<std::string> in = {"1.10", "2", "1.9", "1", "1.1", "10", "1.2.3"};
  std::vector<Version> v;
  for (auto& s : in) v.push_back(Version::parse(s));
  std::sort(v.begin(), v.end());
  std::vector<std::string> out;
  for (auto& x : v) out.push_back(x.canonical());
  EXPECT_EQ(out, (std::vector<std::string>{"1", "1.1", "1.2.3", "1.9", "1.10", "2", "10"}));
}

TEST(Version, SqlArrayOrdersLikeCompare) {
  EXPECT_EQ(Version::parse("1.10").sql_array(), "{1,10}");
  EXPECT_EQ(Version::parse("01.0").sql_array(), "{1}");
}

class BadVersion : public ::testing::TestWithParam<const char*> {};

TEST_P(BadVersion, IsRejectedWith22023NamingTheValue) {
  try {
    Version::parse(GetParam());
    FAIL() << "accepted " << GetParam();
  } catch (const pgm::Error& e) {
    EXPECT_EQ(e.sqlstate(), "22023");
    EXPECT_NE(e.message().find(std::string("\"") + GetParam() + "\""), std::string::npos) << e.message();
    EXPECT_FALSE(e.hint().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(All, BadVersion,
                         ::testing::Values("", "abc", "1..2", "-1", ".1", "1.", "1.a", " 1", "1 ",
                                           "v1", "1,2", "+1", "1e3", "."));

TEST(Version, PartsFitNumeric) {
  EXPECT_NO_THROW(Version::parse(std::string(131072, '8')));
  EXPECT_NO_THROW(Version::parse(std::string(200000, '0') + "1"));  // leading zeros do not count
  try {
    Version::parse(std::string(131073, '8'));
    FAIL();
  } catch (const pgm::Error& e) {
    EXPECT_EQ(e.sqlstate(), "22023");
    EXPECT_LT(e.message().size(), 100u);  // the version is shortened in the message
    EXPECT_NE(e.detail().find("at most 131072 digits"), std::string::npos);
  }
}

TEST(Version, LengthIsLimited) {
  EXPECT_EQ(Version::parse_new(std::string(255, '9')).canonical().size(), 255u);
  EXPECT_THROW(Version::parse_new(std::string(256, '9')), pgm::Error);
  std::string dotted = "1";
  for (int i = 1; i < 128; ++i) dotted += ".1";
  EXPECT_EQ(dotted.size(), 255u);
  EXPECT_NO_THROW(Version::parse_new(dotted));
  EXPECT_THROW(Version::parse_new(dotted + ".1"), pgm::Error);
  EXPECT_NO_THROW(Version::parse(dotted + ".1"));  // one an older release stored still parses
  // Leading zeros and trailing zero parts are not counted.
  EXPECT_EQ(Version::parse(std::string(1000, '0') + "1").canonical(), "1");
  std::string zeros = "1";
  for (int i = 0; i < 200; ++i) zeros += ".0";
  EXPECT_EQ(Version::parse(zeros).canonical(), "1");
}
