#include "services/registry/seed.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "presence/registry/v1/registry.pb.h"
#include "services/registry/registry.h"
#include "services/registry/registry_internal.pb.h"

namespace presence::registry {
namespace {

// Collects parse errors instead of printing them.
class ErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      first_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ",
                            message);
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

}  // namespace

absl::StatusOr<int> LoadSeedIfEmpty(Registry& registry,
                                    absl::string_view textproto) {
  internal::SeedData seed;
  ErrorCollector errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(textproto), &seed)) {
    return absl::InvalidArgumentError(
        absl::StrCat("seed data does not parse: ", errors.first()));
  }
  absl::StatusOr<bool> empty = registry.IsEmpty();
  if (!empty.ok()) return empty.status();
  if (!*empty) return 0;
  int created = 0;
  for (const v1::Organization& org : seed.organizations()) {
    v1::CreateOrganizationRequest request;
    request.set_organization_id(
        std::string(absl::StripPrefix(org.name(), "organizations/")));
    *request.mutable_organization() = org;
    absl::StatusOr<v1::Organization> result =
        registry.CreateOrganization(request);
    if (!result.ok()) {
      return absl::Status(result.status().code(),
                          absl::StrCat("seed organization ", org.name(), ": ",
                                       result.status().message()));
    }
    ++created;
  }
  return created;
}

}  // namespace presence::registry
