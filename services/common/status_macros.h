#ifndef PRESENCE_SERVICES_COMMON_STATUS_MACROS_H_
#define PRESENCE_SERVICES_COMMON_STATUS_MACROS_H_

// Early-return helpers for absl::Status and absl::StatusOr, as in
// google-cloud-cpp and Abseil's internal status macros (not exported by the
// abseil release in Debian 12).

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PRESENCE_RETURN_IF_ERROR(expr)        \
  do {                                        \
    if (absl::Status _presence_status = (expr); \
        !_presence_status.ok()) {             \
      return _presence_status;                \
    }                                         \
  } while (0)

#define PRESENCE_STATUS_CONCAT_INNER(a, b) a##b
#define PRESENCE_STATUS_CONCAT(a, b) PRESENCE_STATUS_CONCAT_INNER(a, b)
#define PRESENCE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = *std::move(tmp)

// `lhs = *expr` if `expr` (an absl::StatusOr) is OK, else returns its status.
#define PRESENCE_ASSIGN_OR_RETURN(lhs, expr)                                  \
  PRESENCE_ASSIGN_OR_RETURN_IMPL(                                             \
      PRESENCE_STATUS_CONCAT(_presence_statusor_, __LINE__), lhs, expr)

#endif  // PRESENCE_SERVICES_COMMON_STATUS_MACROS_H_
