# The ext_authz codec suite: tests/unit/test_codec.c also needs the codec
# and its generated protobuf-c code, which the generic rule above (pcengine
# only) does not give. include() this after that rule.
if(NOT TARGET pc_extauthz_codec)
  include(${PROJECT_SOURCE_DIR}/plugins/frontend/envoy_ext_authz/codec.cmake)
endif()
pkg_check_modules(JSONC REQUIRED IMPORTED_TARGET json-c)
if(NOT TARGET test_codec)
  add_executable(test_codec ${CMAKE_CURRENT_LIST_DIR}/test_codec.c
                            ${CMAKE_CURRENT_LIST_DIR}/cu_main.c)
  target_link_libraries(test_codec PRIVATE PkgConfig::CUNIT)
  target_include_directories(test_codec PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  add_test(NAME unit.test_codec COMMAND test_codec)
  set_tests_properties(unit.test_codec PROPERTIES
    ENVIRONMENT "PC_SOURCE_DIR=${PROJECT_SOURCE_DIR};PC_BUILD_DIR=${CMAKE_BINARY_DIR}"
    TIMEOUT 120)
endif()
target_link_libraries(test_codec PRIVATE pc_extauthz_codec PkgConfig::JSONC)
# protobuf-c's packer over a message tree: what the direct encoder must match.
target_sources(test_codec PRIVATE ${CMAKE_CURRENT_LIST_DIR}/codec_encode_ref.c)
# The Python cross-checks read the modules protoc generates.
if(TARGET pc_extauthz_proto_py)
  add_dependencies(test_codec pc_extauthz_proto_py)
endif()
