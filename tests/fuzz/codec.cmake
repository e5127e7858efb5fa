# The ext_authz codec harness: fuzz_checkrequest.c needs the codec sources
# compiled into it (so libFuzzer sees their coverage), the generated
# protobuf-c code and json-c. include() this after the generic rule above.
set(_pc_codec_dir ${PROJECT_SOURCE_DIR}/plugins/frontend/envoy_ext_authz)
if(NOT TARGET pc_extauthz_codec)
  include(${_pc_codec_dir}/codec.cmake)
endif()
pkg_check_modules(JSONC REQUIRED IMPORTED_TARGET json-c)
if(NOT TARGET fuzz_checkrequest)
  add_executable(fuzz_checkrequest ${CMAKE_CURRENT_LIST_DIR}/fuzz_checkrequest.c)
  target_compile_options(fuzz_checkrequest PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_checkrequest PRIVATE -fsanitize=fuzzer)
endif()
# The codec's variables belong to the directory that included codec.cmake;
# its target still knows its (absolute) sources.
get_target_property(_pc_codec_sources pc_extauthz_codec SOURCES)
target_sources(fuzz_checkrequest PRIVATE ${_pc_codec_sources}
               ${PROJECT_SOURCE_DIR}/tests/unit/codec_encode_ref.c)
target_include_directories(fuzz_checkrequest PRIVATE
  ${_pc_codec_dir} ${PROJECT_SOURCE_DIR}/sdk/include
  ${PROJECT_SOURCE_DIR}/tests/unit)
target_link_libraries(fuzz_checkrequest PRIVATE pc_extauthz_proto
                      PkgConfig::JSONC m)
