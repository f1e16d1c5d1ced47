# The wire decoders: framer, frame parser, and both roles' handshake parsers.
# The net sources are compiled into the target (not linked from dc_net) so
# that libFuzzer's coverage instrumentation reaches the decoders themselves.
dc_add_fuzz(NAME fuzz_frame
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_frame.c
          ${CMAKE_SOURCE_DIR}/src/net/frame.c
          ${CMAKE_SOURCE_DIR}/src/net/secure.c
          ${CMAKE_SOURCE_DIR}/src/net/handshake.c
  LIBS dc_crypto dc_base PkgConfig::UV)
