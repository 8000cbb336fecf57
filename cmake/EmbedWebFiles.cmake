# tokens_embed_web_files(OUTPUT <file.inc> DIR <dir>)
# Turns the web console's files under <dir> (index.html, styles.css,
# favicon.svg and every *.js outside test/) into initializer lines
#   {"/path", "content type", R"web(...)web"},
# so that token-service serves the console with no files at run time.
# Editing or adding a file re-runs the configure step.
function(tokens_embed_web_files)
  cmake_parse_arguments(ARG "" "OUTPUT;DIR" "" ${ARGN})
  file(GLOB_RECURSE files CONFIGURE_DEPENDS RELATIVE "${ARG_DIR}"
       "${ARG_DIR}/*.html" "${ARG_DIR}/*.css" "${ARG_DIR}/*.svg" "${ARG_DIR}/*.js")
  list(SORT files)
  set(content "// Generated from ${ARG_DIR} by cmake/EmbedWebFiles.cmake; do not edit.\n")
  foreach(rel IN LISTS files)
    if(rel MATCHES "^test/" OR rel MATCHES "^node_modules/")
      continue()
    endif()
    if(rel MATCHES "\\.html$")
      set(type "text/html; charset=utf-8")
    elseif(rel MATCHES "\\.js$")
      set(type "text/javascript; charset=utf-8")
    elseif(rel MATCHES "\\.css$")
      set(type "text/css; charset=utf-8")
    else()
      set(type "image/svg+xml")
    endif()
    file(READ "${ARG_DIR}/${rel}" text)
    # GLOB's CONFIGURE_DEPENDS sees files come and go, not their edits.
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${ARG_DIR}/${rel}")
    string(FIND "${text}" ")web\"" clash)
    if(NOT clash EQUAL -1)
      message(FATAL_ERROR "${rel} contains )web\" and cannot be embedded as a raw string")
    endif()
    string(APPEND content "{\"/${rel}\", \"${type}\", R\"web(${text})web\"},\n")
  endforeach()
  # Written as is (file(CONFIGURE) would expand @VAR@ in the scripts), and
  # only when it changed, so that a configure run rebuilds nothing.
  set(old "")
  if(EXISTS "${ARG_OUTPUT}")
    file(READ "${ARG_OUTPUT}" old)
  endif()
  if(NOT old STREQUAL content)
    file(WRITE "${ARG_OUTPUT}" "${content}")
  endif()
endfunction()
