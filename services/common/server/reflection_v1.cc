#include "services/common/server/reflection_v1.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/service_type.h"

namespace presence {
namespace {

namespace v1 = ::grpc::reflection::v1;
using ::google::protobuf::DescriptorPool;
using ::google::protobuf::FileDescriptor;

class ReflectionV1Service final : public v1::ServerReflection::Service {
 public:
  explicit ReflectionV1Service(std::vector<std::string> service_names)
      : service_names_(std::move(service_names)) {}

  grpc::Status ServerReflectionInfo(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::ServerReflectionResponse,
                               v1::ServerReflectionRequest>* stream) override {
    // Files already sent on this stream are not sent again, as the protocol
    // allows (and as the reference implementation does).
    absl::flat_hash_set<std::string> sent;
    v1::ServerReflectionRequest request;
    while (!context->IsCancelled() && stream->Read(&request)) {
      v1::ServerReflectionResponse response;
      response.set_valid_host(request.host());
      *response.mutable_original_request() = request;
      Answer(request, &sent, &response);
      if (!stream->Write(response)) break;
    }
    return grpc::Status::OK;
  }

 private:
  void Answer(const v1::ServerReflectionRequest& request,
              absl::flat_hash_set<std::string>* sent,
              v1::ServerReflectionResponse* response) {
    const DescriptorPool* pool = DescriptorPool::generated_pool();
    switch (request.message_request_case()) {
      case v1::ServerReflectionRequest::kFileByFilename: {
        const FileDescriptor* file =
            pool->FindFileByName(request.file_by_filename());
        if (file == nullptr) return NotFound("file", response);
        return AddFile(file, sent, response);
      }
      case v1::ServerReflectionRequest::kFileContainingSymbol: {
        const FileDescriptor* file =
            pool->FindFileContainingSymbol(request.file_containing_symbol());
        if (file == nullptr) return NotFound("symbol", response);
        return AddFile(file, sent, response);
      }
      case v1::ServerReflectionRequest::kFileContainingExtension: {
        const auto& ext = request.file_containing_extension();
        const auto* type = pool->FindMessageTypeByName(ext.containing_type());
        const auto* field =
            type == nullptr
                ? nullptr
                : pool->FindExtensionByNumber(type, ext.extension_number());
        if (field == nullptr) return NotFound("extension", response);
        return AddFile(field->file(), sent, response);
      }
      case v1::ServerReflectionRequest::kAllExtensionNumbersOfType: {
        const auto* type =
            pool->FindMessageTypeByName(request.all_extension_numbers_of_type());
        if (type == nullptr) return NotFound("type", response);
        std::vector<const google::protobuf::FieldDescriptor*> extensions;
        pool->FindAllExtensions(type, &extensions);
        auto* out = response->mutable_all_extension_numbers_response();
        out->set_base_type_name(type->full_name());
        for (const auto* e : extensions) out->add_extension_number(e->number());
        return;
      }
      case v1::ServerReflectionRequest::kListServices: {
        auto* out = response->mutable_list_services_response();
        for (const std::string& name : service_names_) {
          out->add_service()->set_name(name);
        }
        return;
      }
      default: {
        auto* error = response->mutable_error_response();
        error->set_error_code(static_cast<int>(grpc::StatusCode::UNIMPLEMENTED));
        error->set_error_message("unknown reflection request");
        return;
      }
    }
  }

  static void NotFound(const char* what,
                       v1::ServerReflectionResponse* response) {
    auto* error = response->mutable_error_response();
    error->set_error_code(static_cast<int>(grpc::StatusCode::NOT_FOUND));
    error->set_error_message(std::string(what) + " not found");
  }

  // Adds `file` and its transitive dependencies not yet sent.
  static void AddFile(const FileDescriptor* file,
                      absl::flat_hash_set<std::string>* sent,
                      v1::ServerReflectionResponse* response) {
    auto* out = response->mutable_file_descriptor_response();
    std::vector<const FileDescriptor*> pending = {file};
    bool first = true;
    while (!pending.empty()) {
      const FileDescriptor* f = pending.back();
      pending.pop_back();
      // The requested file is always sent, even if sent before.
      if (!sent->insert(f->name()).second && !first) continue;
      first = false;
      google::protobuf::FileDescriptorProto proto;
      f->CopyTo(&proto);
      out->add_file_descriptor_proto(proto.SerializeAsString());
      for (int i = 0; i < f->dependency_count(); ++i) {
        pending.push_back(f->dependency(i));
      }
    }
  }

  const std::vector<std::string> service_names_;
};

}  // namespace

std::unique_ptr<grpc::Service> NewReflectionV1Service(
    std::vector<std::string> service_names) {
  return std::make_unique<ReflectionV1Service>(std::move(service_names));
}

}  // namespace presence
