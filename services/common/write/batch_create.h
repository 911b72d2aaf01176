#ifndef PRESENCE_SERVICES_COMMON_WRITE_BATCH_CREATE_H_
#define PRESENCE_SERVICES_COMMON_WRITE_BATCH_CREATE_H_

// The envelope of a create and of an AIP-233 batch create, the same for
// every resource: the id and request id of a create, the count limits of a
// batch, distinct ids, and errors of creation i prefixed with
// "requests[i].". What validate_only means is the same everywhere too:
// every check runs (against the store as well) and nothing is written.

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace presence {

// The most creations one batch may hold.
inline constexpr int kMaxBatchCreate = 1000;

// The fields every create request has: `id_field` (e.g. "organization_id")
// holding `id`, and whether the resource (`resource_field`) is set.
struct CreateEnvelope {
  absl::string_view id_field;
  absl::string_view id;
  absl::string_view resource_field;
  bool has_resource = false;
  absl::string_view request_id;
};

// INVALID_ARGUMENT naming the field unless `id` is a valid resource id, the
// resource is set and the request id is empty or a UUID.
absl::Status CheckCreateEnvelope(const CreateEnvelope& create);

// `status` with "requests[i]." before its message and its field violations
// paths (same code, details kept: PrefixFieldPath).
absl::Status InRequest(int i, const absl::Status& status);

// Checks a batch of `n` creations: 1..kMaxBatchCreate of them, each
// envelope valid (`envelope(i)`), no id twice; then runs `validate(i)` on
// each in order. The first error, prefixed with its "requests[i].", is
// returned. (Request ids of the individual creations are not used: a batch
// is retried as a whole.)
absl::Status CheckBatchCreate(int n,
                              const std::function<CreateEnvelope(int)>& envelope,
                              const std::function<absl::Status(int)>& validate);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_WRITE_BATCH_CREATE_H_
