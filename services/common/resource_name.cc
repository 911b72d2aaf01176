#include "services/common/resource_name.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/echo.h"

namespace presence {
namespace {
constexpr char kIdPattern[] = "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$";
}  // namespace

bool IsValidResourceId(absl::string_view id) {
  if (id.empty() || id.size() > 63) return false;
  if (!absl::ascii_islower(static_cast<unsigned char>(id.front()))) return false;
  const unsigned char last = static_cast<unsigned char>(id.back());
  if (!absl::ascii_islower(last) && !absl::ascii_isdigit(last)) return false;
  for (char c : id) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (!absl::ascii_islower(u) && !absl::ascii_isdigit(u) && c != '-') {
      return false;
    }
  }
  return true;
}

std::string ResourceName(absl::string_view collection, absl::string_view id) {
  return absl::StrCat(collection, "/", id);
}

absl::StatusOr<std::string> ParseResourceName(absl::string_view name,
                                              absl::string_view collection,
                                              absl::string_view field) {
  if (name.empty()) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
                            field, ": is required (", collection, "/{id})")))
        .Reason(kFieldRequired)
        .Meta("field", field);
  }
  absl::string_view id = name;
  if (!absl::ConsumePrefix(&id, collection) || !absl::ConsumePrefix(&id, "/") ||
      !IsValidResourceId(id)) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
               field, ": ", QuotedEcho(name), " is not a ", collection, " name (",
               collection, "/{id}, id matching ", kIdPattern, ")")))
        .Reason(kInvalidName)
        .Meta("field", field);
  }
  return std::string(id);
}

absl::Status ValidateResourceId(absl::string_view id, absl::string_view field) {
  if (id.empty()) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(field, ": is required")))
        .Reason(kFieldRequired)
        .Meta("field", field);
  }
  if (!IsValidResourceId(id)) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
                            field, ": ", QuotedEcho(id), " does not match ", kIdPattern)))
        .Reason(kInvalidName)
        .Meta("field", field);
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestId(absl::string_view request_id) {
  if (request_id.empty()) return absl::OkStatus();
  bool ok = request_id.size() == 36;
  for (size_t i = 0; ok && i < request_id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash ? request_id[i] == '-'
              : absl::ascii_isxdigit(static_cast<unsigned char>(request_id[i]));
  }
  if (!ok) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
               "request_id: ", QuotedEcho(request_id),
               " is not a UUID (e.g. 123e4567-e89b-42d3-a456-426614174000)")))
        .Reason(kInvalidRequestId);
  }
  return absl::OkStatus();
}

}  // namespace presence
