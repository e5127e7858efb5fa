# The ext_authz protocol codec, for include() by the plugin's CMakeLists.txt
# (and by tests/unit/codec.cmake). Defines:
#   pc_extauthz_proto     static, PIC: protoc-c output of proto/ and of the
#                         google/protobuf well-known types they import
#   pc_extauthz_codec     static, PIC: codec_*.c over pc_extauthz_proto
#   pc_extauthz_proto_py  protoc --python_out into ${CMAKE_BINARY_DIR}/python
#                         (the tests' python3-grpcio client), when protoc exists
# and, in the including directory's scope only, the variables
# PC_EXTAUTHZ_CODEC_SOURCES, PC_EXTAUTHZ_GEN_DIR and PC_EXTAUTHZ_PY_DIR
# (elsewhere read the targets: get_target_property(... SOURCES)).
include_guard(GLOBAL)

find_package(PkgConfig REQUIRED)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET libprotobuf-c)
find_program(PC_PROTOC_C protoc-c)
if(NOT PC_PROTOC_C)
  message(FATAL_ERROR "protoc-c not found: install protobuf-c-compiler")
endif()
# The well-known types' .proto files ship with libprotobuf-dev (protoc-c
# needs their source to generate C code for Struct, Any, Timestamp, ...).
find_path(PC_PROTOBUF_WKT_DIR google/protobuf/struct.proto
          PATHS /usr/include /usr/local/include)
if(NOT PC_PROTOBUF_WKT_DIR)
  message(FATAL_ERROR "google/protobuf/struct.proto not found: install libprotobuf-dev")
endif()

set(PC_EXTAUTHZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(PC_EXTAUTHZ_PROTO_DIR ${PC_EXTAUTHZ_DIR}/proto)
set(PC_EXTAUTHZ_GEN_DIR ${CMAKE_BINARY_DIR}/generated/extauthz)
set(PC_EXTAUTHZ_PY_DIR ${CMAKE_BINARY_DIR}/python)

set(PC_EXTAUTHZ_PROTOS
  envoy/api/v2/core/address.proto
  envoy/api/v2/core/base.proto
  envoy/config/core/v3/address.proto
  envoy/config/core/v3/base.proto
  envoy/service/auth/v2/attribute_context.proto
  envoy/service/auth/v2/external_auth.proto
  envoy/service/auth/v3/attribute_context.proto
  envoy/service/auth/v3/external_auth.proto
  envoy/type/http_status.proto
  envoy/type/v3/http_status.proto
  google/rpc/status.proto
  grpc/health/v1/health.proto)
set(PC_EXTAUTHZ_WKT_PROTOS
  google/protobuf/any.proto
  google/protobuf/struct.proto
  google/protobuf/timestamp.proto
  google/protobuf/wrappers.proto)

set(_pc_proto_deps "")
set(_pc_gen_c "")
set(_pc_gen_h "")
set(_pc_gen_py "")
foreach(p ${PC_EXTAUTHZ_PROTOS})
  list(APPEND _pc_proto_deps ${PC_EXTAUTHZ_PROTO_DIR}/${p})
  string(REGEX REPLACE "\\.proto$" "" stem ${p})
  list(APPEND _pc_gen_py ${PC_EXTAUTHZ_PY_DIR}/${stem}_pb2.py)
endforeach()
foreach(p ${PC_EXTAUTHZ_PROTOS} ${PC_EXTAUTHZ_WKT_PROTOS})
  string(REGEX REPLACE "\\.proto$" "" stem ${p})
  list(APPEND _pc_gen_c ${PC_EXTAUTHZ_GEN_DIR}/${stem}.pb-c.c)
  list(APPEND _pc_gen_h ${PC_EXTAUTHZ_GEN_DIR}/${stem}.pb-c.h)
endforeach()
foreach(p ${PC_EXTAUTHZ_WKT_PROTOS})
  list(APPEND _pc_proto_deps ${PC_PROTOBUF_WKT_DIR}/${p})
endforeach()

add_custom_command(
  OUTPUT ${_pc_gen_c} ${_pc_gen_h}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PC_EXTAUTHZ_GEN_DIR}
  COMMAND ${PC_PROTOC_C} -I${PC_EXTAUTHZ_PROTO_DIR} -I${PC_PROTOBUF_WKT_DIR}
          --c_out=${PC_EXTAUTHZ_GEN_DIR}
          ${PC_EXTAUTHZ_PROTOS} ${PC_EXTAUTHZ_WKT_PROTOS}
  DEPENDS ${_pc_proto_deps}
  WORKING_DIRECTORY ${PC_EXTAUTHZ_PROTO_DIR}
  COMMENT "protoc-c: ext_authz protos"
  VERBATIM)

