#ifndef PRESENCE_SERVICES_COMMON_SERVER_REFLECTION_V1_H_
#define PRESENCE_SERVICES_COMMON_SERVER_REFLECTION_V1_H_

// gRPC server reflection, grpc.reflection.v1. Debian 12's gRPC 1.51 library
// registers only grpc.reflection.v1alpha (InitProtoReflectionServerBuilder-
// Plugin), and clients such as Postman, evans and Kreya have broken against
// servers that offer only one of the two, so both are served: v1alpha by the
// library, v1 by this hand-written service over the generated descriptor
// pool. The two protocols have the same messages under different packages.

#include <memory>
#include <string>
#include <vector>

namespace grpc {
class Service;
}  // namespace grpc

namespace presence {

// Returns the v1 reflection service describing `service_names` (full names,
// e.g. "presence.registry.v1.RegistryService") and every file in the
// process's generated descriptor pool. Register it with the server builder;
// it must outlive the server.
std::unique_ptr<grpc::Service> NewReflectionV1Service(
    std::vector<std::string> service_names);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_SERVER_REFLECTION_V1_H_
