#include "services/common/field_mask.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/field_mask_util.h"
#include "services/common/error_details.h"
#include "services/common/error_reasons.h"
#include "services/common/field_behavior.h"
#include "services/common/echo.h"

namespace presence {

using ::google::protobuf::util::FieldMaskUtil;

absl::StatusOr<UpdateMask> ResolveUpdateMask(
    const google::protobuf::Message& patch,
    const google::protobuf::FieldMask* mask) {
  const std::vector<std::string>& output_only = OutputOnlyFieldNames(patch.GetDescriptor());
  UpdateMask resolved;
  if (mask != nullptr) {
    for (const std::string& path : mask->paths()) {
      if (path == "*") {
        if (mask->paths_size() != 1) {
          return ErrorBuilder(absl::InvalidArgumentError(
                                  "update_mask: \"*\" must be the only path"))
              .Reason(kInvalidUpdateMask);
        }
        resolved.full_replacement = true;
        return resolved;
      }
      // Every segment named: protobuf accepts "" (and "a..b") as paths of
      // no field at all.
      if (path.empty() || path.front() == '.' || path.back() == '.' ||
          path.find("..") != std::string::npos) {
        return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
                                "update_mask: ", QuotedEcho(path),
                                " is not a field path (empty segment)")))
            .Reason(kInvalidUpdateMask)
            .Meta("path", path);
      }
      if (!FieldMaskUtil::GetFieldDescriptors(patch.GetDescriptor(), path,
                                              nullptr)) {
        return ErrorBuilder(absl::InvalidArgumentError(absl::StrCat(
                                "update_mask: ", QuotedEcho(path),
                                " is not a field of ",
                                patch.GetDescriptor()->name())))
            .Reason(kInvalidUpdateMask)
            .Meta("path", path);
      }
      resolved.paths.push_back(path);
    }
  } else {
    std::vector<const google::protobuf::FieldDescriptor*> fields;
    patch.GetReflection()->ListFields(patch, &fields);
    for (const auto* field : fields) resolved.paths.push_back(field->name());
  }
  auto& paths = resolved.paths;
  paths.erase(std::remove_if(paths.begin(), paths.end(),
                             [&](const std::string& path) {
                               const absl::string_view top =
                                   absl::string_view(path).substr(
                                       0, path.find('.'));
                               return top == "name" || top == "etag" ||
                                      std::find(output_only.begin(),
                                                output_only.end(),
                                                top) != output_only.end();
                             }),
              paths.end());
  return resolved;
}

void ApplyUpdateMask(const google::protobuf::Message& patch,
                     const UpdateMask& mask,
                     google::protobuf::Message* target) {
  if (mask.full_replacement) {
    target->CopyFrom(patch);
    return;
  }
  google::protobuf::FieldMask field_mask;
  for (const std::string& p : mask.paths) field_mask.add_paths(p);
  FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(patch, field_mask, options, target);
}

}  // namespace presence
