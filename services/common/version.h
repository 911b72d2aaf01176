#ifndef PRESENCE_SERVICES_COMMON_VERSION_H_
#define PRESENCE_SERVICES_COMMON_VERSION_H_

// The one source of presence's version: the CMake project version and the
// git revision the binary was built from (cmake/VersionInfo.cmake, run at
// build time). Used by every binary's --version, the build_info metric and
// what the services report to `presencectl version`.

#include <string>

#include "absl/strings/string_view.h"

namespace presence {

// The release, e.g. "0.1.0" (project(VERSION) in CMakeLists.txt).
absl::string_view Version();

// The short git revision of the sources, with "-dirty" if they had
// uncommitted changes, or empty when unknown (built outside a git checkout
// without PRESENCE_GIT_REVISION).
absl::string_view GitRevision();

// "<program> <version>" plus " (git <revision>)" when known, e.g.
// "presence-registry 0.1.0 (git 04072dc1a2b3)": the line --version prints
// and the value services report in the `presence-version` metadata.
std::string VersionLine(absl::string_view program);

}  // namespace presence

#endif  // PRESENCE_SERVICES_COMMON_VERSION_H_
