#ifndef PRESENCE_SERVICES_COMMON_PAGE_TOKEN_H_
#define PRESENCE_SERVICES_COMMON_PAGE_TOKEN_H_

// Opaque AIP-158 page tokens and page sizes, shared by every List method.
//
// A token records the key after which the next page starts, the method that
// issued it (by its request type) and a fingerprint of the request that
// produced it (the request with page_size and page_token cleared), so that a
// token is accepted only by the method and parameters it was issued for. Resuming a key-ordered scan strictly after the last returned key
// never returns an item twice and never skips an item that existed unchanged
// throughout the iteration, whatever is written in between.

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace presence {

inline constexpr int32_t kDefaultPageSize = 50;
inline constexpr int32_t kMaxPageSize = 1000;

// Returns the effective page size: default for 0, coerced to kMaxPageSize
// above it; INVALID_ARGUMENT naming `field` for negative values.
absl::StatusOr<int32_t> EffectivePageSize(int32_t requested,
                                          absl::string_view field = "page_size");

// Encodes a token resuming after `last_key` for `request`. `request` must
// have its page_size and page_token fields cleared by the caller (see
// RequestFingerprint).
std::string EncodePageToken(const google::protobuf::Message& request_without_paging,
                            absl::string_view last_key);

// Decodes `token` for `request_without_paging`; returns the key to resume
// after. INVALID_ARGUMENT naming page_token if the token is not one this
// service issued, was issued by another method (another request type) or for
// a request with other fields.
absl::StatusOr<std::string> DecodePageToken(
    absl::string_view token,
    const google::protobuf::Message& request_without_paging);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_PAGE_TOKEN_H_
