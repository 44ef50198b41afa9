# evring bridge: NATS JetStream through libnats (Debian libnats-dev); the bridge code is in consumers/bridge/.
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)
target_sources(evring_cli PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/bridge/stream.c
  ${CMAKE_CURRENT_SOURCE_DIR}/bridge/publish.c
  ${CMAKE_CURRENT_SOURCE_DIR}/bridge/into.c)
target_include_directories(evring_cli PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/bridge)
target_link_libraries(evring_cli PRIVATE PkgConfig::NATS)
