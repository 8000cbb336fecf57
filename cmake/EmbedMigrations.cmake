# tokens_embed_migrations(OUTPUT <file.inc> DIR <dir>)
# Turns <dir>/NNNN_name.sql into initializer lines
#   {NNNN, "name", R"sql(...)sql"},
# so the binary carries its schema and `migrate` needs no files at run time.
# Editing or adding a migration re-runs the configure step.
function(tokens_embed_migrations)
  cmake_parse_arguments(ARG "" "OUTPUT;DIR" "" ${ARGN})
  file(GLOB sql_files CONFIGURE_DEPENDS "${ARG_DIR}/*.sql")
  list(SORT sql_files)
  set(content "// Generated from ${ARG_DIR} by cmake/EmbedMigrations.cmake; do not edit.\n")
  foreach(f IN LISTS sql_files)
    get_filename_component(base "${f}" NAME_WE)
    if(NOT base MATCHES "^([0-9][0-9][0-9][0-9])_([a-z0-9_]+)$")
      message(FATAL_ERROR "migration file name must be NNNN_name.sql: ${f}")
    endif()
    math(EXPR version "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
    file(READ "${f}" sql)
    # GLOB's CONFIGURE_DEPENDS sees files come and go, not their edits.
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${f}")
    string(APPEND content "{${version}, \"${name}\", R\"sql(${sql})sql\"},\n")
  endforeach()
  file(CONFIGURE OUTPUT "${ARG_OUTPUT}" CONTENT "${content}" @ONLY)
endfunction()
