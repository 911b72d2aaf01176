// services/common/error_details.h and the gRPC conversion of
// services/common/server/grpc_status.h.

#include "services/common/error_details.h"

#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/support/error_details.h"
#include "gtest/gtest.h"
#include "services/common/error_reasons.h"
#include "services/common/server/grpc_status.h"

namespace presence {
namespace {

using ::google::rpc::BadRequest;
using ::google::rpc::ErrorInfo;
using ::google::rpc::PreconditionFailure;
using ::google::rpc::ResourceInfo;
using ::google::rpc::RetryInfo;
using ::testing::ElementsAre;
using ::testing::Pair;

absl::StatusOr<int> NotFoundInt() {
  return ErrorBuilder(absl::NotFoundError("organizations/x not found"))
      .Reason(kOrganizationNotFound);
}

TEST(ErrorBuilderTest, AttachesEveryDetail) {
  const absl::Status status =
      ErrorBuilder(absl::FailedPreconditionError("organizations/nato is a parent"))
          .Reason(kParentHasLiveChildren)
          .Meta("organization", "organizations/nato")
          .Meta("child", "organizations/kfor")
          .FieldViolation("name", "has live children")
          .FieldViolation("etag", "second")
          .Resource(kOrganizationType, "organizations/nato", "the parent")
          .Precondition("LIVE_CHILDREN", "organizations/kfor", "delete it first")
          .RetryAfter(absl::Milliseconds(1500));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(), "organizations/nato is a parent");
  EXPECT_EQ(ErrorReason(status), "PARENT_HAS_LIVE_CHILDREN");
  const auto info = GetErrorDetail<ErrorInfo>(status);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->domain(), "");
  using Metadata = std::map<std::string, std::string>;
  EXPECT_THAT(Metadata(info->metadata().begin(), info->metadata().end()),
              ElementsAre(Pair("child", "organizations/kfor"),
                          Pair("organization", "organizations/nato")));
  const auto bad = GetErrorDetail<BadRequest>(status);
  ASSERT_TRUE(bad);
  ASSERT_EQ(bad->field_violations_size(), 2);
  EXPECT_EQ(bad->field_violations(1).field(), "etag");
  const auto resource = GetErrorDetail<ResourceInfo>(status);
  ASSERT_TRUE(resource);
  EXPECT_EQ(resource->resource_type(), "registry.presence.dev/Organization");
  EXPECT_EQ(resource->resource_name(), "organizations/nato");
  const auto precondition = GetErrorDetail<PreconditionFailure>(status);
  ASSERT_TRUE(precondition);
  EXPECT_EQ(precondition->violations(0).subject(), "organizations/kfor");
  const auto retry = GetErrorDetail<RetryInfo>(status);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->retry_delay().seconds(), 1);
  EXPECT_EQ(retry->retry_delay().nanos(), 500000000);
}

TEST(ErrorBuilderTest, OkStaysOkAndStatusOrConverts) {
  EXPECT_TRUE(absl::Status(ErrorBuilder(absl::OkStatus()).Reason(kInvalidField)).ok());
  const absl::StatusOr<int> result = NotFoundInt();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(ErrorReason(result.status()), "ORGANIZATION_NOT_FOUND");
}

TEST(ErrorBuilderTest, KeepsDetailsOfTheStatusItStartsFrom) {
  const absl::Status first = ErrorBuilder(absl::AbortedError("x")).Reason(kEtagMismatch);
  const absl::Status second = ErrorBuilder(first).Meta("etag", "\"1\"");
  EXPECT_EQ(ErrorReason(second), "ETAG_MISMATCH");
  EXPECT_EQ(GetErrorDetail<ErrorInfo>(second)->metadata().at("etag"), "\"1\"");
  EXPECT_FALSE(GetErrorDetail<ErrorInfo>(first)->metadata().contains("etag"));
}

TEST(PrefixFieldPathTest, PrefixesMessageAndViolations) {
  const absl::Status inner =
      ErrorBuilder(absl::InvalidArgumentError("organization.kind: 99 is not a kind"))
          .Reason(kInvalidField)
          .FieldViolation("organization.kind", "99 is not a kind");
  const absl::Status outer = PrefixFieldPath(inner, "requests[3].");
  EXPECT_EQ(outer.message(), "requests[3].organization.kind: 99 is not a kind");
  EXPECT_EQ(ErrorReason(outer), "INVALID_FIELD");
  EXPECT_EQ(GetErrorDetail<BadRequest>(outer)->field_violations(0).field(),
            "requests[3].organization.kind");
  // Without violations none are made up (the server derives them).
  EXPECT_FALSE(GetErrorDetail<BadRequest>(
      PrefixFieldPath(absl::InvalidArgumentError("event: is required"), "requests[0].")));
}

