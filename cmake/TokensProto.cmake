# tokens_proto_library(NAME <target> ALIAS <ns::alias> PROTOS a.proto ... [GRPC] [DEPS ...])
# Generates C++ (and, with GRPC, gRPC service stubs) for .proto files given
# relative to ${PROJECT_SOURCE_DIR}/proto, into a static library.
function(tokens_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME;ALIAS" "PROTOS;DEPS" ${ARGN})
  set(proto_root "${PROJECT_SOURCE_DIR}/proto")
  set(out_dir "${PROJECT_BINARY_DIR}/proto_gen")
  file(MAKE_DIRECTORY "${out_dir}")
  get_target_property(grpc_plugin gRPC::grpc_cpp_plugin LOCATION)
  set(srcs)
  foreach(proto IN LISTS ARG_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    set(outputs "${out_dir}/${stem}.pb.cc" "${out_dir}/${stem}.pb.h")
    set(args --proto_path=${proto_root} --cpp_out=${out_dir})
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
