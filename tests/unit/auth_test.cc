// Tokens and the authorization rules.

#include "services/common/server/auth.h"

#include <fstream>

#include "absl/strings/str_cat.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace presence {
namespace {

using ::presence::testing::IsOk;
using ::presence::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kReaderToken[] = "reader-token-0123456789";
constexpr char kEditorToken[] = "editor-token-0123456789";
constexpr char kAdminToken[] = "admin-token-01234567890";

class TokenStoreTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    const std::string path = dir_.Sub("tokens");
    std::ofstream(path, std::ios::trunc) << text;
    return path;
  }
  testing::TempDir dir_;
};

TEST_F(TokenStoreTest, AuthenticatesByTokenAndKnowsRoles) {
  auto store = TokenStore::Load(Write(absl::StrCat(
      "# principal role token\n", "ops reader ", kReaderToken, "\n\n",
      "  timeline editor ", kEditorToken, "  \n", "root admin\t", kAdminToken, "\n")));
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ((*store)->size(), 3u);
  auto reader = (*store)->Authenticate(kReaderToken);
  ASSERT_TRUE(reader.has_value());
  EXPECT_EQ(reader->name, "ops");
  EXPECT_EQ(reader->role, Role::kReader);
  EXPECT_EQ((*store)->Authenticate(kEditorToken)->role, Role::kEditor);
  EXPECT_EQ((*store)->Authenticate(kAdminToken)->name, "root");
  EXPECT_FALSE((*store)->Authenticate("editor-token-012345678").has_value());
  EXPECT_FALSE((*store)->Authenticate("").has_value());
}

TEST_F(TokenStoreTest, RejectsMalformedFilesWithoutShowingTokens) {
  EXPECT_THAT(TokenStore::Load(Write("ops reader\n")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tokens:1")));
  auto bad_role = TokenStore::Load(Write(absl::StrCat("# c\nops owner ", kReaderToken, "\n")));
  EXPECT_THAT(bad_role, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tokens:2")));
  EXPECT_THAT(bad_role.status().message(), Not(HasSubstr(kReaderToken)));
  auto short_token = TokenStore::Load(Write("ops reader short-secret\n"));
  EXPECT_THAT(short_token, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shorter")));
  EXPECT_THAT(short_token.status().message(), Not(HasSubstr("short-secret")));
  EXPECT_THAT(TokenStore::Load(dir_.Sub("missing")), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(TokenStoreTest, ReloadReplacesTokensAndKeepsThemOnError) {
  const std::string path = Write(absl::StrCat("ops reader ", kReaderToken, "\n"));
  auto store = TokenStore::Load(path);
  ASSERT_THAT(store, IsOk());
  Write(absl::StrCat("ops editor ", kEditorToken, "\n"));
  ASSERT_THAT((*store)->Reload(), IsOk());
  EXPECT_FALSE((*store)->Authenticate(kReaderToken).has_value());
  EXPECT_TRUE((*store)->Authenticate(kEditorToken).has_value());
  Write("garbage\n");
  EXPECT_THAT((*store)->Reload(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE((*store)->Authenticate(kEditorToken).has_value()) << "kept on error";
}

TEST(AuthorizeTest, Matrix) {
  testing::TempDir dir;
  const std::string path = dir.Sub("tokens");
  std::ofstream(path) << "r reader " << kReaderToken << "\ne editor " << kEditorToken
                      << "\na admin " << kAdminToken << "\n";
  auto tokens = TokenStore::Load(path);
  ASSERT_THAT(tokens, IsOk());

  const auto creds = [&](const char* token) {
    Credentials c;
    if (token != nullptr) {
      c.presented = true;
      c.principal = (*tokens)->Authenticate(token);
    }
    return c;
  };
  struct Case {
    bool with_tokens;
    bool reads_need_auth;
    bool loopback;
    const char* token;  // nullptr: none presented.
    Access access;
    absl::StatusCode code;
    std::string principal;
  };
  const std::vector<Case> cases = {
      // With a tokens file.
      {true, false, true, nullptr, Access::kRead, absl::StatusCode::kOk, "anonymous"},
      {true, false, true, nullptr, Access::kWrite, absl::StatusCode::kUnauthenticated, ""},
      {true, false, true, "wrong-token-0123456789", Access::kRead, absl::StatusCode::kUnauthenticated, ""},
      {true, false, true, "wrong-token-0123456789", Access::kWrite, absl::StatusCode::kUnauthenticated, ""},
      {true, false, true, kReaderToken, Access::kRead, absl::StatusCode::kOk, "r"},
      {true, false, true, kReaderToken, Access::kWrite, absl::StatusCode::kPermissionDenied, ""},
      {true, false, true, kEditorToken, Access::kWrite, absl::StatusCode::kOk, "e"},
      {true, false, false, kAdminToken, Access::kWrite, absl::StatusCode::kOk, "a"},
      {true, true, true, nullptr, Access::kRead, absl::StatusCode::kUnauthenticated, ""},
      {true, true, true, kReaderToken, Access::kRead, absl::StatusCode::kOk, "r"},
      // Without one.
      {false, false, true, nullptr, Access::kWrite, absl::StatusCode::kOk, "anonymous"},
      {false, false, false, nullptr, Access::kWrite, absl::StatusCode::kPermissionDenied, ""},
      {false, false, false, nullptr, Access::kRead, absl::StatusCode::kOk, "anonymous"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(i);
    AuthPolicy policy;
    if (c.with_tokens) policy.tokens = *tokens;
    policy.require_auth_for_reads = c.reads_need_auth;
    policy.loopback_only = c.loopback;
    absl::StatusOr<std::string> result = Authorize(policy, creds(c.token), c.access);
    EXPECT_EQ(result.status().code(), c.code) << result.status();
    if (result.ok()) {
      EXPECT_EQ(*result, c.principal);
    }
    for (const char* token : {kReaderToken, kEditorToken, kAdminToken}) {
      EXPECT_THAT(result.status().message(), Not(HasSubstr(token)));
    }
  }
}

TEST(AuthHelpersTest, BearerAndLoopback) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer   abc "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:1"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:50051"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:50051"));
  EXPECT_FALSE(IsLoopbackAddress("[::]:50051"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.5:50051"));
}

}  // namespace
}  // namespace presence