TEST(FieldPathOfMessageTest, TakesTheLeadingPath) {
  EXPECT_EQ(FieldPathOfMessage("organization.leaders[2].person: is required"),
            "organization.leaders[2].person");
  EXPECT_EQ(FieldPathOfMessage("name: organizations/x is not valid"), "name");
  EXPECT_EQ(FieldPathOfMessage("cannot parse: x"), "");  // a space: prose
  EXPECT_EQ(FieldPathOfMessage("no colon"), "");
  EXPECT_EQ(FieldPathOfMessage(": empty"), "");
  EXPECT_EQ(FieldPathOfMessage("[0]: x"), "");
}

TEST(CompleteErrorDetailsTest, AddsDefaultReasonDomainAndViolation) {
  const absl::Status status = CompleteErrorDetails(
      absl::InvalidArgumentError("organization.kind: 99 is not a kind"),
      kRegistryDomain);
  const auto info = GetErrorDetail<ErrorInfo>(status);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->reason(), "INVALID_FIELD");
  EXPECT_EQ(info->domain(), "registry.presence.dev");
  const auto bad = GetErrorDetail<BadRequest>(status);
  ASSERT_TRUE(bad);
  ASSERT_EQ(bad->field_violations_size(), 1);
  EXPECT_EQ(bad->field_violations(0).field(), "organization.kind");
  EXPECT_EQ(bad->field_violations(0).description(), "99 is not a kind");
  EXPECT_FALSE(GetErrorDetail<RetryInfo>(status));
}

TEST(CompleteErrorDetailsTest, KeepsWhatTheDomainSet) {
  const absl::Status status = CompleteErrorDetails(
      ErrorBuilder(absl::InvalidArgumentError("event.organizations[0]: gone"))
          .Reason(kUnknownOrganization)
          .Domain("other.example")
          .FieldViolation("event.organizations[0]", "custom"),
      kTimelineDomain);
  EXPECT_EQ(ErrorReason(status), "UNKNOWN_ORGANIZATION");
  EXPECT_EQ(GetErrorDetail<ErrorInfo>(status)->domain(), "other.example");
  EXPECT_EQ(GetErrorDetail<BadRequest>(status)->field_violations(0).description(), "custom");
}

TEST(CompleteErrorDetailsTest, RetryInfoForUnavailableAndExhausted) {
  for (const absl::Status& s : {absl::UnavailableError("down"),
                                absl::ResourceExhaustedError("full")}) {
    const absl::Status done = CompleteErrorDetails(s, kRegistryDomain);
    ASSERT_TRUE(GetErrorDetail<RetryInfo>(done)) << s;
    EXPECT_EQ(GetErrorDetail<RetryInfo>(done)->retry_delay().seconds(), 1);
  }
  EXPECT_EQ(ErrorReason(CompleteErrorDetails(absl::UnavailableError("down"), "d")),
            "SERVICE_UNAVAILABLE");
  EXPECT_EQ(ErrorReason(CompleteErrorDetails(absl::DataLossError("bad"), "d")),
            "DATA_CORRUPTED");
  EXPECT_TRUE(CompleteErrorDetails(absl::OkStatus(), "d").ok());
}

TEST(GrpcStatusTest, DetailsTravelInTheTrailerErrorInfoFirst) {
  const absl::Status status =
      ErrorBuilder(absl::AlreadyExistsError("organization.aliases: \"kfor\" is taken"))
          .RetryAfter(absl::Seconds(2))
          .Resource(kOrganizationType, "organizations/kfor")
          .Reason(kAliasTaken)
          .Domain(kRegistryDomain)
          .Meta("alias", "kfor");
  const grpc::Status wire = ToGrpcStatus(status);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(wire.error_message(), status.message());
  google::rpc::Status proto;
  ASSERT_TRUE(grpc::ExtractErrorDetails(wire, &proto).ok());
  EXPECT_EQ(proto.code(), 6);
  EXPECT_EQ(proto.message(), status.message());
  ASSERT_EQ(proto.details_size(), 3);
  EXPECT_EQ(proto.details(0).type_url(), "type.googleapis.com/google.rpc.ErrorInfo");
  EXPECT_EQ(proto.details(1).type_url(), "type.googleapis.com/google.rpc.ResourceInfo");
  EXPECT_EQ(proto.details(2).type_url(), "type.googleapis.com/google.rpc.RetryInfo");
  ErrorInfo info;
  ASSERT_TRUE(proto.details(0).UnpackTo(&info));
  EXPECT_EQ(info.reason(), "ALIAS_TAKEN");
  EXPECT_EQ(info.domain(), "registry.presence.dev");

  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrorReason(back), "ALIAS_TAKEN");
  EXPECT_EQ(GetErrorDetail<ResourceInfo>(back)->resource_name(), "organizations/kfor");
}

