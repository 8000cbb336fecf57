# tokens_proto_library(NAME <target> ALIAS <ns::alias> PROTOS a.proto ...
#                      [GRPC] [THIRD_PARTY] [DEPS ...])
# Generates C++ (and, with GRPC, gRPC service stubs) for .proto files given
# relative to their import root, into a static library. Two roots:
#   proto/              the project's own API (tokens/v1) and examples;
#   proto/third_party/  (THIRD_PARTY) the stand-ins the binaries compile
#                       against: subsets of Envoy's, google.rpc's and
#                       grpc.health's protos, never installed.
# Both are on the import path, so our protos may import the stand-ins.
function(tokens_proto_library)
  cmake_parse_arguments(ARG "GRPC;THIRD_PARTY" "NAME;ALIAS" "PROTOS;DEPS" ${ARGN})
  set(api_root "${PROJECT_SOURCE_DIR}/proto")
  set(third_party_root "${PROJECT_SOURCE_DIR}/proto/third_party")
  if(ARG_THIRD_PARTY)
    set(proto_root "${third_party_root}")
  else()
    set(proto_root "${api_root}")
  endif()
  set(out_dir "${PROJECT_BINARY_DIR}/proto_gen")
  file(MAKE_DIRECTORY "${out_dir}")
  get_target_property(grpc_plugin gRPC::grpc_cpp_plugin LOCATION)
  set(srcs)
  foreach(proto IN LISTS ARG_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    set(outputs "${out_dir}/${stem}.pb.cc" "${out_dir}/${stem}.pb.h")
    set(args --proto_path=${third_party_root} --proto_path=${api_root} --cpp_out=${out_dir})
    if(ARG_GRPC)
      list(APPEND outputs "${out_dir}/${stem}.grpc.pb.cc" "${out_dir}/${stem}.grpc.pb.h")
      list(APPEND args --grpc_out=${out_dir} --plugin=protoc-gen-grpc=${grpc_plugin})
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc ${args} "${proto_root}/${proto}"
      DEPENDS "${proto_root}/${proto}" protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${outputs})
  endforeach()
  add_library(${ARG_NAME} STATIC ${srcs})
  add_library(${ARG_ALIAS} ALIAS ${ARG_NAME})
  target_include_directories(${ARG_NAME} SYSTEM PUBLIC "${out_dir}")
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
endfunction()
