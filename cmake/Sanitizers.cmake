# Sanitizer, thread-safety and fuzzing builds (CMakePresets.json: asan, tsan).
#
#   PRESENCE_SANITIZE=address  AddressSanitizer + UndefinedBehaviorSanitizer
#                              (every UB check fatal), and with
#                              PRESENCE_FUZZ=ON libFuzzer coverage on all code
#                              plus the fuzz/ targets
#   PRESENCE_SANITIZE=thread   ThreadSanitizer
# Under clang every build also checks the thread-safety annotations
# (-Wthread-safety; errors with PRESENCE_WERROR). Sanitized builds use the
# sanitizer's allocator (no tcmalloc) and leave out the benchmark suite.

set(PRESENCE_SANITIZE "" CACHE STRING "address (ASan+UBSan), thread (TSan) or empty")
option(PRESENCE_FUZZ "Build the libFuzzer targets in fuzz/ (clang, with PRESENCE_SANITIZE=address)" OFF)
option(PRESENCE_BUILD_BENCH "Build the benchmark suite (bench/)" ON)

if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  add_compile_options(-Wthread-safety -Wthread-safety-beta)
endif()

if(PRESENCE_SANITIZE STREQUAL "address")
  set(sanitize_flags -fsanitize=address,undefined -fno-sanitize-recover=all
      -fno-omit-frame-pointer)
elseif(PRESENCE_SANITIZE STREQUAL "thread")
  set(sanitize_flags -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT PRESENCE_SANITIZE STREQUAL "")
  message(FATAL_ERROR "PRESENCE_SANITIZE must be address, thread or empty")
endif()
if(PRESENCE_SANITIZE)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PRESENCE_SANITIZE needs clang (the asan/tsan presets use clang++-14)")
  endif()
  add_compile_options(${sanitize_flags})
  add_link_options(${sanitize_flags})
  set(PRESENCE_BUILD_BENCH OFF CACHE BOOL "" FORCE)
endif()
if(PRESENCE_FUZZ)
  if(NOT PRESENCE_SANITIZE STREQUAL "address")
    message(FATAL_ERROR "PRESENCE_FUZZ needs PRESENCE_SANITIZE=address")
  endif()
  # Coverage feedback from every library, not only the fuzz targets.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# The servers' allocator: tcmalloc, except under a sanitizer (which brings
# its own).
add_library(presence_allocator INTERFACE)
if(NOT PRESENCE_SANITIZE)
  target_link_libraries(presence_allocator INTERFACE PkgConfig::TCMALLOC)
endif()
