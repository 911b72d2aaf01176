#include "services/common/error_details.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "google/protobuf/duration.pb.h"
#include "google/rpc/error_details.pb.h"
#include "services/common/echo.h"
#include "services/common/error_reasons.h"

namespace presence {
namespace {

// The bound of a description in a detail (descriptions repeat messages,
// whose echoed values are bounded already; this is the last resort, as the
// 1 KiB bound of status messages is).
constexpr size_t kMaxDescriptionBytes = 1024;

using ::google::rpc::BadRequest;
using ::google::rpc::ErrorInfo;
using ::google::rpc::PreconditionFailure;
using ::google::rpc::ResourceInfo;
using ::google::rpc::RetryInfo;

template <typename T>
std::string UrlOf() {
  return TypeUrlOf(T::descriptor()->full_name());
}

// Reads the detail of type T on `status` (empty if none), lets `edit`
// change it and stores it back.
template <typename T, typename Edit>
void EditDetail(absl::Status* status, Edit edit) {
  if (status->ok()) return;
  T detail = GetErrorDetail<T>(*status).value_or(T());
  edit(&detail);
  status->SetPayload(UrlOf<T>(), absl::Cord(detail.SerializeAsString()));
}

bool IsPathChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' ||
         c == '.' || c == '[' || c == ']';
}

}  // namespace

ErrorBuilder& ErrorBuilder::Reason(absl::string_view reason) {
  EditDetail<ErrorInfo>(&status_, [&](ErrorInfo* info) {
    info->set_reason(std::string(reason));
  });
  return *this;
}

ErrorBuilder& ErrorBuilder::Domain(absl::string_view domain) {
  EditDetail<ErrorInfo>(&status_, [&](ErrorInfo* info) {
    info->set_domain(std::string(domain));
  });
  return *this;
}

ErrorBuilder& ErrorBuilder::Meta(absl::string_view key, absl::string_view value) {
  EditDetail<ErrorInfo>(&status_, [&](ErrorInfo* info) {
    (*info->mutable_metadata())[std::string(key)] = Echo(value);
  });
  return *this;
}

ErrorBuilder& ErrorBuilder::FieldViolation(absl::string_view field,
                                           absl::string_view description) {
  EditDetail<BadRequest>(&status_, [&](BadRequest* bad) {
    BadRequest::FieldViolation* v = bad->add_field_violations();
    v->set_field(std::string(field));
    v->set_description(BoundText(description, kMaxDescriptionBytes));
  });
  return *this;
}

ErrorBuilder& ErrorBuilder::Resource(absl::string_view type, absl::string_view name,
                                     absl::string_view description) {
  EditDetail<ResourceInfo>(&status_, [&](ResourceInfo* info) {
    info->set_resource_type(std::string(type));
    info->set_resource_name(Echo(name));
    info->set_description(BoundText(description, kMaxDescriptionBytes));
  });
  return *this;
}

ErrorBuilder& ErrorBuilder::Precondition(absl::string_view type,
                                         absl::string_view subject,
                                         absl::string_view description) {
  EditDetail<PreconditionFailure>(&status_, [&](PreconditionFailure* failure) {
    PreconditionFailure::Violation* v = failure->add_violations();
    v->set_type(std::string(type));
    v->set_subject(Echo(subject));
    v->set_description(BoundText(description, kMaxDescriptionBytes));
  });
  return *this;
}

ErrorBuilder& ErrorBuilder::RetryAfter(absl::Duration delay) {
  EditDetail<RetryInfo>(&status_, [&](RetryInfo* info) {
    const int64_t nanos = absl::ToInt64Nanoseconds(delay);
    info->mutable_retry_delay()->set_seconds(nanos / 1000000000);
    info->mutable_retry_delay()->set_nanos(static_cast<int32_t>(nanos % 1000000000));
  });
  return *this;
}

absl::Status FieldRequiredError(absl::string_view field, absl::string_view detail) {
  return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(field, ": is required", detail)))
      .Reason(kFieldRequired)
      .Meta("field", field)
      .FieldViolation(field, absl::StrCat("is required", detail));
}

std::string ErrorReason(const absl::Status& status) {
  std::optional<ErrorInfo> info = GetErrorDetail<ErrorInfo>(status);
  return info ? info->reason() : std::string();
}

absl::Status PrefixFieldPath(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(prefix, status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  if (GetErrorDetail<BadRequest>(status)) {
    EditDetail<BadRequest>(&out, [&](BadRequest* bad) {
      for (BadRequest::FieldViolation& v : *bad->mutable_field_violations()) {
        v.set_field(absl::StrCat(prefix, v.field()));
      }
    });
  }
  return out;
}

absl::string_view FieldPathOfMessage(absl::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == absl::string_view::npos || colon == 0) return {};
  const absl::string_view path = message.substr(0, colon);
  if (!absl::ascii_isalpha(static_cast<unsigned char>(path[0]))) return {};
  for (char c : path) {
    if (!IsPathChar(c)) return {};
  }
  return path;
}

absl::string_view DefaultReason(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
      return kInvalidField;
    case absl::StatusCode::kDataLoss:
      return kDataCorrupted;
    case absl::StatusCode::kUnavailable:
      return kServiceUnavailable;
    case absl::StatusCode::kDeadlineExceeded:
      return kDeadlineExceeded;
    case absl::StatusCode::kCancelled:
      return kCancelled;
    case absl::StatusCode::kUnknown:
      return kUnknownError;
    default:
      return kInternalError;
  }
}

absl::Status CompleteErrorDetails(absl::Status status, absl::string_view domain) {
  if (status.ok()) return status;
  const std::optional<ErrorInfo> info = GetErrorDetail<ErrorInfo>(status);
  ErrorBuilder builder(std::move(status));
  if (!info || info->reason().empty()) {
    builder.Reason(DefaultReason(builder.status().code()));
  }
  if (!info || info->domain().empty()) builder.Domain(domain);
  status = std::move(builder).status();
  if (status.code() == absl::StatusCode::kInvalidArgument &&
      !GetErrorDetail<BadRequest>(status)) {
    const std::string message(status.message());
    const std::string field(FieldPathOfMessage(message));
    const std::string description =
        field.empty() ? message : message.substr(field.size() + 2);
    status = ErrorBuilder(std::move(status)).FieldViolation(field, description);
  }
  if ((status.code() == absl::StatusCode::kUnavailable ||
       status.code() == absl::StatusCode::kResourceExhausted) &&
      !GetErrorDetail<RetryInfo>(status)) {
    status = ErrorBuilder(std::move(status)).RetryAfter(absl::Seconds(1));
  }
  return status;
}

}  // namespace presence
