// presencectl health and version: what each service says about itself.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/commands.h"
#include "client/format.h"
#include "client/presencectl.pb.h"
#include "client/status.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/version.h"

namespace presence::cli {
namespace {

using ::grpc::health::v1::HealthCheckResponse;

// The initial metadata services answer health checks with
// (kVersionMetadataKey in services/common/server/server.h).
constexpr char kVersionMetadata[] = "presence-version";

// Asks one service's grpc.health.v1 Check for its status and version.
ServiceStatus Check(const Context& context, const std::string& service,
                    const std::string& address) {
  ServiceStatus result;
  result.set_service(service);
  result.set_address(address);
  auto stub = grpc::health::v1::Health::NewStub(context.Channel(address));
  grpc::health::v1::HealthCheckRequest request;
  HealthCheckResponse response;
  std::unique_ptr<grpc::ClientContext> call = context.NewCall();
  const grpc::Status status = stub->Check(call.get(), request, &response);
  if (!status.ok()) {
    result.set_status("UNREACHABLE");
    result.set_error(status.error_message());
    return result;
  }
  result.set_status(HealthCheckResponse::ServingStatus_Name(response.status()));
  const auto& metadata = call->GetServerInitialMetadata();
  if (auto it = metadata.find(kVersionMetadata); it != metadata.end()) {
    result.set_version(std::string(it->second.data(), it->second.size()));
  }
  return result;
}

std::vector<ServiceStatus> CheckBoth(const Context& context) {
  return {Check(context, "registry", context.flags().registry),
          Check(context, "timeline", context.flags().timeline)};
}

absl::Status Health(Context& context) {
  HealthReport report;
  bool serving = true;
  Table table({"SERVICE", "ADDRESS", "STATUS"});
  for (ServiceStatus& s : CheckBoth(context)) {
    serving = serving && s.status() == "SERVING";
    table.AddRow({s.service(), s.address(),
                  s.error().empty() ? s.status()
                                    : absl::StrCat(s.status(), " (", s.error(), ")")});
    *report.add_services() = std::move(s);
  }
  context.output().Resource(report, [&] { return table.Render(); });
  if (serving) return absl::OkStatus();
  return absl::UnavailableError("not every service is serving");
}

}  // namespace

absl::Status PrintVersion(Context& context, bool client_only) {
  VersionReport report;
  report.set_client(VersionLine("presencectl"));
  Table table({"COMPONENT", "VERSION", "ADDRESS"});
  table.AddRow({"presencectl", report.client(), "-"});
  bool reachable = true;
  if (!client_only) {
    for (ServiceStatus& s : CheckBoth(context)) {
      reachable = reachable && s.error().empty();
      std::string version = s.version();
      if (!s.error().empty()) {
        version = absl::StrCat("unreachable (", s.error(), ")");
      } else if (version.empty()) {
        version = "unknown (the service does not report it)";
      }
      table.AddRow({s.service(), version, s.address()});
      *report.add_services() = std::move(s);
    }
  }
  context.output().Resource(report, [&] { return table.Render(); });
  if (reachable) return absl::OkStatus();
  return absl::UnavailableError("a service could not be asked for its version");
}

void AddHealthCommands(const CommandSet& set) {
  Context& context = set.context;
  CLI::App* health = set.app.add_subcommand("health", "Health of both services");
  health->footer("Exit code 5 unless both serve.\nExamples:\n  presencectl health\n  presencectl health -o json");
  set.Select(health, [&context] { return Health(context); });

  auto client_only = std::make_shared<bool>(false);
  CLI::App* version = set.app.add_subcommand(
      "version", "Versions of presencectl and of both services (as they report them)");
  version->add_flag("--client", *client_only, "Only presencectl's own version (no network)");
  version->footer("The services report their version in the presence-version metadata of\nhealth checks. Exit code 5 if a service cannot be asked.\nExamples:\n  presencectl version\n  presencectl version --client\n  presencectl --version -o json");
  set.Select(version, [&context, client_only] { return PrintVersion(context, *client_only); });
}

}  // namespace presence::cli
