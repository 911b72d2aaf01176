#include "services/common/version.h"

#include "absl/strings/str_cat.h"

namespace presence {

std::string VersionLine(absl::string_view program) {
  std::string line = absl::StrCat(program, " ", Version());
  if (!GitRevision().empty()) absl::StrAppend(&line, " (git ", GitRevision(), ")");
  return line;
}

}  // namespace presence
