# The googleapis .proto files presence imports (google/api annotations,
# google/rpc status and error details), laid out under
# ${GOOGLEAPIS_PROTO_ROOT} at configure time by scripts/googleapis-protos
# from Debian's packages (see that script for which file comes from where).
# Nothing of googleapis is copied into the tree.
set(GOOGLEAPIS_PROTO_ROOT "${CMAKE_BINARY_DIR}/googleapis")
execute_process(
  COMMAND "${CMAKE_SOURCE_DIR}/scripts/googleapis-protos" "${GOOGLEAPIS_PROTO_ROOT}"
  RESULT_VARIABLE googleapis_rc)
if(NOT googleapis_rc EQUAL 0)
  message(FATAL_ERROR "scripts/googleapis-protos failed (run scripts/install-deps)")
endif()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  "${CMAKE_SOURCE_DIR}/scripts/googleapis-protos")
