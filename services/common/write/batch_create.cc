#include "services/common/write/batch_create.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/resource_name.h"
#include "services/common/standard_errors.h"
#include "services/common/status_macros.h"

namespace presence {

absl::Status CheckCreateEnvelope(const CreateEnvelope& create) {
  PRESENCE_RETURN_IF_ERROR(ValidateResourceId(create.id, create.id_field));
  if (!create.has_resource) return FieldRequiredError(create.resource_field);
  return ValidateRequestId(create.request_id);
}

absl::Status InRequest(int i, const absl::Status& status) {
  return PrefixFieldPath(status, absl::StrCat("requests[", i, "]."));
}

absl::Status CheckBatchCreate(int n,
                              const std::function<CreateEnvelope(int)>& envelope,
                              const std::function<absl::Status(int)>& validate) {
  if (n == 0) {
    return ErrorBuilder(absl::InvalidArgumentError("requests: at least one is required"))
        .Reason(kFieldRequired)
        .Meta("field", "requests");
  }
  if (n > kMaxBatchCreate) {
    return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
               "requests: ", n, " creations, at most ", kMaxBatchCreate, " allowed")))
        .Reason(kLimitExceeded)
        .Meta("field", "requests")
        .Meta("limit", absl::StrCat(kMaxBatchCreate));
  }
  std::set<std::string, std::less<>> ids;
  for (int i = 0; i < n; ++i) {
    CreateEnvelope create = envelope(i);
    create.request_id = "";
    PRESENCE_RETURN_IF_ERROR(InRequest(i, CheckCreateEnvelope(create)));
    if (!ids.emplace(create.id).second) {
      return InRequest(i, DuplicateEntryError(
                              create.id_field,
                              absl::StrCat(create.id_field, ": \"", create.id,
                                           "\" is created twice in this request")));
    }
    PRESENCE_RETURN_IF_ERROR(InRequest(i, validate(i)));
  }
  return absl::OkStatus();
}

}  // namespace presence
