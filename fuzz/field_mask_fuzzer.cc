// Update masks: resolving any set of paths against an Organization patch
// never crashes, keeps output-only fields out, and applying the result
// never crashes; a mask names fields of the patch only.

#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz/fuzz_check.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/field_mask.pb.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/common/field_mask.h"

// Arbitrary bytes parsed as messages make libprotobuf log every invalid
// UTF-8 string it meets; the parse result is what is checked here
// (PRESENCE_FUZZ_VERBOSE=1 keeps them, to debug a finding).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (std::getenv("PRESENCE_FUZZ_VERBOSE") == nullptr) google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  google::protobuf::FieldMask mask;
  const bool with_mask = provider.ConsumeBool();
  const int paths = provider.ConsumeIntegralInRange(0, 8);
  for (int i = 0; i < paths; ++i) mask.add_paths(provider.ConsumeRandomLengthString(40));
  presence::registry::v1::Organization patch;
  presence::registry::v1::Organization target;
  // The rest: the patch and the target, as binary protobuf (garbage is
  // simply not a patch).
  const std::string patch_bytes = provider.ConsumeRandomLengthString(4096);
  const std::string target_bytes = provider.ConsumeRemainingBytesAsString();
  if (!patch.ParseFromString(patch_bytes)) patch.Clear();
  if (!target.ParseFromString(target_bytes)) target.Clear();

  // What must never be updated through a mask, written out independently of
  // the annotations the code reads: the OUTPUT_ONLY fields, the name, the
  // etag.
  const std::vector<std::string> output_only = {"name", "state", "revision", "etag",
                                                "create_time", "update_time",
                                                "delete_time", "last_modified_by"};
  absl::StatusOr<presence::UpdateMask> resolved =
      presence::ResolveUpdateMask(patch, with_mask ? &mask : nullptr);
  if (!resolved.ok()) {
    PRESENCE_FUZZ_CHECK(resolved.status().code() == absl::StatusCode::kInvalidArgument,
                        resolved.status().ToString());
    presence::fuzz::CheckBounded(resolved.status());
    return 0;
  }
  for (const std::string& path : resolved->paths) {
    const std::string top = path.substr(0, path.find('.'));
    for (const std::string& o : output_only) {
      PRESENCE_FUZZ_CHECK(top != o, path);
    }
  }
  presence::ApplyUpdateMask(patch, *resolved, &target);
  return 0;
}