TEST(GrpcStatusTest, PlainStatusesHaveNoTrailerUntilCompleted) {
  EXPECT_TRUE(ToGrpcStatus(absl::NotFoundError("x")).error_details().empty());
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  const grpc::Status done = CompleteGrpcStatus(
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "page_size: -1 is negative"),
      kTimelineDomain);
  const absl::Status back = FromGrpcStatus(done);
  EXPECT_EQ(ErrorReason(back), "INVALID_FIELD");
  EXPECT_EQ(GetErrorDetail<ErrorInfo>(back)->domain(), "timeline.presence.dev");
  EXPECT_EQ(GetErrorDetail<BadRequest>(back)->field_violations(0).field(), "page_size");
  // Garbage in the trailer is dropped, the code and message kept.
  const absl::Status garbage =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::INTERNAL, "m", "\xff\xff"));
  EXPECT_EQ(garbage.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(ErrorReason(garbage), "");
}

TEST(ErrorReasonsTest, DomainOfMethodAndUniqueReasons) {
  EXPECT_EQ(ErrorDomainOfMethod("/presence.registry.v1.RegistryService/GetOrganization"),
            "registry.presence.dev");
  EXPECT_EQ(ErrorDomainOfMethod("/presence.timeline.v1.TimelineService/GetPresence"),
            "timeline.presence.dev");
  EXPECT_EQ(ErrorDomainOfMethod("/grpc.health.v1.Health/Check"), "presence.dev");
  std::set<std::string> seen;
  for (const ReasonInfo& r : AllReasons()) {
    EXPECT_TRUE(seen.insert(r.reason).second) << r.reason;
    for (char c : std::string(r.reason)) {
      EXPECT_TRUE((c >= 'A' && c <= 'Z') || c == '_') << r.reason;
    }
  }
  for (absl::StatusCode code : {absl::StatusCode::kInvalidArgument,
                                absl::StatusCode::kInternal,
                                absl::StatusCode::kUnavailable}) {
    EXPECT_TRUE(seen.count(std::string(DefaultReason(code)))) << code;
  }
}

// The README's table of reasons lists exactly the catalogue, each with its
// code.
TEST(ErrorReasonsTest, TheReadmeListsEveryReason) {
  std::ifstream in(PRESENCE_README);
  ASSERT_TRUE(in) << PRESENCE_README;
  const std::string readme((std::istreambuf_iterator<char>(in)),
                           std::istreambuf_iterator<char>());
  std::map<std::string, std::string> documented;  // reason -> code column
  bool in_errors = false;  // The table of the "### Errors" section.
  for (absl::string_view line : absl::StrSplit(readme, '\n')) {
    if (absl::StartsWith(line, "#")) in_errors = line == "### Errors";
    if (!in_errors || !absl::StartsWith(line, "| `")) continue;
    std::vector<std::string> cells = absl::StrSplit(line, " | ");
    if (cells.size() < 3) continue;
    std::string reason = cells[0].substr(3);
    if (!absl::EndsWith(reason, "`")) continue;
    reason.pop_back();
    if (reason.empty() || !absl::ascii_isupper(static_cast<unsigned char>(reason[0])) ||
        reason.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != std::string::npos) {
      continue;
    }
    documented[reason] = cells[1];
  }
  std::set<std::string> reasons;
  for (const ReasonInfo& r : AllReasons()) {
    reasons.insert(r.reason);
    ASSERT_TRUE(documented.count(r.reason)) << r.reason << " is not in the README";
    EXPECT_TRUE(absl::StartsWith(documented[r.reason], absl::StatusCodeToString(r.code)))
        << r.reason << ": " << documented[r.reason];
  }
  for (const auto& [reason, code] : documented) {
    EXPECT_TRUE(reasons.count(reason)) << reason << " is documented but not a reason";
  }
}

}  // namespace
}  // namespace presence
