# evring top draws with ncurses (wide-character build).
pkg_check_modules(NCURSES REQUIRED IMPORTED_TARGET ncursesw)
target_link_libraries(evring_cli PRIVATE PkgConfig::NCURSES)
