# presence_proto_library(NAME
#   ROOT <import root of the .proto files>
#   PROTOS <files relative to ROOT>...
#   [GRPC]                      generate only the gRPC service code; the
#                               message library must be among DEPS
#   [DEPS <proto libraries>...] libraries whose .proto files these import
#   [IMPORT_DIRS <dirs>...])    further import roots
#
# Generates C++ into the build tree under the same relative paths, so that
# generated headers are included as "presence/registry/v1/registry.pb.h".
function(presence_proto_library name)
  cmake_parse_arguments(ARG "GRPC" "ROOT" "PROTOS;DEPS;IMPORT_DIRS" ${ARGN})
  set(out_dir "${CMAKE_BINARY_DIR}/gen")
  set(import_args "-I${ARG_ROOT}")
  foreach(dir IN LISTS ARG_IMPORT_DIRS)
    list(APPEND import_args "-I${dir}")
  endforeach()
  # Well-known types (google/protobuf/*.proto).
  foreach(dir IN LISTS Protobuf_INCLUDE_DIRS)
    list(APPEND import_args "-I${dir}")
  endforeach()
  # Import roots of the dependencies, transitively (each library records
  # its own and its dependencies').
  set(roots "${ARG_ROOT};${ARG_IMPORT_DIRS}")
  foreach(dep IN LISTS ARG_DEPS)
    get_target_property(dep_roots ${dep} PRESENCE_PROTO_ROOTS)
    foreach(dir IN LISTS dep_roots)
      if(dir)
        list(APPEND import_args "-I${dir}")
        list(APPEND roots "${dir}")
      endif()
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES import_args)
  list(REMOVE_DUPLICATES roots)

  set(srcs)
  foreach(proto IN LISTS ARG_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    if(ARG_GRPC)
      set(outputs "${out_dir}/${stem}.grpc.pb.cc" "${out_dir}/${stem}.grpc.pb.h")
      set(plugin_args
          --grpc_out=${out_dir}
          --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
      set(plugin_deps gRPC::grpc_cpp_plugin)
    else()
      set(outputs "${out_dir}/${stem}.pb.cc" "${out_dir}/${stem}.pb.h")
      set(plugin_args --cpp_out=${out_dir})
      set(plugin_deps)
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${CMAKE_COMMAND} -E make_directory "${out_dir}"
      COMMAND protobuf::protoc ${plugin_args} ${import_args}
              "${ARG_ROOT}/${proto}"
      DEPENDS "${ARG_ROOT}/${proto}" protobuf::protoc ${plugin_deps}
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${outputs})
  endforeach()

  add_library(${name} STATIC ${srcs})
  target_include_directories(${name} PUBLIC "${out_dir}")
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${name} PUBLIC gRPC::grpc++)
  endif()
  # Generated code is not ours to warn about.
  target_compile_options(${name} PRIVATE -w)
  set_target_properties(${name} PROPERTIES PRESENCE_PROTO_ROOTS "${roots}")
endfunction()
