#ifndef PRESENCE_SERVICES_COMMON_CALL_CONTEXT_H_
#define PRESENCE_SERVICES_COMMON_CALL_CONTEXT_H_

#include <string>

#include "absl/time/time.h"

namespace presence {

// What the domain layer knows about the request it serves: plain values the
// gRPC handler extracts (no gRPC types below the handler).
struct CallContext {
  // Who is calling, recorded with every mutation ("anonymous" without
  // authentication).
  std::string principal = "anonymous";
  // Calls made on behalf of this request must not outlive it.
  absl::Time deadline = absl::InfiniteFuture();
  // Correlates log lines across services; propagated to the registry.
  std::string request_id;
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_CALL_CONTEXT_H_
