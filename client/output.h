#ifndef PRESENCE_CLIENT_OUTPUT_H_
#define PRESENCE_CLIENT_OUTPUT_H_

// How presencectl prints: data on stdout in the format -o chose (a table or
// report, protobuf JSON indented, or JSON Lines), diagnostics on stderr, and
// the one place that renders a failed command. Also the one pagination loop.

#include <functional>
#include <ostream>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace presence::cli {

// -o values. kSvg and kHtml are the chart's; the other commands refuse them.
enum class Format { kTable, kJson, kJsonl, kSvg, kHtml };

// "table", "json", "jsonl", "svg", "html"; anything else is a UsageError.
absl::StatusOr<Format> ParseFormat(absl::string_view text);
// Not thread-safe; one per process.
class Output {
 public:
  // `out` and `err` are not owned and must outlive this.
  Output(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  void set_format(Format format) { format_ = format; }
  Format format() const { return format_; }
  bool table() const { return format_ == Format::kTable; }

  // One resource: `report()` for tables, else the message as JSON (one line
  // for jsonl).
  void Resource(const google::protobuf::Message& message,
                absl::FunctionRef<std::string()> report);

  // A list: `table()` for tables, each item on its own line for jsonl, the
  // whole `response` (items, next_page_token, ...) indented for json.
  template <typename Item>
  void List(const google::protobuf::Message& response,
            const google::protobuf::RepeatedPtrField<Item>& items,
            absl::FunctionRef<std::string()> table) {
    if (format_ == Format::kJsonl) {
      for (const Item& item : items) Line(item);
    } else {
      Resource(response, table);
    }
  }

  // One JSON line (watch streams, export), flushed.
  void Line(const google::protobuf::Message& message);

  // Raw text on stdout (charts, completion scripts).
  void Text(absl::string_view text) { out_ << text; }

  // On stderr, when a listing stopped at a page: how to get the rest.
  void MoreHint(absl::string_view next_page_token);

  // A diagnostic line on stderr, "presencectl: <text>".
  void Note(absl::string_view text);

  // Renders a failed command on stderr: "presencectl: <call>: <CODE>:
  // <message>" for call errors, "presencectl: <message>" for local ones,
  // then the server's error details (grpc-status-details-bin, AIP-193) as
  // indented lines: "  reason: <REASON> (<domain>) key=value...", "  field
  // <path>: <description>" per field violation, "  resource: <name>
  // (<type>)", "  precondition <type> <subject>: <description>", "  retry
  // after <delay>". With -o json or jsonl, an ErrorOutput object instead,
  // the details in its fields. Nothing for OK.
  void Error(const absl::Status& status);

  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

 private:
  std::ostream& out_;
  std::ostream& err_;
  Format format_ = Format::kTable;
};

// Follows page tokens: calls `call(request, &page)` for each page. `*merged`
// becomes the first page, with the items (`items(page)`, a mutable repeated
// field) of the following pages appended and the last page's
// next_page_token. With `all` false, stops after one page. Request and
// Response are generated messages with page_token / next_page_token fields.
template <typename Request, typename Response, typename ItemsFn>
absl::Status ListPages(
    Request request, bool all,
    const std::function<absl::Status(const Request&, Response*)>& call,
    ItemsFn items, Response* merged) {
  for (bool first = true;; first = false) {
    Response page;
    if (absl::Status s = call(request, &page); !s.ok()) return s;
    const std::string token = page.next_page_token();
    if (first) {
      *merged = std::move(page);
    } else {
      for (auto& item : *items(page)) *items(*merged)->Add() = std::move(item);
      merged->set_next_page_token(token);
    }
    if (!all || token.empty()) return absl::OkStatus();
    request.set_page_token(token);
  }
}

}  // namespace presence::cli

#endif  // PRESENCE_CLIENT_OUTPUT_H_
