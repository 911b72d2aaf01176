#include "services/common/program_flags.h"

#include <string>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/version.h"

namespace presence {
namespace {

// The part of `file` from `dir` on, or all of it.
absl::string_view FromDir(absl::string_view file, absl::string_view dir) {
  const size_t at = file.rfind(dir);
  return at == absl::string_view::npos ? file : file.substr(at);
}

}  // namespace

bool FlagDefinedUnder(absl::string_view file, absl::string_view source_dir) {
  return absl::StartsWith(FromDir(file, source_dir), source_dir);
}

void ParseProgramFlags(int argc, char** argv, absl::string_view program,
                       absl::string_view usage, absl::string_view source_dir) {
  // abseil prints "<program>: " before this message.
  absl::SetProgramUsageMessage(absl::StrCat(
      usage, "\n\nUsage: ", program,
      " [--flag=value]...\n\n--help lists every flag; --version prints the "
      "version."));
  // The usage config holds plain function objects for the process's life;
  // the directory is copied into them.
  const std::string dir(source_dir);
  absl::FlagsUsageConfig config;
  // abseil passes the filters the normalized file name.
  config.contains_help_flags = [dir](absl::string_view file) {
    return FlagDefinedUnder(file, dir);
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  config.normalize_filename = [dir](absl::string_view file) {
    return std::string(FromDir(file, dir));
  };
  const std::string line = VersionLine(program);
  config.version_string = [line] { return line + "\n"; };
  absl::SetFlagsUsageConfig(config);
  absl::ParseCommandLine(argc, argv);
}

}  // namespace presence
