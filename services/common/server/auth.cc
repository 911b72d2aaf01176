#include "services/common/server/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"

namespace presence {
namespace {

constexpr size_t kMinTokenLength = 16;

std::string Sha256(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kReader:
      return "reader";
    case Role::kEditor:
      return "editor";
    default:
      return "admin";
  }
}

absl::StatusOr<std::vector<TokenStore::Entry>> TokenStore::Read(
    const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("tokens file ", path, " cannot be read"));
  std::vector<Entry> entries;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text.front() == '#') continue;
    std::vector<absl::string_view> parts = absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const std::string where = absl::StrCat(path, ":", number);
    if (parts.size() != 3) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": expected \"<principal> <role> <token>\""));
    }
    Role role;
    if (parts[1] == "reader") {
      role = Role::kReader;
    } else if (parts[1] == "editor") {
      role = Role::kEditor;
    } else if (parts[1] == "admin") {
      role = Role::kAdmin;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": role \"", parts[1], "\" is not reader, editor or admin"));
    }
    if (parts[2].size() < kMinTokenLength) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": the token is shorter than ", kMinTokenLength, " characters"));
    }
    entries.push_back({Sha256(parts[2]), {std::string(parts[0]), role}});
  }
  return entries;
}

absl::StatusOr<std::shared_ptr<TokenStore>> TokenStore::Load(const std::string& path) {
  std::shared_ptr<TokenStore> store(new TokenStore(path));
  if (absl::Status s = store->Reload(); !s.ok()) return s;
  return store;
}

absl::Status TokenStore::Reload() {
  absl::StatusOr<std::vector<Entry>> entries = Read(path_);
  if (!entries.ok()) return entries.status();
  absl::MutexLock lock(&mu_);
  entries_ = *std::move(entries);
  return absl::OkStatus();
}

std::optional<Principal> TokenStore::Authenticate(absl::string_view token) const {
  const std::string digest = Sha256(token);
  std::optional<Principal> found;
  absl::MutexLock lock(&mu_);
  // Compare with every entry, in constant time each, so that timing reveals
  // neither which entry matched nor how much of a digest did.
  for (const Entry& entry : entries_) {
    if (CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0) {
      found = entry.principal;
    }
  }
  return found;
}

size_t TokenStore::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

absl::StatusOr<std::string> Authorize(const AuthPolicy& policy,
                                      const Credentials& credentials,
                                      Access access) {
  if (policy.tokens == nullptr) {
    if (access == Access::kRead) return std::string("anonymous");
    if (policy.loopback_only) return std::string("anonymous");
    return ErrorBuilder(absl::PermissionDeniedError(
               "writes are disabled: this server has no tokens file and "
               "listens beyond loopback"))
        .Reason(kWritesDisabled);
  }
  if (credentials.presented && !credentials.principal) {
    return ErrorBuilder(absl::UnauthenticatedError("the bearer token is not valid"))
        .Reason(kTokenInvalid);
  }
  if (!credentials.principal) {
    if (access == Access::kRead && !policy.require_auth_for_reads) {
      return std::string("anonymous");
    }
    return ErrorBuilder(absl::UnauthenticatedError(absl::StrCat(
               access == Access::kWrite ? "writes" : "reads",
               " need an \"authorization: Bearer <token>\" header")))
        .Reason(kTokenRequired);
  }
  const Principal& principal = *credentials.principal;
  if (access == Access::kWrite && principal.role == Role::kReader) {
    return ErrorBuilder(absl::PermissionDeniedError(absl::StrCat(
               "principal ", principal.name, " has role reader and may not write")))
        .Reason(kRoleInsufficient)
        .Meta("principal", principal.name)
        .Meta("role", "reader");
  }
  return principal.name;
}

absl::string_view BearerToken(absl::string_view header) {
  absl::string_view value = absl::StripAsciiWhitespace(header);
  if (value.size() < 7 || !absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
    return {};
  }
  return absl::StripAsciiWhitespace(value.substr(7));
}

bool IsLoopbackAddress(absl::string_view listen_address) {
  absl::string_view host = listen_address;
  const size_t colon = host.rfind(':');
  if (colon != absl::string_view::npos) host = host.substr(0, colon);
  absl::ConsumePrefix(&host, "[");
  absl::ConsumeSuffix(&host, "]");
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

}  // namespace presence
