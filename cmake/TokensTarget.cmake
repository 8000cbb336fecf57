# Per-target compiler warnings, in the spirit of spdlog's spdlog_enable_warnings():
# applied to our own targets only, never to generated code or dependencies.
function(tokens_enable_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
  if(TOKENS_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# tokens_include_root(<target> <file>...)
# The layers, enforced by the compiler. Every #include of ours is written from
# the repository root ("services/token_service/domain/model.h"), but no
# library gets the repository root as its include directory. Each gets its
# own root, ${PROJECT_BINARY_DIR}/include/<target>/, holding symlinks to the
# headers of the directories its own files are in, and of their header-only
# subdirectories (domain/ports/). That root is PUBLIC, so a target sees its
# own headers and those of the libraries it links, and nothing else: the
# token-service domain, which does not link storage, cannot include it.
#
# A directory is the unit (layers are directories); one shared by two targets
# (common/grpc, common/config, common/log) is in both roots. Headers are
# linked one by one rather than the directory itself, so that a root for
# services/token_service/ does not also expose its subdirectories. The globs
# re-run at build time, so a new header needs no CMake edit.
function(tokens_include_root target)
  set(root "${PROJECT_BINARY_DIR}/include/${target}")
  set(dirs)
  foreach(file IN LISTS ARGN)
    get_filename_component(abs "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    # Generated sources (common/version's build_info.cc) have no headers beside them.
    string(FIND "${abs}" "${PROJECT_BINARY_DIR}/" in_build)
    if(in_build EQUAL 0)
      continue()
    endif()
    get_filename_component(dir "${abs}" DIRECTORY)
    list(APPEND dirs "${dir}")
    file(GLOB children LIST_DIRECTORIES true CONFIGURE_DEPENDS "${dir}/*")
    foreach(child IN LISTS children)
      if(IS_DIRECTORY "${child}")
        file(GLOB child_sources "${child}/*.cc")
        if(NOT child_sources)
          list(APPEND dirs "${child}")
        endif()
      endif()
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES dirs)
  # Rebuilt from scratch, so that a header moved away is gone from the root.
  file(REMOVE_RECURSE "${root}")
  foreach(dir IN LISTS dirs)
    file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}" "${dir}")
    if(rel MATCHES "^\\.\\./" OR rel STREQUAL "")
      message(FATAL_ERROR "${target}: ${dir} is not a subdirectory of the repository")
    endif()
    file(GLOB headers CONFIGURE_DEPENDS "${dir}/*.h")
    if(headers)
      file(MAKE_DIRECTORY "${root}/${rel}")
    endif()
    foreach(header IN LISTS headers)
      get_filename_component(name "${header}" NAME)
      file(CREATE_LINK "${header}" "${root}/${rel}/${name}" SYMBOLIC)
    endforeach()
  endforeach()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories(${target} INTERFACE "${root}")
  else()
    target_include_directories(${target} PUBLIC "${root}")
  endif()
endfunction()

# tokens_library(NAME <name> ALIAS <ns::alias> SOURCES ... [HEADERS ...] DEPS ...)
# A static library of ours, with warnings on and its own include root
# (tokens_include_root above). Without SOURCES, a header-only library
# (common/net, common/text): HEADERS name the directory it owns, and
# whoever includes those headers links it.
function(tokens_library)
  cmake_parse_arguments(ARG "" "NAME;ALIAS" "SOURCES;HEADERS;DEPS;PRIVATE_DEPS" ${ARGN})
  if(ARG_SOURCES)
    add_library(${ARG_NAME} STATIC ${ARG_SOURCES} ${ARG_HEADERS})
    target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
    tokens_enable_warnings(${ARG_NAME})
  else()
    add_library(${ARG_NAME} INTERFACE ${ARG_HEADERS})
    target_link_libraries(${ARG_NAME} INTERFACE ${ARG_DEPS})
  endif()
  add_library(${ARG_ALIAS} ALIAS ${ARG_NAME})
  tokens_include_root(${ARG_NAME} ${ARG_SOURCES} ${ARG_HEADERS})
endfunction()
