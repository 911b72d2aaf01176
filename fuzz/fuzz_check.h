#ifndef PRESENCE_FUZZ_FUZZ_CHECK_H_
#define PRESENCE_FUZZ_FUZZ_CHECK_H_

// Invariant checks for the fuzz targets: a violated invariant aborts with a
// message, which libFuzzer reports as a crash (with the input saved).

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace presence::fuzz {

[[noreturn]] inline void Fail(absl::string_view what, absl::string_view detail = "") {
  std::fprintf(stderr, "invariant violated: %.*s %.*s\n", static_cast<int>(what.size()),
               what.data(), static_cast<int>(detail.size()), detail.data());
  std::abort();
}

#define PRESENCE_FUZZ_CHECK(condition, detail)                              \
  do {                                                                      \
    if (!(condition)) ::presence::fuzz::Fail(#condition, (detail));         \
  } while (0)

// Every error a service returns must be bounded (services/common/echo.h and
// the 1 KiB bound at the gRPC boundary): a domain message over this is a
// value echoed unbounded.
inline constexpr size_t kMaxMessageBytes = 1024;

inline void CheckBounded(const absl::Status& status) {
  PRESENCE_FUZZ_CHECK(status.message().size() <= kMaxMessageBytes,
                      std::string(status.message().substr(0, 300)));
}

}  // namespace presence::fuzz

#endif  // PRESENCE_FUZZ_FUZZ_CHECK_H_
