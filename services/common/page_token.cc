#include "services/common/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/echo.h"
#include "services/common/page_token.pb.h"

namespace presence {
namespace {

std::string Fingerprint(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

}  // namespace

absl::StatusOr<int32_t> EffectivePageSize(int32_t requested,
                                          absl::string_view field) {
  if (requested < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", requested, " is negative"));
  }
  if (requested == 0) return kDefaultPageSize;
  return requested > kMaxPageSize ? kMaxPageSize : requested;
}

std::string EncodePageToken(const google::protobuf::Message& request_without_paging,
                            absl::string_view last_key) {
  common::internal::PageToken token;
  token.set_request_type(request_without_paging.GetDescriptor()->full_name());
  token.set_request_fingerprint(Fingerprint(request_without_paging));
  token.set_last_key(std::string(last_key));
  return absl::WebSafeBase64Escape(token.SerializeAsString());
}

absl::StatusOr<std::string> DecodePageToken(
    absl::string_view token,
    const google::protobuf::Message& request_without_paging) {
  std::string bytes;
  common::internal::PageToken decoded;
  if (!absl::WebSafeBase64Unescape(token, &bytes) ||
      !decoded.ParseFromString(bytes) || decoded.last_key().empty()) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
               "page_token: ", QuotedEcho(token),
               " is not a page token issued by this method")))
        .Reason(kInvalidPageToken);
  }
  if (decoded.request_type() != request_without_paging.GetDescriptor()->full_name()) {
    // Bound: the type name comes from the token, i.e. from the caller.
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
               "page_token: was issued for ", QuotedEcho(decoded.request_type()),
               ", not for ", request_without_paging.GetDescriptor()->full_name(),
               "; a page token is valid only for the method that returned it")))
        .Reason(kInvalidPageToken);
  }
  if (decoded.request_fingerprint() != Fingerprint(request_without_paging)) {
    return ErrorBuilder(absl::InvalidArgumentError(
               "page_token: was issued for a request with other parameters; "
               "repeat every field but page_size unchanged, or start over "
               "without page_token"))
        .Reason(kInvalidPageToken);
  }
  return std::string(decoded.last_key());
}

}  // namespace presence
