# cmake -DINPUT=<file> -DOUTPUT=<file.cc> -DNAMESPACE=<ns> -DFUNCTION=<name> -P EmbedText.cmake
# Writes a .cc defining `absl::string_view <ns>::<name>()` returning the
# file's content, so the data set ships inside the binary.
file(READ "${INPUT}" content)
set(delimiter "presence_embed")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/EmbedText.cmake. Do not edit.\n"
  "#include \"absl/strings/string_view.h\"\n"
  "namespace ${NAMESPACE} {\n"
  "absl::string_view ${FUNCTION}() {\n"
  "  static constexpr char kText[] = R\"${delimiter}(${content})${delimiter}\";\n"
  "  return absl::string_view(kText, sizeof(kText) - 1);\n"
  "}\n"
  "}  // namespace ${NAMESPACE}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
