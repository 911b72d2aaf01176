// Unit tests of key_codec and page_token.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"
#include "presence/type/v1/types.pb.h"
#include "services/common/key_codec.h"
#include "services/common/page_token.h"
#include "tests/testing/status_matchers.h"

namespace presence {
namespace {

using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::presence::type::v1::PartialDate;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

MATCHER_P(IsOkAndHolds, value,
          "is OK and holds " + ::testing::PrintToString(value)) {
  if (!arg.ok()) {
    *result_listener << "whose status is " << arg.status();
    return false;
  }
  *result_listener << "which holds " << ::testing::PrintToString(*arg);
  return *arg == value;
}

// memcmp order, as the stores compare keys (std::string compares chars, which
// may be signed, so compare explicitly).
int Compare(const std::string& a, const std::string& b) {
  const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (c != 0) return c;
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

// ---------------------------------------------------------------------------
// key_codec

TEST(KeyCodecTest, EncodeUint64IsBigEndian) {
  EXPECT_EQ(EncodeUint64(0), std::string(8, '\0'));
  EXPECT_EQ(EncodeUint64(1), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_EQ(EncodeUint64(0x0102030405060708),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(EncodeUint64(0x100), std::string("\0\0\0\0\0\0\x01\0", 8));
  EXPECT_EQ(EncodeUint64(std::numeric_limits<uint64_t>::max()),
            std::string(8, '\xff'));
}

TEST(KeyCodecTest, AppendAppends) {
  std::string key = "p/";
  AppendUint64(&key, 0x0a0b);
  AppendInt64(&key, 0);
  EXPECT_EQ(key, std::string("p/\0\0\0\0\0\0\x0a\x0b\x80\0\0\0\0\0\0\0", 18));
}

TEST(KeyCodecTest, EncodeInt64FlipsSignBit) {
  EXPECT_EQ(EncodeInt64(0), std::string("\x80\0\0\0\0\0\0\0", 8));
  EXPECT_EQ(EncodeInt64(-1),
            std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8));
  EXPECT_EQ(EncodeInt64(std::numeric_limits<int64_t>::min()),
            std::string(8, '\0'));
  EXPECT_EQ(EncodeInt64(std::numeric_limits<int64_t>::max()),
            std::string(8, '\xff'));
}

TEST(KeyCodecTest, EncodeInt64PreservesOrder) {
  const std::vector<int64_t> values = {
      std::numeric_limits<int64_t>::min(),
      std::numeric_limits<int64_t>::min() + 1,
      -4294967296,
      -256,
      -255,
      -2,
      -1,
      0,
      1,
      2,
      255,
      256,
      4294967296,
      std::numeric_limits<int64_t>::max() - 1,
      std::numeric_limits<int64_t>::max(),
  };
  for (size_t i = 1; i < values.size(); ++i) {
    SCOPED_TRACE(std::to_string(values[i - 1]) + " < " +
                 std::to_string(values[i]));
    EXPECT_LT(Compare(EncodeInt64(values[i - 1]), EncodeInt64(values[i])), 0);
  }
}

TEST(KeyCodecTest, EncodeUint64PreservesOrder) {
  const std::vector<uint64_t> values = {0,
                                        1,
                                        255,
                                        256,
                                        65535,
                                        65536,
                                        uint64_t{1} << 63,
                                        std::numeric_limits<uint64_t>::max()};
  for (size_t i = 1; i < values.size(); ++i) {
    SCOPED_TRACE(values[i]);
    EXPECT_LT(Compare(EncodeUint64(values[i - 1]), EncodeUint64(values[i])), 0);
  }
}

TEST(KeyCodecTest, ConsumeRoundTrips) {
  for (int64_t v : {std::numeric_limits<int64_t>::min(), int64_t{-12345},
                    int64_t{-1}, int64_t{0}, int64_t{1}, int64_t{0x0102030405},
                    std::numeric_limits<int64_t>::max()}) {
    SCOPED_TRACE(v);
    std::string key = EncodeInt64(v) + "rest";
    absl::string_view in = key;
    EXPECT_EQ(ConsumeInt64(&in), v);
    EXPECT_EQ(in, "rest");
  }
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{0xdeadbeefcafe},
                     std::numeric_limits<uint64_t>::max()}) {
    SCOPED_TRACE(v);
    std::string key = EncodeUint64(v);
    absl::string_view in = key;
    EXPECT_EQ(ConsumeUint64(&in), v);
    EXPECT_TRUE(in.empty());
  }
  // Two values in sequence.
  std::string key;
  AppendUint64(&key, 7);
  AppendInt64(&key, -7);
  absl::string_view in = key;
  EXPECT_EQ(ConsumeUint64(&in), uint64_t{7});
  EXPECT_EQ(ConsumeInt64(&in), int64_t{-7});
  EXPECT_TRUE(in.empty());
}

TEST(KeyCodecTest, ConsumeShortInputIsNulloptAndDoesNotAdvance) {
  for (size_t len = 0; len < 8; ++len) {
    SCOPED_TRACE(len);
    const std::string key(len, '\x01');
    absl::string_view in = key;
    EXPECT_EQ(ConsumeUint64(&in), std::nullopt);
    EXPECT_EQ(in.size(), len);
    EXPECT_EQ(ConsumeInt64(&in), std::nullopt);
    EXPECT_EQ(in.size(), len);
  }
}

TEST(KeyCodecTest, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor("a\xff"), "b");
  EXPECT_EQ(PrefixSuccessor("a\xff\xff"), "b");
  EXPECT_EQ(PrefixSuccessor("\xff\xff"), "");
  EXPECT_EQ(PrefixSuccessor(""), "");
  EXPECT_EQ(PrefixSuccessor(absl::string_view("a\0", 2)), "a\x01");
  EXPECT_EQ(PrefixSuccessor("\x7f"), "\x80");
  EXPECT_EQ(PrefixSuccessor("\xfe\xff"), "\xff");
}

TEST(KeyCodecTest, PrefixSuccessorBoundsEveryKeyWithPrefix) {
  const std::string prefix = "t\x01\xff";
  const std::string succ = PrefixSuccessor(prefix);
  for (const std::string& key : {prefix, prefix + std::string(1, '\0'),
                                 prefix + "\xff\xff\xff", prefix + "zzz"}) {
    EXPECT_LT(Compare(key, succ), 0);
  }
  EXPECT_GT(Compare(succ, prefix), 0);
  // And nothing sorts between the prefixed keys and the successor but keys
  // that have the successor as a prefix: the successor is the smallest bound.
  EXPECT_EQ(succ, "t\x02");
}

// ---------------------------------------------------------------------------
// page_token

TEST(PageTokenTest, EffectivePageSize) {
  EXPECT_THAT(EffectivePageSize(0), IsOkAndHolds(kDefaultPageSize));
  EXPECT_EQ(*EffectivePageSize(0), 50);
  EXPECT_EQ(*EffectivePageSize(1), 1);
  EXPECT_EQ(*EffectivePageSize(49), 49);
  EXPECT_EQ(*EffectivePageSize(1000), 1000);
  EXPECT_EQ(*EffectivePageSize(1001), 1000);
  EXPECT_EQ(*EffectivePageSize(5000), 1000);
  EXPECT_EQ(*EffectivePageSize(std::numeric_limits<int32_t>::max()), 1000);
  EXPECT_THAT(
      EffectivePageSize(-1),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  EXPECT_THAT(
      EffectivePageSize(std::numeric_limits<int32_t>::min()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
  EXPECT_THAT(
      EffectivePageSize(-3, "max_results"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_results")));
}

PartialDate Request(int year) {
  PartialDate request;
  request.set_year(year);
  request.set_month(4);
  return request;
}

TEST(PageTokenTest, RoundTrip) {
  const PartialDate request = Request(2009);
  for (const std::string& key :
       {std::string("k"), std::string("orgs/\0\x01\xff", 9),
        std::string(300, '\xab')}) {
    SCOPED_TRACE(absl::CEscape(key));
    const std::string token = EncodePageToken(request, key);
    EXPECT_FALSE(token.empty());
    // Opaque and URL-safe.
    EXPECT_EQ(token.find_first_of("+/= \n"), std::string::npos) << token;
    absl::StatusOr<std::string> decoded = DecodePageToken(token, request);
    ASSERT_THAT(decoded, IsOk());
    EXPECT_EQ(*decoded, key);
    // Same request content, different object.
    EXPECT_THAT(DecodePageToken(token, Request(2009)), IsOkAndHolds(key));
  }
}

TEST(PageTokenTest, RoundTripWithWellKnownType) {
  google::protobuf::Timestamp request;
  request.set_seconds(1234567890);
  const std::string token = EncodePageToken(request, "last");
  EXPECT_THAT(DecodePageToken(token, request),
              IsOkAndHolds(std::string("last")));
  // An empty request is a request too.
  const google::protobuf::Timestamp empty;
  EXPECT_THAT(DecodePageToken(EncodePageToken(empty, "x"), empty),
              IsOkAndHolds(std::string("x")));
  EXPECT_THAT(
      DecodePageToken(token, empty),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

TEST(PageTokenTest, RejectsGarbage) {
  const PartialDate request = Request(2009);
  // Valid base64 of bytes that are not a serialized PageToken: a zero tag is
  // never valid protobuf, nor is a truncated length-delimited field.
  const std::string not_a_message_1 =
      absl::WebSafeBase64Escape(std::string("\x00\x01\x02\x03", 4));
  const std::string not_a_message_2 =
      absl::WebSafeBase64Escape(std::string("\x12\x7f\x01\x02", 4));
  const std::string not_a_message_3 =
      absl::WebSafeBase64Escape("\x8c\x3e\x91\xd7\x05\xee\x42\x9a\x1b");
  for (const std::string& token :
       {std::string("!!!"), std::string("abc"), std::string("a"),
        not_a_message_1, not_a_message_2, not_a_message_3}) {
    SCOPED_TRACE(token);
    EXPECT_THAT(
        DecodePageToken(token, request),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  }
}

TEST(PageTokenTest, RejectsTokenOfAnotherRequest) {
  const std::string token = EncodePageToken(Request(2009), "k");
  ASSERT_THAT(DecodePageToken(token, Request(2009)), IsOk());
  EXPECT_THAT(
      DecodePageToken(token, Request(2010)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  PartialDate other_flag = Request(2009);
  other_flag.set_approximate(true);
  EXPECT_THAT(
      DecodePageToken(token, other_flag),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

TEST(PageTokenTest, RejectsEmptyLastKey) {
  const PartialDate request = Request(2009);
  EXPECT_THAT(
      DecodePageToken(EncodePageToken(request, ""), request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
  // Nor is the empty token a token.
  EXPECT_THAT(
      DecodePageToken("", request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

TEST(PageTokenTest, RejectsTamperedToken) {
  const PartialDate request = Request(2009);
  std::string token = EncodePageToken(request, "key");
  std::string bytes;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &bytes));
  // Flip a bit of the fingerprint (the first field's payload).
  ASSERT_GT(bytes.size(), 3u);
  bytes[2] = static_cast<char>(bytes[2] ^ 0x01);
  EXPECT_THAT(
      DecodePageToken(absl::WebSafeBase64Escape(bytes), request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_token")));
}

}  // namespace
}  // namespace presence
