// Resource names, ids, request ids, length and count limits, and bounded
// echoes: the validators agree with each other and with their patterns,
// and every message they produce is bounded.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "fuzz/fuzz_check.h"
#include "services/common/echo.h"
#include "services/common/limits.h"
#include "services/common/resource_name.h"

namespace {

// ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$, written independently.
bool MatchesIdPattern(const std::string& id) {
  if (id.empty() || id.size() > 63 || !(id[0] >= 'a' && id[0] <= 'z')) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return id.back() != '-';
}

bool IsUuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  using presence::fuzz::CheckBounded;

  const bool valid = presence::IsValidResourceId(input);
  PRESENCE_FUZZ_CHECK(valid == MatchesIdPattern(input), input);
  const absl::Status id = presence::ValidateResourceId(input, "organization_id");
  PRESENCE_FUZZ_CHECK(id.ok() == valid, input);
  CheckBounded(id);

  for (absl::string_view collection : {"organizations", "events"}) {
    absl::StatusOr<std::string> parsed =
        presence::ParseResourceName(input, collection, "name");
    if (parsed.ok()) {
      PRESENCE_FUZZ_CHECK(presence::IsValidResourceId(*parsed), input);
      PRESENCE_FUZZ_CHECK(presence::ResourceName(collection, *parsed) == input, input);
    } else {
      PRESENCE_FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument, input);
      CheckBounded(parsed.status());
    }
    if (valid) {
      absl::StatusOr<std::string> round =
          presence::ParseResourceName(presence::ResourceName(collection, input), collection, "n");
      PRESENCE_FUZZ_CHECK(round.ok() && *round == input, input);
    }
  }

  const absl::Status request_id = presence::ValidateRequestId(input);
  PRESENCE_FUZZ_CHECK(request_id.ok() == (input.empty() || IsUuid(input)), input);
  CheckBounded(request_id);

  const absl::Status length = presence::CheckLength("f", input, presence::kMaxShortText);
  PRESENCE_FUZZ_CHECK(length.ok() == (input.size() <= presence::kMaxShortText), "length");
  const absl::Status count = presence::CheckCount("f", static_cast<int>(size), presence::kMaxListEntries);
  PRESENCE_FUZZ_CHECK(count.ok() == (static_cast<int>(size) <= presence::kMaxListEntries), "count");

  // Echoes: at most 100 bytes of the value, escaped (4 bytes each at
  // worst), plus the length.
  const std::string echo = presence::Echo(input);
  PRESENCE_FUZZ_CHECK(echo.size() <= 4 * presence::kMaxEchoBytes + 32, echo.substr(0, 200));
  PRESENCE_FUZZ_CHECK(presence::QuotedEcho(input).size() <= 4 * presence::kMaxEchoBytes + 34, "quoted");
  for (char c : echo) {
    const unsigned char u = static_cast<unsigned char>(c);
    PRESENCE_FUZZ_CHECK(u >= 0x20 && u != 0x7f, "control character in an echo");
  }
  PRESENCE_FUZZ_CHECK(presence::BoundText(input, 64).size() <= 64 + 32, "bound");
  return 0;
}
