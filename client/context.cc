#include "client/context.h"

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/status.h"
#include "grpcpp/create_channel.h"
#include "services/common/status_macros.h"

namespace presence::cli {
namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  *out = text.str();
  return static_cast<bool>(in);
}

}  // namespace

absl::Status Context::Prepare() {
  PRESENCE_ASSIGN_OR_RETURN(const Format format, ParseFormat(flags_.output));
  output_.set_format(format);
  double seconds = 0;
  if (absl::SimpleAtod(flags_.timeout, &seconds)) {
    timeout_ = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(flags_.timeout, &timeout_)) {
    return UsageError(absl::StrCat("--timeout: \"", flags_.timeout,
                                   "\" is not a duration (e.g. 5s, 500ms)"));
  }
  if (timeout_ <= absl::ZeroDuration()) {
    return UsageError("--timeout must be positive");
  }
  if (!flags_.tls_ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!ReadFile(flags_.tls_ca, &ssl.pem_root_certs)) {
      return UsageError("--tls_ca: cannot read " + flags_.tls_ca);
    }
    if (!flags_.tls_cert.empty() && (!ReadFile(flags_.tls_cert, &ssl.pem_cert_chain) ||
                                     !ReadFile(flags_.tls_key, &ssl.pem_private_key))) {
      return UsageError("--tls_cert/--tls_key: cannot read them");
    }
    credentials_ = grpc::SslCredentials(ssl);
  }
  return absl::OkStatus();
}

registry::v1::RegistryService::StubInterface& Context::registry() {
  if (!registry_) {
    registry_ = registry::v1::RegistryService::NewStub(Channel(flags_.registry));
  }
  return *registry_;
}

timeline::v1::TimelineService::StubInterface& Context::timeline() {
  if (!timeline_) {
    timeline_ = timeline::v1::TimelineService::NewStub(Channel(flags_.timeline));
  }
  return *timeline_;
}

std::shared_ptr<grpc::Channel> Context::Channel(const std::string& address) const {
  return grpc::CreateChannel(address, credentials_);
}

std::unique_ptr<grpc::ClientContext> Context::NewCall() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  Authorize(context.get());
  return context;
}

void Context::Authorize(grpc::ClientContext* context) const {
  if (!flags_.token.empty()) {
    context->AddMetadata("authorization", "Bearer " + flags_.token);
  }
}

absl::Status Context::Call(
    absl::string_view what,
    absl::FunctionRef<grpc::Status(grpc::ClientContext*)> call) const {
  std::unique_ptr<grpc::ClientContext> context = NewCall();
  const grpc::Status status = call(context.get());
  return status.ok() ? absl::OkStatus() : CallError(status, what);
}

}  // namespace presence::cli