add_library(pc_extauthz_proto STATIC ${_pc_gen_c})
target_include_directories(pc_extauthz_proto PUBLIC ${PC_EXTAUTHZ_GEN_DIR})
target_link_libraries(pc_extauthz_proto PUBLIC PkgConfig::PROTOBUFC)
# Generated code: keep the project's warnings but not its extra pedantry.
target_compile_options(pc_extauthz_proto PRIVATE -Wno-shadow
                       -Wno-strict-prototypes)
set_target_properties(pc_extauthz_proto PROPERTIES
  POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)

set(PC_EXTAUTHZ_CODEC_SOURCES
  ${PC_EXTAUTHZ_DIR}/codec_arena.c
  ${PC_EXTAUTHZ_DIR}/codec_buf.c
  ${PC_EXTAUTHZ_DIR}/codec_decode.c
  ${PC_EXTAUTHZ_DIR}/codec_encode.c
  ${PC_EXTAUTHZ_DIR}/codec_frame.c
  ${PC_EXTAUTHZ_DIR}/codec_grpc.c
  ${PC_EXTAUTHZ_DIR}/codec_health.c
  ${PC_EXTAUTHZ_DIR}/codec_json.c
  ${PC_EXTAUTHZ_DIR}/codec_utf8.c
  ${PC_EXTAUTHZ_DIR}/codec_walk.c
  ${PC_EXTAUTHZ_DIR}/codec_wire.c)

add_library(pc_extauthz_codec STATIC ${PC_EXTAUTHZ_CODEC_SOURCES})
target_include_directories(pc_extauthz_codec PUBLIC
  ${PC_EXTAUTHZ_DIR} ${PROJECT_SOURCE_DIR}/sdk/include)
target_link_libraries(pc_extauthz_codec PUBLIC pc_extauthz_proto m)
set_target_properties(pc_extauthz_codec PROPERTIES
  POSITION_INDEPENDENT_CODE ON C_VISIBILITY_PRESET hidden)

# Python modules for the integration tests. Debian's python3-protobuf
# provides google.protobuf.*_pb2 itself, so only our protos are generated.
find_program(PC_PROTOC protoc)
if(PC_PROTOC)
  add_custom_command(
    OUTPUT ${_pc_gen_py}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PC_EXTAUTHZ_PY_DIR}
    COMMAND ${PC_PROTOC} -I${PC_EXTAUTHZ_PROTO_DIR} -I${PC_PROTOBUF_WKT_DIR}
            --python_out=${PC_EXTAUTHZ_PY_DIR} ${PC_EXTAUTHZ_PROTOS}
    DEPENDS ${_pc_proto_deps}
    WORKING_DIRECTORY ${PC_EXTAUTHZ_PROTO_DIR}
    COMMENT "protoc: ext_authz Python modules"
    VERBATIM)
  add_custom_target(pc_extauthz_proto_py ALL DEPENDS ${_pc_gen_py})
else()
  message(STATUS "protoc not found: no Python modules for the ext_authz tests "
                 "(install protobuf-compiler)")
endif()
