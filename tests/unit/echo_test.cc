// Unit tests of services/common/echo.h: bounded echoes of caller values.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/echo.h"

namespace presence {
namespace {

TEST(EchoTest, ShortValuesAreEchoedWhole) {
  EXPECT_EQ(Echo("organizations/kfor"), "organizations/kfor");
  EXPECT_EQ(QuotedEcho("Kosovë"), "\"Kosovë\"");
  EXPECT_EQ(Echo("\"1\""), "\"1\"");
  EXPECT_EQ(QuotedEcho("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(Echo("a\nb\\c\x01"), "a\\nb\\\\c\\x01");
  EXPECT_EQ(Echo(std::string(kMaxEchoBytes, 'x')), std::string(kMaxEchoBytes, 'x'));
}

TEST(EchoTest, LongValuesAreCutWithTheirLength) {
  const std::string huge(70 * 1024, 'x');
  EXPECT_EQ(Echo(huge), std::string(kMaxEchoBytes, 'x') + "\xE2\x80\xA6 (71680 bytes)");
  EXPECT_EQ(QuotedEcho(huge),
            "\"" + std::string(kMaxEchoBytes, 'x') + "\xE2\x80\xA6\" (71680 bytes)");
}

TEST(EchoTest, EscapesCountTowardsTheBound) {
  // 100 control characters escape to 400 bytes: cut like a long value
  // (found by partial_date_fuzzer: a date text of NULs made a 1.1 KB message).
  const std::string nuls(100, '\0');
  const std::string echo = Echo(nuls);
  EXPECT_LE(echo.size(), kMaxEchoBytes + 20);
  EXPECT_THAT(echo, ::testing::EndsWith("\xE2\x80\xA6 (100 bytes)"));
  EXPECT_THAT(QuotedEcho(nuls), ::testing::StartsWith("\"\\x00"));
}

TEST(EchoTest, CutsAtCharacterBoundaries) {
  // "ë" is two bytes; 99 ASCII bytes put one across the limit.
  const std::string value = std::string(99, 'a') + "ëëë";
  EXPECT_EQ(Echo(value), std::string(99, 'a') + "\xE2\x80\xA6 (105 bytes)");
  // A four-byte character across the limit.
  const std::string emoji = std::string(98, 'a') + "\xF0\x9F\x98\x80" + "tail";
  EXPECT_EQ(Echo(emoji), std::string(98, 'a') + "\xE2\x80\xA6 (106 bytes)");
}

TEST(EchoTest, BoundTextKeepsShortTextAsIs) {
  EXPECT_EQ(BoundText("a\nb", 10), "a\nb");
  EXPECT_EQ(BoundText(std::string(20, 'z'), 10), std::string(10, 'z') + "\xE2\x80\xA6 (20 bytes)");
}

}  // namespace
}  // namespace presence
