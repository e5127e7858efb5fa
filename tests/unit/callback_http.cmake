# The http callback suite links the plugin's queue (driven with a host of
# the suite's own) and loads the plugin through the engine for the calls.
target_link_libraries(test_callback_http PRIVATE pc_callback_queue)
