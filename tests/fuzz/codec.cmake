# The ext_authz codec harness: fuzz_checkrequest.c needs the codec sources
# compiled into it (so libFuzzer sees their coverage), the generated
# protobuf-c code and json-c. include() this after the generic rule above.
if(NOT TARGET pc_extauthz_codec)
  include(${PROJECT_SOURCE_DIR}/plugins/frontend/envoy_ext_authz/codec.cmake)
endif()
pkg_check_modules(JSONC REQUIRED IMPORTED_TARGET json-c)
if(NOT TARGET fuzz_checkrequest)
  add_executable(fuzz_checkrequest ${CMAKE_CURRENT_LIST_DIR}/fuzz_checkrequest.c)
  target_compile_options(fuzz_checkrequest PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_checkrequest PRIVATE -fsanitize=fuzzer)
endif()
target_sources(fuzz_checkrequest PRIVATE ${PC_EXTAUTHZ_CODEC_SOURCES})
target_include_directories(fuzz_checkrequest PRIVATE
  ${PC_EXTAUTHZ_DIR} ${PROJECT_SOURCE_DIR}/sdk/include)
target_link_libraries(fuzz_checkrequest PRIVATE pc_extauthz_proto
                      PkgConfig::JSONC m)
