#include "services/common/field_behavior.h"

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/api/field_behavior.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/field_mask_util.h"
#include "services/common/error_details.h"

namespace presence {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

// Messages nest at most this deep (ours: three); deeper is not descended.
constexpr int kMaxDepth = 32;

// What the annotations say about one message type, computed once per type.
struct TypeBehavior {
  std::vector<const FieldDescriptor*> output_only;
  std::vector<std::string> output_only_names;
  std::vector<const FieldDescriptor*> required;
  // Message fields (singular or repeated, not maps), to descend into.
  std::vector<const FieldDescriptor*> messages;
};

bool Has(const FieldDescriptor* field, google::api::FieldBehavior behavior) {
  const auto& options = field->options();
  const int n = options.ExtensionSize(google::api::field_behavior);
  for (int i = 0; i < n; ++i) {
    if (options.GetExtension(google::api::field_behavior, i) == behavior) return true;
  }
  return false;
}

const TypeBehavior& BehaviorOf(const Descriptor* type) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* const cache =
      new absl::flat_hash_map<const Descriptor*, std::unique_ptr<TypeBehavior>>();
  absl::MutexLock lock(&mu);
  std::unique_ptr<TypeBehavior>& entry = (*cache)[type];
  if (entry == nullptr) {
    entry = std::make_unique<TypeBehavior>();
    std::vector<const FieldDescriptor*> fields;
    for (int i = 0; i < type->field_count(); ++i) fields.push_back(type->field(i));
    std::sort(fields.begin(), fields.end(),
              [](const auto* a, const auto* b) { return a->number() < b->number(); });
    for (const FieldDescriptor* field : fields) {
      if (Has(field, google::api::OUTPUT_ONLY)) {
        entry->output_only.push_back(field);
        entry->output_only_names.push_back(field->name());
      }
      if (Has(field, google::api::REQUIRED)) entry->required.push_back(field);
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !field->is_map()) {
        entry->messages.push_back(field);
      }
    }
  }
  return *entry;
}

void ClearOutputOnly(Message* message, int depth) {
  const TypeBehavior& behavior = BehaviorOf(message->GetDescriptor());
  const Reflection* reflection = message->GetReflection();
  for (const FieldDescriptor* field : behavior.output_only) {
    reflection->ClearField(message, field);
  }
  if (depth >= kMaxDepth) return;
  for (const FieldDescriptor* field : behavior.messages) {
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(*message, field); ++i) {
        ClearOutputOnly(reflection->MutableRepeatedMessage(message, field, i), depth + 1);
      }
    } else if (reflection->HasField(*message, field)) {
      ClearOutputOnly(reflection->MutableMessage(message, field), depth + 1);
    }
  }
}

bool IsBlank(absl::string_view text) { return absl::StripAsciiWhitespace(text).empty(); }

// True if the singular `field` of `message` is present (see the header).
bool IsPresent(const Message& message, const FieldDescriptor* field) {
  const Reflection* r = message.GetReflection();
  if (field->is_repeated()) return r->FieldSize(message, field) > 0;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      return !IsBlank(r->GetStringReference(message, field, &scratch));
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return r->HasField(message, field) && r->GetMessage(message, field).ByteSizeLong() > 0;
    case FieldDescriptor::CPPTYPE_ENUM:
      return r->GetEnumValue(message, field) != 0;
    case FieldDescriptor::CPPTYPE_BOOL:
      return r->GetBool(message, field);
    case FieldDescriptor::CPPTYPE_INT32:
      return r->GetInt32(message, field) != 0;
    case FieldDescriptor::CPPTYPE_INT64:
      return r->GetInt64(message, field) != 0;
    case FieldDescriptor::CPPTYPE_UINT32:
      return r->GetUInt32(message, field) != 0;
    case FieldDescriptor::CPPTYPE_UINT64:
      return r->GetUInt64(message, field) != 0;
    case FieldDescriptor::CPPTYPE_FLOAT:
      return r->GetFloat(message, field) != 0;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return r->GetDouble(message, field) != 0;
  }
  return true;
}

absl::Status CheckRequired(const Message& message, const std::string& prefix,
                           Nested nested, int depth) {
  const TypeBehavior& behavior = BehaviorOf(message.GetDescriptor());
  for (const FieldDescriptor* field : behavior.required) {
    if (!IsPresent(message, field)) return FieldRequiredError(prefix + field->name());
  }
  if (nested == Nested::kSkip || depth >= kMaxDepth) return absl::OkStatus();
  const Reflection* r = message.GetReflection();
  for (const FieldDescriptor* field : behavior.messages) {
    if (field->is_repeated()) {
      for (int i = 0; i < r->FieldSize(message, field); ++i) {
        const Message& element = r->GetRepeatedMessage(message, field, i);
        absl::Status s = CheckRequired(
            element, absl::StrCat(prefix, field->name(), "[", i, "]."), nested, depth + 1);
        if (!s.ok()) return s;
      }
    } else if (IsPresent(message, field)) {
      absl::Status s = CheckRequired(r->GetMessage(message, field),
                                     absl::StrCat(prefix, field->name(), "."), nested,
                                     depth + 1);
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

void ClearOutputOnlyFields(Message* message) { ClearOutputOnly(message, 0); }

void CopyOutputOnlyFields(const Message& from, Message* to) {
  const TypeBehavior& behavior = BehaviorOf(from.GetDescriptor());
  google::protobuf::FieldMask mask;
  for (const FieldDescriptor* field : behavior.output_only) {
    to->GetReflection()->ClearField(to, field);
    mask.add_paths(field->name());
  }
  if (mask.paths_size() == 0) return;
  google::protobuf::util::FieldMaskUtil::MergeOptions options;
  options.set_replace_message_fields(true);
  options.set_replace_repeated_fields(true);
  google::protobuf::util::FieldMaskUtil::MergeMessageTo(from, mask, options, to);
}

const std::vector<std::string>& OutputOnlyFieldNames(const Descriptor* type) {
  return BehaviorOf(type).output_only_names;
}

absl::Status CheckRequiredFields(const Message& message, absl::string_view prefix,
                                 Nested nested) {
  return CheckRequired(message, std::string(prefix), nested, 0);
}

}  // namespace presence
