#include "client/output.h"

#include "absl/strings/str_cat.h"
#include "client/format.h"
#include "client/presencectl.pb.h"
#include "client/status.h"

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

void Output::Error(const absl::Status& status) {
  if (status.ok()) return;
  const std::string call = CallDescription(status);
  if (format_ == Format::kJson || format_ == Format::kJsonl) {
    ErrorOutput output;
    ErrorOutput::Error* error = output.mutable_error();
    error->set_status(absl::StatusCodeToString(status.code()));
    error->set_code(static_cast<int>(status.code()));
    error->set_message(std::string(status.message()));
    error->set_call(call);
    error->set_exit_code(ExitCode(status));
    err_ << ToJson(output, format_ == Format::kJsonl) << "\n";
    return;
  }
  err_ << "presencectl: ";
  if (!call.empty()) {
    err_ << call << ": " << absl::StatusCodeToString(status.code()) << ": ";
  }
  err_ << status.message() << "\n";
}

}  // namespace presence::cli
