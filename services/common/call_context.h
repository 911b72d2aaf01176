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
  // The caller's W3C trace context (traceparent, and tracestate if any), if
  // it sent a valid one: logged, and passed on unchanged to the registry
  // (presence takes part in no tracing system of its own, so it forwards
  // the context as W3C Trace Context asks of such a participant).
  std::string traceparent;
  std::string tracestate;
};

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_CALL_CONTEXT_H_
