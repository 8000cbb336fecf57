# What `cmake --install` puts under the prefix besides the executables (which
# their own directories install): the package other teams build against.
#
#   include/user_tokens/auth_client/   the client library's header
#   include/user_tokens/tokens/v1/     the generated C++ of the public protos
#   lib/libuser_tokens_auth_client.a   UserTokens::auth_client
#   lib/libuser_tokens_protos.a        UserTokens::protos
#   lib/cmake/UserTokens/              find_package(UserTokens CONFIG)
#   lib/pkgconfig/user-tokens-*.pc     the same for pkg-config
#   share/user_tokens/proto/           the public .proto files, an import root
#                                      for other languages
#
# The public protos are tokens/v1/tokens.proto and authenticator.proto.
# tokens/v1/sync.proto stays out: TokenSync is the link between token-service
# and its own sidecars, changed with both of them, and no one else's contract.
# The stand-ins in proto/third_party/ stay out too: a client generates the
# real google.rpc and grpc.health protos.

include(CMakePackageConfigHelpers)

set(user_tokens_cmake_dir "${CMAKE_INSTALL_LIBDIR}/cmake/UserTokens")
set(user_tokens_include_dir "${CMAKE_INSTALL_INCLUDEDIR}/user_tokens")
set(USER_TOKENS_PROTO_DIR "${CMAKE_INSTALL_DATADIR}/user_tokens/proto")

install(TARGETS auth_client user_tokens_protos EXPORT UserTokensTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(FILES "${PROJECT_SOURCE_DIR}/client/include/user_tokens/auth_client/sidecar_authenticator.h"
  DESTINATION "${user_tokens_include_dir}/auth_client")
foreach(stem IN ITEMS tokens authenticator)
  install(FILES
    "${PROJECT_BINARY_DIR}/proto_gen/tokens/v1/${stem}.pb.h"
    "${PROJECT_BINARY_DIR}/proto_gen/tokens/v1/${stem}.grpc.pb.h"
    DESTINATION "${user_tokens_include_dir}/tokens/v1")
  install(FILES "${PROJECT_SOURCE_DIR}/proto/tokens/v1/${stem}.proto"
    DESTINATION "${USER_TOKENS_PROTO_DIR}/tokens/v1")
endforeach()

install(EXPORT UserTokensTargets NAMESPACE UserTokens::
  DESTINATION "${user_tokens_cmake_dir}")
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/UserTokensConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/UserTokensConfig.cmake"
  INSTALL_DESTINATION "${user_tokens_cmake_dir}"
  PATH_VARS USER_TOKENS_PROTO_DIR)
# 0.x: a minor version may break the API, so only the same minor matches.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/UserTokensConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/UserTokensConfig.cmake"
  "${PROJECT_BINARY_DIR}/UserTokensConfigVersion.cmake"
  DESTINATION "${user_tokens_cmake_dir}")

# pkg-config files that find their prefix from where they are, so that
# `cmake --install --prefix` anywhere gives a working file.
set(user_tokens_pkgconfig_dir "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
file(RELATIVE_PATH user_tokens_pc_to_prefix
  "/prefix/${user_tokens_pkgconfig_dir}" "/prefix")
string(REGEX REPLACE "/$" "" user_tokens_pc_to_prefix "${user_tokens_pc_to_prefix}")
foreach(pc IN ITEMS user-tokens-protos user-tokens-auth-client)
  configure_file("${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in" "${PROJECT_BINARY_DIR}/${pc}.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/${pc}.pc" DESTINATION "${user_tokens_pkgconfig_dir}")
endforeach()
