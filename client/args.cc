#include "client/args.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/format.h"
#include "services/common/partial_date.h"

namespace presence::cli {

absl::StatusOr<std::string> ResolveOrganization(Context& context,
                                                const std::string& arg,
                                                bool lookup_ids) {
  if (absl::StartsWith(arg, "organizations/")) return arg;
  const bool plain_id =
      !arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      });
  if (plain_id && !lookup_ids) return "organizations/" + arg;
  registry::v1::LookupOrganizationRequest request;
  request.set_alias(arg);
  registry::v1::Organization org;
  absl::Status status = context.Call(
      absl::StrCat("resolving organization \"", arg, "\""),
      [&](grpc::ClientContext* call) {
        return context.registry().LookupOrganization(call, request, &org);
      });
  if (status.ok()) return org.name();
  if (plain_id && absl::IsNotFound(status)) return "organizations/" + arg;
  return status;
}

std::string EventName(absl::string_view arg) {
  return absl::StartsWith(arg, "events/") ? std::string(arg)
                                          : absl::StrCat("events/", arg);
}

absl::StatusOr<type::v1::PartialDate> ParseDateArg(absl::string_view text,
                                                   absl::string_view flag) {
  absl::StatusOr<type::v1::PartialDate> date = ParsePartialDate(text);
  if (!date.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", date.status().message()));
  }
  return date;
}

absl::StatusOr<registry::v1::Organization::Kind> OrganizationKindArg(absl::string_view text) {
  auto kind = ParseOrganizationKind(text);
  if (!kind.ok()) return absl::InvalidArgumentError(absl::StrCat("--kind: ", kind.status().message()));
  return kind;
}

absl::StatusOr<timeline::v1::Event::Kind> EventKindArg(absl::string_view text) {
  auto kind = ParseEventKind(text);
  if (!kind.ok()) return absl::InvalidArgumentError(absl::StrCat("--kind: ", kind.status().message()));
  return kind;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  std::stringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) return absl::InvalidArgumentError("cannot read " + path);
    text << in.rdbuf();
  }
  return text.str();
}

std::string NewRequestId() {
  std::random_device device;
  std::mt19937_64 rng(device());
  const uint64_t a = rng(), b = rng();
  return absl::StrFormat("%08x-%04x-4%03x-%04x-%012x", a >> 32, (a >> 16) & 0xffff,
                         a & 0xfff, 0x8000 | (b >> 48 & 0x3fff),
                         b & 0xffffffffffffULL);
}

}  // namespace presence::cli
