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

# ThreadSanitizer sees absl::Mutex (and so every ABSL_GUARDED_BY member, in
# our code and gRPC's) only if absl::Mutex is itself built with TSan; Debian
# ships abseil prebuilt. The tsan preset compiles absl/synchronization from
# the same version's Debian source (scripts/fetch-abseil-source, into
# PRESENCE_ABSEIL_SOURCE) and links it, whole, into every executable ahead
# of the shared library, so that all callers, gRPC included, bind to it.
set(PRESENCE_ABSEIL_SOURCE "${CMAKE_BINARY_DIR}/../abseil-src" CACHE PATH
    "abseil sources for the TSan build (scripts/fetch-abseil-source)")
if(PRESENCE_SANITIZE STREQUAL "thread")
  set(absl_sync "${PRESENCE_ABSEIL_SOURCE}/absl/synchronization")
  if(NOT EXISTS "${absl_sync}/mutex.cc")
    message(FATAL_ERROR "TSan build: no abseil sources in ${PRESENCE_ABSEIL_SOURCE}; "
                        "run scripts/fetch-abseil-source ${PRESENCE_ABSEIL_SOURCE}")
  endif()
  add_library(presence_tsan_absl_synchronization STATIC
    ${absl_sync}/barrier.cc
    ${absl_sync}/blocking_counter.cc
    ${absl_sync}/internal/create_thread_identity.cc
    ${absl_sync}/internal/graphcycles.cc
    ${absl_sync}/internal/per_thread_sem.cc
    ${absl_sync}/internal/waiter.cc
    ${absl_sync}/mutex.cc
    ${absl_sync}/notification.cc)
  # Compiled against the installed headers (Debian's inline namespace).
  target_compile_options(presence_tsan_absl_synchronization PRIVATE -w)
endif()

# Links the TSan-built absl::Mutex into every executable of the build (call
# at the end of the top-level CMakeLists.txt, once all targets exist). Only
# executables: a static library would carry it into its dependents' link
# lines more than once.
function(presence_link_tsan_abseil dir)
  if(NOT PRESENCE_SANITIZE STREQUAL "thread")
    return()
  endif()
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE")
      target_link_libraries(${target} PRIVATE
        "$<LINK_LIBRARY:WHOLE_ARCHIVE,presence_tsan_absl_synchronization>")
    endif()
  endforeach()
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(subdir IN LISTS subdirs)
    presence_link_tsan_abseil("${subdir}")
  endforeach()
endfunction()

# The servers' allocator: tcmalloc, except under a sanitizer (which brings
# its own).
add_library(presence_allocator INTERFACE)
if(NOT PRESENCE_SANITIZE)
  target_link_libraries(presence_allocator INTERFACE PkgConfig::TCMALLOC)
endif()
