#ifndef PRESENCE_BENCH_REGISTRY_SCALE_H_
#define PRESENCE_BENCH_REGISTRY_SCALE_H_

// Issue 15, target 5: the registry at scale. Loads synthetic organizations
// through BatchCreateOrganizations and measures the p50 of GetOrganization,
// LookupOrganization and a 50-organization ListOrganizations page, one call
// in flight (blocking calls in a loop), so that the figures at two scales
// can be compared; presence_bench.cc starts the processes, measures cold
// start and RSS, and reports the targets.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "presence/registry/v1/registry.grpc.pb.h"

namespace presence::bench {

// The id of synthetic scale organization `i`: "s%06d" (its acronym is the
// same in upper case, so LookupOrganization finds it by acronym).
std::string ScaleOrganizationId(int64_t i);

// Creates organizations 0 .. count-1 (ScaleOrganizationId), about 1 KB each,
// in batches. Returns the seconds it took.
absl::StatusOr<double> LoadScaleOrganizations(registry::v1::RegistryService::Stub& stub,
                                              int64_t count);

struct ScaleReads {
  // p50 of each, µs.
  double get_us = 0, lookup_us = 0, list_us = 0;
  int64_t calls = 0;
};

// For `duration` per method, one call at a time: GetOrganization and
// LookupOrganization of organizations drawn uniformly from 0 .. count-1,
// and ListOrganizations pages of 50 followed through their page tokens
// (from the first page again at the end). Any failed call is an error.
absl::StatusOr<ScaleReads> MeasureScaleReads(registry::v1::RegistryService::Stub& stub,
                                             int64_t count, absl::Duration duration);

}  // namespace presence::bench

#endif  // PRESENCE_BENCH_REGISTRY_SCALE_H_
