# The wristband suite links the plugin's I/O-free key and document library
# (the plugin itself is loaded by the engine for the token cases).
target_link_libraries(test_wristband PRIVATE pc_wristband_core PkgConfig::OPENSSL)
