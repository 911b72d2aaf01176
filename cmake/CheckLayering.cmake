# cmake -DSOURCE_DIR=<repo> -DDOMAIN_SOURCES=<file> -P CheckLayering.cmake
#
# The layering check (ctest "layering", label lint):
#   1. The domain libraries (DOMAIN_SOURCES: one line per library,
#      "<source dir>|<source>;<source>...", written by tests/CMakeLists.txt)
#      include no gRPC header, directly or through any header of ours they
#      include (only the gRPC handlers and services/common/server/ speak gRPC).
#   2. RocksDB headers appear only in services/common/storage/rocksdb_kv_store.cc.
#   3. libpq / libpqxx headers appear only in the PostgreSQL store,
#      services/common/storage/(postgres|postgresql|pg)*_kv_store.cc.
# (2) and (3) cover services/, client/, bench/ and fuzz/.
cmake_minimum_required(VERSION 3.25)

set(grpc_regex "^(grpcpp/|grpc\\+\\+/|grpc/)|\\.grpc\\.pb\\.h$")
set(violations "")

# The project headers and system headers `file` includes.
function(includes_of file out_project out_all)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  set(project "")
  set(all "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"].*$" "\\1" header "${line}")
    list(APPEND all "${header}")
    if(EXISTS "${SOURCE_DIR}/${header}" AND NOT IS_DIRECTORY "${SOURCE_DIR}/${header}")
      list(APPEND project "${SOURCE_DIR}/${header}")
    endif()
  endforeach()
  set(${out_project} "${project}" PARENT_SCOPE)
  set(${out_all} "${all}" PARENT_SCOPE)
endfunction()

# 1. Domain libraries: no gRPC, transitively.
file(STRINGS "${DOMAIN_SOURCES}" libraries)
foreach(library IN LISTS libraries)
  string(REPLACE "|" ";" parts "${library}")
  list(GET parts 0 dir)
  list(SUBLIST parts 1 -1 sources)
  foreach(source IN LISTS sources)
    if(NOT IS_ABSOLUTE "${source}")
      set(source "${dir}/${source}")
    endif()
    string(FIND "${source}" "${SOURCE_DIR}/" in_tree)
    if(NOT in_tree EQUAL 0 OR "${source}" MATCHES "/build/")
      continue()  # Generated (the embedded seed data).
    endif()
    # Breadth-first over our own headers; `via` records the chain.
    set(queue "${source}")
    set(seen "")
    set(via_${source} "${source}")
    while(queue)
      list(POP_FRONT queue file)
      if(file IN_LIST seen)
        continue()
      endif()
      list(APPEND seen "${file}")
      includes_of("${file}" project all)
      foreach(header IN LISTS all)
        if(header MATCHES "${grpc_regex}")
          string(REPLACE "${SOURCE_DIR}/" "" chain "${via_${file}}")
          string(APPEND violations "  gRPC in a domain library: ${chain} -> ${header}\n")
        endif()
      endforeach()
      foreach(next IN LISTS project)
        if(NOT DEFINED via_${next})
          set(via_${next} "${via_${file}} -> ${next}")
        endif()
        list(APPEND queue "${next}")
      endforeach()
    endwhile()
  endforeach()
endforeach()

# 2 and 3. Engine headers in their store only.
file(GLOB_RECURSE code RELATIVE "${SOURCE_DIR}"
     "${SOURCE_DIR}/services/*.cc" "${SOURCE_DIR}/services/*.h"
     "${SOURCE_DIR}/client/*.cc" "${SOURCE_DIR}/client/*.h"
     "${SOURCE_DIR}/bench/*.cc" "${SOURCE_DIR}/bench/*.h"
     "${SOURCE_DIR}/fuzz/*.cc" "${SOURCE_DIR}/fuzz/*.h")
foreach(file IN LISTS code)
  includes_of("${SOURCE_DIR}/${file}" project all)
  foreach(header IN LISTS all)
    if(header MATCHES "^rocksdb/" AND NOT file STREQUAL "services/common/storage/rocksdb_kv_store.cc")
      string(APPEND violations "  RocksDB outside its store: ${file} -> ${header}\n")
    endif()
    if(header MATCHES "^(libpq-fe\\.h|libpq/|pqxx/|postgresql/)" AND
       NOT file MATCHES "^services/common/storage/(postgres|postgresql|pg)[a-z_]*_kv_store\\.cc$")
      string(APPEND violations "  libpq outside the PostgreSQL store: ${file} -> ${header}\n")
    endif()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "layering violations:\n${violations}")
endif()
message(STATUS "layering: ok")
