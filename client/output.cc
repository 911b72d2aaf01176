#include "client/output.h"

#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/format.h"
#include "client/presencectl.pb.h"
#include "client/status.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace presence::cli {

absl::StatusOr<Format> ParseFormat(absl::string_view text) {
  if (text == "table") return Format::kTable;
  if (text == "json") return Format::kJson;
  if (text == "jsonl") return Format::kJsonl;
  if (text == "svg") return Format::kSvg;
  if (text == "html") return Format::kHtml;
  return UsageError(absl::StrCat(
      "-o/--output: \"", text, "\" is not a format; one of table, json, jsonl "
      "(and svg, html for chart)"));
}

void Output::Resource(const google::protobuf::Message& message,
                      absl::FunctionRef<std::string()> report) {
  if (format_ == Format::kTable) {
    out_ << report();
  } else {
    out_ << ToJson(message, format_ == Format::kJsonl) << "\n";
  }
}

void Output::Line(const google::protobuf::Message& message) {
  out_ << ToJson(message, /*one_line=*/true) << std::endl;
}

void Output::MoreHint(absl::string_view next_page_token) {
  if (next_page_token.empty()) return;
  err_ << "presencectl: more results exist; use --all, or --page-token "
       << next_page_token << "\n";
}

void Output::Note(absl::string_view text) { err_ << "presencectl: " << text << "\n"; }

namespace {

// The details of a failed call (CallErrorDetails: the google.rpc.Status of
// grpc-status-details-bin) into `error`; nothing if there are none or they
// cannot be read.
void AddDetails(const absl::Status& status, ErrorOutput::Error* error) {
  const std::string bytes = CallErrorDetails(status);
  google::rpc::Status details;
  if (bytes.empty() || !details.ParseFromString(bytes)) return;
  for (const google::protobuf::Any& any : details.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    google::rpc::ResourceInfo resource;
    google::rpc::PreconditionFailure precondition;
    google::rpc::RetryInfo retry;
    if (any.Is<google::rpc::ErrorInfo>() && any.UnpackTo(&info)) {
      error->set_reason(info.reason());
      error->set_domain(info.domain());
      error->mutable_metadata()->insert(info.metadata().begin(), info.metadata().end());
    } else if (any.Is<google::rpc::BadRequest>() && any.UnpackTo(&bad)) {
      for (auto& v : *bad.mutable_field_violations()) {
        *error->add_field_violations() = std::move(v);
      }
    } else if (any.Is<google::rpc::ResourceInfo>() && any.UnpackTo(&resource)) {
      *error->mutable_resource() = std::move(resource);
    } else if (any.Is<google::rpc::PreconditionFailure>() && any.UnpackTo(&precondition)) {
      for (auto& v : *precondition.mutable_violations()) {
        *error->add_precondition_violations() = std::move(v);
      }
    } else if (any.Is<google::rpc::RetryInfo>() && any.UnpackTo(&retry)) {
      *error->mutable_retry_delay() = retry.retry_delay();
    }
  }
}

// The details as indented lines for stderr, after the error's line.
std::string DetailLines(const ErrorOutput::Error& error) {
  std::string out;
  if (!error.reason().empty()) {
    absl::StrAppend(&out, "  reason: ", error.reason());
    if (!error.domain().empty()) absl::StrAppend(&out, " (", error.domain(), ")");
    // In key order, so that the output is stable.
    const std::map<std::string, std::string> metadata(error.metadata().begin(),
                                                      error.metadata().end());
    for (const auto& [key, value] : metadata) absl::StrAppend(&out, " ", key, "=", value);
    out += "\n";
  }
  for (const auto& v : error.field_violations()) {
    absl::StrAppend(&out, "  field ", v.field().empty() ? "(request)" : v.field(), ": ",
                    v.description(), "\n");
  }
  if (error.has_resource()) {
    absl::StrAppend(&out, "  resource: ", error.resource().resource_name(), " (",
                    error.resource().resource_type(), ")\n");
  }
  for (const auto& v : error.precondition_violations()) {
    absl::StrAppend(&out, "  precondition ", v.type(), " ", v.subject(), ": ",
                    v.description(), "\n");
  }
  if (error.has_retry_delay()) {
    const absl::Duration delay = absl::Seconds(error.retry_delay().seconds()) +
                                 absl::Nanoseconds(error.retry_delay().nanos());
    absl::StrAppend(&out, "  retry after ", absl::FormatDuration(delay), "\n");
  }
  return out;
}

}  // namespace

void Output::Error(const absl::Status& status) {
  if (status.ok()) return;
  const std::string call = CallDescription(status);
  ErrorOutput output;
  ErrorOutput::Error* error = output.mutable_error();
  error->set_status(absl::StatusCodeToString(status.code()));
  error->set_code(static_cast<int>(status.code()));
  error->set_message(std::string(status.message()));
  error->set_call(call);
  error->set_exit_code(ExitCode(status));
  AddDetails(status, error);
  if (format_ == Format::kJson || format_ == Format::kJsonl) {
    err_ << ToJson(output, format_ == Format::kJsonl) << "\n";
    return;
  }
  err_ << "presencectl: ";
  if (!call.empty()) {
    err_ << call << ": " << absl::StatusCodeToString(status.code()) << ": ";
  }
  err_ << status.message() << "\n" << DetailLines(*error);
}

}  // namespace presence::cli
