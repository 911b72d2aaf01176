#ifndef PRESENCE_TESTS_TESTING_STATUS_MATCHERS_H_
#define PRESENCE_TESTS_TESTING_STATUS_MATCHERS_H_

// StatusIs(code, message_matcher) and IsOk() for absl::Status,
// absl::StatusOr<T> and grpc::Status, as in google-cloud-cpp's testing
// utilities.

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "grpcpp/support/status.h"

namespace presence::testing {

inline absl::Status ToAbsl(const absl::Status& s) { return s; }
template <typename T>
absl::Status ToAbsl(const absl::StatusOr<T>& s) {
  return s.status();
}
inline absl::Status ToAbsl(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code) +
               " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  const absl::Status status = ::presence::testing::ToAbsl(arg);
  *result_listener << "whose status is " << status;
  return status.code() == code &&
         ::testing::Matches(::testing::Matcher<std::string>(message_matcher))(
             std::string(status.message()));
}

MATCHER_P(StatusIs, code,
          "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status status = ::presence::testing::ToAbsl(arg);
  *result_listener << "whose status is " << status;
  return status.code() == code;
}

MATCHER(IsOk, "is OK") {
  const absl::Status status = ::presence::testing::ToAbsl(arg);
  *result_listener << "whose status is " << status;
  return status.ok();
}

}  // namespace presence::testing

namespace grpc {
// Readable failure messages for grpc::Status values.
inline void PrintTo(const Status& status, std::ostream* os) {
  *os << "grpc::Status(" << status.error_code() << ", \""
      << status.error_message() << "\")";
}
}  // namespace grpc

#endif  // PRESENCE_TESTS_TESTING_STATUS_MATCHERS_H_
