# Generates presencectl's man page at build time from its help texts:
# help2man (a Debian package) turns `presencectl --help` into the page, and
# this script adds a COMMANDS section with every command's --help (from
# `presencectl __complete commands`), examples included.
#
#   cmake -DPRESENCECTL=<binary> -DHELP2MAN=<help2man> -DOUTPUT=<page.1> -P man.cmake

function(run out)
  execute_process(COMMAND ${ARGN} OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${ARGN}: exit ${rc}")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# Help text as literal roff lines.
function(roff out text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REPLACE "\n." "\n\\&." text "${text}")
  string(REPLACE "\n'" "\n\\&'" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

run(commands ${PRESENCECTL} __complete commands)
string(REPLACE "\n" ";" commands "${commands}")
set(include "[COMMANDS]\n")
foreach(command IN LISTS commands)
  if(command STREQUAL "")
    continue()
  endif()
  separate_arguments(words UNIX_COMMAND "${command}")
  run(help ${PRESENCECTL} ${words} --help)
  # The global flags are in OPTIONS once, not under every command.
  string(FIND "${help}" "Global flags (every command):" at)
  if(at GREATER -1)
    string(SUBSTRING "${help}" 0 ${at} help)
  endif()
  string(STRIP "${help}" help)
  roff(help "${help}")
  string(APPEND include ".SS \"presencectl ${command}\"\n.nf\n${help}\n.fi\n")
endforeach()
string(APPEND include
  "[ENVIRONMENT]\n"
  ".TP\n\\fBPRESENCE_REGISTRY\\fR, \\fBPRESENCE_TIMELINE\\fR\n"
  "The services' addresses (host:port) when \\-\\-registry / \\-\\-timeline are not given.\n"
  ".TP\n\\fBPRESENCE_TOKEN\\fR\nThe bearer token (\\-\\-token).\n"
  ".TP\n\\fBPRESENCE_TLS_CA\\fR, \\fBPRESENCE_TLS_CERT\\fR, \\fBPRESENCE_TLS_KEY\\fR\n"
  "TLS files (\\-\\-tls_ca, \\-\\-tls_cert, \\-\\-tls_key).\n"
  "[SEE ALSO]\n"
  "\\fBpresence\\-registry\\fR(1) and \\fBpresence\\-timeline\\fR(1) \\-\\-help; the README of the presence repository.\n")
get_filename_component(dir "${OUTPUT}" DIRECTORY)
file(WRITE "${dir}/presencectl.h2m" "${include}")

run(version ${PRESENCECTL} version --client -o jsonl)
string(REGEX MATCH "\"client\":\"([^\"]*)\"" _ "${version}")
run(ignored ${HELP2MAN} --no-info --section=1
    "--name=query and maintain the presence registry and timeline"
    "--version-string=${CMAKE_MATCH_1}"
    "--include=${dir}/presencectl.h2m"
    "--output=${OUTPUT}.tmp"
    ${PRESENCECTL})
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
