#include "bench/registry_scale.h"

#include <algorithm>
#include <functional>
#include <random>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"

namespace presence::bench {
namespace {

namespace rv1 = ::presence::registry::v1;

// Under the default --max_request_bytes (1 MiB) at about 1 KB each.
constexpr int64_t kBatch = 500;

absl::Status Failed(const char* what, const grpc::Status& s) {
  return absl::InternalError(
      absl::StrCat(what, ": ", static_cast<int>(s.error_code()), " ", s.error_message()));
}

// The p50 (µs) of calling `call` back to back for `duration`.
absl::StatusOr<double> P50(absl::Duration duration, const std::function<grpc::Status()>& call,
                           const char* what, int64_t* calls) {
  std::vector<double> latencies;
  const absl::Time end = absl::Now() + duration;
  // A warm-up of a fifth, not measured.
  for (const absl::Time warm = absl::Now() + duration / 5; absl::Now() < warm;) {
    if (grpc::Status s = call(); !s.ok()) return Failed(what, s);
  }
  while (absl::Now() < end || latencies.empty()) {
    const absl::Time start = absl::Now();
    if (grpc::Status s = call(); !s.ok()) return Failed(what, s);
    latencies.push_back(absl::ToDoubleMicroseconds(absl::Now() - start));
  }
  *calls += static_cast<int64_t>(latencies.size());
  std::nth_element(latencies.begin(), latencies.begin() + latencies.size() / 2, latencies.end());
  return latencies[latencies.size() / 2];
}

}  // namespace

std::string ScaleOrganizationId(int64_t i) { return absl::StrFormat("s%06d", i); }

absl::StatusOr<double> LoadScaleOrganizations(rv1::RegistryService::Stub& stub, int64_t count) {
  const absl::Time start = absl::Now();
  for (int64_t base = 0; base < count; base += kBatch) {
    rv1::BatchCreateOrganizationsRequest batch;
    for (int64_t i = base; i < std::min(count, base + kBatch); ++i) {
      auto* create = batch.add_requests();
      create->set_organization_id(ScaleOrganizationId(i));
      auto* org = create->mutable_organization();
      org->set_display_name(absl::StrFormat("Scale organization %d", i));
      org->set_acronym(absl::AsciiStrToUpper(ScaleOrganizationId(i)));
      org->add_aliases(absl::StrFormat("Scale alias %d", i));
      org->set_kind(i % 2 == 0 ? rv1::Organization::KIND_FIELD_MISSION
                               : rv1::Organization::KIND_OTHER);
      org->set_description(std::string(900, 'd'));
    }
    rv1::BatchCreateOrganizationsResponse done;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(120)));
    if (grpc::Status s = stub.BatchCreateOrganizations(&context, batch, &done); !s.ok()) {
      return Failed("BatchCreateOrganizations", s);
    }
  }
  return absl::ToDoubleSeconds(absl::Now() - start);
}

absl::StatusOr<ScaleReads> MeasureScaleReads(rv1::RegistryService::Stub& stub, int64_t count,
                                             absl::Duration duration) {
  std::mt19937_64 rng(15);
  std::uniform_int_distribution<int64_t> pick(0, count - 1);
  const auto deadline = [] { return absl::ToChronoTime(absl::Now() + absl::Seconds(30)); };
  ScaleReads out;
  rv1::Organization org;
  absl::StatusOr<double> get = P50(
      duration,
      [&] {
        rv1::GetOrganizationRequest request;
        request.set_name(absl::StrCat("organizations/", ScaleOrganizationId(pick(rng))));
        grpc::ClientContext context;
        context.set_deadline(deadline());
        return stub.GetOrganization(&context, request, &org);
      },
      "GetOrganization", &out.calls);
  if (!get.ok()) return get.status();
  absl::StatusOr<double> lookup = P50(
      duration,
      [&] {
        rv1::LookupOrganizationRequest request;
        request.set_alias(absl::AsciiStrToUpper(ScaleOrganizationId(pick(rng))));
        grpc::ClientContext context;
        context.set_deadline(deadline());
        return stub.LookupOrganization(&context, request, &org);
      },
      "LookupOrganization", &out.calls);
  if (!lookup.ok()) return lookup.status();
  std::string token;
  absl::StatusOr<double> list = P50(
      duration,
      [&] {
        rv1::ListOrganizationsRequest request;
        request.set_page_size(50);
        request.set_page_token(token);
        rv1::ListOrganizationsResponse page;
        grpc::ClientContext context;
        context.set_deadline(deadline());
        grpc::Status s = stub.ListOrganizations(&context, request, &page);
        if (s.ok() && page.organizations_size() == 0) {
          return grpc::Status(grpc::StatusCode::INTERNAL, "an empty page");
        }
        token = page.next_page_token();
        return s;
      },
      "ListOrganizations", &out.calls);
  if (!list.ok()) return list.status();
  out.get_us = *get;
  out.lookup_us = *lookup;
  out.list_us = *list;
  return out;
}

}  // namespace presence::bench
