# test_jwt_keys compiles the jwt plugin's key and signature code into the
# suite (plugins link nothing of the host, so the suite builds them itself).
set(_pc_jwt_dir ${PROJECT_SOURCE_DIR}/plugins/identity/jwt)
target_sources(test_jwt_keys PRIVATE ${_pc_jwt_dir}/jwt_keys.c ${_pc_jwt_dir}/jwt_sig.c)
target_include_directories(test_jwt_keys PRIVATE ${_pc_jwt_dir} ${PROJECT_SOURCE_DIR}/sdk/include)
target_link_libraries(test_jwt_keys PRIVATE PkgConfig::OPENSSL)
