#ifndef PRESENCE_SERVICES_COMMON_SERVER_AUTH_H_
#define PRESENCE_SERVICES_COMMON_SERVER_AUTH_H_

// Bearer-token authentication and role-based authorization, shared by both
// services.
//
// Tokens file (--tokens_file): one entry per line, "#" starts a comment:
//   <principal> <role> <token>
// with role reader, editor or admin and a token of at least 16 characters.
// Only the SHA-256 of each token is kept in memory; a presented token is
// hashed and compared with every entry in constant time (CRYPTO_memcmp).
// Tokens never appear in logs or errors (line numbers do).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace presence {

enum class Role { kReader = 0, kEditor = 1, kAdmin = 2 };
const char* RoleName(Role role);

struct Principal {
  std::string name;
  Role role;
};

// Thread-safe.
class TokenStore {
 public:
  // Reads `path`; INVALID_ARGUMENT naming the line on a malformed entry.
  static absl::StatusOr<std::shared_ptr<TokenStore>> Load(const std::string& path);

  // Re-reads the file (SIGHUP). On error the previous tokens stay in force
  // and the error is returned.
  absl::Status Reload();

  // The principal holding `token`, or nullopt.
  std::optional<Principal> Authenticate(absl::string_view token) const;

  size_t size() const;

 private:
  struct Entry {
    std::string digest;  // SHA-256 of the token, 32 bytes.
    Principal principal;
  };
  explicit TokenStore(std::string path) : path_(std::move(path)) {}
  static absl::StatusOr<std::vector<Entry>> Read(const std::string& path);

  const std::string path_;
  mutable absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

enum class Access { kRead, kWrite };

// Who may do what:
//  - with a tokens file: a bad token is UNAUTHENTICATED; no token may read
//    (unless require_auth_for_reads) but not write (UNAUTHENTICATED); a
//    reader token may read, editor and admin tokens may also write
//    (PERMISSION_DENIED otherwise);
//  - without one: everyone may read; writes are allowed only when every
//    listener is on a loopback address (principal "anonymous"), and refused
//    with PERMISSION_DENIED otherwise.
struct AuthPolicy {
  std::shared_ptr<TokenStore> tokens;  // Null: no tokens file.
  bool require_auth_for_reads = false;
  bool loopback_only = true;
};

// What the caller presented, as seen by the RPC observer.
struct Credentials {
  bool presented = false;             // An authorization header was sent.
  std::optional<Principal> principal;  // Set if the token is valid.
};

// Returns the principal name to record, or the status to fail with.
absl::StatusOr<std::string> Authorize(const AuthPolicy& policy,
                                      const Credentials& credentials,
                                      Access access);

// The token of an "authorization: Bearer <token>" header value; empty if it
// is not of that form.
absl::string_view BearerToken(absl::string_view header);

// True if `listen_address` ("host:port") is on a loopback interface.
bool IsLoopbackAddress(absl::string_view listen_address);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_AUTH_H_
