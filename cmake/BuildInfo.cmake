# Run as a script at build time (cmake -P) by the tokens_build_info target:
# writes OUTPUT from INPUT with the version and the current git commit, and
# leaves it untouched when nothing changed, so that nothing relinks.
#   -DINPUT= -DOUTPUT= -DSOURCE_DIR= -DTOKENS_VERSION= [-DTOKENS_COMMIT=]
if(NOT TOKENS_COMMIT)
  set(TOKENS_COMMIT "unknown")
  find_package(Git QUIET)
  if(GIT_FOUND)
    execute_process(
      COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
      OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE result ERROR_QUIET)
    if(result EQUAL 0 AND commit)
      set(TOKENS_COMMIT "${commit}")
      execute_process(
        COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" status --porcelain --untracked-files=no
        OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      if(dirty)
        string(APPEND TOKENS_COMMIT "-dirty")
      endif()
    endif()
  endif()
endif()
configure_file("${INPUT}" "${OUTPUT}" @ONLY)
